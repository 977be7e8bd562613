"""Demo tickets, walked through the real services with past timestamps.

Every queue of the demo has something in it: the township's triage queue, the liaison office's
queue, 县民政局's inbox (the ``minzheng`` login), 陈志强's own tickets (``daibiao``), and a few
closed tickets of general concern on /results/. Each ticket's timeline is what the services wrote.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from liaison import demo
from liaison.models import HandlingUnit, Region, User
from proposals import services
from proposals.models import Category, Ticket
from reps.models import Representative
from studios.models import ReceptionMatter, Studio

# (title, category, content, place, proposer, phone, public interest, how far it gets, unit, days ago)
TICKETS = [
    ("东街增设公交站点", "交通出行", "希望在东街增设一个公交站点，方便老人去医院就医。", "东街社区", "张桂兰",
     "13812340001", True, "archived", "县交通运输局", 60),
    ("桃园村道路破损", "城乡建设", "桃园村主路有多处坑洼，雨天积水，电动车易摔倒。", "桃园村", "李大山",
     "13812340002", True, "closed", "城关镇城建办", 40),
    ("河道垃圾堆积", "生态环境", "西街河道有垃圾堆积，夏天有异味，希望定期清理。", "西街社区", "王芳",
     "13812340003", True, "forwarded", "县生态环境局", 8),
    ("低保申请进度", "民生保障", "家中老人申请低保三个月没有消息，想了解办理进度。", "东街社区", "赵秀珍",
     "13812340004", False, "planned", "县民政局", 12),
    ("养老服务站开放时间", "民生保障", "社区养老服务站周末不开门，希望延长开放时间。", "西街社区", "孙建华",
     "13812340005", True, "signed", "县民政局", 6),
    ("残疾人补贴发放", "民生保障", "残疾人两项补贴本季度未到账。", "桃园村", "周明",
     "13812340006", False, "assigned", "县民政局", 2),
    ("小区停车位紧张", "城乡建设", "小区停车位紧张，希望规划新的停车场。", "东街社区", "吴丽",
     "13812340007", False, "assigned_overdue", "城关镇城建办", 14),
    ("学校门口交通安全", "教育", "城关小学门口上下学时段车辆拥堵，希望安排交警疏导。", "城关镇", "郑强",
     "13812340008", True, "at_county", "", 3),
    ("农村医保缴费", "医疗卫生", "农村医保缴费标准今年是否有调整？", "桃园村", "钱红",
     "13812340009", False, "registered", "", 1),
    ("村卫生室缺少药品", "医疗卫生", "村卫生室常用药品经常缺货。", "桃园村", "冯伟",
     "13812340010", False, "registered", "", 0),
]  # fmt: skip


def seed() -> None:
    if Ticket.objects.filter(submission_token__startswith="demo-").exists():  # noqa: S106 - not a secret
        return
    county = Region.objects.get(code="990100")
    township = Region.objects.get(name="城关镇", parent=county)
    studio = Studio.objects.filter(region=township).first()
    rep = Representative.objects.filter(user__username="daibiao").first()
    clerk = User.objects.get(username="chengguan")
    office = User.objects.get(username="lianban")
    daibiao = User.objects.get(username="daibiao")
    now = timezone.now()
    for index, row in enumerate(TICKETS):
        title, category, content, place, name, phone, public, stage, unit_name, days_ago = row
        start = now - datetime.timedelta(days=days_ago, hours=2)
        ticket = services.ticket_register(
            actor=clerk,
            township=township,
            title=title,
            content=content,
            category=Category.objects.get(name=category),
            source=Ticket.Source.RECEPTION if index % 3 else Ticket.Source.INTAKE,
            place=place,
            studio=studio,
            representative=rep,
            proposers=[(name, phone)],
            is_public_interest=public,
            submission_token=f"demo-{index}",
            now=start,
        )
        _walk(ticket, stage, unit_name, start, clerk=clerk, office=office, rep_user=daibiao)
    _link_a_reception_matter(township)


def _at(start, hours: float) -> datetime.datetime:
    return start + datetime.timedelta(hours=hours)


def _fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("township", "representative", "lead_unit").get(pk=ticket.pk)


def _walk(ticket, stage, unit_name, start, *, clerk, office, rep_user) -> None:
    """Take the ticket as far as ``stage``, each step a few hours or days after the last."""
    if stage == "registered":
        return
    unit = HandlingUnit.objects.get(name=unit_name) if unit_name else None
    county_unit = unit is not None and unit.region.level == Region.Level.COUNTY
    if stage == "at_county" or county_unit:
        services.ticket_forward_to_county(
            actor=clerk, ticket=_fresh(ticket), note="超出镇级职能", now=_at(start, 3)
        )
        if stage == "at_county":
            return
    assigner = office if county_unit else clerk
    co_units = list(HandlingUnit.objects.filter(name="县住房和城乡建设局")) if unit_name == "县民政局" else []
    services.ticket_assign(
        actor=assigner, ticket=_fresh(ticket), lead_unit=unit, co_units=co_units, now=_at(start, 5)
    )
    if stage in ("assigned", "assigned_overdue"):
        return
    staff = User.objects.filter(roles__unit=unit).first() or _unit_user(unit)
    steps = ["signed", "planned", "forwarded", "closed", "archived"]
    reach = steps.index(stage)
    services.ticket_sign(actor=staff, ticket=_fresh(ticket), now=_at(start, 24))
    if reach < 1:
        return
    services.ticket_contact(actor=staff, ticket=_fresh(ticket), how="电话联系代表和群众",
                            contacted_on=timezone.localdate(_at(start, 30)), now=_at(start, 30))  # fmt: skip
    services.ticket_plan(actor=staff, ticket=_fresh(ticket), plan="现场查看后制定整改方案，已征求代表意见。",
                         rep_consulted=True, now=_at(start, 72))  # fmt: skip
    if reach < 2:
        return
    for assignment in _fresh(ticket).assignments.filter(role="co"):
        co_staff = User.objects.filter(roles__unit=assignment.unit).first() or _unit_user(assignment.unit)
        services.co_opinion_file(
            actor=co_staff, ticket=_fresh(ticket), text="同意牵头单位方案。", now=_at(start, 80)
        )
    reply = "经现场查看，已制定方案并组织实施，具体情况如下……"
    summary = "已落实整改，并建立长效管护机制。"
    services.ticket_reply(actor=staff, ticket=_fresh(ticket), text=reply, summary=summary, now=_at(start, 99))
    services.ticket_forward(actor=assigner, ticket=_fresh(ticket), now=_at(start, 130))
    if reach < 3:
        return
    t = _fresh(ticket)
    services.ticket_rate(ticket=t, actor=rep_user, score="satisfied", now=_at(start, 150))
    services.ticket_rate(
        ticket=_fresh(ticket), proposer=t.proposers.first(), score="basically", now=_at(start, 160)
    )
    if reach < 4:
        return
    services.ticket_archive(actor=assigner, ticket=_fresh(ticket), now=_at(start, 200))


def _unit_user(unit: HandlingUnit) -> User:
    """A demo login for a unit that has none yet: the pinyin initials of its name (县交通运输局 →
    ``xjtysj``), with the demo password."""
    from liaison.models import RoleAssignment
    from liaison.roles import Role
    from reps.pinyin import initials

    username = initials(unit.name)[:30] or f"unit{unit.pk}"
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(
            username, "", demo.DEMO_PASSWORD, name=unit.contact_person or unit.name
        )
        RoleAssignment.objects.create(user=user, role=Role.HANDLING_UNIT, unit=unit, region=unit.region)
    return user


def _link_a_reception_matter(township: Region) -> None:
    """Leave most reception matters waiting to be turned into tickets; link one, to show the link."""
    officer = User.objects.get(username="lianluoyuan")
    matter = (
        ReceptionMatter.objects.filter(
            for_ticket=True,
            reception__township=township,
            reception__studio__liaison_officer=officer,
            ticket__isnull=True,
        )
        .order_by("pk")
        .first()
    )
    if matter is None:
        return
    reception = matter.reception
    services.ticket_register(
        actor=officer,
        township=township,
        title=matter.content[:30],
        content=matter.content,
        category=Category.objects.get(name="其他"),
        source=Ticket.Source.RECEPTION,
        studio=reception.studio,
        representative=reception.representatives.first(),
        reception_matter=matter,
        submission_token="demo-reception",  # noqa: S106 - not a secret
        now=reception.starts_at + datetime.timedelta(hours=4),
    )


demo.register(seed, order=60)

"""Demo representatives for the demo county: groups, mandates, contacts, visits (idempotent)."""

from __future__ import annotations

import datetime
import random

from liaison import demo
from liaison.models import AnnualMeeting, Region, User
from reps.models import (
    CommitteeLink,
    Contact,
    ContactLink,
    DutyPolicy,
    Group,
    GroupMembership,
    HomeVisit,
    Level,
    Mandate,
    Representative,
    ResearchReport,
)

REPS = {
    "城关镇": ["陈志强", "王秀兰", "张伟", "刘芳", "杨洋", "赵磊", "黄敏", "周静"],
    "河口镇": ["吴勇", "徐丽", "孙杰", "胡娟", "朱涛", "高霞", "林强", "何艳"],
    "东山街道": ["郭军", "马丽", "罗斌", "梁燕", "宋超", "郑红梅", "谢明", "韩雪"],
}
TITLES = [
    "村党支部书记",
    "社区居委会主任",
    "企业负责人",
    "乡村教师",
    "乡镇卫生院医生",
    "种植大户",
    "退役军人",
    "个体工商户",
]
CONTACT_NAMES = [
    "李桂英",
    "王德福",
    "张玉兰",
    "刘建华",
    "陈淑珍",
    "杨国强",
    "赵春梅",
    "黄永红",
    "周秀云",
    "吴海燕",
    "徐志刚",
    "孙凤英",
]
COUNTY_CONGRESS = "和平县第十五次党代会"
TOWNSHIP_CONGRESS = "第十六次党代会"


def seed() -> None:
    county = Region.objects.get(code="990100")
    rng = random.Random(2026)  # noqa: S311 - the same demo every time, not a secret
    DutyPolicy.objects.get_or_create(
        county=county, effective_from=datetime.date(2026, 1, 1), defaults={"four_ones": True}
    )
    member = User.objects.get(username="weiyuan")
    for township_name, names in REPS.items():
        township = Region.objects.get(name=township_name, parent=county)
        villages = list(Region.objects.filter(parent=township).order_by("code"))
        group, _ = Group.objects.get_or_create(
            region=county, level=Level.COUNTY, name=f"{township_name}代表小组"
        )
        for index, name in enumerate(names):
            rep = _rep(name, township, index, rng)
            GroupMembership.objects.get_or_create(
                group=group, representative=rep, defaults={"level": group.level}
            )
            if index == 0:
                group.leader = rep
            if index == 1:
                group.liaison = rep
            if township_name == "城关镇" and index < 4:
                CommitteeLink.objects.get_or_create(member=member, representative=rep)
            _network(rep, villages, index, rng)
        group.save(update_fields=["leader", "liaison"])
        _township_group(county, township)
    daibiao = User.objects.get(username="daibiao")
    Representative.objects.filter(name="陈志强", region__name="城关镇").update(user=daibiao)


def _township_group(county: Region, township: Region) -> None:
    """The township congress's own group (its reps of index 0, 2, 4) and the township's annual
    meeting, which the group reports 15 days before (``reps.reminders``)."""
    names = REPS[township.name]
    members = [Representative.objects.get(name=names[i], region=township) for i in (0, 2, 4)]
    group, _ = Group.objects.get_or_create(
        region=township,
        level=Level.TOWNSHIP,
        name=f"{township.name}党代表小组",
        defaults={"leader": members[0], "liaison": members[1]},
    )
    for rep in members:
        GroupMembership.objects.get_or_create(
            group=group, representative=rep, defaults={"level": group.level}
        )
    year = datetime.date.today().year  # noqa: DTZ011 - a calendar year, zone-free
    AnnualMeeting.objects.get_or_create(
        county=county,
        township=township,
        year=year,
        defaults={"date": datetime.date(year, 12, 10), "title": f"{township.name}党代会{year}年年会"},
    )


def _rep(name: str, township: Region, index: int, rng: random.Random) -> Representative:
    phone = f"1390{township.code[-2:]}{index:05d}"
    rep, created = Representative.objects.get_or_create(
        name=name,
        phone=phone,
        defaults={
            "region": township,
            "gender": "f" if name[-1] in "兰芳敏静丽娟霞艳燕红梅雪" else "m",
            "title": TITLES[index % len(TITLES)],
            "party_branch": f"{township.name}第{index % 3 + 1}党支部",
            "phone_public": index % 2 == 0,
            "statement": "把群众的小事当成自己的大事。",
            "pledge": "每月到工作室接待一次，每季度走访联系户不少于两次，群众反映的问题件件有回音。",
            "is_leading_cadre": index == 0,
        },
    )
    if created:
        county_term = (datetime.date(2024, 1, 1), datetime.date(2028, 12, 31))
        if index == 7:  # one county mandate ended mid-year: history stays, duties prorated
            county_term = (datetime.date(2021, 7, 1), datetime.date(2026, 6, 30))
        Mandate.objects.create(
            representative=rep,
            level=Level.COUNTY,
            congress=COUNTY_CONGRESS,
            term_start=county_term[0],
            term_end=county_term[1],
            electoral_unit=f"{township.name}选区",
            region=township.parent,
        )
        if index in (0, 2, 4):
            Mandate.objects.create(
                representative=rep,
                level=Level.TOWNSHIP,
                congress=f"{township.name}{TOWNSHIP_CONGRESS}",
                term_start=datetime.date(2024, 3, 1),
                term_end=datetime.date(2029, 2, 28),
                electoral_unit=f"{township.name}第{index + 1}选区",
                region=township,
            )
    return rep


def _network(rep: Representative, villages: list[Region], index: int, rng: random.Random) -> None:
    if rep.contact_links.exists():
        return  # already seeded
    wanted = 3 + index % 4  # some reps fall short of the 5-contact quota, as in real life
    for k in range(wanted):
        name = CONTACT_NAMES[(index * 3 + k) % len(CONTACT_NAMES)]
        contact, _ = Contact.objects.get_or_create(
            name=name,
            village=villages[k % len(villages)],
            defaults={
                "kind": Contact.Kind.PARTY_MEMBER if k % 2 == 0 else Contact.Kind.RESIDENT,
                "address": f"{villages[k % len(villages)].name}{k + 1}组{rng.randint(1, 60)}号",
                "phone": "",
                "is_poor_party_member": k == 0 and index % 3 != 2,
                "is_difficult_household": k == 1 and index % 4 != 3,
                "is_low_income": k == 2,
                "is_old_party_member": k == 4,
            },
        )
        ContactLink.objects.get_or_create(
            representative=rep,
            contact=contact,
            defaults={"since": datetime.date(2025, 3, 1), "is_pairing": k in (0, 1)},
        )
    recorder = rep.user or User.objects.get(username="chengguan")
    contacts = [link.contact for link in rep.contact_links.select_related("contact__village__parent")]
    for month in range(1, 11, 3 - index % 2):
        chosen = contacts[month % len(contacts)]
        visit = HomeVisit.objects.create(
            date=datetime.date(2026, month, 5 + index),
            kind=HomeVisit.Kind.VISIT,
            township=chosen.village.parent,
            notes="了解家庭生产生活情况。",
            recorded_by=recorder,
        )
        visit.representatives.add(rep)
        visit.contacts.add(chosen)
    if index % 2 == 0:
        ResearchReport.objects.get_or_create(
            representative=rep,
            title=f"关于{rep.region.name}农村道路养护的调研报告",
            defaults={"submitted_on": datetime.date(2026, 6, 10)},
        )


demo.register(seed, order=20)

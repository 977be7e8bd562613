"""A realistic county year, made through the app's own services (``manage.py generate_year``).

The organisation (county, townships, villages, handling units, staff logins, studios,
representatives and their mandates) is written in bulk where no service exists for it, as the
Excel import does. Every ticket is registered and walked through ``proposals.services`` with
``now=`` set to a moment of the year, so each ticket's timeline is what the services wrote.

The figures come out as asked: ``tickets`` tickets, ``round(tickets × closed)`` closed, and of
those (each rated by its one proposer in its last round) ``round(closed × (1 − satisfied))``
dissatisfied in the last round (re-handled once, dissatisfied again, closed with an explanation);
the others satisfied or basically satisfied. The same seed gives the same year.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison.models import HandlingUnit, Region, RoleAssignment, User
from liaison.roles import Role
from proposals import services
from proposals.models import Category, Ticket
from reps.models import Level, Mandate, Representative
from reps.pinyin import initials
from studios.models import Studio


@dataclass(frozen=True)
class Shape:
    townships: int = 2
    studios: int = 3
    county_reps: int = 4
    township_reps: int = 6
    tickets: int = 40
    closed: float = 0.75  # share of the tickets closed
    satisfied: float = 0.9  # share of the closed tickets rated satisfied in their last round

    @property
    def closed_count(self) -> int:
        return round(self.tickets * self.closed)

    @property
    def dissatisfied_count(self) -> int:
        return round(self.closed_count * (1 - self.satisfied))


# Hai'an's year (海安, 2023 figures of issue 12): 收集1391条, 已办结1072条, 满意率99.4%.
SHAPES = {
    "haian": Shape(
        townships=14,
        studios=266,
        county_reps=319,
        township_reps=1320,
        tickets=1391,
        closed=1072 / 1391,
        satisfied=0.994,
    ),
}

TOWNSHIP_NAMES = [
    "城东镇",
    "城西镇",
    "南莫镇",
    "墩头镇",
    "雅周镇",
    "李堡镇",
    "角斜镇",
    "大公镇",
    "白甸镇",
    "曲塘镇",
    "孙庄街道",
    "海安街道",
    "滨海新区",
    "高新区",
]
COUNTY_UNITS = [
    "县民政局",
    "县住房和城乡建设局",
    "县交通运输局",
    "县生态环境局",
    "县教育局",
    "县卫生健康委员会",
    "县农业农村局",
    "县人力资源和社会保障局",
    "县自然资源和规划局",
    "县水务局",
]
TOWNSHIP_UNITS = ["社会事务办", "城建办"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = [
    "建国",
    "秀英",
    "志强",
    "桂兰",
    "伟",
    "芳",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "海燕",
    "玉兰",
    "德福",
    "春梅",
]
MATTERS = [
    ("道路破损需修补", "村主路有多处坑洼，雨天积水，电动车易摔倒。"),
    ("增设公交站点", "希望增设公交站点，方便老人去医院就医。"),
    ("河道垃圾清理", "河道有垃圾堆积，夏天有异味，希望定期清理。"),
    ("路灯不亮", "小区路灯坏了一个多月，晚上出行不便。"),
    ("养老服务站开放时间", "社区养老服务站周末不开门，希望延长开放时间。"),
    ("停车位紧张", "小区停车位紧张，希望规划新的停车场。"),
    ("学校门口交通安全", "小学门口上下学时段车辆拥堵，希望安排疏导。"),
    ("村卫生室缺少药品", "村卫生室常用药品经常缺货。"),
    ("农田灌溉渠堵塞", "灌溉渠被淤泥堵塞，影响春耕用水。"),
    ("低保办理进度", "家中老人申请低保三个月没有消息，想了解办理进度。"),
]
OPEN_STAGES = [
    "registered",
    "at_county",
    "assigned",
    "signed",
    "contacted",
    "planned",
    "replied",
    "forwarded",
]
SOURCES = [Ticket.Source.RECEPTION, Ticket.Source.VISIT, Ticket.Source.INTAKE, Ticket.Source.MEETING]


class Refused(Exception):
    """The year cannot be generated (the message says why)."""


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


class _Year:
    def __init__(self, *, shape: Shape, county_name: str, code: str, year: int, seed: int, say):
        self.shape, self.county_name, self.code, self.year = shape, county_name, code, year
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
        self.say = say
        tz = timezone.get_current_timezone()
        self.start = datetime.datetime(year, 1, 1, 8, tzinfo=tz)
        end = min(datetime.datetime(year + 1, 1, 1, tzinfo=tz), timezone.now() - datetime.timedelta(days=1))
        self.days = (end - self.start).days
        if self.days < 60:
            raise Refused(
                _("The year %(year)s has fewer than 60 days behind us; choose an earlier year.")
                % {"year": year}
            )

    # --- the organisation, in bulk --------------------------------------------------------

    def organisation(self) -> None:
        s = self.shape
        self.county = self._region(self.county_name, Region.Level.COUNTY, None, self.code)
        self.townships = []
        for i in range(s.townships):
            name = TOWNSHIP_NAMES[i] if i < len(TOWNSHIP_NAMES) else f"第{i + 1}镇"
            self.townships.append(
                self._region(name, Region.Level.TOWNSHIP, self.county, f"{self.code[:4]}{i + 1:02d}")
            )
        self.office = self._user("office", "联络办", Role.LIAISON_OFFICE, region=self.county)
        self.clerks = {
            t.pk: self._user(f"t{i}", f"{t.name}组工", Role.TOWNSHIP_STAFF, region=t)
            for i, t in enumerate(self.townships)
        }
        self.county_units = [self._unit(name, self.county) for name in COUNTY_UNITS]
        self.township_units = {
            t.pk: [self._unit(f"{t.name}{name}", t) for name in TOWNSHIP_UNITS] for t in self.townships
        }
        self.staff = {}
        for unit in [*self.county_units, *(u for units in self.township_units.values() for u in units)]:
            self.staff[unit.pk] = self._user(f"u{unit.pk}", unit.name[:16], Role.HANDLING_UNIT, unit=unit)
        self._studios()
        self._reps()
        self.categories = list(Category.objects.order_by("pk"))
        self.say(
            _("Organisation: %(t)s townships, %(s)s studios, %(r)s representatives.")
            % {"t": s.townships, "s": s.studios, "r": s.county_reps + s.township_reps}
        )

    def _region(self, name, level, parent, code) -> Region:
        region = Region(name=name, level=level, parent=parent, code=code)
        region.full_clean()
        region.save()
        return region

    def _user(self, key, name, role, *, region=None, unit=None) -> User:
        user = User.objects.create_user(f"g{self.code}-{key}", name=name)  # no password: unusable
        RoleAssignment.objects.create(user=user, role=role, region=region or unit.region, unit=unit)
        return user

    def _unit(self, name, region) -> HandlingUnit:
        return HandlingUnit.objects.create(region=region, name=name, contact_person=_name(self.rng))

    def _studios(self) -> None:
        """One county studio, one per township (as many as asked), the rest in villages."""
        s = self.shape
        hosts = [self.county, *self.townships][: s.studios]
        for i in range(s.studios - len(hosts)):
            township = self.townships[i % len(self.townships)]
            n = i // len(self.townships) + 1
            hosts.append(
                self._region(
                    f"{township.name}第{n}村", Region.Level.VILLAGE, township, f"{township.code}{n:03d}"
                )
            )
        Studio.objects.bulk_create(
            Studio(
                name=f"{host.name}党代表工作室",
                region=host,
                address=f"{host.name}便民服务中心",
                level=Studio.Level.COUNTY
                if host == self.county
                else Studio.Level.TOWNSHIP
                if host.level == Region.Level.TOWNSHIP
                else Studio.Level.AREA,
                opened_on=datetime.date(self.year, 1, 1),
                has_signage=True,
                has_record_book=True,
            )
            for host in hosts
        )
        self.studios = {
            t.pk: list(Studio.objects.filter(region__path__startswith=t.path).order_by("pk"))
            for t in self.townships
        }

    def _reps(self) -> None:
        """County reps (county mandate) and township reps (township mandate), spread over the
        townships; a handful per township get a login, to rate the tickets they are responsible for."""
        s, rng = self.shape, self.rng
        people = []
        for i in range(s.county_reps + s.township_reps):
            name = _name(rng)
            township = self.townships[i % len(self.townships)]
            people.append(
                Representative(
                    name=name,
                    name_initials=initials(name),
                    region=township,
                    phone=f"199{self.code[:4]}{i:04d}",
                    gender=rng.choice("mf"),
                )
            )
        Representative.objects.bulk_create(people)
        term = (datetime.date(self.year - 2, 1, 1), datetime.date(self.year + 3, 12, 31))
        Mandate.objects.bulk_create(
            Mandate(
                representative=rep,
                term_start=term[0],
                term_end=term[1],
                **(
                    {"level": Level.COUNTY, "congress": f"{self.county_name}党代会", "region": self.county}
                    if i < s.county_reps
                    else {
                        "level": Level.TOWNSHIP,
                        "congress": f"{rep.region.name}党代会",
                        "region": rep.region,
                    }
                ),
            )
            for i, rep in enumerate(people)
        )
        self.reps: dict[int, list[Representative]] = {t.pk: [] for t in self.townships}
        for rep in people:
            if len(self.reps[rep.region_id]) < 20:
                self.reps[rep.region_id].append(rep)
        chosen = [rep for reps in self.reps.values() for rep in reps]
        # "!": no usable password (what create_user(password=None) stores), without hashing each.
        users = User.objects.bulk_create(
            [User(username=f"g{self.code}-r{rep.pk}", name=rep.name, password="!") for rep in chosen]  # noqa: S106
        )
        for rep, user in zip(chosen, users, strict=True):
            rep.user = user
        Representative.objects.bulk_update(chosen, ["user"])
        RoleAssignment.objects.bulk_create(
            RoleAssignment(user=rep.user, role=Role.REPRESENTATIVE, region=rep.region) for rep in chosen
        )

    # --- the tickets, through the services ------------------------------------------------

    def tickets(self) -> None:
        s, rng = self.shape, self.rng
        closed = set(rng.sample(range(s.tickets), s.closed_count))
        dissatisfied = set(rng.sample(sorted(closed), s.dissatisfied_count))
        for i in range(s.tickets):
            if i in closed:
                day = rng.uniform(0, self.days - 45)
                stage = "dissatisfied" if i in dissatisfied else "closed"
            else:
                day = rng.uniform(self.days - 40, self.days - 3)
                stage = rng.choice(OPEN_STAGES)
            self._ticket(i, self.start + datetime.timedelta(days=day), stage)
            if (i + 1) % 100 == 0 or i + 1 == s.tickets:
                self.say(_("Tickets: %(done)s of %(total)s") % {"done": i + 1, "total": s.tickets})

    def _ticket(self, i: int, at: datetime.datetime, stage: str) -> None:
        rng = self.rng
        township = rng.choice(self.townships)
        title, content = rng.choice(MATTERS)
        rep = rng.choice(self.reps[township.pk]) if self.reps[township.pk] and rng.random() < 0.85 else None
        clerk = self.clerks[township.pk]
        ticket = services.ticket_register(
            actor=clerk,
            township=township,
            title=title,
            content=content,
            category=rng.choice(self.categories),
            source=rng.choice(SOURCES),
            place=township.name,
            studio=rng.choice(self.studios[township.pk]) if self.studios[township.pk] else None,
            representative=rep,
            proposers=[(_name(rng), f"138{rng.randrange(10**8):08d}")],
            is_public_interest=rng.random() < 0.3,
            submission_token=f"gen-{self.code}-{i}",
            now=at,
        )
        step = _Clock(at)
        if stage == "registered":
            return
        county = stage == "at_county" or rng.random() < 0.5
        if county:
            services.ticket_forward_to_county(
                actor=clerk, ticket=_fresh(ticket), note="需县级部门办理", now=step(3)
            )
            if stage == "at_county":
                return
        assigner = self.office if county else clerk
        unit = rng.choice(self.county_units if county else self.township_units[township.pk])
        services.ticket_assign(actor=assigner, ticket=_fresh(ticket), lead_unit=unit, now=step(2))
        if stage == "assigned":
            return
        staff = self.staff[unit.pk]
        services.ticket_sign(actor=staff, ticket=_fresh(ticket), now=step(rng.uniform(2, 30)))
        if stage == "signed":
            return
        rounds = 2 if stage == "dissatisfied" else 1
        for round_ in range(1, rounds + 1):
            if round_ > 1:
                services.ticket_rehandle(
                    actor=assigner, ticket=_fresh(ticket), note="群众不满意，重新办理", now=step(24)
                )
            self._handle(ticket, staff, assigner, step, stage)
            if stage in ("contacted", "planned", "replied", "forwarded"):
                return
            self._rate(ticket, dissatisfied=stage == "dissatisfied", step=step)
        if stage == "dissatisfied":
            services.ticket_close(
                actor=assigner, ticket=_fresh(ticket), note="已向群众解释政策，依法不能满足", now=step(48)
            )

    def _handle(self, ticket, staff, assigner, step, stage) -> None:
        rng = self.rng
        now = step(rng.uniform(4, 48))
        services.ticket_contact(
            actor=staff,
            ticket=_fresh(ticket),
            how="电话联系代表和群众",
            contacted_on=timezone.localdate(now),
            now=now,
        )
        if stage == "contacted":
            return
        fresh = _fresh(ticket)
        services.ticket_plan(
            actor=staff,
            ticket=fresh,
            plan="现场查看后制定方案。",
            rep_consulted=fresh.representative_id is not None,
            now=step(rng.uniform(12, 72)),
        )
        if stage == "planned":
            return
        fresh = _fresh(ticket)
        if rng.random() < 0.05:  # a complex case: more time asked for and granted
            extension = services.extension_request(
                actor=staff,
                ticket=fresh,
                until=timezone.localdate(fresh.due_at) + datetime.timedelta(days=10),
                reason="涉及多个部门，需要协调",
                now=step(6),
            )
            services.extension_decide(
                actor=assigner, ticket=_fresh(ticket), extension=extension, approve=True, now=step(6)
            )
            fresh = _fresh(ticket)
        # Mostly in time; now and then a day or two late.
        late = rng.random() < 0.03
        reply_at = fresh.due_at + datetime.timedelta(hours=rng.uniform(6, 48)) if late else None
        now = max(
            step.now + datetime.timedelta(hours=1),
            reply_at
            or step.now
            + datetime.timedelta(
                hours=rng.uniform(12, max(13.0, (fresh.due_at - step.now).total_seconds() / 3600 - 6))
            ),
        )
        step.now = now
        services.ticket_reply(
            actor=staff,
            ticket=_fresh(ticket),
            text="经现场查看，已组织实施，具体情况如下……",
            summary="已落实整改。",
            now=now,
        )
        if stage == "replied":
            return
        fresh = _fresh(ticket)
        forward = services.ticket_forward if fresh.representative_id else services.ticket_to_proposers
        forward(actor=assigner, ticket=fresh, now=step(rng.uniform(2, 30)))

    def _rate(self, ticket, *, dissatisfied: bool, step) -> None:
        rng = self.rng
        fresh = _fresh(ticket)
        if fresh.representative_id:
            services.ticket_rate(
                ticket=fresh,
                actor=fresh.representative.user,
                score="dissatisfied" if dissatisfied else rng.choice(["satisfied", "basically"]),
                now=step(rng.uniform(4, 48)),
            )
        fresh = _fresh(ticket)
        services.ticket_rate(
            ticket=fresh,
            proposer=fresh.proposers.get(),
            score="dissatisfied" if dissatisfied else rng.choice(["satisfied", "satisfied", "basically"]),
            now=step(rng.uniform(4, 72)),
        )


class _Clock:
    """The moment of the ticket's last step; ``step(hours)`` moves it on and returns it."""

    def __init__(self, now: datetime.datetime):
        self.now = now

    def __call__(self, hours: float) -> datetime.datetime:
        self.now += datetime.timedelta(hours=hours)
        return self.now


def _fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("township", "representative", "lead_unit").get(pk=ticket.pk)


def generate(
    *,
    shape: Shape,
    county_name: str = "海安样例县",
    code: str = "990200",
    year: int | None = None,
    seed: int = 2026,
    say: Callable[[str], None] = lambda text: None,
) -> Region:
    """Make the county and its year in one transaction (all or nothing); refuse a county that exists."""
    if not (len(code) == 6 and code.isdigit() and code.endswith("00")):
        raise Refused(_("The county code must be six digits ending in 00, e.g. 990200."))
    if shape.townships < 1 or shape.townships > 99 or shape.studios < 1:
        raise Refused(_("Give between 1 and 99 townships and at least one studio."))
    if (
        Region.objects.filter(code=code).exists()
        or Region.objects.filter(name=county_name, level=Region.Level.COUNTY).exists()
    ):
        raise Refused(
            _(
                "The county %(name)s (code %(code)s) already exists: a year is generated once per county. "
                "Give another --county and --code."
            )
            % {"name": county_name, "code": code}
        )
    year = year or timezone.localdate().year - 1
    with transaction.atomic():
        maker = _Year(shape=shape, county_name=county_name, code=code, year=year, seed=seed, say=say)
        maker.organisation()
        maker.tickets()  # one sweep asked for on commit (transitions.sweep_after_commit)
    return maker.county


def figures(county: Region) -> dict[str, object]:
    """The year's headline figures, counted from the tickets themselves."""
    from proposals.models import Rating

    tickets = Ticket.objects.filter(township__parent=county)
    closed = tickets.filter(status__in=["closed", "archived"])
    # The proposers' ratings of each closed ticket's last handling round.
    last_round = Rating.objects.filter(
        ticket__in=closed,
        proposer__isnull=False,
        round=Subquery(closed.filter(pk=OuterRef("ticket_id")).values("round")),
    )
    rated = last_round.count()
    happy = last_round.filter(score__in=["satisfied", "basically"]).count()
    return {
        "tickets": tickets.count(),
        "closed": closed.count(),
        "rated": rated,
        "satisfied": happy,
        "satisfied_share": round(happy / rated, 4) if rated else None,
    }

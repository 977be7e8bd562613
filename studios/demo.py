"""Demo studios with roster rules, this year's published rosters, attendance and receptions."""

from __future__ import annotations

import datetime
import random

from django.utils import timezone

from liaison import demo
from liaison.models import Category, HandlingUnit, Region, User
from reps.models import Representative
from studios import rosters
from studios.models import (
    DutySlot,
    OpinionReport,
    Reception,
    ReceptionMatter,
    RosterPeriod,
    RosterRule,
    SlotAssignment,
    Studio,
    StudioAssignment,
)

MATTERS = [
    ("村口路灯坏了一个多月，晚上出行不便。", True, "已联系村委会，本周内安排电工维修。"),
    ("希望在东街增设一个公交站点，方便老人就医。", False, ""),
    ("农村医保缴费标准是否有调整？", True, "现场讲解了今年的缴费标准和缴费渠道。"),
    ("河道有垃圾堆积，夏天有异味。", False, ""),
    ("小区停车位紧张，希望规划新的停车场。", False, ""),
]


def seed() -> None:
    county = Region.objects.get(code="990100")
    officer = User.objects.get(username="lianluoyuan")
    staff = User.objects.get(username="lianban")
    studios = [
        _studio("和平县党代表工作室", Studio.Level.COUNTY, county, "县委党校一楼", 36, None),
        *[
            _studio(
                f"{t.name}党代表工作室",
                Studio.Level.TOWNSHIP,
                t,
                f"{t.name}便民服务中心二楼",
                24 if i else 18,
                officer if t.name == "城关镇" else None,
            )
            for i, t in enumerate(Region.objects.filter(parent=county).order_by("code"))
        ],
        _studio(
            "东街社区片区工作室",
            Studio.Level.AREA,
            Region.objects.get(code="990101001"),
            "东街社区党群服务中心",
            12,
            None,
        ),
    ]
    if RosterPeriod.objects.filter(studio__in=studios).exists():
        return
    for studio in studios:
        township = studio.region if studio.region.level != Region.Level.VILLAGE else studio.region.parent
        reps = Representative.objects.filter(region__path__startswith=township.path).order_by("pk")
        if studio.level == Studio.Level.COUNTY:
            reps = Representative.objects.filter(region__path__startswith=county.path).order_by("pk")[::4]
        for rep in reps:
            StudioAssignment.objects.get_or_create(
                studio=studio, representative=rep, defaults={"start": datetime.date(2024, 3, 1)}
            )
        RosterRule.objects.create(
            studio=studio,
            kind="regular",
            weekday=5,
            start_time=datetime.time(9),
            end_time=datetime.time(11, 30),
        )
        if studio.level != Studio.Level.AREA:
            RosterRule.objects.create(
                studio=studio,
                kind="reception_day",
                days_of_month="10,20",
                start_time=datetime.time(14),
                end_time=datetime.time(17),
                reps_per_slot=2,
            )
            thematic = RosterRule.objects.create(
                studio=studio,
                kind="thematic",
                weekday=2,
                week_of_month=2,
                start_time=datetime.time(15),
                end_time=datetime.time(17),
                reps_per_slot=2,
                theme="民生实事项目征求意见",
            )
            # Seed 001: departments take part in the month's thematic meeting.
            thematic.invited_units.set(
                HandlingUnit.objects.filter(name__in=["县民政局", "县住房和城乡建设局"], is_active=True)
            )
            RosterRule.objects.create(
                studio=studio,
                kind="concentrated",
                start_time=datetime.time(8, 30),
                end_time=datetime.time(11, 30),
                reps_per_slot=3,
            )
    year = timezone.localdate().year
    rosters.generate(
        actor=staff,
        studios=Studio.objects.filter(pk__in=[s.pk for s in studios]),
        start=datetime.date(year, 1, 1),
        end=datetime.date(year, 12, 31),
    )
    RosterPeriod.objects.filter(studio__in=studios).update(
        status=RosterPeriod.Status.PUBLISHED, published_at=timezone.now(), published_by=staff
    )
    _history(studios, officer, staff)


def _studio(name, level, region, address, area, officer) -> Studio:
    studio, _ = Studio.objects.get_or_create(
        region=region,
        name=name,
        defaults={
            "level": level,
            "address": address,
            "area_m2": area,
            "phone": "0513-8812" + str(4000 + len(name)),
            "liaison_officer": officer,
            "opened_on": datetime.date(2024, 3, 1),
            "has_signage": True,
            "has_phone": True,
            "has_record_book": True,
            "has_duty_roster": area >= 18,
            "has_rules_on_wall": area >= 20,
        },
    )
    return studio


def _history(studios, officer, staff) -> None:
    """Attendance on past duties, a reception on some of them, a few public-opinion reports."""
    rng = random.Random(7)  # noqa: S311 - the same demo every time, not a secret
    now = timezone.now()
    past = DutySlot.objects.filter(studio__in=studios, ends_at__lt=now).order_by("starts_at")
    SlotAssignment.objects.filter(slot__in=past).update(
        attendance=SlotAssignment.Attendance.ATTENDED, marked_at=now
    )
    absent = SlotAssignment.objects.filter(slot__in=past).order_by("pk")[::9]
    SlotAssignment.objects.filter(pk__in=[a.pk for a in absent]).update(
        attendance=SlotAssignment.Attendance.ABSENT
    )
    for index, slot in enumerate(past.select_related("studio__region")[::3]):
        township = (
            slot.studio.region
            if slot.studio.region.level != Region.Level.VILLAGE
            else slot.studio.region.parent
        )
        reception = Reception.objects.create(
            studio=slot.studio,
            slot=slot,
            township=township,
            kind=slot.kind,
            starts_at=slot.starts_at,
            place=slot.studio.address,
            people_received=rng.randint(2, 15),
            recorded_by=officer if slot.studio.liaison_officer_id == officer.pk else staff,
        )
        reception.representatives.add(*slot.representatives.all())
        for content, answered, answer in rng.sample(MATTERS, k=1 + index % 2):
            ReceptionMatter.objects.create(
                reception=reception,
                content=content,
                answered_on_spot=answered,
                answer=answer,
                for_ticket=not answered,
            )
    for rep in Representative.objects.filter(duty_slots__studio__in=studios).distinct()[:12]:
        for month in (1, 4, 7, 10):
            OpinionReport.objects.get_or_create(
                representative=rep,
                month=datetime.date(now.year, month, 1),
                category=Category.objects.get(name="民生保障"),
                defaults={"content": "群众普遍关心养老服务和农村道路养护。"},
            )


demo.register(seed, order=30)

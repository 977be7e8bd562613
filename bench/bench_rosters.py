"""Generate a year of duty rosters for a county of Hai'an's size (seed 001) in one action.

266 studios (17 county, 228 township, 21 individual) and 1,600 representatives, each studio
with four rules (Saturday duty, reception days on the 10th and 20th, a monthly thematic
meeting, the concentrated meeting on the last Sunday of each quarter).

Baseline, measured in the same run: bulk-inserting exactly the rows the generator produced
(slots and assignments), i.e. the cost of writing the roster without planning it. The ratio
is what the rota planning adds on top of the unavoidable writes.
"""

from __future__ import annotations

import datetime
import resource
import time

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

STUDIOS = (("county", 17), ("township", 228), ("individual", 21))
REPS = 1600
YEAR = 2027


def run(report) -> None:
    with transaction.atomic():
        actor = _county()
        _measure(actor, report)
        transaction.set_rollback(True)


def _county():
    from liaison.models import Region, RoleAssignment, User
    from liaison.roles import Role
    from reps.models import Mandate, Representative
    from studios.models import RosterRule, Studio, StudioAssignment

    county = Region.objects.create(name="海安县（基准）", level=Region.Level.COUNTY)
    townships = []
    for i in range(14):
        township = Region(name=f"基准镇{i}", level=Region.Level.TOWNSHIP, parent=county)
        township.save()
        townships.append(township)
    reps = Representative.objects.bulk_create(
        Representative(name=f"代表{i}", name_initials=f"db{i}", region=townships[i % 14]) for i in range(REPS)
    )
    Mandate.objects.bulk_create(
        Mandate(
            representative=rep,
            level="township" if i % 5 else "county",
            congress="基准",
            term_start=datetime.date(2024, 1, 1),
            term_end=datetime.date(2028, 12, 31),
        )
        for i, rep in enumerate(reps)
    )
    studios = []
    for level, count in STUDIOS:
        for i in range(count):
            studios.append(
                Studio(name=f"{level}工作室{i}", level=level, region=townships[i % 14], address="基准")
            )
    Studio.objects.bulk_create(studios)
    # Six reps per studio, each rep at one studio; every fifth rep also at a second one.
    StudioAssignment.objects.bulk_create(
        StudioAssignment(
            studio=studios[i % len(studios)], representative=rep, start=datetime.date(2024, 1, 1)
        )
        for i, rep in enumerate(reps)
    )
    StudioAssignment.objects.bulk_create(
        StudioAssignment(
            studio=studios[(i + 7) % len(studios)], representative=rep, start=datetime.date(2024, 1, 1)
        )
        for i, rep in enumerate(reps)
        if i % 5 == 0
    )
    rules = []
    for studio in studios:
        rules += [
            RosterRule(
                studio=studio,
                kind="regular",
                weekday=5,
                start_time=datetime.time(9),
                end_time=datetime.time(11, 30),
                reps_per_slot=1,
            ),
            RosterRule(
                studio=studio,
                kind="reception_day",
                days_of_month="10,20",
                start_time=datetime.time(14),
                end_time=datetime.time(17),
                reps_per_slot=2,
            ),
            RosterRule(
                studio=studio,
                kind="thematic",
                weekday=2,
                week_of_month=2,
                start_time=datetime.time(15),
                end_time=datetime.time(17),
                reps_per_slot=2,
                theme="主题约见",
            ),
            RosterRule(
                studio=studio,
                kind="concentrated",
                start_time=datetime.time(8, 30),
                end_time=datetime.time(11, 30),
                reps_per_slot=3,
            ),
        ]
    RosterRule.objects.bulk_create(rules)
    actor = User.objects.create_user("bench-lianban")
    RoleAssignment.objects.create(user=actor, role=Role.LIAISON_OFFICE, region=county)
    if connection.vendor == "postgresql":
        connection.cursor().execute("ANALYZE")
    return User.objects.get(pk=actor.pk)


def _measure(actor, report) -> None:
    from studios import rosters
    from studios.models import DutySlot, SlotAssignment, Studio

    studios = Studio.objects.filter(name__contains="工作室", address="基准")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        with transaction.atomic():
            result = rosters.generate(
                actor=actor, studios=studios, start=datetime.date(YEAR, 1, 1), end=datetime.date(YEAR, 12, 31)
            )
        generation = time.perf_counter() - started
    # Peak resident memory of the process (KiB on Linux); what generation added to it.
    peak_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before

    slots = list(
        DutySlot.objects.filter(studio__in=studios)
        .order_by("pk")
        .values("pk", "period_id", "studio_id", "rule_id", "kind", "date", "starts_at", "ends_at", "theme")
    )
    assignments = list(
        SlotAssignment.objects.filter(slot__studio__in=studios).values_list("slot_id", "representative_id")
    )
    # Baseline: write the same rows again, with no planning at all, then undo them.
    with transaction.atomic():
        started = time.perf_counter()
        copies = DutySlot.objects.bulk_create(
            (DutySlot(**{k: v for k, v in row.items() if k != "pk"}) for row in slots), batch_size=2000
        )
        by_old = {row["pk"]: copy.pk for row, copy in zip(slots, copies, strict=True)}
        SlotAssignment.objects.bulk_create(
            (SlotAssignment(slot_id=by_old[slot], representative_id=rep) for slot, rep in assignments),
            batch_size=5000,
        )
        baseline = time.perf_counter() - started
        transaction.set_rollback(True)

    report(
        f"{len(result.written)} studios, {result.slots} duties, {len(assignments)} assignments, "
        f"{len(result.problems)} unfilled: generate {generation:.2f} s ({len(queries)} queries, "
        f"peak memory +{peak_growth / 1024:.0f} MiB); baseline insert of the same rows {baseline:.2f} s; "
        f"ratio {generation / baseline:.2f}x"
    )

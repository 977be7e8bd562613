"""Roster generator properties, for random reps, assignments, mandates, leaves, duties elsewhere,
rules and periods: every date a rule calls for gets exactly its slot, nobody is on duty twice a
day, nobody while on leave, outside their mandate or outside their assignment, and each rule's load
is fair within one duty among the reps who could have taken every one of its slots.

The planning core is tested as the pure function it is; one test runs ``generate`` on the
database to check the queries that feed it and the rows it writes.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from reps.models import Mandate
from studios import rosters
from studios.models import (
    DutySlot,
    Leave,
    MeetingKind,
    RosterPeriod,
    RosterRule,
    SlotAssignment,
    Studio,
    StudioAssignment,
)
from tests.factories import RepresentativeFactory, StudioFactory

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")
DAY = datetime.timedelta(days=1)
Span = tuple[datetime.date, datetime.date]
HERE = Studio(pk=1, name="工作室")  # the unsaved studio the pure tests plan for


@dataclass
class World:
    start: datetime.date
    end: datetime.date
    rules: list[RosterRule]
    assigned: list[tuple[int, Span]]  # (rep, span at this studio)
    mandates: dict[int, list[Span]]
    leaves: dict[int, list[Span]]
    busy: dict[int, set[datetime.date]]  # duties elsewhere

    def __repr__(self) -> str:  # a falsifying example, short enough to read
        rules = [
            {
                f: getattr(r, f)
                for f in ("pk", "kind", "weekday", "days_of_month", "week_of_month", "reps_per_slot")
            }
            for r in self.rules
        ]
        return (
            f"World({self.start}..{self.end}, rules={rules}, assigned={self.assigned}, "
            f"mandates={self.mandates}, leaves={self.leaves}, busy={self.busy})"
        )

    @property
    def reps(self) -> set[int]:
        return {rep for rep, _span in self.assigned}

    def free(self, rep: int, day: datetime.date) -> bool:
        """Assigned here, in office, not on leave and not on duty elsewhere that day."""
        return (
            any(a <= day <= b for r, (a, b) in self.assigned if r == rep)
            and any(a <= day <= b for a, b in self.mandates.get(rep, []))
            and not any(a <= day <= b for a, b in self.leaves.get(rep, []))
            and day not in self.busy.get(rep, set())
        )


def calls_for(rule: RosterRule, day: datetime.date) -> bool:
    """Does ``rule`` want a duty on ``day``? Read off the calendar, one day at a time."""
    last_of_its_kind = (day + 7 * DAY).month != day.month
    if rule.kind == MeetingKind.REGULAR:
        return day.weekday() == rule.weekday
    if rule.kind == MeetingKind.RECEPTION_DAY:
        return day.day in rule.day_list
    if rule.kind == MeetingKind.THEMATIC:
        nth = last_of_its_kind if rule.week_of_month == -1 else (day.day - 1) // 7 + 1 == rule.week_of_month
        return day.weekday() == rule.weekday and nth
    if day.weekday() != 6:  # concentrated: a Sunday
        return False
    if rule.quarter_sunday == RosterRule.QuarterSunday.LAST_WEEK:
        # The Sunday ending the Monday–Sunday week that holds a quarter's last day.
        week = [day - n * DAY for n in range(7)]
        return any(d.month % 3 == 0 and (d + DAY).month != d.month for d in week)
    return day.month % 3 == 0 and last_of_its_kind


@st.composite
def rules(draw, pk: int, usual_weekday: int) -> RosterRule:
    """A rule of any kind; often on the world's usual weekday, so that rules share days."""
    kind = draw(st.sampled_from([k for k, _label in MeetingKind.choices if k != MeetingKind.APPOINTED]))
    starts = draw(st.integers(min_value=8, max_value=18))
    weekday = draw(st.one_of(st.just(usual_weekday), st.integers(0, 6)))
    return RosterRule(
        pk=pk,
        studio=HERE,
        kind=kind,
        weekday=None if kind == MeetingKind.CONCENTRATED else weekday,
        quarter_sunday=draw(st.sampled_from(RosterRule.QuarterSunday.values)),
        days_of_month=",".join(map(str, draw(st.lists(st.integers(1, 31), min_size=1, max_size=3)))),
        week_of_month=draw(st.sampled_from([-1, 1, 2, 3, 4, 5])),
        start_time=datetime.time(starts),
        end_time=datetime.time(starts + 1, 30),
        reps_per_slot=draw(st.sampled_from([1, 1, 1, 2, 3])),
    )


@st.composite
def worlds(draw, *, min_reps: int = 1, max_reps: int = 7, max_days: int = 120) -> World:
    start = draw(st.dates(datetime.date(2024, 1, 1), datetime.date(2030, 12, 31)))
    end = start + draw(st.integers(0, max_days)) * DAY

    def spans(*, whole_period_likely: bool, max_size: int, longest: int):
        first = st.integers(-20, (end - start).days + 20).map(lambda n: start + n * DAY)
        some = st.tuples(first, st.integers(0, longest)).map(lambda pair: (pair[0], pair[0] + pair[1] * DAY))
        whole = st.just((start - 30 * DAY, end + 30 * DAY))
        one = st.one_of(whole, whole, some) if whole_period_likely else some
        return st.lists(one, min_size=int(whole_period_likely), max_size=max_size)

    reps = range(1, draw(st.integers(min_reps, max_reps)) + 1)
    assigned = [
        (rep, span) for rep in reps for span in draw(spans(whole_period_likely=True, max_size=2, longest=150))
    ]
    mandates = {rep: draw(spans(whole_period_likely=True, max_size=2, longest=150)) for rep in reps}
    leaves = {rep: draw(spans(whole_period_likely=False, max_size=1, longest=14)) for rep in reps}
    period = st.integers(0, (end - start).days).map(lambda n: start + n * DAY)
    busy = {rep: draw(st.sets(period, max_size=2)) for rep in reps}
    usual_weekday = draw(st.integers(0, 6))
    world_rules = [draw(rules(pk, usual_weekday)) for pk in range(1, draw(st.integers(1, 3)) + 1)]
    return World(start, end, world_rules, assigned, mandates, leaves, busy)


def wanted(world: World) -> list[tuple[datetime.date, RosterRule]]:
    days = [world.start + n * DAY for n in range((world.end - world.start).days + 1)]
    found = [(day, rule) for day in days for rule in world.rules if calls_for(rule, day)]
    return sorted(found, key=lambda pair: (pair[0], pair[1].start_time, pair[1].pk))


def check_roster(world: World, slots: list[tuple[datetime.date, RosterRule, list[int]]]) -> None:
    """Assert the properties of the slots one studio got (in the generator's order)."""
    assert [(day, rule.pk) for day, rule, _reps in slots] == [(day, rule.pk) for day, rule in wanted(world)]
    on_duty: dict[int, list[datetime.date]] = defaultdict(list)
    taken_earlier_that_day: list[set[int]] = []
    for day, rule, reps in slots:
        assert len(reps) == len(set(reps)) == rule.reps_per_slot
        assert all(world.free(rep, day) for rep in reps), (day, reps)
        earlier = slots[: len(taken_earlier_that_day)]
        taken_earlier_that_day.append({rep for d, _r, rs in earlier if d == day for rep in rs})
        for rep in reps:
            on_duty[rep].append(day)
    for rep, days in on_duty.items():
        assert len(days) == len(set(days)), f"rep {rep} twice on one day"
    # Fair within one, per rule, among the reps who were free for every slot of it when its turn came.
    for rule in world.rules:
        turns = [(i, day, reps) for i, (day, r, reps) in enumerate(slots) if r.pk == rule.pk]
        always = {
            rep
            for rep in world.reps
            if all(world.free(rep, day) and rep not in taken_earlier_that_day[i] for i, day, _reps in turns)
        }
        load = Counter(rep for _i, _day, reps in turns for rep in reps if rep in always)
        if turns and always:
            counts = [load[rep] for rep in always]
            assert max(counts) - min(counts) <= 1, (rule.pk, dict(load))


def plan(world: World):
    """Run the planning core on copies of the world's tables, as ``generate`` feeds it."""
    report = rosters.Report()
    busy = defaultdict(set, {rep: set(days) for rep, days in world.busy.items()})
    result = rosters._plan_studio(
        HERE,
        world.rules,
        world.assigned,
        defaultdict(list, world.mandates),
        defaultdict(list, world.leaves),
        busy,
        world.start,
        world.end,
        BEIJING,
        report,
    )
    return result, report, busy


def plain_world(start, end, world_rules, reps: int, busy=None, leaves=None) -> World:
    """``reps`` reps, assigned and in office throughout, on leave only as ``leaves`` says."""
    whole = (start - 30 * DAY, end + 30 * DAY)
    return World(
        start,
        end,
        world_rules,
        [(rep, whole) for rep in range(1, reps + 1)],
        {rep: [whole] for rep in range(1, reps + 1)},
        leaves or {},
        busy or {},
    )


def mondays_at(hour: int, pk: int, *, weekday: int = 0) -> RosterRule:
    return RosterRule(
        pk=pk,
        studio=HERE,
        kind="regular",
        weekday=weekday,
        start_time=datetime.time(hour),
        end_time=datetime.time(hour + 1),
    )


MONDAY = datetime.date(2026, 3, 2)


@given(worlds())
# Two weekly rules and two reps: each rule alternates between them (not rule 1 always rep 1).
@example(plain_world(MONDAY, MONDAY + 20 * DAY, [mondays_at(9, 1), mondays_at(9, 2, weekday=1)], reps=2))
# Two duties on one Monday and one rep: the second cannot be filled by the same rep again.
@example(plain_world(MONDAY, MONDAY, [mondays_at(9, 1), mondays_at(14, 2)], reps=1))
def test_a_planned_roster_keeps_every_rule_fair_and_everyone_free(world):
    result, report, busy_after = plan(world)
    if result is None:
        event("a slot could not be filled")
        assert report.problems
        slot_days = {(day, rule.pk) for day, rule in wanted(world)}
        for problem in report.problems:
            assert (problem.date, problem.rule.pk) in slot_days
            assert problem.found < problem.needed == problem.rule.reps_per_slot
            assert problem.found <= sum(world.free(rep, problem.date) for rep in world.reps)
        # A studio that fails leaves no tentative duty behind for the next studio.
        assert {rep: days for rep, days in busy_after.items() if days} == {
            rep: days for rep, days in world.busy.items() if days
        }
        return
    event("filled")
    assert not report.problems
    for item in result:
        assert (
            item.starts_at.astimezone(BEIJING).date() == item.date == item.ends_at.astimezone(BEIJING).date()
        )
        assert item.starts_at.astimezone(BEIJING).time() == item.rule.start_time
    check_roster(world, [(item.date, item.rule, item.reps) for item in result])
    # The next studio sees these duties as taken.
    for item in result:
        assert all(item.date in busy_after[rep] for rep in item.reps)


@given(worlds())
def test_a_roster_fails_whenever_a_slot_has_fewer_free_reps_than_it_needs(world):
    short = any(
        sum(world.free(rep, day) for rep in world.reps) < rule.reps_per_slot for day, rule in wanted(world)
    )
    result, report, _busy = plan(world)
    if short:
        assert result is None and report.problems


# --- generate(), on the database ----------------------------------------------------------------


@pytest.mark.django_db
@hsettings(
    max_examples=15,  # each example writes a few dozen rows
    suppress_health_check=[*hsettings.default.suppress_health_check, HealthCheck.function_scoped_fixture],
)
@given(worlds(min_reps=4, max_reps=6, max_days=40))  # enough reps that both studios often fill
# A duty elsewhere on the period's first day counts.
@example(plain_world(MONDAY, MONDAY, [mondays_at(9, 1)], reps=2, busy={1: {MONDAY}}))
# So does a leave that began before the period.
@example(plain_world(MONDAY, MONDAY, [mondays_at(9, 1)], reps=2, leaves={1: [(MONDAY - 3 * DAY, MONDAY)]}))
def test_generate_writes_rosters_with_the_same_properties_for_two_studios_sharing_reps(
    township_a, clerk_a, world
):
    """Two studios with the same rules and the same reps: the second sees the first's duties."""
    reps = {n: RepresentativeFactory(region=township_a).pk for n in world.mandates}
    world = remap(world, reps)
    studios = [StudioFactory(region=township_a) for _ in range(2)]
    saved_rules = {}
    for studio in studios:
        for rule in world.rules:
            copy = RosterRule.objects.create(
                studio=studio,
                **{
                    f: getattr(rule, f)
                    for f in ("kind", "weekday", "days_of_month", "week_of_month", "quarter_sunday")
                },
                start_time=rule.start_time,
                end_time=rule.end_time,
                reps_per_slot=rule.reps_per_slot,
            )
            saved_rules[copy.pk] = (studio.pk, rule)
    for studio in studios:
        StudioAssignment.objects.bulk_create(
            # An assignment running past the period is stored open-ended, as most are.
            StudioAssignment(studio=studio, representative_id=rep, start=a, end=None if b > world.end else b)
            for rep, (a, b) in sorted(set(world.assigned))
        )
    Mandate.objects.bulk_create(
        Mandate(representative_id=rep, level="county", congress=f"第{n}届", term_start=a, term_end=b)
        for rep, spans in world.mandates.items()
        for n, (a, b) in enumerate(spans)
    )
    Leave.objects.bulk_create(
        Leave(representative_id=rep, start=a, end=b) for rep, spans in world.leaves.items() for a, b in spans
    )
    elsewhere = StudioFactory(region=township_a)
    period = RosterPeriod.objects.create(studio=elsewhere, start=world.start, end=world.end)
    for rep, days in world.busy.items():
        for day in days:
            slot = DutySlot.objects.create(
                period=period,
                studio=elsewhere,
                kind="appointed",
                date=day,
                starts_at=datetime.datetime.combine(day, datetime.time(14), BEIJING),
                ends_at=datetime.datetime.combine(day, datetime.time(15), BEIJING),
            )
            SlotAssignment.objects.create(slot=slot, representative_id=rep)

    report = rosters.generate(
        actor=clerk_a,
        studios=Studio.objects.filter(pk__in=[s.pk for s in studios]),
        start=world.start,
        end=world.end,
    )

    failed = {s.pk for s in report.failed_studios}
    for studio in studios:
        # What the planning core makes of the same world, fed by hand instead of by the queries.
        expected, _report, busy_after = plan(world)
        rows = (
            DutySlot.objects.filter(studio=studio)
            .order_by("date", "starts_at", "rule_id")
            .prefetch_related("assignments")
        )
        event("filled" if expected else "a slot could not be filled")
        if expected is None:
            assert studio.pk in failed and not rows.exists()
            continue
        assert studio.pk not in failed
        written = [
            (
                slot.date,
                saved_rules[slot.rule_id][1],
                sorted(a.representative_id for a in slot.assignments.all()),
            )
            for slot in rows
        ]
        by_pk = [(day, rule.pk, reps) for day, rule, reps in written]
        assert by_pk == [(item.date, item.rule.pk, sorted(item.reps)) for item in expected]
        check_roster(world, written)
        world.busy = busy_after  # the second studio sees the first one's duties as taken


def remap(world: World, ids: dict[int, int]) -> World:
    return World(
        world.start,
        world.end,
        world.rules,
        [(ids[rep], span) for rep, span in world.assigned],
        {ids[rep]: spans for rep, spans in world.mandates.items()},
        {ids[rep]: spans for rep, spans in world.leaves.items()},
        {ids[rep]: set(days) for rep, days in world.busy.items()},
    )

"""Generate duty rosters: the studio's recurring rules turned into slots with a fair rota.

Algorithm (for every studio at once, so a county's year is one action):
1. Load, in a handful of set-based queries, each studio's active rules, its assigned reps,
   their mandates and leaves, and the duties they already have elsewhere in the period.
2. For each studio, list every (date, rule) the rules give in the period, in time order.
3. For each, the eligible reps are those assigned to the studio that day, holding a mandate
   that day, not on leave and not already on duty that day anywhere (duties never cross
   midnight, so this also rules out every overlap). Take the ``reps_per_slot`` with the
   fewest duties under this rule so far (then the fewest at the studio, then the longest
   since their last duty, then by id): a greedy least-used rota keeps every rule's most-
   and least-used eligible rep within one slot.
4. A studio period with any slot nobody can fill is reported and not written at all; the
   others are written with bulk inserts. Regenerating a draft period replaces its slots; a
   published period is left alone (it changes slot by slot, with reasons).
"""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import audit
from liaison.models import Region
from reps.models import Mandate
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

Span = tuple[datetime.date, datetime.date]


def rule_dates(rule: RosterRule, start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """Every date from ``start`` to ``end`` (inclusive) on which ``rule`` calls for a duty."""
    dates: list[datetime.date] = []
    if rule.kind == MeetingKind.REGULAR:
        first = start + datetime.timedelta(days=(rule.weekday - start.weekday()) % 7)
        dates = (
            [first + datetime.timedelta(weeks=n) for n in range(((end - first).days // 7) + 1)]
            if first <= end
            else []
        )
    elif rule.kind == MeetingKind.CONCENTRATED:
        # Start 6 days early: under the "last week" reading, the quarter that ended just before
        # ``start`` may still hold its meeting in the first days of the period.
        dates = [
            concentrated_day(year, month, rule.quarter_sunday)
            for year, month in _months(start - datetime.timedelta(days=6), end)
            if month % 3 == 0
        ]
    else:
        for year, month in _months(start, end):
            if rule.kind == MeetingKind.RECEPTION_DAY:
                last = calendar.monthrange(year, month)[1]
                dates += [datetime.date(year, month, d) for d in rule.day_list if d <= last]
            elif rule.kind == MeetingKind.THEMATIC:
                day = nth_weekday(year, month, rule.weekday, rule.week_of_month)
                dates += [day] if day else []
    return [d for d in dates if start <= d <= end]


def concentrated_day(year: int, quarter_end_month: int, reading: str) -> datetime.date:
    """The concentrated meeting of the quarter ending with ``quarter_end_month``, as ``reading`` reads it.

    See ``RosterRule.QuarterSunday``: the last Sunday within the quarter, or the Sunday of the
    Monday–Sunday week holding the quarter's last day (on or after that day).
    """
    last_day = datetime.date(year, quarter_end_month, calendar.monthrange(year, quarter_end_month)[1])
    if reading == RosterRule.QuarterSunday.LAST_WEEK:
        return last_day + datetime.timedelta(days=calendar.SUNDAY - last_day.weekday())
    return last_day - datetime.timedelta(days=(last_day.weekday() - calendar.SUNDAY) % 7)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> datetime.date | None:
    """The ``n``-th ``weekday`` (0 = Monday) of the month; ``n = -1`` is the last one."""
    days = [
        d
        for d in calendar.Calendar().itermonthdates(year, month)
        if d.month == month and d.weekday() == weekday
    ]
    if n == -1:
        return days[-1]
    return days[n - 1] if 1 <= n <= len(days) else None


def _months(start: datetime.date, end: datetime.date):
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _covers(spans: list[Span], day: datetime.date) -> bool:
    return any(a <= day <= b for a, b in spans)


@dataclass
class Problem:
    studio: Studio
    date: datetime.date
    rule: RosterRule
    needed: int
    found: int

    def __str__(self) -> str:
        return _("%(studio)s, %(date)s, %(kind)s: %(needed)s representatives needed, %(found)s available") % {
            "studio": self.studio.name,
            "date": self.date.isoformat(),
            "kind": self.rule.get_kind_display(),
            "needed": self.needed,
            "found": self.found,
        }


@dataclass
class Report:
    written: list[RosterPeriod] = field(default_factory=list)
    slots: int = 0
    problems: list[Problem] = field(default_factory=list)
    skipped_published: list[Studio] = field(default_factory=list)
    without_rules: list[Studio] = field(default_factory=list)

    @property
    def failed_studios(self) -> list[Studio]:
        return list({p.studio.pk: p.studio for p in self.problems}.values())


@dataclass
class _Planned:
    rule: RosterRule
    date: datetime.date
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    reps: list[int]


@transaction.atomic
def generate(*, actor, studios, start: datetime.date, end: datetime.date) -> Report:
    """Fill ``start``–``end`` for every studio in ``studios`` (a queryset); see the module doc."""
    if end < start:
        raise ValueError("end before start")
    report = Report()
    studios = list(studios.filter(is_active=True).order_by("pk"))
    rules = defaultdict(list)
    for rule in RosterRule.objects.filter(studio__in=studios, is_active=True).order_by("pk"):
        rules[rule.studio_id].append(rule)
    existing = {p.studio_id: p for p in RosterPeriod.objects.filter(studio__in=studios, start=start)}

    targets = []
    for studio in studios:
        period = existing.get(studio.pk)
        if period is not None and period.status == RosterPeriod.Status.PUBLISHED:
            report.skipped_published.append(studio)
        elif not rules[studio.pk]:
            report.without_rules.append(studio)
        else:
            targets.append(studio)
    # Regenerating a draft replaces it: its old slots must not count as the reps' other duties.
    replaced = [existing[s.pk].pk for s in targets if s.pk in existing]
    DutySlot.objects.filter(period_id__in=replaced).delete()

    assigned = defaultdict(list)  # studio id -> [(rep id, span)]
    for studio_id, rep_id, a_start, a_end in (
        StudioAssignment.objects.filter(studio__in=targets, start__lte=end)
        .exclude(end__lt=start)
        .values_list("studio_id", "representative_id", "start", "end")
    ):
        assigned[studio_id].append((rep_id, (a_start, a_end or end)))
    rep_ids = {rep for pairs in assigned.values() for rep, _span in pairs}
    mandates, leaves = defaultdict(list), defaultdict(list)
    for rep, a, b in Mandate.objects.filter(
        representative__in=rep_ids, term_start__lte=end, term_end__gte=start
    ).values_list("representative_id", "term_start", "term_end"):
        mandates[rep].append((a, b))
    for rep, a, b in Leave.objects.filter(
        representative__in=rep_ids, start__lte=end, end__gte=start
    ).values_list("representative_id", "start", "end"):
        leaves[rep].append((a, b))
    busy_days = defaultdict(set)
    tz = timezone.get_current_timezone()
    for rep, day in SlotAssignment.objects.filter(
        representative__in=rep_ids, slot__date__gte=start, slot__date__lte=end
    ).values_list("representative_id", "slot__date"):
        busy_days[rep].add(day)

    planned_by_studio: dict[int, list[_Planned]] = {}
    for studio in targets:
        plan = _plan_studio(
            studio,
            rules[studio.pk],
            assigned[studio.pk],
            mandates,
            leaves,
            busy_days,
            start,
            end,
            tz,
            report,
        )
        if plan is not None:
            planned_by_studio[studio.pk] = plan
    _write(planned_by_studio, existing, targets, start, end, report)
    regions = {s.pk: s.region_id for s in targets}
    audit.record_many(
        actor=actor,
        verb="roster.generated",
        subjects=report.written,
        region_of=lambda period: Region(pk=regions[period.studio_id]),
    )
    return report


def _plan_studio(studio, rules, assigned, mandates, leaves, busy_days, start, end, tz, report):
    wanted = sorted(
        ((day, rule) for rule in rules for day in rule_dates(rule, start, end)),
        key=lambda pair: (pair[0], pair[1].start_time, pair[1].pk),
    )
    per_rule = defaultdict(lambda: defaultdict(int))
    at_studio, last_duty = defaultdict(int), {}
    plan, problems = [], []
    # Work on copies: a studio that fails must not leave its tentative duties behind.
    days_taken = defaultdict(set)
    for day, rule in wanted:
        starts_at = timezone.make_aware(datetime.datetime.combine(day, rule.start_time), tz)
        ends_at = timezone.make_aware(datetime.datetime.combine(day, rule.end_time), tz)
        eligible = [
            rep
            for rep, span in assigned
            if span[0] <= day <= span[1]
            and _covers(mandates[rep], day)
            and not _covers(leaves[rep], day)
            and day not in busy_days[rep]
            and day not in days_taken[rep]
        ]
        eligible = sorted(
            set(eligible),
            key=lambda rep: (
                per_rule[rule.pk][rep],
                at_studio[rep],
                last_duty.get(rep, datetime.date.min),
                rep,
            ),
        )
        if len(eligible) < rule.reps_per_slot:
            problems.append(Problem(studio, day, rule, rule.reps_per_slot, len(eligible)))
            continue
        chosen = eligible[: rule.reps_per_slot]
        for rep in chosen:
            per_rule[rule.pk][rep] += 1
            at_studio[rep] += 1
            last_duty[rep] = day
            days_taken[rep].add(day)
        plan.append(_Planned(rule, day, starts_at, ends_at, chosen))
    if problems:
        report.problems.extend(problems)
        return None
    for rep, days in days_taken.items():  # later studios see these duties as taken
        busy_days[rep] |= days
    return plan


def _write(planned_by_studio, existing, targets, start, end, report) -> None:
    new_periods = [
        RosterPeriod(studio=s, start=start, end=end)
        for s in targets
        if s.pk in planned_by_studio and s.pk not in existing
    ]
    RosterPeriod.objects.bulk_create(new_periods)
    periods = {p.studio_id: p for p in new_periods}
    for studio_id, period in existing.items():
        if studio_id in planned_by_studio:
            if period.end != end:
                period.end = end
                period.save(update_fields=["end"])
            periods[studio_id] = period
    slots, reps_for = [], []
    for studio_id, plan in planned_by_studio.items():
        for item in plan:
            slots.append(
                DutySlot(
                    period=periods[studio_id],
                    studio_id=studio_id,
                    rule=item.rule,
                    kind=item.rule.kind,
                    date=item.date,
                    starts_at=item.starts_at,
                    ends_at=item.ends_at,
                    theme=item.rule.theme,
                )
            )
            reps_for.append(item.reps)
    DutySlot.objects.bulk_create(slots, batch_size=2000)
    SlotAssignment.objects.bulk_create(
        (
            SlotAssignment(slot=slot, representative_id=rep)
            for slot, reps in zip(slots, reps_for, strict=True)
            for rep in reps
        ),
        batch_size=5000,
    )
    report.written = list(periods.values())
    report.slots = len(slots)

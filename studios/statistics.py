"""Compute the reception statistics (接访统计表) per studio and per township, for a date range.

Definitions, for a range of local dates [start, end] (both included):

- **slots**: ``DutySlot`` rows of *published* roster periods whose ``date`` lies in the range;
  a draft period's slots do not count (they are not yet the studio's promise to the public).
- **attendance rate**: among the assignments of those slots whose slot has ended (``ends_at``
  at or before ``now``) and that are marked attended, substituted or absent, the share marked
  attended or substituted, as a percentage with one decimal; "—" when none is marked. A pending
  assignment counts neither way.
- **people received**: the sum of ``Reception.people_received`` over the receptions at the studio
  whose ``starts_at``, in local time, falls on a date in the range.
- **matters raised**: the ``ReceptionMatter`` rows of those receptions;
  **answered on the spot**: those with ``answered_on_spot``;
  **turned into tickets**: those a suggestion ticket was really registered from (the ticket
  links back to its matter), not those merely flagged ``for_ticket`` and still waiting to be
  handed in. ``studios`` does not know tickets: the app that does (``proposals``) registers,
  with ``register_ticketed``, the condition that says a matter has its ticket; without it,
  none counts.
- **by meeting kind** (the 接访统计表's split): the receptions, people, matters, answered and
  tickets above, split by the reception's kind into daily duty (regular duty and reception
  days), thematic, concentrated and appointed meetings (``SPLIT``); the parts add up to the row.
- **townships** add up their studios: a studio belongs to the township that is its region, or
  its region's parent (a village studio). A county-level studio is grouped under its county.
  Rates are recomputed from the summed counts, never averaged.

Cost: one query for the studios and four aggregate queries grouped by studio (slots with
attendance, people received, matters, tickets), whatever the number of studios: the studio
filter goes into each aggregate as a subquery, not as a list of ids. ``totals`` gives the slots,
attendance and people of all the studios in two queries (the overview's other periods).

Periods: ``period_of(kind, year, n)`` gives the month, quarter or year (``reps.duties.Period``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison.models import Region
from reps.duties import MONTH, QUARTER, YEAR, Period
from studios.models import (
    DutySlot,
    MeetingKind,
    Reception,
    ReceptionMatter,
    RosterPeriod,
    SlotAssignment,
    Studio,
)

KINDS = (MONTH, QUARTER, YEAR)
PRESENT = (SlotAssignment.Attendance.ATTENDED, SlotAssignment.Attendance.SUBSTITUTED)
MARKED = (*PRESENT, SlotAssignment.Attendance.ABSENT)
FIGURES = ("slots", "attended", "marked", "people", "matters", "answered", "tickets")
KIND_FIGURES = ("receptions", "people", "matters", "answered", "tickets")
# The meeting kinds the 接访统计表 is split by; a reception day is a day of the daily duty.
SPLIT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("duty", (MeetingKind.REGULAR, MeetingKind.RECEPTION_DAY)),
    ("thematic", (MeetingKind.THEMATIC,)),
    ("concentrated", (MeetingKind.CONCENTRATED,)),
    ("appointed", (MeetingKind.APPOINTED,)),
)
PART_OF = {kind: key for key, kinds in SPLIT for kind in kinds}


def split_names() -> dict[str, str]:
    return {
        "duty": _("Daily duty"),
        "thematic": _("Thematic meeting"),
        "concentrated": _("Concentrated meeting"),
        "appointed": _("Appointed meeting"),
    }


@dataclass
class KindFigures:
    """One meeting kind's part of a row."""

    receptions: int = 0
    people: int = 0
    matters: int = 0
    answered: int = 0
    tickets: int = 0

    def add(self, other: KindFigures) -> None:
        for name in KIND_FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _empty_split() -> dict[str, KindFigures]:
    return {key: KindFigures() for key, _kinds in SPLIT}


@dataclass
class Row:
    """One line of the table: a studio, a township, or the total."""

    name: str
    region: Region | None = None  # the studio's region, or the township itself
    studio: Studio | None = None
    township: Region | None = None
    slots: int = 0
    attended: int = 0  # attended or substituted, slot ended
    marked: int = 0  # attended, substituted or absent, slot ended
    people: int = 0
    matters: int = 0
    answered: int = 0
    tickets: int = 0
    studios: list[Studio] = field(default_factory=list)
    by_kind: dict[str, KindFigures] = field(default_factory=_empty_split)

    @property
    def receptions(self) -> int:
        return sum(part.receptions for part in self.by_kind.values())

    @property
    def parts(self) -> list[KindFigures]:
        """The meeting kinds' parts in ``SPLIT`` order (for the table's columns)."""
        return [self.by_kind[key] for key, _kinds in SPLIT]

    @property
    def attendance_rate(self) -> Decimal | None:
        """Percentage present among the marked assignments, one decimal; None when none is marked."""
        if not self.marked:
            return None
        return (Decimal(100) * self.attended / self.marked).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def attendance_display(self) -> str:
        rate = self.attendance_rate
        return "—" if rate is None else f"{rate}%"

    @property
    def is_empty(self) -> bool:
        return not (self.receptions or any(getattr(self, name) for name in FIGURES))

    def add(self, other: Row) -> None:
        for name in FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, part in other.by_kind.items():
            self.by_kind[key].add(part)


# --- periods ---------------------------------------------------------------------------------


def period_of(kind: str, year: int, n: int = 1) -> Period:
    """Return month ``n``, quarter ``n`` or the whole ``year`` (``n`` ignored) as a ``Period``."""
    if kind == YEAR:
        return Period.containing(YEAR, datetime.date(year, 1, 1))
    if kind == QUARTER:
        if not 1 <= n <= 4:
            raise ValueError(f"quarter {n}")
        return Period.containing(QUARTER, datetime.date(year, 3 * n - 2, 1))
    if kind == MONTH:
        if not 1 <= n <= 12:
            raise ValueError(f"month {n}")
        return Period.containing(MONTH, datetime.date(year, n, 1))
    raise ValueError(f"unknown period kind {kind!r}")


def period_number(period: Period) -> int:
    """The month (1–12) or quarter (1–4) number of ``period``; 1 for a year."""
    if period.kind == MONTH:
        return period.start.month
    if period.kind == QUARTER:
        return (period.start.month - 1) // 3 + 1
    return 1


def quarter_names() -> dict[int, str]:
    return {1: _("first quarter"), 2: _("second quarter"), 3: _("third quarter"), 4: _("fourth quarter")}


def period_label(period: Period) -> str:
    """Name the period for a title: "2026, third quarter" (zh: 2026年第三季度)."""
    year = period.start.year
    if period.kind == QUARTER:
        return _("%(year)s, %(quarter)s") % {"year": year, "quarter": quarter_names()[period_number(period)]}
    if period.kind == MONTH:
        return _("%(month)s/%(year)s") % {"year": year, "month": period.start.month}
    return _("year %(year)s") % {"year": year}


# --- the selectors ---------------------------------------------------------------------------


_DAY = datetime.timedelta(days=1)


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# "Has a ticket": given the lookup prefix from the queried model to a reception matter ("" on
# ``ReceptionMatter`` itself, "matters__" from ``Reception``), the condition that a suggestion
# ticket was registered from the matter. Registered by ``proposals`` (which owns tickets).
Ticketed = Callable[[str], Q]
_NONE = Q(pk__in=[])
_ticketed: Ticketed | None = None


def register_ticketed(condition: Ticketed) -> Ticketed:
    global _ticketed
    _ticketed = condition
    return condition


def ticketed(prefix: str = "") -> Q:
    """The condition "this reception matter has a registered ticket" (matches none unregistered)."""
    return _ticketed(prefix) if _ticketed is not None else _NONE


def ticket_counts(matters: QuerySet) -> dict[tuple[int, str], int]:
    """Count, per (studio id, reception kind), the matters of ``matters`` turned into tickets.

    The one place that says what "turned into a ticket" means: a ticket was registered from
    the matter (``ticketed``), whatever its ``for_ticket`` flag says.
    """
    rows = (
        matters.filter(ticketed())
        .values_list("reception__studio_id", "reception__kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(studio_id, kind): n for studio_id, kind, n in rows}


def studio_statistics(
    studios_qs: QuerySet,
    *,
    start: datetime.date,
    end: datetime.date,
    now: datetime.datetime | None = None,
) -> list[Row]:
    """Return one row per studio of ``studios_qs`` for [start, end]; see the module docstring.

    An inactive studio appears only when it has figures in the range.
    """
    now = now or timezone.now()
    studios = list(studios_qs.select_related("region__parent").order_by("region__path", "name", "pk"))
    ids = studios_qs.values("pk")
    rows = {s.pk: Row(name=s.name, region=s.region, studio=s, township=township_of(s)) for s in studios}

    slots = _slots(ids, start, end).values_list("studio_id").annotate(**_slot_counts(now)).order_by()
    for studio_id, n, attended, marked in slots:
        row = rows[studio_id]
        row.slots, row.attended, row.marked = n, attended, marked

    receptions = _receptions(ids, start, end)
    for studio_id, kind, n, people in (
        receptions.values_list("studio_id", "kind")
        .annotate(n=Count("id"), people=Sum("people_received"))
        .order_by()
    ):
        row, part = rows[studio_id], rows[studio_id].by_kind[PART_OF[kind]]
        part.receptions += n
        part.people += people or 0
        row.people += people or 0

    matters = ReceptionMatter.objects.filter(reception__in=receptions.values("pk"))
    for studio_id, kind, n, answered in (
        matters.values_list("reception__studio_id", "reception__kind")
        .annotate(n=Count("id"), answered=Count("id", filter=Q(answered_on_spot=True)))
        .order_by()
    ):
        row, part = rows[studio_id], rows[studio_id].by_kind[PART_OF[kind]]
        part.matters += n
        part.answered += answered
        row.matters += n
        row.answered += answered
    for (studio_id, kind), n in ticket_counts(matters).items():
        rows[studio_id].by_kind[PART_OF[kind]].tickets += n
        rows[studio_id].tickets += n

    return [row for row in rows.values() if row.studio.is_active or not row.is_empty]


def _slots(ids: QuerySet, start: datetime.date, end: datetime.date) -> QuerySet:
    """The duty slots counted: of published roster periods, dated in [start, end]."""
    return DutySlot.objects.filter(
        studio__in=ids, period__status=RosterPeriod.Status.PUBLISHED, date__gte=start, date__lte=end
    )


def _slot_counts(now: datetime.datetime) -> dict:
    """Slots, and their ended assignments present and marked (the attendance rate's two sides)."""
    ended = Q(ends_at__lte=now)
    return {
        "n": Count("id", distinct=True),
        "attended": Count("assignments", filter=ended & Q(assignments__attendance__in=PRESENT)),
        "marked": Count("assignments", filter=ended & Q(assignments__attendance__in=MARKED)),
    }


def _receptions(ids: QuerySet, start: datetime.date, end: datetime.date) -> QuerySet:
    """The receptions counted: active, starting on a local date in [start, end]."""
    return Reception.objects.active().filter(
        studio__in=ids, starts_at__gte=_local_midnight(start), starts_at__lt=_local_midnight(end + _DAY)
    )


def totals(
    studios_qs: QuerySet,
    *,
    start: datetime.date,
    end: datetime.date,
    now: datetime.datetime | None = None,
) -> Row:
    """The totals row of ``studio_statistics`` for its slots, attendance and people received only (the
    matters are left at 0), in two queries: what the overview compares with other periods."""
    ids = studios_qs.values("pk")
    slots = _slots(ids, start, end).aggregate(**_slot_counts(now or timezone.now()))
    people = _receptions(ids, start, end).aggregate(people=Sum("people_received"))["people"]
    return Row(
        name=_("Total"),
        slots=slots["n"],
        attended=slots["attended"],
        marked=slots["marked"],
        people=people or 0,
    )


def township_of(studio: Studio) -> Region:
    """The township a studio counts under: its region, or its village's township (county: itself)."""
    region = studio.region
    if region.level == Region.Level.VILLAGE and region.parent_id:
        return region.parent
    return region


def township_statistics(
    studios_qs: QuerySet,
    *,
    start: datetime.date,
    end: datetime.date,
    now: datetime.datetime | None = None,
) -> list[Row]:
    """Return one row per township, adding up its studios' rows (same queries as per studio)."""
    return by_township(studio_statistics(studios_qs, start=start, end=end, now=now))


def by_township(studio_rows: Iterable[Row]) -> list[Row]:
    """Add up studio rows into township rows, ordered as the region tree is."""
    townships: dict[int, Row] = {}
    for row in studio_rows:
        township = row.township
        group = townships.get(township.pk)
        if group is None:
            group = townships[township.pk] = Row(name=township.name, region=township, township=township)
        group.add(row)
        group.studios.append(row.studio)
    return sorted(townships.values(), key=lambda r: r.region.path)


def total(rows: Iterable[Row]) -> Row:
    """The totals row: every count summed, the rate recomputed from the sums."""
    result = Row(name=_("Total"))
    for row in rows:
        result.add(row)
        result.studios.extend(row.studios or [row.studio])
    return result

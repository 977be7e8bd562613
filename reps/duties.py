"""Each representative's standing against each duty quota, for a period.

Quotas are registered (``register``): this app registers those it can count (contacts,
pairing, visits, the research duty, the "four ones" it owns); the studios app registers
receptions and the monthly public-opinion report the same way. The proposals app registers a
*tally* (``register_tally``): the day of each suggestion a rep is responsible for or co-signed,
which the research duty here reads, so this module never imports them. Each quota counts with
one or two set-based queries for all reps at once, so a table of 10 or 10,000 reps costs the
same number of queries.

Rules (DOMAIN.md, "Duties with numbers"):
1. Duties are the person's: a rep with two mandates is counted once.
2. The policy is the county's version in force at the period's reference day (its last day,
   or today for the current period): a change applies to the whole period in which it takes
   effect, from the day it does.
3. Cumulative quotas (visits, reports, receptions) are prorated by the days of the period
   in which the person held any mandate, rounded up; a term ending mid-year halves them.
   Snapshot quotas (contacts, pairing) apply in full to whoever is a rep on the reference day.
4. A cell is ``ok`` when met; ``due`` when not yet met but on pace for the time elapsed;
   ``behind`` when below pace (or, for a finished period or a snapshot, not met).
5. The research duty (seed 000) is policy (``DutyPolicy.research_rule``): every year, the
   suggestions AND the research reports (two yearly quotas), or within the term, the
   suggestions OR the reports (one cell over the rep's current term: see ``term_of``).
"""

from __future__ import annotations

import calendar
import datetime
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from django.db.models import Count, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from reps.models import (
    ContactLink,
    DutyPolicy,
    HomeVisit,
    Mandate,
    PointsPolicy,
    Representative,
    ResearchReport,
)

YEAR, QUARTER, MONTH, NOW = "year", "quarter", "month", "now"

P = TypeVar("P", bound=DutyPolicy | PointsPolicy)


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime.date
    end: datetime.date

    @classmethod
    def containing(cls, kind: str, day: datetime.date) -> Period:
        if kind in (YEAR, NOW):
            return cls(kind, datetime.date(day.year, 1, 1), datetime.date(day.year, 12, 31))
        if kind == QUARTER:
            first = 3 * ((day.month - 1) // 3) + 1
            last = first + 2
            return cls(
                kind,
                datetime.date(day.year, first, 1),
                datetime.date(day.year, last, calendar.monthrange(day.year, last)[1]),
            )
        return cls(kind, day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1]))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def elapsed_fraction(self, today: datetime.date) -> float:
        if today >= self.end:
            return 1.0
        if today < self.start:
            return 0.0
        return ((today - self.start).days + 1) / self.days


@dataclass
class RepContext:
    """What a quota needs to know about one rep: their levels, policy and time in office."""

    rep: Representative
    policy: DutyPolicy
    active_fraction: float  # of the period, 0..1
    active_at_end: bool
    levels: frozenset[str]


# A counter returns, per rep id, a count, or (count, required) when the requirement depends
# on the rep's own data (e.g. "every linked contact visited twice"), or a whole ``Cell`` when
# the rep's own window decides the pace too (the research duty over a term).
Counter = Callable[[list["RepContext"], "Period", datetime.date], dict[int, "int | tuple[int, int] | Cell"]]


@dataclass(frozen=True)
class Quota:
    key: str
    label: str
    period: str  # YEAR, QUARTER, MONTH or NOW (a snapshot at the period's end)
    required: Callable[[RepContext], int]
    count: Counter
    enabled: Callable[[DutyPolicy], bool] = field(default=lambda policy: True)
    order: int = 50


_QUOTAS: dict[str, Quota] = {}


def register(quota: Quota) -> Quota:
    _QUOTAS[quota.key] = quota
    return quota


def quotas() -> list[Quota]:
    return sorted(_QUOTAS.values(), key=lambda q: q.order)


# A tally gives, per rep id, the day of each of the rep's items from ``start`` to ``end`` (one
# query for all reps), so that a quota can count them over each rep's own window (a term).
Tally = Callable[[list[int], datetime.date, datetime.date], dict[int, list[datetime.date]]]

_TALLIES: dict[str, Tally] = {}


def register_tally(key: str, tally: Tally) -> Tally:
    _TALLIES[key] = tally
    return tally


def tally(
    key: str, rep_ids: list[int], start: datetime.date, end: datetime.date
) -> dict[int, list[datetime.date]]:
    """The days of each rep's items of kind ``key`` (none when no app registered the kind)."""
    counted = _TALLIES.get(key)
    return counted(rep_ids, start, end) if counted is not None and rep_ids else {}


@dataclass
class Cell:
    value: int
    required: int
    status: str  # "ok", "due", "behind", "na"
    text: str = ""  # what the cell says when "value/required" does not say it

    @property
    def label(self) -> str:
        return self.text or f"{self.value}/{self.required}"


@dataclass
class Row:
    rep: Representative
    cells: dict[str, Cell]
    ordered: list[tuple[Quota, Cell]] = field(default_factory=list)  # the shown columns, in order

    @property
    def worst(self) -> str:
        order = {"behind": 0, "due": 1, "ok": 2, "na": 3}
        return min((c.status for c in self.cells.values()), key=order.__getitem__, default="na")


def reference_day(today: datetime.date, year: int | None) -> datetime.date:
    """The day a table is seen from: today, or the last day of a past year."""
    return datetime.date(year, 12, 31) if year is not None and year < today.year else today


def standing(reps, *, today: datetime.date, year: int | None = None) -> tuple[list[Quota], list[Row]]:
    """Compute every rep's cells for the periods containing ``today``, or for a past ``year``.

    ``reps`` is a queryset, evaluated once with its mandates; policies take one more query and
    each quota one more: the count does not grow with the number of reps.
    """
    today = reference_day(today, year)
    reps = list(reps.select_related("region").prefetch_related("mandates"))
    policies = _policies_for(reps)
    rows = [Row(rep=rep, cells={}) for rep in reps]
    for quota in quotas():
        period = Period.containing(quota.period, today)
        reference = min(today, period.end)
        contexts = [_context(row.rep, period, reference, policies) for row in rows]
        counted = [c for c in contexts if c is not None and quota.enabled(c.policy)]
        counts = quota.count(counted, period, reference) if counted else {}
        elapsed = 1.0 if quota.period == NOW else period.elapsed_fraction(today)
        for row, ctx in zip(rows, contexts, strict=True):
            if (
                ctx is None
                or not quota.enabled(ctx.policy)
                or (quota.period == NOW and not ctx.active_at_end)
            ):
                row.cells[quota.key] = Cell(0, 0, "na")
                continue
            found = counts.get(row.rep.pk, 0)
            if isinstance(found, Cell):
                row.cells[quota.key] = found
                continue
            value, required = found if isinstance(found, tuple) else (found, quota.required(ctx))
            row.cells[quota.key] = Cell(value, required, _status(value, required, elapsed))
    shown = [q for q in quotas() if any(row.cells[q.key].status != "na" for row in rows)]
    for row in rows:
        row.ordered = [(q, row.cells[q.key]) for q in shown]
    return shown, rows


def _periods_between(kind: str, start: datetime.date, reference: datetime.date) -> list[Period]:
    """The periods of ``kind`` from the one containing ``start`` to the one containing ``reference``."""
    if kind in (YEAR, NOW):
        return [Period.containing(kind, reference)]
    found, day = [], start
    while day <= reference:
        period = Period.containing(kind, day)
        found.append(period)
        day = period.end + datetime.timedelta(days=1)
    return found


def cells_met_and_behind(
    reps: list[Representative], *, start: datetime.date, reference: datetime.date
) -> dict[int, tuple[int, int]]:
    """Count each rep's cells met and behind over every period from ``start`` to ``reference``.

    The points (``reps.points``) read this: each quarter's receptions, each month's "four ones",
    the year's quotas and the snapshots on ``reference`` are a cell each, judged as ``standing``
    judges them (the policy in force on each period's reference day, proration, pace). A cell asking
    nothing (the rep not in office then) counts neither way; one still "due" neither. ``reps`` come
    with their region and mandates; each quota costs its count's queries once per period, so the
    number of queries depends on the periods, not on the number of reps.
    """
    policies = _policies_for(reps)
    met: dict[int, int] = defaultdict(int)
    behind: dict[int, int] = defaultdict(int)
    for quota in quotas():
        for period in _periods_between(quota.period, start, reference):
            as_of = min(reference, period.end)
            contexts = [_context(rep, period, as_of, policies) for rep in reps]
            counted = [
                c
                for c in contexts
                if c is not None and quota.enabled(c.policy) and (quota.period != NOW or c.active_at_end)
            ]
            if not counted:
                continue
            counts = quota.count(counted, period, as_of)
            elapsed = 1.0 if quota.period == NOW else period.elapsed_fraction(reference)
            for ctx in counted:
                found = counts.get(ctx.rep.pk, 0)
                if isinstance(found, Cell):
                    cell = found
                else:
                    value, required = found if isinstance(found, tuple) else (found, quota.required(ctx))
                    cell = Cell(value, required, _status(value, required, elapsed))
                if cell.required <= 0:
                    continue
                if cell.status == "ok":
                    met[ctx.rep.pk] += 1
                elif cell.status == "behind":
                    behind[ctx.rep.pk] += 1
    return {rep.pk: (met[rep.pk], behind[rep.pk]) for rep in reps}


def _status(value: int, required: int, elapsed: float) -> str:
    if value >= required:
        return "ok"
    if elapsed < 1.0 and value >= math.floor(required * elapsed):
        return "due"
    return "behind"


def _policies_for(reps: list[Representative]) -> dict[int, list[DutyPolicy]]:
    return policies_of(rep.region.county_id for rep in reps)


def policy_in_force(
    county_id: int, day: datetime.date, policies: dict[int, list[P]], model: type[P] = DutyPolicy
) -> P:
    """The county's policy on ``day`` (``policies`` by county, oldest first), else the defaults.

    ``model`` is any policy versioned by ``effective_from`` per county (``DutyPolicy``, and
    ``PointsPolicy`` for ``reps.points``): the defaults are an unsaved row of it."""
    in_force = [p for p in policies.get(county_id, []) if p.effective_from <= day]
    return in_force[-1] if in_force else model(county_id=county_id, effective_from=day)


def policies_of(county_ids, model: type[P] = DutyPolicy) -> dict[int, list[P]]:
    """Every policy version (of ``model``) of these counties, oldest first (one query)."""
    by_county: dict[int, list[P]] = defaultdict(list)
    for policy in model.objects.filter(county_id__in=set(county_ids)).order_by("effective_from"):
        by_county[policy.county_id].append(policy)
    return by_county


def _context(rep, period: Period, reference: datetime.date, policies) -> RepContext | None:
    county_id = rep.region.county_id
    policy = policy_in_force(county_id, reference, policies)
    if policy.pk is None:
        policy.effective_from = period.start
    mandates: list[Mandate] = list(rep.mandates.all())
    active_days = _days_covered(mandates, Period(period.kind, period.start, reference))
    if not active_days:
        return None
    return RepContext(
        rep=rep,
        policy=policy,
        active_fraction=share_in_office(mandates, period),
        active_at_end=any(m.is_active_on(reference) for m in mandates),
        levels=frozenset(m.level for m in mandates if m.is_active_on(reference)),
    )


def _days_covered(mandates: list[Mandate], period: Period) -> int:
    """Days of ``period`` in which at least one mandate was running (overlaps counted once)."""
    spans = sorted(
        (max(m.term_start, period.start), min(m.term_end, period.end))
        for m in mandates
        if m.term_start <= period.end and m.term_end >= period.start
    )
    days, cursor = 0, None
    for start, end in spans:
        if cursor is not None and start <= cursor:
            start = cursor + datetime.timedelta(days=1)
        if start <= end:
            days += (end - start).days + 1
            cursor = end
    return days


def share_in_office(mandates: list[Mandate], period: Period) -> float:
    """The share of ``period`` (0..1) in which the person held any mandate (rule 3)."""
    return _days_covered(mandates, period) / period.days


def prorate(quota_per_period: int, active_fraction: float) -> int:
    """A cumulative quota for a part of the period in office, rounded up (rule 3)."""
    return math.ceil(quota_per_period * active_fraction - 1e-9)


def prorated(quota_per_period: int, ctx: RepContext) -> int:
    return prorate(quota_per_period, ctx.active_fraction)


def snapshot(quota: int, ctx: RepContext) -> int:
    return quota if ctx.active_at_end else 0


# --- the quotas this app can count -------------------------------------------------------


def _rep_ids(contexts: list[RepContext]) -> list[int]:
    return [c.rep.pk for c in contexts]


def count_contacts(contexts, period, as_of, *, extra: Q | None = None) -> dict[int, int]:
    links = ContactLink.objects.active(as_of).filter(representative_id__in=_rep_ids(contexts))
    if extra is not None:
        links = links.filter(extra)
    return dict(
        links.values_list("representative_id").annotate(n=Count("id")).values_list("representative_id", "n")
    )


def count_contacts_visited_enough(contexts, period, as_of) -> dict[int, int]:
    """How many of each rep's linked contacts got their yearly number of visits."""
    ids = _rep_ids(contexts)
    through = HomeVisit.contacts.through
    visits = (
        through.objects.filter(
            homevisit__date__gte=period.start,
            homevisit__date__lte=as_of,
            homevisit__representatives__in=ids,
            homevisit__withdrawn_at__isnull=True,  # a withdrawn visit does not count
        )
        .values_list("homevisit__representatives", "contact_id")
        .annotate(n=Count("homevisit_id", distinct=True))
    )
    linked = set(
        ContactLink.objects.active(as_of)
        .filter(representative_id__in=ids)
        .values_list("representative_id", "contact_id")
    )
    needed = {c.rep.pk: c.policy.visits_per_contact_per_year for c in contexts}
    visited: dict[int, int] = defaultdict(int)
    for rep_id, contact_id, n in visits:
        if (rep_id, contact_id) in linked and n >= needed[rep_id]:
            visited[rep_id] += 1
    linked_per_rep: dict[int, int] = defaultdict(int)
    for rep_id, _contact in linked:
        linked_per_rep[rep_id] += 1
    # Every contact linked today is due its visits, prorated for a partial year in office.
    return {
        c.rep.pk: (visited[c.rep.pk], math.ceil(linked_per_rep[c.rep.pk] * c.active_fraction - 1e-9))
        for c in contexts
    }


def visits_per_rep(
    rep_ids: list[int], start: datetime.date, end: datetime.date, *, extra: Q | None = None
) -> dict[int, int]:
    """Each rep's home visits (not withdrawn) from ``start`` to ``end``, one query (the points too)."""
    visits = HomeVisit.objects.active().filter(date__gte=start, date__lte=end, representatives__in=rep_ids)
    if extra is not None:
        visits = visits.filter(extra)
    rows = visits.values_list("representatives").annotate(n=Count("id", distinct=True))
    return dict(rows.values_list("representatives", "n"))


def count_visits(contexts, period, as_of, *, extra: Q | None = None) -> dict[int, int]:
    return visits_per_rep(_rep_ids(contexts), period.start, as_of, extra=extra)


def research_report_days(rep_ids: list[int], start: datetime.date, end: datetime.date):
    """The tally of research reports: the day each was handed in, per rep."""
    days: dict[int, list[datetime.date]] = defaultdict(list)
    reports = ResearchReport.objects.filter(
        representative_id__in=rep_ids, submitted_on__gte=start, submitted_on__lte=end
    ).values_list("representative_id", "submitted_on")
    for rep_id, day in reports:
        days[rep_id].append(day)
    return days


register_tally("research_reports", research_report_days)


def counted_in_period(key: str):
    """A counter of a tally's items in the period, up to the day the table is seen from."""

    def count(contexts, period, as_of) -> dict[int, int]:
        return {rep: len(days) for rep, days in tally(key, _rep_ids(contexts), period.start, as_of).items()}

    return count


def term_of(mandates: list[Mandate], day: datetime.date) -> tuple[datetime.date, datetime.date] | None:
    """The term a "within the term" duty runs over, seen from ``day``: (first day, last day).

    Duties are the person's: of the mandates running on ``day``, the term that began first
    (everything since counts, and its pace is the furthest on); when none runs on ``day`` (the
    term ended earlier in the period), the one that ended last.
    """
    running = [m for m in mandates if m.is_active_on(day)]
    if running:
        term = min(running, key=lambda m: m.term_start)
    else:
        ended = [m for m in mandates if m.term_end < day]
        if not ended:
            return None
        term = max(ended, key=lambda m: m.term_end)
    return term.term_start, term.term_end


def count_research_in_term(contexts, period, as_of) -> dict[int, Cell]:
    """The research duty read as "within the term, N suggestions OR M research reports".

    1. Find each rep's term (``term_of``) and fetch both tallies once, from the earliest start.
    2. Count each rep's items from their own term's start up to ``as_of``.
    3. The cell is the better of the two standings (met by either; on pace if either is), each
       paced by how much of the term has passed.
    """
    terms = {c.rep.pk: term_of(list(c.rep.mandates.all()), as_of) for c in contexts}
    starts = [term[0] for term in terms.values() if term]
    if not starts:
        return {}
    ids = [rep for rep, term in terms.items() if term]
    suggestions = tally("suggestions", ids, min(starts), as_of)
    reports = tally("research_reports", ids, min(starts), as_of)
    order = {"ok": 0, "due": 1, "behind": 2}
    cells: dict[int, Cell] = {}
    for ctx in contexts:
        term = terms[ctx.rep.pk]
        if term is None:
            continue
        first, last = term
        upto = min(as_of, last)
        n_suggestions = sum(1 for day in suggestions.get(ctx.rep.pk, ()) if first <= day <= upto)
        n_reports = sum(1 for day in reports.get(ctx.rep.pk, ()) if first <= day <= upto)
        elapsed = 1.0 if as_of >= last else ((as_of - first).days + 1) / ((last - first).days + 1)
        need_suggestions = ctx.policy.suggestions_per_year
        need_reports = ctx.policy.research_reports_per_year
        status = min(
            _status(n_suggestions, need_suggestions, elapsed),
            _status(n_reports, need_reports, elapsed),
            key=order.__getitem__,
        )
        text = gettext("%(s)s/%(sn)s suggestions or %(r)s/%(rn)s reports") % {
            "s": n_suggestions,
            "sn": need_suggestions,
            "r": n_reports,
            "rn": need_reports,
        }
        cells[ctx.rep.pk] = Cell(n_suggestions + n_reports, need_suggestions, status, text)
    return cells


def _four_ones(policy: DutyPolicy) -> bool:
    return policy.four_ones


register(
    Quota(
        "contacts",
        _("Contacts"),
        NOW,
        lambda c: snapshot(c.policy.contacts_per_rep, c),
        count_contacts,
        order=10,
    )
)
register(
    Quota(
        "pairing_poor",
        _("Paired poor party members"),
        NOW,
        lambda c: snapshot(c.policy.pairing_poor_party_members, c),
        lambda cs, p, d: count_contacts(
            cs, p, d, extra=Q(is_pairing=True, contact__is_poor_party_member=True)
        ),
        order=20,
    )
)
register(
    Quota(
        "pairing_difficult",
        _("Paired difficult households"),
        NOW,
        lambda c: snapshot(c.policy.pairing_difficult_households, c),
        lambda cs, p, d: count_contacts(
            cs, p, d, extra=Q(is_pairing=True, contact__is_difficult_household=True)
        ),
        order=21,
    )
)
register(
    Quota(
        "visits",
        _("Contacts visited enough this year"),
        YEAR,
        lambda c: 0,  # the counter returns the requirement: the rep's own linked contacts
        count_contacts_visited_enough,
        order=30,
    )
)


def _yearly_research(policy: DutyPolicy) -> bool:
    return policy.research_rule == DutyPolicy.ResearchRule.YEARLY_BOTH


def _research_in_term(policy: DutyPolicy) -> bool:
    return policy.research_rule == DutyPolicy.ResearchRule.TERM_EITHER


register(
    Quota(
        "research_reports",
        _("Research reports this year"),
        YEAR,
        lambda c: prorated(c.policy.research_reports_per_year, c),
        counted_in_period("research_reports"),
        enabled=_yearly_research,
        order=60,
    )
)
# Counted from the tally the proposals app registers: the tickets a rep is responsible for or
# co-signed (seed 000: "constructive suggestions").
register(
    Quota(
        "suggestions",
        _("Suggestions this year"),
        YEAR,
        lambda c: prorated(c.policy.suggestions_per_year, c),
        counted_in_period("suggestions"),
        enabled=_yearly_research,
        order=65,
    )
)
register(
    Quota(
        "research_term",
        _("Suggestions or research reports this term"),
        YEAR,  # any rep serving in the year has a cell; the counter paces it over their term
        lambda c: 0,
        count_research_in_term,
        enabled=_research_in_term,
        order=60,
    )
)
register(
    Quota(
        "four_ones_visit",
        _("“Four ones”: a visit this month"),
        MONTH,
        lambda c: 1 if c.active_at_end else 0,
        count_visits,
        enabled=_four_ones,
        order=80,
    )
)
# Seed 004 (三里洞街道's "四个一"): three are monthly (a visit, a public-opinion report, a studio
# reception), the fourth is not: "每人联系一户困难群众", each rep keeps a standing link to one
# difficult household. So it is a snapshot of the rep's contact links on the day, like the
# contacts quota, and no visit is asked of it (visits are the first item and the yearly quota).
register(
    Quota(
        "four_ones_difficult",
        _("“Four ones”: a difficult household linked"),
        NOW,
        lambda c: snapshot(1, c),
        lambda cs, p, d: count_contacts(cs, p, d, extra=Q(contact__is_difficult_household=True)),
        enabled=_four_ones,
        order=83,
    )
)

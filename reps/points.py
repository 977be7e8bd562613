"""Routine points (考核积分制) and the year's assessment score of each representative.

Point *sources* are registered, like the duty quotas of ``reps.duties``: this app counts home
visits, sittings-in and inspections, and research reports; the studios app registers receptions
and public-opinion reports, the proposals app suggestions and adopted suggestions. Each source
counts, for all reps at once, with one query; the duties met and missed come from
``duties.cells_met_and_behind``. So a table of 10 or 10,000 reps costs the same number of queries.

Rules:
1. Points come from the records, never typed: items in the year, from 1 January up to the
   reference day (31 December of a past year, today for the current one). As the duty counts do,
   a record counts by its date, not by the mandate running that day.
2. The policy (``PointsPolicy``) is read as ``reps.duties`` reads ``DutyPolicy`` (its rule 2): the
   county's version in force on the reference day scores the whole year, from the day it took
   effect back to 1 January; earlier years keep theirs.
3. Points are the person's: a rep with two mandates is counted once (a record names the person).
4. Normalisation to 0–100: relative to the policy's full marks, prorated as duties prorate
   cumulative quotas (rule 3 there): full marks × the share of the year in which the person held
   any mandate, rounded up. routine = min(100, max(0, points) × 100 / prorated full marks). A term
   ending mid-year halves the marks asked for, not the points earned.
5. total = routine × w + review × (1 − w), w the policy's weight (default 0.3, seed 004's 3:7);
   no total until the year-end review score is in.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from reps import duties
from reps.models import DutyActivity, DutyReport, PointsPolicy, Representative, ReviewScore

ONE_PLACE = Decimal("0.1")

# A source's counter: per rep id, how many items from ``start`` to ``end`` (one query for all).
Counter = Callable[[list[int], datetime.date, datetime.date], dict[int, int]]


@dataclass(frozen=True)
class Source:
    key: str
    label: object
    per_item: Callable[[PointsPolicy], Decimal]
    count: Counter
    order: int = 50


_SOURCES: dict[str, Source] = {}


def register_source(source: Source) -> Source:
    _SOURCES[source.key] = source
    return source


def sources() -> list[Source]:
    return sorted(_SOURCES.values(), key=lambda s: s.order)


@dataclass
class Line:
    key: str
    label: str
    count: int
    per_item: Decimal
    points: Decimal

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "count": self.count,
            "per_item": str(self.per_item),
            "points": str(self.points),
        }


@dataclass
class Score:
    rep: Representative
    policy: PointsPolicy
    active_fraction: float
    lines: list[Line] = field(default_factory=list)
    review: Decimal | None = None

    @property
    def points(self) -> Decimal:
        return sum((line.points for line in self.lines), Decimal(0))

    @property
    def full_marks(self) -> int:
        """The policy's full marks, prorated by the days in office (rounded up)."""
        return duties.prorate(self.policy.full_marks, self.active_fraction)

    @property
    def routine(self) -> Decimal:
        if self.full_marks <= 0:
            return Decimal(0)
        score = max(self.points, Decimal(0)) * 100 / self.full_marks
        return min(Decimal(100), score).quantize(ONE_PLACE, ROUND_HALF_UP)

    @property
    def weight(self) -> Decimal:
        return self.policy.routine_weight

    @property
    def total(self) -> Decimal | None:
        return total_of(self.routine, self.review, self.weight)


def total_of(routine: Decimal, review: Decimal | None, weight: Decimal) -> Decimal | None:
    """routine × w + review × (1 − w) to one place (rule 5); None until the review score is in."""
    if review is None:
        return None
    return (routine * weight + review * (1 - weight)).quantize(ONE_PLACE, ROUND_HALF_UP)


def policy_in_force(county_id: int, day: datetime.date, policies=None) -> PointsPolicy:
    """The county's points policy on ``day``, read as the duty policy is (``policies`` from
    ``duties.policies_of(..., model=PointsPolicy)``; one query when not given)."""
    if policies is None:
        policies = duties.policies_of([county_id], model=PointsPolicy)
    return duties.policy_in_force(county_id, day, policies, model=PointsPolicy)


def year_scores(reps, *, year: int, today: datetime.date) -> list[Score]:
    """Score every rep of ``reps`` (a queryset) for ``year``, seen from ``today``.

    1. Load the reps with their region and mandates (2 queries) and the counties' points
       policies (1 query); take each rep's share of the year in office.
    2. Count each registered source for all reps at once (1 query each).
    3. Count the duty cells met and behind over the year's periods (``duties``).
    4. Add each rep's review score for the year (1 query).
    """
    reference = duties.reference_day(today, year)
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    reps = list(reps.select_related("region").prefetch_related("mandates"))
    if not reps:
        return []
    ids = [rep.pk for rep in reps]
    policies = duties.policies_of((rep.region.county_id for rep in reps), model=PointsPolicy)
    whole = duties.Period(duties.YEAR, start, end)
    scores = [
        Score(
            rep=rep,
            policy=policy_in_force(rep.region.county_id, reference, policies),
            active_fraction=duties.share_in_office(list(rep.mandates.all()), whole),
        )
        for rep in reps
    ]
    counted = {source.key: source.count(ids, start, reference) for source in sources()}
    cells = duties.cells_met_and_behind(reps, start=start, reference=reference)
    reviews = dict(
        ReviewScore.objects.filter(representative__in=ids, year=year).values_list("representative", "score")
    )
    for score in scores:
        pk = score.rep.pk
        met, behind = cells.get(pk, (0, 0))
        score.lines.append(_line("duties_met", _("duties met"), met, score.policy.per_duty_met))
        for source in sources():
            score.lines.append(
                _line(source.key, source.label, counted[source.key].get(pk, 0), source.per_item(score.policy))
            )
        score.lines.append(_line("duties_missed", _("duties missed"), behind, -score.policy.per_duty_missed))
        score.review = reviews.get(pk)
    return scores


def _line(key: str, label, count: int, per_item: Decimal) -> Line:
    return Line(key, str(label), count, per_item, per_item * count)


# --- the sources this app can count --------------------------------------------------------


def count_research_reports(rep_ids, start, end) -> dict[int, int]:
    """Each rep's research reports handed in from ``start`` to ``end``: the duty status's tally."""
    return {rep: len(days) for rep, days in duties.research_report_days(rep_ids, start, end).items()}


def count_duty_reports(rep_ids, start, end) -> dict[int, int]:
    """Each rep's duty reports (述职, and half-year ones) for the year of ``start``, once handed in."""
    rows = (
        DutyReport.objects.filter(representative_id__in=rep_ids, year=start.year, submitted_on__lte=end)
        .values("representative_id")
        .annotate(n=Count("id"))
        .values_list("representative_id", "n")
    )
    return dict(rows)


def count_activities(rep_ids, start, end) -> dict[int, int]:
    """Each rep's sittings-in (列席) and inspections (视察) from ``start`` to ``end``."""
    found = DutyActivity.objects.filter(representative__in=rep_ids, date__gte=start, date__lte=end)
    return dict(found.values("representative").annotate(n=Count("pk")).values_list("representative", "n"))


register_source(Source("visits", _("home visits"), lambda p: p.per_visit, duties.visits_per_rep, order=20))
register_source(
    Source(
        "research_reports", _("research reports"), lambda p: p.per_report, count_research_reports, order=50
    )
)
register_source(
    Source(
        "duty_reports", _("duty reports (述职)"), lambda p: p.per_duty_report, count_duty_reports, order=55
    )
)
register_source(
    Source(
        "activities", _("sittings-in and inspections"), lambda p: p.per_activity, count_activities, order=25
    )
)

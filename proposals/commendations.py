"""Annual commendations (年度评先, issue 13): a county's round of a year with its four "ten best"
lists (representatives, studios, suggestions, handling units) and the five-good studios.

1. The candidates of each list are pre-ranked from the figures the product already keeps, with a
   constant number of queries whatever the number of candidates:
   - representatives: the year's routine points (``reps.points``), then the year-end review score;
   - studios and five-good studios: their activity in the year from the 接访统计表
     (``studios.statistics``): duties held, then the attendance rate, then people received. The
     five-good "standards" (premises, rules, activities, records, effect) are not recorded in the
     product, so the office judges them; the ranking only orders the studios by activity;
   - suggestions: the tickets registered in the county in the year, adopted (采纳) first, then by
     resident satisfaction (the ticket's last round, as ``proposals.statistics`` defines it), then
     by the number of resident ratings — ordered in SQL;
   - handling units: by on-time rate, then resident satisfaction, over the lead tickets registered
     in the county in the year (``proposals.statistics.tally``: the one definition of each rate).
2. Only the county's liaison office runs a round (township staff: none; they read the public page).
   It fills a list from the pre-ranking (the first N places of the county's ``CommendationPolicy``,
   once), then adjusts it: adding, removing or moving a nominee needs a reason (``NomineeChange``).
3. Publishing freezes the round: every write locks the round row and refuses once it is published
   (``Frozen``), and a second publish is refused too.
4. A representative whose year-end review score is below the policy's threshold is flagged. The
   product records no 不满意 evaluation of a representative, so the review score is what is read.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, FloatField, Value, When
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import audit
from liaison.models import Region, User
from proposals import statistics
from proposals.models import (
    CommendationList,
    CommendationPolicy,
    CommendationRound,
    Nominee,
    NomineeChange,
    Ticket,
)
from reps import assessment, duties, points
from reps.models import ReviewScore
from studios import statistics as studio_statistics
from studios.models import Studio

KINDS = [k for k, _label in CommendationList.choices]
CANDIDATES_SHOWN = 50  # the pre-ranked candidates a page lists per list


class Frozen(ValidationError):
    """The round is published: its lists cannot change."""


def is_office_over(user, county: Region) -> bool:
    return assessment.is_office_over(user, county)


def policy_for(county: Region, year: int, today: datetime.date, policies=None) -> CommendationPolicy:
    """The county's policy in force on the year's reference day (the defaults when none)."""
    return _policy(county.pk, year, today, policies)


def _policy(county_id: int, year: int, today: datetime.date, policies=None) -> CommendationPolicy:
    day = duties.reference_day(today, year)
    if policies is None:
        policies = duties.policies_of([county_id], model=CommendationPolicy)
    return duties.policy_in_force(county_id, day, policies, model=CommendationPolicy)


@dataclass
class Candidate:
    kind: str
    object_id: int
    name: str
    title: str = ""
    township: str = ""
    unit: str = ""
    figures: str = ""
    flagged: bool = False


def _year_bounds(year: int) -> tuple[datetime.datetime, datetime.datetime]:
    return statistics.day_start(datetime.date(year, 1, 1)), statistics.day_start(
        datetime.date(year + 1, 1, 1)
    )


def _number(value) -> str:
    return "—" if value is None else f"{value}"


# --- the pre-ranking ---------------------------------------------------------------------------


def rank_reps(county: Region, year: int, today: datetime.date, threshold: Decimal) -> list[Candidate]:
    """By the year's routine points, then the review score (none last), then the name's initials."""
    scores = points.year_scores(assessment.county_reps(county, year, today), year=year, today=today)
    scores.sort(key=lambda s: (-s.points, s.review is None, -(s.review or 0), s.rep.name_initials, s.rep.pk))
    return [
        Candidate(
            kind=CommendationList.REPS,
            object_id=s.rep.pk,
            name=s.rep.name,
            title=s.rep.title,
            township=s.rep.region.name,
            figures=_("%(points)s points, review %(review)s")
            % {"points": s.points, "review": _number(s.review)},
            flagged=s.review is not None and s.review < threshold,
        )
        for s in scores
    ]


def rank_studios(county: Region, year: int, kind: str = CommendationList.STUDIOS) -> list[Candidate]:
    """By duties held, then attendance rate (none last), then people received (the 接访统计表)."""
    rows = studio_statistics.studio_statistics(
        Studio.objects.filter(region__path__startswith=county.path),
        start=datetime.date(year, 1, 1),
        end=datetime.date(year, 12, 31),
    )
    rows.sort(
        key=lambda r: (
            -r.slots,
            r.attendance_rate is None,
            -(r.attendance_rate or 0),
            -r.people,
            r.studio.pk,
        )
    )
    return [
        Candidate(
            kind=kind,
            object_id=r.studio.pk,
            name=r.studio.name,
            township=r.township.name,
            figures=_("%(slots)s duties held, attendance %(rate)s%%, %(people)s people received")
            % {"slots": r.slots, "rate": _number(r.attendance_rate), "people": r.people},
        )
        for r in rows
    ]


def satisfaction() -> Case:
    """A ticket's resident satisfaction, 0–1 (NULL without ratings): ``statistics``' definition."""
    satisfied, ratings = statistics.RATING_SUMS["res_satisfied"], statistics.RATING_SUMS["res_ratings"]
    return Case(
        When(**{f"{ratings}__gt": 0}, then=Cast(satisfied, FloatField()) / Cast(ratings, FloatField())),
        default=Value(None, output_field=FloatField()),
        output_field=FloatField(),
    )


def county_tickets(county: Region, year: int):
    start, end = _year_bounds(year)
    return Ticket.objects.filter(
        township__path__startswith=county.path, created_at__gte=start, created_at__lt=end
    )


def rank_suggestions(county: Region, year: int, limit: int = CANDIDATES_SHOWN) -> list[Candidate]:
    """Adopted first, then resident satisfaction (none last), then more ratings, then the oldest."""
    adopted = statistics.column_q("adopted")
    tickets = (
        county_tickets(county, year)
        .annotate(
            is_adopted=Case(When(adopted, then=Value(1)), default=Value(0)),
            satisfaction=satisfaction(),
        )
        .order_by(
            "-is_adopted",
            F("satisfaction").desc(nulls_last=True),
            F(statistics.RATING_SUMS["res_ratings"]).desc(),
            "pk",
        )
        .values("pk", "title", "township__name", "lead_unit__name", "is_adopted", "satisfaction")[:limit]
    )
    return [
        Candidate(
            kind=CommendationList.SUGGESTIONS,
            object_id=t["pk"],
            name=t["title"],
            township=t["township__name"] or "",
            unit=t["lead_unit__name"] or "",
            figures=_("adopted: %(adopted)s, satisfaction %(rate)s%%")
            % {
                "adopted": _("yes") if t["is_adopted"] else _("no"),
                "rate": _number(None if t["satisfaction"] is None else round(100 * t["satisfaction"], 1)),
            },
        )
        for t in tickets
    ]


def rank_units(county: Region, year: int) -> list[Candidate]:
    """By on-time rate, then resident satisfaction (none last each), then the name."""
    rows = statistics.tally(
        county_tickets(county, year).filter(lead_unit__isnull=False),
        "lead_unit_id",
        "lead_unit__name",
        "lead_unit__region__name",
    )
    rows = [statistics._with_rates(row) for row in rows]
    rows.sort(
        key=lambda r: (
            r["on_time_rate"] is None,
            -(r["on_time_rate"] or 0),
            r["res_satisfaction"] is None,
            -(r["res_satisfaction"] or 0),
            r["lead_unit__name"],
            r["lead_unit_id"],
        )
    )
    return [
        Candidate(
            kind=CommendationList.UNITS,
            object_id=r["lead_unit_id"],
            name=r["lead_unit__name"],
            township=r["lead_unit__region__name"],
            figures=_("on-time rate %(on_time)s%%, resident satisfaction %(satisfaction)s%%")
            % {"on_time": _number(r["on_time_rate"]), "satisfaction": _number(r["res_satisfaction"])},
        )
        for r in rows
    ]


def candidates(county: Region, year: int, kind: str, today: datetime.date, policy=None) -> list[Candidate]:
    """The pre-ranked candidates of one list, best first."""
    policy = policy or policy_for(county, year, today)
    if kind == CommendationList.REPS:
        return rank_reps(county, year, today, policy.unsatisfactory_below)
    if kind in (CommendationList.STUDIOS, CommendationList.FIVE_GOOD):
        return rank_studios(county, year, kind)
    if kind == CommendationList.SUGGESTIONS:
        return rank_suggestions(county, year)
    if kind == CommendationList.UNITS:
        return rank_units(county, year)
    raise ValueError(kind)


def flagged_reps(county: Region, year: int, today: datetime.date, policy=None) -> list:
    """The reps of the county whose year-end review score is below the policy's threshold."""
    policy = policy or policy_for(county, year, today)
    return list(
        ReviewScore.objects.filter(
            representative__in=assessment.county_reps(county, year, today).values("pk"),
            year=year,
            score__lt=policy.unsatisfactory_below,
        )
        .select_related("representative__region")
        .order_by("score", "representative__name_initials")
    )


def record_of(rep, start: datetime.date, end: datetime.date, today: datetime.date) -> dict:
    """For the duty record: the years from ``start`` to ``end`` whose year-end review score is below
    the county's threshold (for the term review), and the rep's places on published lists."""
    county_id = rep.region.county_id
    policies = duties.policies_of([county_id], model=CommendationPolicy)
    below = [
        {"year": year, "score": score, "threshold": threshold}
        for year, score in ReviewScore.objects.filter(
            representative=rep, year__gte=start.year, year__lte=end.year
        )
        .order_by("year")
        .values_list("year", "score")
        if score < (threshold := _policy(county_id, year, today, policies).unsatisfactory_below)
    ]
    commended = list(
        Nominee.objects.filter(
            kind=CommendationList.REPS,
            object_id=rep.pk,
            round__county_id=county_id,
            round__published_at__isnull=False,
            round__year__gte=start.year,
            round__year__lte=end.year,
        )
        .select_related("round")
        .order_by("round__year")
    )
    return {"below": below, "commended": commended}


# --- the services ------------------------------------------------------------------------------


def round_open(*, actor: User, county: Region, year: int, today: datetime.date) -> CommendationRound:
    """Open the county's round of the year (once: opening it again returns the same round)."""
    if not is_office_over(actor, county):
        raise PermissionDenied
    if year > today.year:
        raise ValidationError(_("A year still to come cannot be commended."))
    try:
        with transaction.atomic():
            found = CommendationRound.objects.create(county=county, year=year, opened_by=actor)
    except IntegrityError:
        return CommendationRound.objects.get(county=county, year=year)
    audit.record(actor=actor, verb="commendation.opened", subject=found, region=county, year=year)
    return found


def _locked(actor: User, round_: CommendationRound) -> CommendationRound:
    """The round, locked for the change, if the actor is its office and it is not published."""
    locked = CommendationRound.objects.select_for_update().select_related("county").get(pk=round_.pk)
    if not is_office_over(actor, locked.county):
        raise PermissionDenied
    if locked.published_at is not None:
        raise Frozen(_("The commendations of this year are published: the lists cannot change."))
    return locked


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the list is changed.")})
    return reason


def _nominee(round_: CommendationRound, candidate: Candidate, position: int) -> Nominee:
    return Nominee(
        round=round_,
        kind=candidate.kind,
        position=position,
        object_id=candidate.object_id,
        name=candidate.name,
        title=candidate.title,
        township=candidate.township,
        unit=candidate.unit,
        figures=candidate.figures,
    )


@transaction.atomic
def nominate_ranked(*, actor: User, round_: CommendationRound, kind: str, today: datetime.date) -> int:
    """Fill an empty list with the first N pre-ranked candidates (N: the policy's places).

    A list that has nominees is left as it is (sent twice, nominated once); return how many were added.
    """
    round_ = _locked(actor, round_)
    if Nominee.objects.filter(round=round_, kind=kind).exists():
        return 0
    policy = policy_for(round_.county, round_.year, today)
    ranked = candidates(round_.county, round_.year, kind, today, policy)[: policy.places(kind)]
    Nominee.objects.bulk_create(_nominee(round_, c, n) for n, c in enumerate(ranked, start=1))
    audit.record(
        actor=actor,
        verb="commendation.nominated",
        subject=round_,
        region=round_.county,
        kind=kind,
        n=len(ranked),
    )
    return len(ranked)


def _renumber(round_: CommendationRound, kind: str, ordered: list[Nominee]) -> None:
    for n, nominee in enumerate(ordered, start=1):
        nominee.position = n
    Nominee.objects.bulk_update(ordered, ["position"])


def _listed(round_: CommendationRound, kind: str) -> list[Nominee]:
    return list(Nominee.objects.filter(round=round_, kind=kind).order_by("position", "pk"))


@transaction.atomic
def nominee_add(
    *, actor: User, round_: CommendationRound, kind: str, object_id: int, reason: str, today: datetime.date
) -> Nominee:
    """Add a pre-ranked candidate at the end of the list, with a reason; adding it again does nothing."""
    round_ = _locked(actor, round_)
    reason = _reason(reason)
    present = Nominee.objects.filter(round=round_, kind=kind, object_id=object_id).first()
    if present is not None:
        return present
    found = next(
        (c for c in candidates(round_.county, round_.year, kind, today) if c.object_id == object_id), None
    )
    if found is None:
        raise ValidationError(_("Only a candidate of the pre-ranked list can be added."))
    nominee = _nominee(round_, found, len(_listed(round_, kind)) + 1)
    nominee.save()
    _change(actor, round_, kind, NomineeChange.Action.ADDED, nominee.name, reason)
    return nominee


@transaction.atomic
def nominee_remove(*, actor: User, nominee: Nominee, reason: str) -> None:
    round_ = _locked(actor, nominee.round)
    reason = _reason(reason)
    nominee = Nominee.objects.get(pk=nominee.pk, round=round_)
    nominee.delete()
    _renumber(round_, nominee.kind, _listed(round_, nominee.kind))
    _change(actor, round_, nominee.kind, NomineeChange.Action.REMOVED, nominee.name, reason)


@transaction.atomic
def nominee_move(*, actor: User, nominee: Nominee, position: int, reason: str) -> None:
    """Put the nominee at ``position`` (1 = first), the others keeping their order."""
    round_ = _locked(actor, nominee.round)
    reason = _reason(reason)
    ordered = _listed(round_, nominee.kind)
    moving = next(n for n in ordered if n.pk == nominee.pk)
    if not 1 <= position <= len(ordered):
        raise ValidationError({"position": _("Choose a place on the list.")})
    if moving.position == position:
        raise ValidationError({"position": _("The nominee is already in this place.")})
    ordered.remove(moving)
    ordered.insert(position - 1, moving)
    _renumber(round_, nominee.kind, ordered)
    _change(actor, round_, nominee.kind, NomineeChange.Action.MOVED, moving.name, reason)


VERB_OF = {
    NomineeChange.Action.ADDED: "commendation.added",
    NomineeChange.Action.REMOVED: "commendation.removed",
    NomineeChange.Action.MOVED: "commendation.moved",
}


def _change(actor, round_, kind, action, name, reason) -> None:
    change = NomineeChange.objects.create(
        round=round_, kind=kind, action=action, name=name, reason=reason, changed_by=actor
    )
    audit.record(
        actor=actor,
        verb=VERB_OF[action],
        subject=change,
        region=round_.county,
        kind=kind,
        name=name,
        reason=reason,
    )


@transaction.atomic
def round_publish(*, actor: User, round_: CommendationRound) -> CommendationRound:
    """Publish the round: its lists are frozen and shown on the public page."""
    round_ = _locked(actor, round_)
    if not round_.nominees.exists():
        raise ValidationError(_("Nominate before publishing."))
    round_.published_at, round_.published_by = timezone.now(), actor
    round_.save(update_fields=["published_at", "published_by"])
    audit.record(actor=actor, verb="commendation.published", subject=round_, region=round_.county)
    return round_


def lists_of(round_: CommendationRound) -> dict[str, list[Nominee]]:
    """The round's nominees by list, in ``KINDS`` order (one query)."""
    by_kind: dict[str, list[Nominee]] = {kind: [] for kind in KINDS}
    for nominee in round_.nominees.order_by("kind", "position", "pk"):
        by_kind[nominee.kind].append(nominee)
    return by_kind

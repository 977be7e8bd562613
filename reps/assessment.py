"""The year's assessment of representatives: review scores entered or imported, the sheet published
and locked, later corrections as amendments (issue 13). Reads in ``rows``; writes in the services.

Who: staff in scope. Township staff enter the review scores of their township's reps (seed 004: the
township committee organises the 民主评议); the liaison office enters them for any township of its
county, publishes the county's year and amends a published row with a reason.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import audit
from liaison.models import Region, User
from liaison.roles import Role
from reps import duties, points
from reps.models import Amendment, AssessmentEntry, AssessmentSheet, Representative, ReviewScore

ONE_PLACE = points.ONE_PLACE


class AlreadyPublished(ValidationError):
    """The county's year is published: its sheet is locked."""


def may_assess(user) -> bool:
    """Staff of a county or township (the liaison office, township staff) or a superuser."""
    scope = user.scope
    return scope.sees_all or bool(scope.roles & {Role.LIAISON_OFFICE, Role.TOWNSHIP_STAFF})


def is_office_over(user, county: Region) -> bool:
    scope = user.scope
    return scope.sees_all or any(
        county.path.startswith(p) for p in scope.anchor_paths.get(Role.LIAISON_OFFICE, ())
    )


def county_reps(county: Region, year: int, today: datetime.date):
    """The reps of the county who served at some time in the year (up to the reference day)."""
    until = duties.reference_day(today, year)
    return Representative.objects.filter(region__path__startswith=county.path).serving_between(
        datetime.date(year, 1, 1), until
    )


def published_sheet(county: Region, year: int) -> AssessmentSheet | None:
    return AssessmentSheet.objects.filter(county=county, year=year).first()


def parse_score(raw) -> Decimal | None:
    """A review score typed or read from a sheet: a number from 0 to 100, one decimal; "" is None."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = Decimal(str(raw).strip()).quantize(ONE_PLACE, ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise ValidationError(_("A score is a number from 0 to 100.")) from None
    if not Decimal(0) <= value <= Decimal(100):
        raise ValidationError(_("A score is a number from 0 to 100."))
    return value


@transaction.atomic
def review_scores_enter(
    *, actor: User, county: Region, year: int, scores: dict[Representative, Decimal | None]
) -> int:
    """Set the year's review score of each rep (None removes it); return how many changed.

    Refused once the county's year is published. Writing the same scores again changes nothing, so
    a form sent twice is harmless. Every rep must be in the actor's scope (the view offers only those).
    """
    if published_sheet(county, year) is not None:
        raise AlreadyPublished(
            _("The assessment of this year is published: correct a row with an amendment.")
        )
    scope = actor.scope
    existing = {
        s.representative_id: s
        for s in ReviewScore.objects.select_for_update().filter(
            representative__in=[r.pk for r in scores], year=year
        )
    }
    now = timezone.now()
    removed: list[int] = []
    added: list[ReviewScore] = []
    updated: list[ReviewScore] = []
    for rep, value in scores.items():
        if not scope.covers_path(rep.region.path) or not rep.region.path.startswith(county.path):
            raise PermissionDenied
        current = existing.get(rep.pk)
        if value is None:
            if current is not None:
                removed.append(current.pk)
        elif current is None:
            added.append(
                ReviewScore(representative=rep, year=year, score=value, entered_by=actor, entered_at=now)
            )
        elif current.score != value:
            current.score, current.entered_by, current.entered_at = value, actor, now
            updated.append(current)
    # A township's whole list in a few statements, whatever its number of reps. Two posts at once
    # (a double tap) both find no row to lock: the later insert updates, as a later post would.
    ReviewScore.objects.filter(pk__in=removed).delete()
    ReviewScore.objects.bulk_create(
        added,
        update_conflicts=True,
        unique_fields=["representative", "year"],
        update_fields=["score", "entered_by", "entered_at"],
    )
    ReviewScore.objects.bulk_update(updated, ["score", "entered_by", "entered_at"])
    changed = len(removed) + len(added) + len(updated)
    if changed:
        audit.record(
            actor=actor, verb="review.entered", subject=county, region=county, year=year, changed=changed
        )
    return changed


@transaction.atomic
def assessment_publish(*, actor: User, county: Region, year: int, today: datetime.date) -> AssessmentSheet:
    """Publish the county's year: store each rep's points, scores and breakdown, and lock the sheet.

    Once only: the unique (county, year) makes a second publish (a double click, two clerks at
    once) fail, and it raises ``AlreadyPublished`` leaving the first sheet as it was.
    """
    if not is_office_over(actor, county):
        raise PermissionDenied
    if year > today.year:
        raise ValidationError(_("A year still to come cannot be published."))
    scores = points.year_scores(county_reps(county, year, today), year=year, today=today)
    weight = (
        scores[0].weight
        if scores
        else points.policy_in_force(county.pk, duties.reference_day(today, year)).routine_weight
    )
    try:
        with transaction.atomic():
            sheet = AssessmentSheet.objects.create(
                county=county, year=year, routine_weight=weight, published_by=actor
            )
    except IntegrityError:
        raise AlreadyPublished(_("The assessment of this year is already published.")) from None
    AssessmentEntry.objects.bulk_create(
        AssessmentEntry(
            sheet=sheet,
            representative=s.rep,
            township=s.rep.region,
            routine_points=s.points,
            routine_score=s.routine,
            review_score=s.review,
            total=s.total,
            breakdown=[line.as_dict() for line in s.lines],
            full_marks=s.full_marks,
        )
        for s in scores
    )
    audit.record(
        actor=actor, verb="assessment.published", subject=sheet, region=county, year=year, rows=len(scores)
    )
    return sheet


@transaction.atomic
def assessment_amend(
    *,
    actor: User,
    entry: AssessmentEntry,
    routine_score: Decimal,
    review_score: Decimal | None,
    reason: str,
) -> Amendment:
    """Correct a published row (the liaison office): the scores before and after, who, when and why.

    The row is locked while it is read, and an unchanged row is refused, so the same correction
    sent twice records one amendment.
    """
    entry = AssessmentEntry.objects.select_for_update().select_related("sheet__county").get(pk=entry.pk)
    if not is_office_over(actor, entry.sheet.county):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the row is corrected.")})
    if (routine_score, review_score) == (entry.routine_score, entry.review_score):
        raise ValidationError(_("The row is unchanged."))
    new_total = points.total_of(routine_score, review_score, entry.sheet.routine_weight)
    amendment = Amendment.objects.create(
        entry=entry,
        amended_by=actor,
        reason=reason,
        old_routine_score=entry.routine_score,
        new_routine_score=routine_score,
        old_review_score=entry.review_score,
        new_review_score=review_score,
        old_total=entry.total,
        new_total=new_total,
    )
    entry.routine_score, entry.review_score, entry.total = routine_score, review_score, new_total
    entry.save(update_fields=["routine_score", "review_score", "total"])
    audit.record(
        actor=actor,
        verb="assessment.amended",
        subject=entry,
        region=entry.township,
        before=str(amendment.old_total),
        after=str(new_total),
        reason=reason,
    )
    return amendment


# --- the rows a page shows ---------------------------------------------------------------------


@dataclass
class Row:
    rep: Representative
    township: Region
    group: str
    points: Decimal
    routine: Decimal
    review: Decimal | None
    total: Decimal | None
    lines: list[dict]
    full_marks: int | None = None
    entry: AssessmentEntry | None = None
    amendments: list[Amendment] | None = None
    rank: int = 0


def rank(rows: list[Row]) -> list[Row]:
    """Order by total, then routine score, highest first (no total last); equal scores share a rank."""
    rows.sort(key=lambda r: (r.total is None, -(r.total or 0), -r.routine, r.rep.name_initials, r.rep.pk))
    previous, place = None, 0
    for index, row in enumerate(rows, start=1):
        key = (row.total, row.routine)
        if key != previous:
            place, previous = index, key
        row.rank = place
    return rows


def live_rows(reps, *, year: int, today: datetime.date, groups: dict[int, str]) -> list[Row]:
    return [
        Row(
            rep=s.rep,
            township=s.rep.region,
            group=groups.get(s.rep.pk, ""),
            points=s.points,
            routine=s.routine,
            review=s.review,
            total=s.total,
            lines=[line.as_dict() for line in s.lines],
            full_marks=s.full_marks,
        )
        for s in points.year_scores(reps, year=year, today=today)
    ]


def published_rows(sheet: AssessmentSheet, reps, *, groups: dict[int, str]) -> list[Row]:
    entries = list(
        sheet.entries.filter(representative__in=reps.values("pk"))
        .select_related("representative", "township")
        .prefetch_related("amendments__amended_by")
    )
    return [
        Row(
            rep=e.representative,
            township=e.township,
            group=groups.get(e.representative_id, ""),
            points=e.routine_points,
            routine=e.routine_score,
            review=e.review_score,
            total=e.total,
            lines=e.breakdown,
            full_marks=e.full_marks,
            entry=e,
            amendments=list(e.amendments.all()),
        )
        for e in entries
    ]


# --- the review scores from an Excel sheet -----------------------------------------------------

SCORE_HEADERS = ("评议得分", "得分", "分数")
PHONE_HEADERS = ("手机", "手机号", "电话", "联系电话")
TOWNSHIP_HEADERS = ("镇（街道）", "镇(街道)", "镇/街道", "镇街", "乡镇", "镇")


def _column(sheet, names) -> int | None:
    return next((sheet.columns[n] for n in names if n in sheet.columns), None)


def read_review_sheet(fileobj, reps: list[Representative]) -> tuple[dict[Representative, Decimal], list[str]]:
    """Read a sheet of review scores: 姓名 and 手机, or 姓名 and 镇（街道）, and 评议得分.

    Each row must name exactly one of ``reps`` (the reps of the page's township or county); the
    errors say the row number Excel shows. All or nothing: the caller saves only an error-free sheet.
    """
    from reps.importing.reading import NAME, TooManyRows, UnreadableSheet, as_text, read_sheet

    try:
        sheet = read_sheet(fileobj, max_rows=5000)
    except (UnreadableSheet, TooManyRows):
        return {}, [_("The file is not an Excel sheet that can be read (.xlsx, at most 5,000 rows).")]
    name_col, score_col = sheet.columns.get(NAME), _column(sheet, SCORE_HEADERS)
    phone_col, township_col = _column(sheet, PHONE_HEADERS), _column(sheet, TOWNSHIP_HEADERS)
    if name_col is None or score_col is None or (phone_col is None and township_col is None):
        return {}, [_("The sheet needs the columns 姓名, 评议得分, and 手机 or 镇（街道）.")]
    by_name: dict[str, list[Representative]] = {}
    for rep in reps:
        by_name.setdefault(rep.name, []).append(rep)
    scores: dict[Representative, Decimal] = {}
    errors: list[str] = []

    def cell(values, index):
        return as_text(values[index]) if index is not None and index < len(values) else ""

    for number, values in sheet.rows:
        name, phone, township = cell(values, name_col), cell(values, phone_col), cell(values, township_col)
        found = by_name.get(name, [])
        if phone:
            found = [r for r in found if r.phone == phone]
        elif township:
            found = [r for r in found if r.region.name == township]
        if len(found) != 1:
            message = (
                _("no representative of this page has this name and phone or township")
                if not found
                else _("several representatives match: give the phone")
            )
            errors.append(_("Row %(row)s: %(message)s.") % {"row": number, "message": message})
            continue
        try:
            value = parse_score(values[score_col] if score_col < len(values) else None)
        except ValidationError:
            value = None
        if value is None:
            errors.append(
                _("Row %(row)s: %(message)s.")
                % {"row": number, "message": _("the score is not a number from 0 to 100")}
            )
            continue
        if found[0] in scores:
            errors.append(
                _("Row %(row)s: %(message)s.")
                % {"row": number, "message": _("the representative is named twice")}
            )
            continue
        scores[found[0]] = value
    return scores, errors

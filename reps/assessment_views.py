"""The year's assessment (/reps/assessment/): the ranking with each score's breakdown, the review
scores form and import, publish, and amendments of a published row. Staff in scope only."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from liaison.exports import xlsx_response
from liaison.forms import CleanInputMixin
from liaison.models import Region
from reps import assessment, duties
from reps.models import AssessmentEntry, GroupMembership, Representative
from reps.views import _duty_filters, today


def _year(request) -> int:
    raw = request.POST.get("year") or request.GET.get("year", "")
    if raw.isdigit() and 2000 <= int(raw) <= today().year:
        return int(raw)
    return today().year


def _county(request) -> Region:
    """The county the page is about: the user's (a superuser may choose with ``?county=``)."""
    if not assessment.may_assess(request.user):
        raise PermissionDenied
    scope = request.user.scope
    counties = Region.objects.filter(level=Region.Level.COUNTY).order_by("path")
    if not scope.sees_all:
        counties = counties.filter(pk__in=scope.county_ids)
    raw = request.POST.get("county") or request.GET.get("county", "")
    county = get_object_or_404(counties, pk=raw) if raw.isdigit() else counties.first()
    if county is None:
        raise Http404
    return county


def _scoped_reps(request, county: Region, year: int):
    """The reps of the county the user may assess (a township: its own), who served in the year."""
    return Representative.objects.visible_to(request.user).filter(
        pk__in=assessment.county_reps(county, year, today()).values("pk")
    )


def _groups_of(reps) -> dict[int, str]:
    names: dict[int, list[str]] = {}
    for rep_id, name in GroupMembership.objects.filter(representative__in=reps.values("pk")).values_list(
        "representative_id", "group__name"
    ):
        names.setdefault(rep_id, []).append(name)
    return {rep_id: "、".join(sorted(found)) for rep_id, found in names.items()}


@login_required
def assessment_page(request):
    """Rank the reps of the county, a township or a group for the year, each with its breakdown."""
    county, year = _county(request), _year(request)
    reps, chosen, townships, groups = _duty_filters(request, _scoped_reps(request, county, year))
    sheet = assessment.published_sheet(county, year)
    group_names = _groups_of(reps)
    if sheet is not None:
        rows = assessment.published_rows(sheet, reps, groups=group_names)
    else:
        rows = assessment.live_rows(reps, year=year, today=today(), groups=group_names)
    rows = assessment.rank(rows)
    if request.GET.get("format") == "xlsx":
        return _xlsx(rows, year)
    is_office = assessment.is_office_over(request.user, county)
    query = request.GET.copy()
    query.pop("format", None)
    return render(
        request,
        "reps/assessment.html",
        {
            "county": county,
            "year": year,
            "years": range(today().year, today().year - 5, -1),
            "rows": rows,
            "sheet": sheet,
            "chosen": chosen,
            "townships": townships,
            "groups": groups,
            "is_office": is_office,
            "query": query.urlencode(),
            "reference": duties.reference_day(today(), year),
        },
    )


def _xlsx(rows, year: int) -> HttpResponse:
    keys = [line["key"] for line in rows[0].lines] if rows else []
    labels = [line["label"] for line in rows[0].lines] if rows else []
    header = [
        _("rank"),
        _("full name"),
        _("township"),
        _("group"),
        *labels,
        _("routine points"),
        _("routine score"),
        _("review score"),
        _("total"),
    ]

    def number(value):
        return None if value is None else float(value)

    body = []
    for row in rows:
        by_key = {line["key"]: line for line in row.lines}
        body.append(
            [
                row.rank,
                row.rep.name,
                row.township.name,
                row.group,
                *[number(by_key[k]["points"]) if k in by_key else None for k in keys],
                number(row.points),
                number(row.routine),
                number(row.review),
                number(row.total),
            ]
        )
    title = _("assessment %(year)s") % {"year": year}
    return xlsx_response(title, header, body, filename=f"{title}.xlsx")


@login_required
@require_POST
def publish(request):
    """The liaison office publishes the county's year: the sheet is stored and locked (once)."""
    county, year = _county(request), _year(request)
    try:
        assessment.assessment_publish(actor=request.user, county=county, year=year, today=today())
    except assessment.AlreadyPublished as exc:
        messages.info(request, exc.messages[0])
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("The assessment was published; its sheet is now locked."))
    return redirect(f"{reverse('reps:assessment')}?year={year}")


@login_required
def review_scores(request):
    """Enter (or import from Excel) the year-end review scores of one township's reps."""
    county, year = _county(request), _year(request)
    reps, chosen, townships, _groups = _duty_filters(request, _scoped_reps(request, county, year))
    township = None
    if chosen["township"].isdigit():
        township = townships.get(pk=chosen["township"])
    elif townships.count() == 1:
        township = townships.get()
    sheet = assessment.published_sheet(county, year)
    listed = (
        list(
            reps.filter(region__path__startswith=township.path)
            .select_related("region")
            .order_by("name_initials", "name")
        )
        if township
        else []
    )
    current = dict(
        assessment.ReviewScore.objects.filter(
            representative__in=[r.pk for r in listed], year=year
        ).values_list("representative", "score")
    )
    errors: list[str] = []
    if request.method == "POST":
        if sheet is not None:
            messages.error(
                request, _("The assessment of this year is published: correct a row with an amendment.")
            )
            return redirect(f"{reverse('reps:assessment')}?year={year}")
        upload = request.FILES.get("sheet")
        scores: dict = {}
        if upload is not None:
            scores, errors = assessment.read_review_sheet(upload, listed)
        else:
            for rep in listed:
                try:
                    scores[rep] = assessment.parse_score(request.POST.get(f"score-{rep.pk}", ""))
                except ValidationError:
                    errors.append(
                        _("%(name)s: the score is not a number from 0 to 100.") % {"name": rep.name}
                    )
        if not errors:
            try:
                changed = assessment.review_scores_enter(
                    actor=request.user, county=county, year=year, scores=scores
                )
            except ValidationError as exc:
                errors = exc.messages
            else:
                messages.success(request, _("Review scores saved: %(n)s changed.") % {"n": changed})
                return redirect(f"{reverse('reps:review_scores')}?year={year}&township={township.pk}")
    rows = [
        (rep, current.get(rep.pk), request.POST.get(f"score-{rep.pk}") if errors else None) for rep in listed
    ]
    return render(
        request,
        "reps/review_scores.html",
        {
            "county": county,
            "year": year,
            "years": range(today().year, today().year - 5, -1),
            "township": township,
            "townships": townships,
            "rows": rows,
            "errors": errors,
            "sheet": sheet,
        },
    )


class AmendmentForm(CleanInputMixin, forms.Form):
    routine_score = forms.DecimalField(
        label=gettext_lazy("routine score"), min_value=0, max_value=100, max_digits=4, decimal_places=1
    )
    review_score = forms.DecimalField(
        label=gettext_lazy("review score"),
        min_value=0,
        max_value=100,
        max_digits=4,
        decimal_places=1,
        required=False,
    )
    reason = forms.CharField(
        label=gettext_lazy("reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )


@login_required
def amend(request, pk: int):
    """The liaison office corrects a published row, with a reason (an ``Amendment``)."""
    if not assessment.may_assess(request.user):
        raise PermissionDenied
    entry = get_object_or_404(
        AssessmentEntry.objects.filter(sheet__in=assessment.AssessmentSheet.objects.visible_to(request.user))
        .filter(representative__in=Representative.objects.visible_to(request.user))
        .select_related("sheet__county", "representative", "township"),
        pk=pk,
    )
    if not assessment.is_office_over(request.user, entry.sheet.county):
        raise PermissionDenied
    form = AmendmentForm(
        request.POST or None,
        initial={"routine_score": entry.routine_score, "review_score": entry.review_score},
    )
    if request.method == "POST" and form.is_valid():
        try:
            assessment.assessment_amend(
                actor=request.user,
                entry=entry,
                routine_score=form.cleaned_data["routine_score"],
                review_score=form.cleaned_data["review_score"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("The amendment was recorded."))
            return redirect(f"{reverse('reps:assessment')}?year={entry.sheet.year}")
    return render(request, "reps/amend.html", {"entry": entry, "form": form})

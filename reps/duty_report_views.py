"""Duty reports (述职): a representative hands in the year's report (and the half-year one where
the county asks for it); staff of their region see who has and who is overdue, and record the
electoral unit's evaluation."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from liaison import idempotency
from liaison.exports import xlsx_response
from liaison.roles import STAFF_ROLES
from reps import duties, services
from reps.forms import DutyReportEvaluationForm, DutyReportForm
from reps.models import DutyPolicy, DutyReport, Representative
from reps.views import PAGE_SIZE, _year, own_representative, today

YEAR, HALF = DutyReport.Kind.YEAR, DutyReport.Kind.HALF
STATUSES = ("submitted", "missing")


def _staff_only(user) -> None:
    scope = user.scope
    if not (scope.sees_all or scope.roles & STAFF_ROLES):
        raise PermissionDenied


def due_day(year: int, kind: str) -> datetime.date:
    """The year's report is due by 31 December; the half-year one by 30 June."""
    return datetime.date(year, 6, 30) if kind == HALF else datetime.date(year, 12, 31)


def status_of(report: DutyReport | None, *, year: int, kind: str, day: datetime.date) -> str:
    if report is not None:
        return "evaluated" if report.evaluated else "submitted"
    return "overdue" if day > due_day(year, kind) else "due"


# --- the representative's own page ---------------------------------------------------------


@login_required
def duty_report_mine(request):
    """A rep hands in or changes their duty report: one service call, safe to post twice."""
    rep = own_representative(request)
    day = today()
    years = [day.year, day.year - 1]
    kinds = [YEAR, HALF] if services.half_year_report_asked(rep, day) else [YEAR]
    source = request.POST or request.GET
    year = int(source["year"]) if str(source.get("year", "")).isdigit() else day.year
    kind = source.get("kind", YEAR)
    existing = DutyReport.objects.filter(representative=rep, year=year, kind=kind).first()
    initial = {"year": year, "kind": kind, "text": existing.text if existing else ""}
    form = DutyReportForm(
        request.POST or None, request.FILES or None, years=years, kinds=kinds, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            report = services.duty_report_submit(
                actor=request.user,
                representative=rep,
                year=form.cleaned_data["year"],
                kind=form.cleaned_data["kind"],
                text=form.cleaned_data["text"],
                upload=form.cleaned_data["file"],
                submission_token=form.cleaned_data["token"],
                today=day,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.error_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, exc)
            form.renew_token()  # the old one may be another rep's: a fresh form to send again
        else:
            if idempotency.replayed(report):
                messages.info(request, idempotency.ALREADY_SAVED)
            else:
                messages.success(request, _("Your report was handed in."))
            query = urlencode({"year": report.year, "kind": report.kind})
            return redirect(f"{reverse('reps:duty_report_new')}?{query}")
    own = DutyReport.objects.filter(representative=rep).order_by("-year", "kind")
    return render(
        request,
        "reps/duty_report_form.html",
        {"form": form, "rep": rep, "own": own, "existing": existing},
    )


# --- staff: who has handed in, who is overdue, the evaluation -------------------------------


@dataclass
class Row:
    rep: Representative
    report: DutyReport | None
    status: str
    half_asked: bool
    half: DutyReport | None
    half_status: str

    @property
    def label(self) -> str:
        return _label(self.status)

    @property
    def half_label(self) -> str:
        return _label(self.half_status)


def _rows(reps: list[Representative], reports, *, year: int, day: datetime.date) -> list[Row]:
    """One row per rep: the year's report and, where the county asks for one, the half-year one.
    ``reports`` are the reps' reports of the year (one query); the policies one more."""
    by_key = {(r.representative_id, r.kind): r for r in reports}
    reference = duties.reference_day(day, year)
    policies = duties.policies_of(rep.region.county_id for rep in reps)
    rows = []
    for rep in reps:
        asked = duties.policy_in_force(
            rep.region.county_id, reference, policies, model=DutyPolicy
        ).half_year_report
        report, half = by_key.get((rep.pk, YEAR)), by_key.get((rep.pk, HALF))
        rows.append(
            Row(
                rep=rep,
                report=report,
                status=status_of(report, year=year, kind=YEAR, day=day),
                half_asked=asked,
                half=half,
                half_status=status_of(half, year=year, kind=HALF, day=day) if asked else "na",
            )
        )
    return rows


@login_required
def duty_reports(request):
    """Staff see, for a year, which of their reps handed in the duty report and which have not
    (overdue once the year is over). Search, status filter, pages and Excel."""
    _staff_only(request.user)
    day = today()
    year = _year(request) or day.year
    reps = Representative.objects.visible_to(request.user).serving_between(
        datetime.date(year, 1, 1), duties.reference_day(day, year)
    )
    query = request.GET.get("q", "").strip()
    reps = reps.search(query).annotate(
        handed_in=Exists(DutyReport.objects.filter(representative=OuterRef("pk"), year=year, kind=YEAR))
    )
    counts = {"all": reps.count(), "submitted": reps.filter(handed_in=True).count()}
    counts["missing"] = counts["all"] - counts["submitted"]
    status = request.GET.get("status", "")
    if status in STATUSES:
        reps = reps.filter(handed_in=status == "submitted")
    reps = reps.select_related("region").order_by("name_initials", "name", "pk")
    if request.GET.get("format") == "xlsx":
        listed = list(reps)
        return _xlsx(_rows(listed, _reports_of(request, listed, year), year=year, day=day), year)
    page = Paginator(reps, PAGE_SIZE).get_page(request.GET.get("page"))
    listed = list(page.object_list)
    filters = {"year": year, "q": query, "status": status}
    return render(
        request,
        "reps/duty_reports.html",
        {
            "page": page,
            "rows": _rows(listed, _reports_of(request, listed, year), year=year, day=day),
            "year": year,
            "years": range(day.year, day.year - 5, -1),
            "query": query,
            "status": status,
            "counts": counts,
            "query_string": urlencode({k: v for k, v in filters.items() if v}),
            "overdue": day > due_day(year, YEAR),
        },
    )


def _reports_of(request, reps: list[Representative], year: int):
    return DutyReport.objects.visible_to(request.user).filter(representative__in=reps, year=year)


def _label(status: str) -> str:
    return {
        "evaluated": _("evaluated"),
        "submitted": _("handed in"),
        "overdue": _("overdue"),
        "due": _("not yet handed in"),
        "na": _("not asked"),
    }[status]


def _xlsx(rows: list[Row], year: int):
    header = [
        _("full name"),
        _("township"),
        _("year-end duty report (述职)"),
        _("submitted on"),
        _("satisfied (满意)"),
        _("basically satisfied (基本满意)"),
        _("unsatisfied (不满意)"),
        _("half-year report"),
    ]
    body = [
        [
            row.rep.name,
            row.rep.region.name,
            _label(row.status),
            row.report.submitted_on if row.report else "",
            row.report.satisfied if row.report and row.report.evaluated else "",
            row.report.basically_satisfied if row.report and row.report.evaluated else "",
            row.report.unsatisfied if row.report and row.report.evaluated else "",
            _label(row.half_status),
        ]
        for row in rows
    ]
    title = _("duty reports %(year)s") % {"year": year}
    return xlsx_response(title, header, body, filename=f"{title}.xlsx")


@login_required
def evaluate(request, pk: int):
    """Staff record the electoral unit's evaluation of a report of one of their reps."""
    _staff_only(request.user)
    report = get_object_or_404(
        DutyReport.objects.visible_to(request.user).select_related("representative__region"), pk=pk
    )
    initial = {
        "satisfied": report.satisfied,
        "basically_satisfied": report.basically_satisfied,
        "unsatisfied": report.unsatisfied,
    }
    form = DutyReportEvaluationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.duty_report_evaluate(actor=request.user, report=report, **form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                form.add_error(name, errors)
        else:
            messages.success(request, _("The evaluation was recorded."))
            return redirect(f"{reverse('reps:duty_reports')}?{urlencode({'year': report.year})}")
    return render(request, "reps/duty_report_evaluate.html", {"form": form, "report": report})


@login_required
def duty_report_file(request, pk: int):
    """Send a report's file, only to those who may see the report, as the type it was stored as."""
    report = get_object_or_404(DutyReport.objects.visible_to(request.user).exclude(file=""), pk=pk)
    try:
        handle = report.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(
        handle,
        content_type=report.content_type or "application/octet-stream",
        as_attachment=not report.content_type.startswith("image/"),
        filename=report.file_name or report.file.name.rsplit("/", 1)[-1],
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response

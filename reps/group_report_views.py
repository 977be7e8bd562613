"""Group written reports (seed 000): the leader or liaison files the group's report before its
own congress's annual meeting; the liaison office (and a township's staff, for its township's
groups) sees which groups have filed for a year's meeting and which are missing."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, Subquery
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import idempotency
from liaison.exports import xlsx_response
from liaison.regions import county_id_of
from liaison.roles import STAFF_ROLES
from reps import reminders
from reps.forms import GroupReportForm
from reps.models import Group, GroupReport
from reps.services import group_report_file
from reps.views import own_representative

PAGE_SIZE = 50
STATUSES = ("filed", "late", "missing", "pending", "no_meeting")


def today() -> datetime.date:
    return timezone.localdate()


@login_required
def group_report(request, pk: int):
    """The leader's or liaison's page to file (or, until due, change) the group's report."""
    rep = own_representative(request)
    group = get_object_or_404(
        Group.objects.filter(Q(leader=rep) | Q(liaison=rep)).select_related("region"), pk=pk
    )
    meeting = reminders.upcoming_meeting(group, today=today())
    report = GroupReport.objects.filter(group=group, year=meeting.year).first() if meeting else None
    due = reminders.report_due_on(meeting.date) if meeting else None
    locked = report is not None and today() > report.due_on
    form = GroupReportForm(
        request.POST or None,
        request.FILES or None,
        has_file=bool(report and report.file),
        initial={"text": report.text if report else ""},
    )
    if request.method == "POST" and meeting and not locked and form.is_valid():
        try:
            saved = group_report_file(
                actor=request.user,
                representative=rep,
                group=group,
                text=form.cleaned_data["text"],
                upload=form.cleaned_data["file"],
                submission_token=form.cleaned_data["token"],
                today=today(),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.error_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, exc)
            form.renew_token()
        else:
            if idempotency.replayed(saved):
                messages.info(request, idempotency.ALREADY_SAVED)
            else:
                messages.success(request, _("The group's written report was filed."))
            return redirect("reps:group_report", pk=group.pk)
    return render(
        request,
        "reps/group_report_form.html",
        {"group": group, "meeting": meeting, "due": due, "report": report, "locked": locked, "form": form},
    )


@login_required
def group_report_download(request, pk: int):
    """Send a group report's file, only to those who may see the report."""
    report = get_object_or_404(GroupReport.objects.visible_to(request.user).exclude(file=""), pk=pk)
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


def groups_of_year(user, *, year: int, day: datetime.date):
    """The groups ``user`` oversees, each with its own meeting of ``year`` and its report for it.

    A group's report is due ``GROUP_REPORT_DUE_DAYS`` before its meeting: on ``day`` a group
    without one is *missing* once that day has passed, *pending* before.
    """
    report = GroupReport.objects.filter(group=OuterRef("pk"), year=year)
    return (
        Group.objects.visible_to(user)
        .annotate(county_id=county_id_of("region"))
        .annotate(
            meeting_date=reminders.group_meeting_of_year("date", year=year),
            report_id=Subquery(report.values("pk")[:1]),
            report_on=Subquery(report.values("submitted_on")[:1]),
            report_due=Subquery(report.values("due_on")[:1]),
            report_file=Subquery(report.values("file")[:1]),
            report_text=Subquery(report.values("text")[:1]),
        )
        .select_related("region", "leader", "liaison")
    )


def with_status(groups, status: str, *, day: datetime.date):
    """Keep the groups in ``status`` (one of ``STATUSES``) on ``day``."""
    overdue_before = day + datetime.timedelta(days=reminders.GROUP_REPORT_DUE_DAYS)
    if status == "filed":
        return groups.filter(report_id__isnull=False)
    if status == "missing":
        return groups.filter(report_id__isnull=True, meeting_date__lt=overdue_before)
    if status == "pending":
        return groups.filter(report_id__isnull=True, meeting_date__gte=overdue_before)
    if status == "no_meeting":
        return groups.filter(report_id__isnull=True, meeting_date__isnull=True)
    return groups


def status_of(group, *, day: datetime.date) -> str:
    if group.report_id:
        return "late" if group.report_on > group.report_due else "filed"
    if group.meeting_date is None:
        return "no_meeting"
    return "missing" if day > reminders.report_due_on(group.meeting_date) else "pending"


STATUS_LABELS = {
    "filed": lambda: _("filed"),
    "late": lambda: _("filed late"),
    "missing": lambda: _("missing"),
    "pending": lambda: _("not yet due"),
    "no_meeting": lambda: _("no meeting set"),
}


@login_required
def group_reports(request):
    """Staff: which groups filed their written report for a year's meeting, which are missing."""
    scope = request.user.scope
    if not (scope.sees_all or scope.roles & STAFF_ROLES):
        raise PermissionDenied
    day = today()
    try:
        year = int(request.GET.get("year") or day.year)
    except ValueError:
        year = day.year
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    groups = groups_of_year(request.user, year=year, day=day)
    if query:
        groups = groups.filter(
            Q(name__icontains=query) | Q(leader__name__icontains=query) | Q(liaison__name__icontains=query)
        )
    groups = with_status(groups, status, day=day).order_by("region__path", "name", "pk")
    if request.GET.get("format") == "xlsx":
        return xlsx_response(
            _("Group reports %(year)s") % {"year": year},
            [
                _("Group"),
                _("Region"),
                _("Leader"),
                _("Liaison"),
                _("Meeting"),
                _("Due on"),
                _("Filed on"),
                _("Status"),
            ],
            (_xlsx_row(group, day) for group in groups),
            filename=f"group-reports-{year}.xlsx",
        )
    page = Paginator(groups, PAGE_SIZE).get_page(request.GET.get("page"))
    for group in page:
        group.status = status_of(group, day=day)
        group.status_label = STATUS_LABELS[group.status]()
        group.due = reminders.report_due_on(group.meeting_date) if group.meeting_date else None
    chosen = {"year": year, "q": query, "status": status}
    return render(
        request,
        "reps/group_reports.html",
        {
            "page": page,
            "chosen": chosen,
            "years": range(day.year + 1, day.year - 5, -1),
            "statuses": [
                (key, STATUS_LABELS[key]()) for key in ("filed", "missing", "pending", "no_meeting")
            ],
            "query_string": urlencode({k: v for k, v in chosen.items() if v}),
        },
    )


def _xlsx_row(group, day: datetime.date) -> list:
    def date_text(value):
        return f"{value:%Y-%m-%d}" if value else ""

    due = reminders.report_due_on(group.meeting_date) if group.meeting_date else None
    return [
        group.name,
        group.region.name,
        group.leader.name if group.leader else "",
        group.liaison.name if group.liaison else "",
        date_text(group.meeting_date),
        date_text(due),
        date_text(group.report_on),
        str(STATUS_LABELS[status_of(group, day=day)]()),
    ]

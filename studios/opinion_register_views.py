"""The quarterly 民情民意收集登记表 of a studio or a township: its reps' public-opinion reports.

One line per report (``OpinionReport``) for a month of the quarter: month, representative,
category, what was heard. A studio's register holds the reports of the reps serving at the
studio at some time in the quarter; a township's, those of the reps based in the township (its
villages included). On screen, as Excel and as a print view. The studio's liaison officer (or
staff over the studio), or the township's staff, mark the quarter's register as sent once
(``OpinionRegisterSubmission``, audited as ``opinion_register.submitted``); a second mark
finds the first.

Who sees it: a studio's, staff of its region and its officer (``Studio.visible_to``); a
township's, staff whose region holds it.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import audit
from liaison.exports import xlsx_response
from liaison.models import Region
from liaison.roles import STAFF_ROLES
from reps.duties import QUARTER, Period
from studios.book_views import _require_book_role
from studios.models import OpinionRegisterSubmission, OpinionReport, Studio, StudioAssignment
from studios.services import may_manage_studio
from studios.statistics import period_label, period_number, period_of


def _quarter(params, today: datetime.date) -> Period:
    current = Period.containing(QUARTER, today)
    try:
        year, n = int(params.get("year", "")), int(params.get("quarter", ""))
        if 2000 <= year <= today.year + 1:
            return period_of(QUARTER, year, n)
    except ValueError:
        pass
    return current


def register_reports(studio: Studio, period: Period):
    """The reports of the quarter by the reps serving at ``studio`` at some time in it (one query)."""
    serving = StudioAssignment.objects.filter(studio=studio, start__lte=period.end).filter(
        Q(end__isnull=True) | Q(end__gte=period.start)
    )
    return (
        OpinionReport.objects.filter(
            representative__in=serving.values("representative"),
            month__gte=period.start,
            month__lte=period.end,
        )
        .select_related("representative", "category")
        .order_by("month", "representative__name", "pk")
    )


def township_reports(township: Region, period: Period):
    """The reports of the quarter by the reps based in ``township`` or its villages (one query)."""
    return (
        OpinionReport.objects.filter(
            representative__region__path__startswith=township.path,
            month__gte=period.start,
            month__lte=period.end,
        )
        .select_related("representative", "category")
        .order_by("month", "representative__name", "pk")
    )


def _townships(user):
    """The townships whose register the user keeps: staff's, within their region."""
    scope = user.scope
    if not (scope.sees_all or scope.roles & STAFF_ROLES):
        return Region.objects.none()
    return Region.objects.filter(level=Region.Level.TOWNSHIP).filter(scope.region_q("")).order_by("path")


def _header() -> list[str]:
    return [_("month"), _("representative"), _("category"), _("what was heard"), _("submitted at")]


@login_required
def opinion_register(request):
    user = request.user
    _require_book_role(user)
    params = request.POST if request.method == "POST" else request.GET
    studios = Studio.objects.visible_to(user).select_related("region").order_by("region__path", "name")
    townships = _townships(user)
    raw_studio, raw_township = params.get("studio", ""), params.get("township", "")
    studio = township = None
    if raw_township.isdigit():
        township = get_object_or_404(townships, pk=int(raw_township))
        place, region, key = township, township, {"township": township}
    else:
        studio = get_object_or_404(studios, pk=int(raw_studio)) if raw_studio.isdigit() else studios.first()
        if studio is None:
            raise PermissionDenied
        place, region, key = studio, studio.region, {"studio": studio}
    period = _quarter(params, timezone.localdate())
    year, quarter = period.start.year, period_number(period)
    query = urlencode({**{name: obj.pk for name, obj in key.items()}, "year": year, "quarter": quarter})
    may_submit = may_manage_studio(user, studio) if studio else user.scope.covers_path(township.path)
    if request.method == "POST":
        if not may_submit:
            raise PermissionDenied
        try:
            with transaction.atomic():
                submission = OpinionRegisterSubmission.objects.create(
                    **key, year=year, quarter=quarter, submitted_by=user
                )
                audit.record(
                    actor=user,
                    verb="opinion_register.submitted",
                    subject=submission,
                    region=region,
                    year=year,
                    quarter=quarter,
                )
            messages.success(request, _("The register is marked as submitted."))
        except IntegrityError:  # marked already (a second click, or someone else): the first stands
            messages.info(request, _("The register was already marked as submitted."))
        return redirect(f"{request.path}?{query}")
    reports = register_reports(studio, period) if studio else township_reports(township, period)
    title = _("Public-opinion register, %(studio)s, %(quarter)s") % {
        "studio": place.name,
        "quarter": period_label(period),
    }
    if request.GET.get("format") == "xlsx":
        rows = [
            [
                f"{r.month:%Y-%m}",
                r.representative.name,
                r.category.name,
                r.content,
                timezone.localtime(r.submitted_at).strftime("%Y-%m-%d"),
            ]
            for r in reports
        ]
        return xlsx_response(_("Public-opinion register"), _header(), rows, filename=f"{title}.xlsx")
    submission = (
        OpinionRegisterSubmission.objects.filter(**key, year=year, quarter=quarter)
        .select_related("submitted_by")
        .first()
    )
    context = {
        "title": title,
        "studio": studio,
        "township": township,
        "studios": studios,
        "townships": townships,
        "period": period,
        "year": year,
        "quarter": quarter,
        "quarters": [(n, period_label(period_of(QUARTER, year, n))) for n in range(1, 5)],
        "years": range(timezone.localdate().year, timezone.localdate().year - 6, -1),
        "reports": list(reports),
        "header": _header(),
        "submission": submission,
        "may_submit": submission is None and may_submit,
        "query": query,
        "today": timezone.localdate(),
    }
    template = (
        "studios/opinion_register_print.html" if request.GET.get("print") else "studios/opinion_register.html"
    )
    return render(request, template, context)

"""The duty record page (/reps/<id>/record/?year= or ?term=1), on screen and as an A4 print."""

from __future__ import annotations

import datetime

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string

from liaison.roles import Role
from reps import points, record
from reps.models import AssessmentEntry, CommitteeLink, Representative
from reps.views import _year, today


def may_read_record(user, rep: Representative) -> bool:
    """Staff over the rep's township or county, the rep's committee member, and the rep themself."""
    scope = user.scope
    if scope.sees_all or rep.user_id == user.pk:
        return True
    staff_paths = [
        *scope.anchor_paths.get(Role.LIAISON_OFFICE, ()),
        *scope.anchor_paths.get(Role.TOWNSHIP_STAFF, ()),
    ]
    if any(rep.region.path.startswith(p) for p in staff_paths):
        return True
    return CommitteeLink.objects.filter(member=user, representative=rep).exists()


@login_required
def record_page(request, pk: int):
    """Everything the system knows of a rep's duties in a year or the current term; 404 outside scope."""
    rep = get_object_or_404(
        Representative.objects.select_related("region").prefetch_related("mandates"), pk=pk
    )
    if not may_read_record(request.user, rep):
        raise Http404
    now = today()
    term = request.GET.get("term") == "1"
    year = now.year
    if term:
        span = record.term_span(rep, now)
        if span is None:
            raise Http404
        start, end = span
    else:
        year = _year(request) or now.year
        start, end = datetime.date(year, 1, 1), min(datetime.date(year, 12, 31), now)
    # Each section is drawn by its own template from what its loader returned.
    sections = [
        {
            "key": s.key,
            "title": s.title,
            "html": render_to_string(s.template, {"rep": rep, **s.load(rep, start, end)}, request=request),
        }
        for s in record.sections()
    ]
    score = entry = None
    if not term:
        found = points.year_scores(Representative.objects.filter(pk=rep.pk), year=year, today=now)
        score = found[0] if found else None
        entry = (
            AssessmentEntry.objects.filter(
                representative=rep, sheet__year=year, sheet__county_id=rep.region.county_id
            )
            .select_related("sheet")
            .prefetch_related("amendments")
            .first()
        )
    context = {
        "rep": rep,
        "year": year,
        "term": term,
        "start": start,
        "end": end,
        "sections": sections,
        "score": score,
        "entry": entry,
        "years": range(now.year, now.year - 5, -1),
        "today": now,
        "query": request.GET.urlencode(),
        "print": request.GET.get("print") == "1",
        "is_own": rep.user_id == request.user.pk,
    }
    template = "reps/record_print.html" if context["print"] else "reps/record.html"
    return render(request, template, context)

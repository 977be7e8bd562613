"""Matters raised at receptions and on home visits that are not tickets yet, for the township
clerk and the studio liaison officer: a paginated list with a "register as ticket" action per
matter (``views_create.from_*_matter``, prefilled), and its count on the home to-do.

The rule of "not yet a ticket" is the hand-in reminders' (``queues.*_MATTER_TO_HAND_IN``); the
rows come through the records' own ``visible_to``, one union query for both kinds of matter.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import CharField, F, Value
from django.db.models.functions import Coalesce, TruncDate
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from liaison import todo
from liaison.roles import STAFF_ROLES, Role
from proposals.queues import RECEPTION_MATTER_TO_HAND_IN, VISIT_MATTER_TO_HAND_IN
from reps.models import HomeVisit, VisitMatter
from studios.models import Reception, ReceptionMatter

PAGE_SIZE = 30
# Who keeps the records the matters come from: township (and office) staff, studio officers.
KEEPERS = STAFF_ROLES | {Role.STUDIO_OFFICER}
KINDS = ("visit", "reception")


def may_see_matters(user) -> bool:
    scope = user.scope
    return scope.sees_all or bool(scope.roles & KEEPERS)


def matters_awaiting_ticket(user, *, kind: str = "", query: str = ""):
    """The matters in ``user``'s townships and studios not yet handed in as tickets, oldest
    first, as ``(kind, pk, day, content, place)`` rows of one union query."""
    visits = (
        VisitMatter.objects.filter(
            VISIT_MATTER_TO_HAND_IN, visit__in=HomeVisit.objects.active().visible_to(user).values("pk")
        )
        .annotate(
            kind=Value("visit", output_field=CharField()),
            day=F("visit__date"),
            place=F("visit__township__name"),
        )
        .values_list("kind", "pk", "day", "content", "place")
        .order_by()
    )
    receptions = (
        ReceptionMatter.objects.filter(
            RECEPTION_MATTER_TO_HAND_IN,
            reception__in=Reception.objects.active().visible_to(user).values("pk"),
        )
        .annotate(
            kind=Value("reception", output_field=CharField()),
            day=TruncDate("reception__starts_at"),
            place=Coalesce("reception__studio__name", "reception__township__name"),
        )
        .values_list("kind", "pk", "day", "content", "place")
        .order_by()
    )
    if query:
        visits = visits.filter(content__icontains=query)
        receptions = receptions.filter(content__icontains=query)
    if kind == "visit":
        return visits.order_by("day", "pk")
    if kind == "reception":
        return receptions.order_by("day", "pk")
    return visits.union(receptions, all=True).order_by("day", "pk")


@login_required
def matter_list(request):
    """The matters awaiting a ticket, each with its "register as ticket" link."""
    if not may_see_matters(request.user):
        raise PermissionDenied
    chosen = {"kind": request.GET.get("kind", ""), "q": request.GET.get("q", "").strip()[:100]}
    if chosen["kind"] not in KINDS:
        chosen["kind"] = ""
    rows = matters_awaiting_ticket(request.user, kind=chosen["kind"], query=chosen["q"])
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    names = {"visit": "proposals:from_visit_matter", "reception": "proposals:from_reception_matter"}
    labels = {"visit": _("home visit"), "reception": _("studio reception")}
    matters = [
        {
            "kind": labels[kind],
            "day": day,
            "content": content,
            "place": place,
            "url": reverse(names[kind], args=[pk]),
        }
        for kind, pk, day, content, place in page.object_list
    ]
    query = urlencode({k: v for k, v in chosen.items() if v})
    return render(
        request,
        "proposals/matters.html",
        {"page": page, "matters": matters, "chosen": chosen, "query": query},
    )


def todo_sections(user, *, now: datetime.datetime) -> list[todo.Section]:
    """The clerk's and the officer's to-do line: matters not yet tickets (one count query)."""
    if not user.scope.roles & KEEPERS:
        return []
    item = todo.Item(
        "matters_awaiting_ticket",
        _("matters not yet registered as tickets"),
        reverse("proposals:matters"),
        count=matters_awaiting_ticket(user).count(),
        tone=todo.WARNING,
    )
    return [todo.Section(_("Matters raised"), [item])]

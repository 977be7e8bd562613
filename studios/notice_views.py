"""The door notice (值班公示): next week's duties at one studio, printed on A4 in large type.

From the published roster only (a draft is not yet the studio's promise), as the public
schedule shows it: each duty's day and time, and each representative on duty with their
职务 (``Representative.title``); whoever stands in replaces the rep they stand in for.
Staff of the studio's region and the studio's liaison officer may print it; three queries for
the page whatever the week holds (the studio, the slots, their assignments).
"""

from __future__ import annotations

import datetime

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from studios.models import DutySlot, SlotAssignment, Studio
from studios.views import _require_roster_role

SUBSTITUTED = SlotAssignment.Attendance.SUBSTITUTED


def next_monday(today: datetime.date) -> datetime.date:
    return today + datetime.timedelta(days=7 - today.weekday())


def _week(raw: str | None, today: datetime.date) -> datetime.date:
    """The Monday of the week asked for (``week=YYYY-MM-DD``, any day of it); next week by default."""
    try:
        day = datetime.date.fromisoformat(raw or "")
    except ValueError:
        return next_monday(today)
    return day - datetime.timedelta(days=day.weekday())


def on_duty(slot: DutySlot) -> list[tuple[str, str]]:
    """(name, 职务) of each person on duty at ``slot``: a stand-in in place of the rep replaced."""
    people = []
    for a in slot.notice_assignments:
        person = a.substitute if a.attendance == SUBSTITUTED and a.substitute_id else a.representative
        people.append((person.name, person.title))
    return list(dict.fromkeys(people))


@login_required
def door_notice(request, pk: int):
    _require_roster_role(request.user)
    studio = get_object_or_404(Studio.objects.visible_to(request.user), pk=pk)
    monday = _week(request.GET.get("week"), timezone.localdate())
    sunday = monday + datetime.timedelta(days=6)
    assignments = SlotAssignment.objects.select_related("representative", "substitute").only(
        "slot", "attendance", "representative__name", "representative__title", "substitute__name",
        "substitute__title",
    ).order_by("pk")  # fmt: skip
    slots = list(
        DutySlot.objects.published()
        .filter(studio=studio, date__gte=monday, date__lte=sunday)
        .prefetch_related(Prefetch("assignments", queryset=assignments, to_attr="notice_assignments"))
        .order_by("starts_at", "pk")
    )
    for slot in slots:
        slot.on_duty = on_duty(slot)
    return render(
        request,
        "studios/door_notice.html",
        {
            "studio": studio,
            "slots": slots,
            "monday": monday,
            "sunday": sunday,
            "previous": monday - datetime.timedelta(days=7),
            "following": monday + datetime.timedelta(days=7),
        },
    )

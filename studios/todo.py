"""The studios part of the home to-do (``liaison.todo``): duties to record and to mark, and a
representative's next duty."""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from liaison import todo
from liaison.roles import STAFF_ROLES, Role
from studios.models import DutySlot, Reception, RosterPeriod, SlotAssignment, Studio

# A duty still waits for its record this long after it started; older ones are the township's
# clean-up, not a reminder.
RECORD_WINDOW = datetime.timedelta(days=14)
RECORDERS = STAFF_ROLES | {Role.STUDIO_OFFICER, Role.REPRESENTATIVE}


def awaiting_record(user, now: datetime.datetime):
    """Recent published duties with no record yet: the studios the user manages, or their own."""
    slots = DutySlot.objects.filter(
        period__status=RosterPeriod.Status.PUBLISHED,
        starts_at__lte=now,
        starts_at__gte=now - RECORD_WINDOW,
    ).exclude(Exists(Reception.objects.active().filter(slot=OuterRef("pk"))))
    if not user.scope.sees_all:
        own = SlotAssignment.objects.filter(slot=OuterRef("pk")).filter(
            Q(representative__user=user) | Q(substitute__user=user)
        )
        slots = slots.filter(Q(studio__in=Studio.objects.visible_to(user)) | Q(Exists(own)))
    return slots


def sections(user, *, now: datetime.datetime) -> list[todo.Section]:
    scope = user.scope
    if scope.sees_all or not scope.roles & RECORDERS:
        return []
    items = []
    today = timezone.localdate(now)
    items.append(
        todo.Item(
            "unrecorded_duties",
            _("duties held and not yet recorded"),
            reverse("studios:receptions") + "#awaiting",
            count=awaiting_record(user, now).count(),
            tone=todo.WARNING,
        )
    )
    if Role.STUDIO_OFFICER in scope.roles:
        to_mark = SlotAssignment.objects.filter(
            slot__studio__in=Studio.objects.visible_to(user),
            slot__period__status=RosterPeriod.Status.PUBLISHED,
            slot__date=today,
            attendance=SlotAssignment.Attendance.PENDING,
        )
        items.append(
            todo.Item(
                "attendance_today",
                _("attendance to mark today"),
                reverse("studios:today"),
                count=to_mark.count(),
            )
        )
    if Role.REPRESENTATIVE in scope.roles:
        upcoming = (
            SlotAssignment.objects.filter(
                Q(representative__user=user) | Q(substitute__user=user),
                slot__period__status=RosterPeriod.Status.PUBLISHED,
                slot__ends_at__gte=now,
            )
            .select_related("slot__studio")
            .order_by("slot__starts_at")
            .first()
        )
        if upcoming is not None:
            slot = upcoming.slot
            when = formats.date_format(timezone.localtime(slot.starts_at), "SHORT_DATETIME_FORMAT")
            items.append(
                todo.Item(
                    "next_duty",
                    _("next studio duty"),
                    reverse("studios:my_duties"),
                    text=f"{when} · {slot.studio.name}",
                )
            )
    return [todo.Section(_("Studios and duties"), items)] if items else []

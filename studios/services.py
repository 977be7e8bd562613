"""Writes to rosters: publish a period, change a published slot, mark attendance.

Two people may act on the same slot at once. Each write is one transaction that moves the row
with a compare-and-set (the version or status it was shown, in the WHERE clause): zero rows
updated means someone else acted first, and the second person gets ``Conflict``.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import audit
from liaison.models import User
from liaison.roles import Role
from reps.models import Representative
from studios.models import DutySlot, RosterPeriod, SlotAssignment, SlotChange


class Conflict(Exception):
    """Someone else changed the record since the user loaded it."""

    def __init__(self, message: str | None = None):
        super().__init__(
            message or _("Someone else changed this duty in the meantime. Reload the page and try again.")
        )


def may_manage_studio(user, studio) -> bool:
    """Staff over the studio's region, or its own liaison officer."""
    scope = user.scope
    return scope.sees_all or scope.covers_path(studio.region.path) or studio.liaison_officer_id == user.pk


@transaction.atomic
def period_publish(*, actor: User, period: RosterPeriod) -> RosterPeriod:
    if not may_manage_studio(actor, period.studio):
        raise PermissionDenied
    if not period.slots.exists():
        raise ValidationError(_("There is nothing to publish: generate the roster first."))
    moved = RosterPeriod.objects.filter(pk=period.pk, status=RosterPeriod.Status.DRAFT).update(
        status=RosterPeriod.Status.PUBLISHED, published_at=timezone.now(), published_by=actor
    )
    if not moved:
        raise Conflict(_("This roster was already published."))
    period.refresh_from_db()
    audit.record(actor=actor, verb="roster.published", subject=period, region=period.studio.region)
    return period


def clashes(reps: list[Representative], starts_at, ends_at, *, exclude_slot: int | None = None) -> list[str]:
    """Describe each duty of ``reps`` that overlaps the given time, naming the studio and time."""
    found = (
        SlotAssignment.objects.filter(
            representative__in=reps, slot__starts_at__lt=ends_at, slot__ends_at__gt=starts_at
        )
        .exclude(slot_id=exclude_slot)
        .select_related("representative", "slot__studio")
    )
    return [
        _("%(rep)s is already on duty at %(studio)s on %(when)s")
        % {
            "rep": a.representative.name,
            "studio": a.slot.studio.name,
            "when": timezone.localtime(a.slot.starts_at).strftime("%Y-%m-%d %H:%M"),
        }
        for a in found
    ]


def _snapshot(slot: DutySlot, reps) -> dict:
    return {
        "starts_at": timezone.localtime(slot.starts_at).isoformat(),
        "ends_at": timezone.localtime(slot.ends_at).isoformat(),
        "theme": slot.theme,
        "representatives": sorted(r.name for r in reps),
    }


@transaction.atomic
def slot_change(
    *,
    actor: User,
    slot: DutySlot,
    expected_version: int,
    representatives: list[Representative],
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    theme: str = "",
    reason: str = "",
) -> DutySlot:
    """Change who is on duty and when. After publication a reason is required and recorded."""
    period = slot.period
    if not may_manage_studio(actor, slot.studio):
        raise PermissionDenied
    published = period.status == RosterPeriod.Status.PUBLISHED
    reason = reason.strip()
    if published and not reason:
        raise ValidationError({"reason": _("A published duty changes only for a stated reason.")})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The duty must end after it starts.")})
    if not representatives:
        raise ValidationError({"representatives": _("Choose at least one representative.")})
    problems = clashes(representatives, starts_at, ends_at, exclude_slot=slot.pk)
    if problems:
        raise ValidationError({"representatives": problems})
    before = _snapshot(slot, [a.representative for a in slot.assignments.select_related("representative")])
    moved = DutySlot.objects.filter(pk=slot.pk, version=expected_version).update(
        starts_at=starts_at,
        ends_at=ends_at,
        date=timezone.localtime(starts_at).date(),
        theme=theme,
        version=F("version") + 1,
    )
    if not moved:
        raise Conflict
    if published:
        DutySlot.objects.filter(pk=slot.pk).update(is_changed=True)
    wanted = {r.pk for r in representatives}
    SlotAssignment.objects.filter(slot=slot).exclude(representative_id__in=wanted).delete()
    present = set(SlotAssignment.objects.filter(slot=slot).values_list("representative_id", flat=True))
    SlotAssignment.objects.bulk_create(
        SlotAssignment(slot=slot, representative_id=r) for r in wanted - present
    )
    slot.refresh_from_db()
    after = _snapshot(slot, representatives)
    if published:
        SlotChange.objects.create(slot=slot, changed_by=actor, reason=reason, before=before, after=after)
    audit.record(
        actor=actor,
        verb="slot.changed",
        subject=slot,
        region=slot.studio.region,
        reason=reason,
        before=before,
        after=after,
    )
    return slot


@transaction.atomic
def attendance_mark(
    *,
    actor: User,
    assignment: SlotAssignment,
    expected: str,
    attendance: str,
    substitute: Representative | None = None,
) -> SlotAssignment:
    """Mark whether the rep came. The rep themself, the studio's officer or staff may mark.

    ``expected`` is the value the user saw; if it changed meanwhile the second mark loses, unless
    it already is what this mark asks for (the same tap twice succeeds once and changes nothing).
    """
    slot = assignment.slot
    own = assignment.representative.user_id == actor.pk
    if not (own or may_manage_studio(actor, slot.studio)):
        raise PermissionDenied
    if attendance not in SlotAssignment.Attendance.values:
        raise ValidationError(_("Unknown attendance."))
    if attendance == SlotAssignment.Attendance.SUBSTITUTED:
        if substitute is None or substitute.pk == assignment.representative_id:
            raise ValidationError({"substitute": _("Name the representative who stood in.")})
        problems = clashes([substitute], slot.starts_at, slot.ends_at, exclude_slot=slot.pk)
        if problems:
            raise ValidationError({"substitute": problems})
    else:
        substitute = None
    if own and not actor.scope.has_role(Role.REPRESENTATIVE):
        raise PermissionDenied
    moved = SlotAssignment.objects.filter(pk=assignment.pk, attendance=expected).update(
        attendance=attendance, substitute=substitute, marked_by=actor, marked_at=timezone.now()
    )
    if not moved:
        marked = SlotAssignment.objects.filter(pk=assignment.pk).values_list("attendance", "substitute_id")
        if marked.first() == (attendance, substitute.pk if substitute else None):
            # The same mark again (a double tap, a form sent twice): it is already so; no second record.
            assignment.refresh_from_db()
            return assignment
        raise Conflict(_("Someone else marked this attendance in the meantime. Reload the page and check."))
    assignment.refresh_from_db()
    audit.record(
        actor=actor,
        verb="attendance.marked",
        subject=assignment,
        region=slot.studio.region,
        attendance=attendance,
        substitute=substitute.pk if substitute else None,
    )
    return assignment

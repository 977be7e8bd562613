"""Reception records (接待、约见党员群众活动记录卡) and monthly public-opinion reports (社情民意).

Who may record a reception at a studio: its liaison officer, staff whose region covers the
studio, or a representative who was there (among the reps present) and who serves at the
studio or was on the duty. The reps present must themselves serve at the studio on that day or
be on the duty: a reception counts towards their quarterly quota (``studios.duties``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import audit, idempotency
from liaison.models import Category, Region, User
from liaison.roles import Role
from liaison.uploads import clean_image
from liaison.validators import clean_name_and_phone
from reps.models import Representative
from reps.services import MatterInput, check_matters  # the one rule of visit and reception matters
from studios.models import (
    DutySlot,
    MeetingKind,
    OpinionReport,
    Reception,
    ReceptionMatter,
    ReceptionPhoto,
    SlotAssignment,
    Studio,
    StudioAssignment,
    Visitor,
)
from studios.services import may_manage_studio

# A record may be written while the reception is still going on, not before it starts.
EARLY_TOLERANCE = datetime.timedelta(hours=1)


@dataclass
class VisitorInput:
    name: str
    phone: str = ""


def studio_township(studio: Studio) -> Region:
    """The township a studio's records belong to: its region, or the parent of a village."""
    region = studio.region
    return region.parent if region.level == Region.Level.VILLAGE and region.parent_id else region


def own_representative(user) -> Representative | None:
    """The user's representative record, if they hold the representative role."""
    if not getattr(user, "is_authenticated", False) or not user.scope.has_role(Role.REPRESENTATIVE):
        return None
    return Representative.objects.filter(user=user).first()


def _assigned_on(studio: Studio, on: datetime.date) -> Exists:
    return Exists(
        StudioAssignment.objects.filter(representative=OuterRef("pk"), studio=studio, start__lte=on).filter(
            Q(end__isnull=True) | Q(end__gte=on)
        )
    )


def _on_slot(slot: DutySlot) -> Exists:
    return Exists(
        SlotAssignment.objects.filter(slot=slot).filter(
            Q(representative=OuterRef("pk")) | Q(substitute=OuterRef("pk"))
        )
    )


def eligible_representatives(studio: Studio, *, on: datetime.date, slot: DutySlot | None = None) -> QuerySet:
    """The reps who may be recorded as present: serving at the studio on ``on``, or on the duty."""
    q = Q(_assigned_on(studio, on))
    if slot is not None:
        q |= Q(_on_slot(slot))
    return Representative.objects.filter(q).order_by("name_initials", "name", "id")


def recordable_studios(user) -> QuerySet:
    """The active studios where ``user`` may record a reception (see the module docstring)."""
    studios = Studio.objects.active().select_related("region")
    scope = user.scope
    if scope.sees_all:
        return studios
    q = Studio.objects.scope_filter(scope)
    if scope.has_role(Role.REPRESENTATIVE):
        q |= Q(_serving_user(user, timezone.localdate()))
    return studios.filter(q)


def _serving_user(user, on: datetime.date) -> Exists:
    return Exists(
        StudioAssignment.objects.filter(
            studio=OuterRef("pk"), representative__user=user, start__lte=on
        ).filter(Q(end__isnull=True) | Q(end__gte=on))
    )


def recordable_slots(user) -> QuerySet:
    """Duty slots ``user`` may record a reception for: at a recordable studio, or their own duty."""
    slots = DutySlot.objects.select_related("studio__region", "period")
    if user.scope.sees_all:
        return slots
    own = SlotAssignment.objects.filter(slot=OuterRef("pk")).filter(
        Q(representative__user=user) | Q(substitute__user=user)
    )
    q = Q(studio__in=recordable_studios(user))
    if user.scope.has_role(Role.REPRESENTATIVE):
        q |= Q(Exists(own))
    return slots.filter(q)


def may_record(user, studio: Studio, *, representatives, slot: DutySlot | None = None, on=None) -> bool:
    """Whether ``user`` may record a reception at ``studio`` with these reps present."""
    if may_manage_studio(user, studio):
        return True
    rep = own_representative(user)
    if rep is None or rep.pk not in {r.pk for r in representatives}:
        return False
    on = on or timezone.localdate()
    return eligible_representatives(studio, on=on, slot=slot).filter(pk=rep.pk).exists()


def _clean_visitors(visitors: list[VisitorInput]) -> list[Visitor]:
    rows, problems = [], []
    for n, visitor in enumerate(visitors, start=1):
        # The form checked this already; a service is also called without one, so it checks again.
        try:
            name, phone = clean_name_and_phone(visitor.name, visitor.phone)
        except ValidationError as exc:
            problems.append(_("Visitor %(n)s: %(error)s") % {"n": n, "error": " ".join(exc.messages)})
            continue
        if not name:
            problems.append(_("Visitor %(n)s: give a name, or leave the row empty.") % {"n": n})
            continue
        rows.append(Visitor(name=name[:32], phone=phone))
    if problems:
        raise ValidationError({"visitors": problems})
    return rows


@transaction.atomic
def reception_record(
    *,
    actor: User,
    studio: Studio,
    slot: DutySlot | None = None,
    kind: str = "",
    starts_at: datetime.datetime | None = None,
    place: str = "",
    representatives: list[Representative],
    people_received: int,
    notes: str = "",
    visitors: list[VisitorInput] = (),
    matters: list[MatterInput] = (),
    photos: list = (),
    submission_token: str | None = None,
) -> Reception:
    """Record a reception at ``studio`` (from the duty ``slot``, if given) with what was raised.

    A ``submission_token`` (the form's nonce, ``liaison.idempotency``) seen before returns the
    record that post made, marked replayed: the same card sent twice, one after the other or at
    the same instant, makes one record (and one reception toward the duties).

    1. The duty, if given, must be the studio's; its kind and start fill what is not given, and
       it is locked so that two people recording it at once make one record, not two.
    2. The actor must be allowed (module docstring); the reps present must serve there.
    3. The counts, matters and visitors are checked, and the photos re-encoded without
       metadata, before anything is written: a refusal leaves nothing behind.
    """
    representatives = list(representatives)
    if (earlier := idempotency.earlier(Reception, submission_token, recorded_by=actor)) is not None:
        return earlier
    if slot is not None:
        if slot.studio_id != studio.pk:
            raise ValidationError(_("This duty belongs to another studio."), code="wrong_studio")
        kind = kind or slot.kind
        starts_at = starts_at or slot.starts_at
    if starts_at is None:
        raise ValidationError({"starts_at": _("Give the time of the reception.")})
    on = timezone.localdate(starts_at)
    if not may_record(actor, studio, representatives=representatives, slot=slot, on=on):
        raise PermissionDenied(_("You may not record a reception at this studio."))
    if slot is not None:
        DutySlot.objects.select_for_update().filter(pk=slot.pk).first()
        # A twin post that held the lock first recorded it: that record is this post's too.
        if (earlier := idempotency.earlier(Reception, submission_token, recorded_by=actor)) is not None:
            return earlier
        if Reception.objects.active().filter(slot=slot).exists():
            raise ValidationError(_("This duty already has a reception record."), code="duplicate")

    errors: dict[str, list[str]] = {}
    if kind not in MeetingKind.values:
        errors["kind"] = [_("Choose the kind of reception.")]
    if starts_at > timezone.now() + EARLY_TOLERANCE:
        errors["starts_at"] = [_("A reception cannot be recorded before it takes place.")]
    if not representatives:
        errors["representatives"] = [_("Choose the representatives present.")]
    else:
        eligible = set(
            eligible_representatives(studio, on=on, slot=slot)
            .filter(pk__in=[r.pk for r in representatives])
            .values_list("pk", flat=True)
        )
        strangers = [r.name for r in representatives if r.pk not in eligible]
        if strangers:
            errors["representatives"] = [
                _("Not serving at this studio on that day: %(names)s") % {"names": "、".join(strangers)}
            ]
    visitors, matters = list(visitors), list(matters)
    if people_received < 1:
        errors["people_received"] = [_("Record at least one person received.")]
    elif people_received < len(visitors):
        errors["people_received"] = [
            _("%(n)s people were received, but %(v)s visitors are named.")
            % {"n": people_received, "v": len(visitors)}
        ]
    try:
        check_matters(matters)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    visitor_rows: list[Visitor] = []
    try:
        visitor_rows = _clean_visitors(visitors)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    cleaned_photos = []
    for photo in photos:
        try:
            cleaned_photos.append(clean_image(photo))
        except ValidationError as exc:
            name = getattr(photo, "name", "")
            errors.setdefault("photos", []).extend(f"{name}: {m}" if name else m for m in exc.messages)
    if errors:
        raise ValidationError(errors)

    reception = Reception(
        studio=studio,
        slot=slot,
        township=studio_township(studio),
        kind=kind,
        starts_at=starts_at,
        place=place.strip() or studio.address,
        people_received=people_received,
        notes=notes.strip(),
        recorded_by=actor,
    )
    reception.full_clean(exclude=["representatives"])
    reception = idempotency.save_once(reception, submission_token, recorded_by=actor)
    if idempotency.replayed(reception):  # the twin post, at the same instant, saved it first
        return reception
    reception.representatives.add(*representatives)
    for row in visitor_rows:
        row.reception = reception
    Visitor.objects.bulk_create(visitor_rows)
    ReceptionMatter.objects.bulk_create(
        ReceptionMatter(
            reception=reception,
            content=m.content.strip(),
            answered_on_spot=m.answered_on_spot,
            answer=m.answer.strip() if m.answered_on_spot else "",
            for_ticket=m.for_ticket,
            category=m.category,
        )
        for m in matters
    )
    for image in cleaned_photos:
        ReceptionPhoto.objects.create(reception=reception, image=image)
    # Counts only: the visitors' names and phones are private and stay out of the log.
    audit.record(
        actor=actor,
        verb="reception.recorded",
        subject=reception,
        region=reception.township,
        studio=studio.pk,
        slot=slot.pk if slot else None,
        representatives=sorted(r.pk for r in representatives),
        people_received=people_received,
        visitors=len(visitor_rows),
        matters=len(matters),
        for_ticket=sum(1 for m in matters if m.for_ticket),
        photos=len(cleaned_photos),
    )
    return reception


def may_submit_opinion(user, representative: Representative) -> bool:
    """The representative themself, or staff whose region covers theirs."""
    if not getattr(user, "is_authenticated", False):
        return False
    own = representative.user_id == user.pk and user.scope.has_role(Role.REPRESENTATIVE)
    return own or user.scope.covers_path(representative.region.path)


@transaction.atomic
def opinion_report_submit(
    *, actor: User, representative: Representative, month: datetime.date, category: Category, content: str
) -> OpinionReport:
    """Submit ``representative``'s public-opinion report for ``month`` (any day of it)."""
    if not may_submit_opinion(actor, representative):
        raise PermissionDenied(_("You may not submit a report for this representative."))
    month = month.replace(day=1)
    if month > timezone.localdate().replace(day=1):
        raise ValidationError({"month": _("A report cannot be for a month that has not begun.")})
    report = OpinionReport(
        representative=representative, month=month, category=category, content=content.strip()
    )
    report.full_clean()
    report.save()
    audit.record(
        actor=actor,
        verb="opinion.submitted",
        subject=report,
        region=representative.region,
        month=month.isoformat(),
        category=category.pk,
    )
    return report

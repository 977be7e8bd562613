"""Writes to tickets. Each public function is one user action, one transaction, one event.

Every move goes through ``transitions.transition`` (permission, compare-and-set on the
status, the event row); the functions here add what each move means: deadlines from the
county's policy, unit assignments, ratings, the reply.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import audit, idempotency
from liaison.models import HandlingUnit, Region, User
from liaison.validators import MOBILE_RE, clean_name_and_phone
from proposals import deadlines
from proposals.files import CleanFile, clean_attachment
from proposals.models import (
    Assignment,
    Attachment,
    Category,
    Extension,
    Proposer,
    Rating,
    Ticket,
    TicketEvent,
    new_tracking_code,
)
from proposals.transitions import (
    Conflict,
    InvalidMove,
    Party,
    Status,
    allowed_moves,
    bump,
    check,
    parties,
    sweep_after_commit,
    transition,
)
from reps.models import Representative, VisitMatter
from studios.models import ReceptionMatter, Studio

__all__ = ["Conflict", "InvalidMove"]


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def _label(ticket: Ticket, actor: User, acting_as: frozenset[str]) -> str:
    """How the actor appears on the timeline: the unit or office, never a private person's name."""
    if Party.LEAD_UNIT in acting_as or Party.CO_UNIT in acting_as:
        for a in ticket.assignments.all():
            if a.ended_at is None and a.unit_id in actor.scope.unit_ids:
                return a.unit.name
    if Party.OFFICE in acting_as and Party.TOWNSHIP not in acting_as:
        return _("County liaison office")
    if Party.TOWNSHIP in acting_as:
        return ticket.township.name
    if Party.REPRESENTATIVE in acting_as:
        return _("Representative")
    if Party.PROPOSER in acting_as:
        return _("Proposer")
    return _("System")


def _move(ticket: Ticket, *, move: str, actor: User, acting_as=None, **kwargs) -> TicketEvent:
    acting_as = parties(ticket, actor) if acting_as is None else acting_as
    return transition(
        ticket,
        move=move,
        actor=actor,
        acting_as=acting_as,
        actor_label=_label(ticket, actor, acting_as),
        **kwargs,
    )


def _acting(ticket: Ticket, move: str, actor: User) -> frozenset[str]:
    """Who ``actor`` is to ``ticket``; refuse at once a move that is not theirs or not possible now.

    Called before a service validates its arguments, so that a stranger gets PermissionDenied
    (and learns nothing from a validation message), and a move from the wrong status gets
    InvalidMove, whatever was typed.
    """
    acting_as = parties(ticket, actor)
    check(ticket, move, acting_as)
    return acting_as


def _lock(ticket: Ticket) -> int:
    """Wait for the ticket's row lock, then take up its current status and version.

    For contributions several people make independently on one ticket (each proposer's
    rating, each co-unit's opinion): they must not beat each other with ``Conflict``, and they
    must run one after the other so that the last rating sees all the others. Returns the
    current handling round.
    """
    row = (
        Ticket.objects.select_for_update().filter(pk=ticket.pk).values("status", "updated_at", "round").get()
    )
    ticket.status, ticket.updated_at = row["status"], row["updated_at"]
    return row["round"]


# --- registering ---------------------------------------------------------------------------


def may_register(actor: User, township: Region, *, studio: Studio | None = None) -> bool:
    """Staff over the township, a representative, or the studio's liaison officer."""
    scope = actor.scope
    if scope.sees_all or scope.covers_path(township.path):
        return True
    if studio is not None and studio.liaison_officer_id == actor.pk:
        return True
    # A representative registers what they collected: in the township they are based in, or
    # where a studio they are assigned to stands.
    own = Representative.objects.filter(user=actor)
    return (
        own.filter(region__path__startswith=township.path).exists()
        or own.filter(studio_assignments__studio__region__path__startswith=township.path).exists()
    )


def _clean_proposers(proposers: Sequence[tuple]) -> list[tuple[str, str, bool]]:
    """Return the proposers with a name, their phones normalised (the form's rule, checked again
    because the service is also called without a form); refuse a bad phone or a phone without a name.

    Each proposer is ``(name, phone)`` or ``(name, phone, sms_consent)``; consent to SMS needs a
    mobile number, and is refused otherwise (a landline cannot take one)."""
    people, problems = [], []
    for n, (name, phone, *consent) in enumerate(proposers, start=1):
        sms = bool(consent and consent[0])
        try:
            name, phone = clean_name_and_phone(name, phone)
        except ValidationError as exc:
            problems.append(_("Proposer %(n)s: %(error)s") % {"n": n, "error": " ".join(exc.messages)})
            continue
        if sms and not MOBILE_RE.match(phone):
            problems.append(
                _("Proposer %(n)s: %(error)s") % {"n": n, "error": _("SMS can only go to a mobile number.")}
            )
            continue
        if name:
            people.append((name, phone, sms))
    if problems:
        raise ValidationError({"proposers": problems})
    return people


@transaction.atomic
def ticket_register(
    *,
    actor: User | None,
    township: Region,
    title: str,
    content: str,
    category: Category,
    source: str,
    kind: str = Ticket.Kind.SUGGESTION,
    place: str = "",
    studio: Studio | None = None,
    representative: Representative | None = None,
    co_signers: Sequence[Representative] = (),
    proposers: Sequence[tuple] = (),
    files: Sequence[CleanFile] = (),
    is_public_interest: bool = False,
    reception_matter: ReceptionMatter | None = None,
    visit_matter: VisitMatter | None = None,
    submission_token: str | None = None,
    privacy_consent_at: datetime.datetime | None = None,
    external_ref: str = "",
    received_at: datetime.datetime | None = None,
    now: datetime.datetime | None = None,
) -> Ticket:
    """Register a matter as a ticket (status "registered", awaiting triage).

    ``external_ref``: the number another system gave the matter (a 12345 work order's), once per
    county; a number the county has already is refused. ``received_at``: when that system took
    the matter in (the hotline's call), shown on the registration step of the timeline.

    ``privacy_consent_at``: when the proposers agreed to the privacy notice (the intake form's
    required tick), stored on each proposer; None for a matter staff register for someone.

    ``actor`` is None for the public intake page. A ``submission_token`` seen before returns the
    ticket it made, so a form sent twice makes one ticket.
    """
    now = _now(now)
    # The ticket an earlier post of this form made (``liaison.idempotency``), marked replayed;
    # another person's nonce is refused as an expired form.
    if (earlier := idempotency.earlier(Ticket, submission_token, created_by=actor)) is not None:
        return earlier
    if actor is not None and not may_register(actor, township, studio=studio):
        raise PermissionDenied
    if township.level != Region.Level.TOWNSHIP:
        raise ValidationError({"township": _("Choose a township or street.")})
    # A township or village studio serves its township; a county studio serves the whole county.
    if studio is not None and not (studio.region.is_within(township) or township.is_within(studio.region)):
        raise ValidationError({"studio": _("The studio is not in this township.")})
    if kind == Ticket.Kind.MOTION and representative is None:
        raise ValidationError({"representative": _("A formal motion is made by a representative.")})
    people = _clean_proposers(proposers)
    if source == Ticket.Source.INTAKE and not any(phone for _name, phone, _sms in people):
        raise ValidationError({"proposers": _("Give a name and phone so that we can reply.")})
    for matter, field in ((reception_matter, "reception_matter"), (visit_matter, "visit_matter")):
        if matter is not None and Ticket.objects.filter(**{field: matter}).exists():
            raise ValidationError(_("This matter is already a ticket."))
        if matter is not None and matter.answered_on_spot:
            raise ValidationError(_("This matter was answered on the spot; it does not become a ticket."))
    ticket = Ticket(
        kind=kind,
        title=title.strip(),
        content=content.strip(),
        category=category,
        place=place.strip(),
        source=source,
        township=township,
        studio=studio,
        representative=representative,
        reception_matter=reception_matter,
        visit_matter=visit_matter,
        is_public_interest=is_public_interest,
        created_by=actor,
        created_at=now,
        updated_at=now,
        submission_token=submission_token or None,
        external_ref=external_ref,
        external_county_id=township.county_id if external_ref else None,
    )
    # A fresh code collides about once in 10^14 draws; a savepoint keeps the transaction usable.
    for attempt in range(5):
        ticket.tracking_code = new_tracking_code()
        try:
            with transaction.atomic():
                ticket.save()
            break
        except IntegrityError:
            if (twin := idempotency.earlier(Ticket, submission_token, created_by=actor)) is not None:
                return twin  # the twin request won
            if external_ref and _external_ref_taken(township, external_ref):
                raise ValidationError(
                    {"external_ref": _("This order number is already a ticket of this county.")}
                ) from None
            if attempt == 4:
                raise
    if co_signers:
        ticket.co_signers.set(co_signers)
    Proposer.objects.bulk_create(
        Proposer(
            ticket=ticket, name=name, phone=phone, sms_consent=sms, privacy_consent_at=privacy_consent_at
        )
        for name, phone, sms in people
    )
    attach_files(ticket, files, purpose=Attachment.Purpose.MATTER, now=now)
    attach_files(
        ticket, matter_photos(reception_matter or visit_matter), purpose=Attachment.Purpose.MATTER, now=now
    )
    if reception_matter is not None and not reception_matter.for_ticket:
        ReceptionMatter.objects.filter(pk=reception_matter.pk).update(for_ticket=True)
    if visit_matter is not None and not visit_matter.for_ticket:
        VisitMatter.objects.filter(pk=visit_matter.pk).update(for_ticket=True)
    TicketEvent.objects.create(
        ticket=ticket,
        at=now,
        actor=actor,
        actor_label=ticket.studio.name if ticket.studio else ticket.township.name,
        move="register",
        from_status="",
        to_status=Status.REGISTERED,
        data=_register_data(source, external_ref, received_at),
        is_public=True,
    )
    if any(sms for _name, _phone, sms in people):
        # The receipt by SMS, from the outbox as every move's news (exactly once: reminders.py).
        sweep_after_commit()
    return ticket


def _register_data(source: str, external_ref: str, received_at: datetime.datetime | None) -> dict:
    data = {"source": source}
    if external_ref:
        data["external_ref"] = external_ref
    if received_at is not None:
        data["received_at"] = timezone.localtime(received_at).strftime("%Y-%m-%d %H:%M")
    return data


def _external_ref_taken(township: Region, external_ref: str) -> bool:
    return Ticket.objects.filter(external_county_id=township.county_id, external_ref=external_ref).exists()


STORED_SUFFIX = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


def matter_photos(matter: ReceptionMatter | VisitMatter | None) -> list[CleanFile]:
    """Copies of the photos of the reception or visit ``matter`` was raised at, to attach to its
    ticket: read through the storage and cleaned as any upload is (``files.clean_attachment``),
    then saved as the ticket's own files, so that deleting either copy leaves the other. A photo
    the attachment rules refuse (over 5 MB) or the storage has lost is left out."""
    if matter is None:
        return []
    photos = (
        [p.image for p in matter.reception.photos.all()]
        if isinstance(matter, ReceptionMatter)
        else [p.image for p in matter.visit.photos.all()]
    )
    copies = []
    for image in photos:
        if not image.name:
            continue
        try:
            with image.storage.open(image.name, "rb") as stored:
                copies.append(clean_attachment(stored))
        except (OSError, ValidationError):
            continue
    return copies


def attach_files(
    ticket: Ticket, files: Iterable[CleanFile], *, purpose: str, now: datetime.datetime | None = None
) -> list[Attachment]:
    made = []
    for f in files:
        attachment = Attachment(
            ticket=ticket,
            purpose=purpose,
            name=f.name,
            content_type=f.content_type,
            size=f.size,
            uploaded_at=_now(now),
        )
        # The stored name takes its ending from the type read from the bytes, never from the
        # sender's file name (which is kept, for display, in ``name``).
        attachment.file.save(f"file{STORED_SUFFIX.get(f.content_type, '')}", f.content, save=False)
        attachment.save()
        made.append(attachment)
    return made


# --- triage --------------------------------------------------------------------------------


def _close_changes(resolution: str, now: datetime.datetime) -> dict:
    return {"resolution": resolution, "closed_at": now}


@transaction.atomic
def ticket_answer_on_spot(
    *, actor: User, ticket: Ticket, note: str, now: datetime.datetime | None = None
) -> Ticket:
    now = _now(now)
    _move(ticket, move="answer_on_spot", actor=actor, note=note, now=now,
          changes=_close_changes(Ticket.Resolution.ON_SPOT, now))  # fmt: skip
    return ticket


@transaction.atomic
def ticket_explain(*, actor: User, ticket: Ticket, note: str, now: datetime.datetime | None = None) -> Ticket:
    now = _now(now)
    _move(ticket, move="explain", actor=actor, note=note, now=now,
          changes=_close_changes(Ticket.Resolution.EXPLAINED, now))  # fmt: skip
    return ticket


@transaction.atomic
def ticket_merge(
    *, actor: User, ticket: Ticket, into: Ticket, note: str = "", now: datetime.datetime | None = None
) -> Ticket:
    now = _now(now)
    acting_as = _acting(ticket, "merge", actor)
    if into.pk == ticket.pk:
        raise ValidationError({"into": _("A ticket cannot be merged into itself.")})
    if into.county_id != ticket.county_id or not Ticket.objects.visible_to(actor).filter(pk=into.pk).exists():
        raise ValidationError({"into": _("Choose a ticket you can see in the same county.")})
    if into.status in (Status.CLOSED, Status.ARCHIVED) and into.resolution == Ticket.Resolution.MERGED:
        raise ValidationError(
            {"into": _("That ticket was itself merged; choose the one it was merged into.")}
        )
    changes = {**_close_changes(Ticket.Resolution.MERGED, now), "merged_into": into}
    _move(ticket, move="merge", actor=actor, acting_as=acting_as, note=note, now=now, changes=changes,
          data={"into": into.pk, "into_code": into.display_code})  # fmt: skip
    return ticket


@transaction.atomic
def ticket_forward_to_county(
    *, actor: User, ticket: Ticket, note: str = "", now: datetime.datetime | None = None
) -> Ticket:
    _move(ticket, move="forward_to_county", actor=actor, note=note, now=_now(now))
    return ticket


def eligible_reps(ticket: Ticket, user: User):
    """The representatives ``user`` may make responsible for ``ticket``: those they may see
    (``reps.querysets``), in their term today, of the ticket's county (its townships' and its own)."""
    return (
        Representative.objects.visible_to(user)
        .active(timezone.localdate())
        .filter(region__path__startswith=ticket.township.county_path)
        .order_by("name_initials", "name", "id")
    )


@transaction.atomic
def ticket_set_representative(
    *,
    actor: User,
    ticket: Ticket,
    representative: Representative | None,
    note: str = "",
    now: datetime.datetime | None = None,
) -> Ticket:
    """Set, change or clear the responsible representative, as part of triage (whoever may
    triage the ticket in its status). The event records the rep before and after."""
    acting_as = _acting(ticket, "set_rep", actor)
    before = ticket.representative
    if representative is None:
        if ticket.kind == Ticket.Kind.MOTION:
            raise ValidationError({"representative": _("A formal motion is made by a representative.")})
    elif not eligible_reps(ticket, actor).filter(pk=representative.pk).exists():
        raise ValidationError(
            {"representative": _("Choose a representative of this county, in their term, whom you can see.")}
        )
    elif ticket.co_signers.filter(pk=representative.pk).exists():
        raise ValidationError(
            {"representative": _("The responsible representative is not also a co-signer.")}
        )
    if (before.pk if before else None) == (representative.pk if representative else None):
        raise ValidationError(
            {"representative": _("This is already the ticket's responsible representative.")}
        )
    _move(ticket, move="set_rep", actor=actor, acting_as=acting_as, note=note, now=_now(now),
          changes={"representative": representative},
          data={"rep": representative.name if representative else "",
                "rep_before": before.name if before else ""})  # fmt: skip
    return ticket


def assignable_units(ticket: Ticket, acting_as: frozenset[str]):
    """Units a ticket may go to: the township's own offices when the township assigns; any unit
    of the county when the county office does."""
    units = HandlingUnit.objects.active()
    if Party.OFFICE in acting_as:
        return units.filter(region__path__startswith=ticket.township.county_path)
    return units.filter(region=ticket.township)


@transaction.atomic
def ticket_assign(
    *,
    actor: User,
    ticket: Ticket,
    lead_unit: HandlingUnit,
    co_units: Sequence[HandlingUnit] = (),
    note: str = "",
    now: datetime.datetime | None = None,
) -> Ticket:
    """Send the ticket to a lead unit (and co-units, 吹哨报到); the reply deadline starts now."""
    now = _now(now)
    acting_as = _acting(ticket, "assign", actor)
    allowed = assignable_units(
        ticket, acting_as if ticket.status == Status.REGISTERED else acting_as & {Party.OFFICE}
    )
    wanted = [lead_unit, *co_units]
    if len({u.pk for u in wanted}) != len(wanted):
        raise ValidationError({"co_units": _("The lead unit cannot also be a co-unit, nor a unit twice.")})
    if allowed.filter(pk__in=[u.pk for u in wanted]).count() != len(wanted):
        raise ValidationError({"lead_unit": _("Choose units this office may assign to.")})
    policy = deadlines.policy_for(ticket.county_id, timezone.localdate(now))
    due = deadlines.add_days(now, policy.reply_days, mode=policy.day_mode)
    opinion_due = deadlines.add_days(now, policy.co_opinion_days, mode=policy.day_mode)
    by_township = ticket.status == Status.REGISTERED and Party.TOWNSHIP in acting_as
    _move(
        ticket,
        move="assign",
        actor=actor,
        acting_as=acting_as,
        note=note,
        now=now,
        changes={
            "lead_unit": lead_unit,
            "assigned_by": Ticket.AssignedBy.TOWNSHIP if by_township else Ticket.AssignedBy.COUNTY,
            "assigned_at": now,
            "due_at": due.at,
            "due_year_unknown": due.uncertain or opinion_due.uncertain,
            "extension_reason": "",
        },
        data={
            "lead_unit": lead_unit.name,
            "co_units": [u.name for u in co_units],
            "due": timezone.localtime(due.at).isoformat(),
        },
    )
    Assignment.objects.bulk_create(
        [
            Assignment(
                ticket=ticket, unit=lead_unit, role=Assignment.Role.LEAD, assigned_at=now, assigned_by=actor
            )
        ]
        + [
            Assignment(
                ticket=ticket,
                unit=unit,
                role=Assignment.Role.CO,
                assigned_at=now,
                assigned_by=actor,
                opinion_due_at=opinion_due.at,
            )
            for unit in co_units
        ]
    )
    return ticket


# --- the unit ------------------------------------------------------------------------------


@transaction.atomic
def ticket_sign(*, actor: User, ticket: Ticket, now: datetime.datetime | None = None) -> Ticket:
    _move(ticket, move="sign", actor=actor, now=_now(now))
    return ticket


@transaction.atomic
def ticket_return(
    *, actor: User, ticket: Ticket, reason: str, now: datetime.datetime | None = None
) -> Ticket:
    """Hand the ticket back as not this unit's remit, to whoever assigned it."""
    now = _now(now)
    target = Status.REGISTERED if ticket.assigned_by == Ticket.AssignedBy.TOWNSHIP else Status.AT_COUNTY
    unit = ticket.lead_unit
    _move(
        ticket,
        move="return",
        actor=actor,
        to=target,
        note=reason,
        now=now,
        changes={
            "lead_unit": None,
            "assigned_by": "",
            "assigned_at": None,
            "due_at": None,
            "due_year_unknown": False,
        },
        data={"unit": unit.name if unit else ""},
    )
    Assignment.objects.filter(ticket=ticket, ended_at__isnull=True).update(ended_at=now)
    Extension.objects.filter(ticket=ticket, decision=Extension.Decision.PENDING).update(
        decision=Extension.Decision.REFUSED, decided_at=now
    )
    return ticket


@transaction.atomic
def ticket_contact(
    *,
    actor: User,
    ticket: Ticket,
    how: str,
    contacted_on: datetime.date,
    note: str = "",
    now: datetime.datetime | None = None,
):
    """Step 1: the unit contacted the representative and the proposers (how and when)."""
    acting_as = _acting(ticket, "contact", actor)
    how = (how or "").strip()
    if not how:
        raise ValidationError({"how": _("Say how they were contacted.")})
    if contacted_on > timezone.localdate(_now(now)):
        raise ValidationError({"contacted_on": _("The date cannot be in the future.")})
    _move(ticket, move="contact", actor=actor, acting_as=acting_as, note=note, now=_now(now),
          data={"how": how[:200], "on": contacted_on.isoformat()})  # fmt: skip
    return ticket


@transaction.atomic
def ticket_plan(
    *,
    actor: User,
    ticket: Ticket,
    plan: str,
    rep_consulted: bool = False,
    now: datetime.datetime | None = None,
):
    """Step 2: the unit studied the rules, proposed a solution and, when the ticket has a
    responsible representative, consulted them (a matter sent in by a resident alone has none)."""
    acting_as = _acting(ticket, "plan", actor)
    has_rep = ticket.representative_id is not None
    if has_rep and not rep_consulted:
        raise ValidationError({"rep_consulted": _("Consult the representative on the plan first.")})
    _move(ticket, move="plan", actor=actor, acting_as=acting_as, note=plan, now=_now(now),
          data={"rep_consulted": True} if has_rep else {})  # fmt: skip
    return ticket


def co_units_outstanding(ticket: Ticket, now: datetime.datetime) -> list[Assignment]:
    """Co-units whose opinion is neither in nor past its time (they hold up the reply)."""
    return [
        a
        for a in ticket.assignments.all()
        if a.role == Assignment.Role.CO
        and a.ended_at is None
        and a.opinion_at is None
        and (a.opinion_due_at is None or a.opinion_due_at >= now)  # due "on a day" includes its last second
    ]


@transaction.atomic
def ticket_reply(
    *,
    actor: User,
    ticket: Ticket,
    text: str,
    files: Sequence[CleanFile] = (),
    summary: str = "",
    now: datetime.datetime | None = None,
) -> Ticket:
    """Step 3: carried out, and the written reply (text and/or a file) goes to the office."""
    now = _now(now)
    acting_as = _acting(ticket, "reply", actor)
    text = (text or "").strip()
    if not text and not files:
        raise ValidationError({"text": _("Write the reply or attach it as a file.")})
    _refuse(refusal(ticket, "reply", user=actor, now=now))
    # Judged against the due time in force now: a later re-handling gives a new due time, and the
    # monthly bulletin must still count this reply by the one it had.
    in_time = (
        {"due": timezone.localtime(ticket.due_at).isoformat(), "on_time": now <= ticket.due_at}
        if ticket.due_at
        else {}
    )
    _move(ticket, move="reply", actor=actor, acting_as=acting_as, now=now, data=in_time,
          changes={"reply": text, "reply_summary": summary.strip()[:300], "replied_at": now})  # fmt: skip
    attach_files(ticket, files, purpose=Attachment.Purpose.REPLY, now=now)
    # A request for more time lapses with the reply: no status after this one allows deciding it,
    # and left pending it would block the requests of a later round (重办).
    Extension.objects.filter(ticket=ticket, decision=Extension.Decision.PENDING).update(
        decision=Extension.Decision.REFUSED, decided_at=now
    )
    return ticket


@transaction.atomic
def co_opinion_file(
    *, actor: User, ticket: Ticket, text: str, now: datetime.datetime | None = None
) -> Assignment:
    """File a co-unit's opinion (吹哨报到). Co-units file independently: two at once both count."""
    now = _now(now)
    acting_as = _acting(ticket, "co_opinion", actor)
    _lock(ticket)  # another co-unit's opinion since the page loaded is no conflict
    _forget_prefetched(ticket, "assignments")  # this unit's own opinion, sent twice at once, shows now
    assignment = own_co_assignment(ticket, actor)
    if assignment is None:
        raise PermissionDenied
    _refuse(opinion_already_filed(assignment))
    _move(ticket, move="co_opinion", actor=actor, acting_as=acting_as, note=text, now=now,
          data={"unit": assignment.unit.name})  # fmt: skip
    Assignment.objects.filter(pk=assignment.pk).update(opinion=text.strip(), opinion_at=now, opinion_by=actor)
    assignment.refresh_from_db()
    return assignment


def _extension_cap(ticket: Ticket, now: datetime.datetime) -> datetime.datetime:
    """The latest due time any extension may reach: one calendar month after assignment."""
    policy = deadlines.policy_for(ticket.county_id, timezone.localdate(ticket.assigned_at or now))
    return deadlines.extension_cap(ticket.assigned_at or now, months=policy.max_extension_months)


@transaction.atomic
def extension_request(
    *, actor: User, ticket: Ticket, until: datetime.date, reason: str, now: datetime.datetime | None = None
) -> Extension:
    """Ask for more time, before the due time, with a reason."""
    now = _now(now)
    acting_as = _acting(ticket, "request_extension", actor)
    _refuse(refusal(ticket, "request_extension", user=actor, now=now))
    requested = deadlines.end_of_day(until)
    if ticket.due_at is None or requested <= ticket.due_at:  # None: refused by refusal() already
        raise ValidationError({"until": _("Ask for a date after the current due date.")})
    _move(ticket, move="request_extension", actor=actor, acting_as=acting_as, note=reason, now=now,
          data={"until": until.isoformat()})  # fmt: skip
    return Extension.objects.create(
        ticket=ticket, requested_by=actor, requested_at=now, requested_until=requested, reason=reason.strip()
    )


@transaction.atomic
def extension_decide(
    *,
    actor: User,
    ticket: Ticket,
    extension: Extension,
    approve: bool,
    note: str = "",
    now: datetime.datetime | None = None,
) -> Extension:
    """Approve (never past one calendar month after assignment) or refuse an extension."""
    now = _now(now)
    acting_as = _acting(ticket, "decide_extension", actor)
    _refuse(refusal(ticket, "decide_extension", user=actor, now=now))
    if extension.ticket_id != ticket.pk or extension.decision != Extension.Decision.PENDING:
        raise ValidationError(_("This extension request has already been decided."))
    cap = _extension_cap(ticket, now)
    # Never past the cap, and never earlier than the reply was already due.
    granted = max(min(extension.requested_until, cap), ticket.due_at or cap) if approve else None
    changes = (
        {"due_at": granted, "extension_reason": extension.reason, "due_year_unknown": False}
        if approve
        else {}
    )
    data: dict[str, object] = {"approved": approve}
    if granted:
        data |= {"due": timezone.localtime(granted).isoformat(), "reason": extension.reason,
                 "capped": granted < extension.requested_until}  # fmt: skip
    _move(ticket, move="decide_extension", actor=actor, acting_as=acting_as, note=note, now=now,
          changes=changes, data=data)  # fmt: skip
    moved = Extension.objects.filter(pk=extension.pk, decision=Extension.Decision.PENDING).update(
        decision=Extension.Decision.APPROVED if approve else Extension.Decision.REFUSED,
        granted_until=granted,
        decided_by=actor,
        decided_at=now,
    )
    if not moved:
        raise Conflict
    extension.refresh_from_db()
    return extension


# --- review and feedback ---------------------------------------------------------------------


@transaction.atomic
def ticket_rework(*, actor: User, ticket: Ticket, note: str, now: datetime.datetime | None = None) -> Ticket:
    _move(ticket, move="rework", actor=actor, note=note, now=_now(now), changes={"replied_at": None})
    return ticket


@transaction.atomic
def ticket_forward(
    *,
    actor: User,
    ticket: Ticket,
    note: str = "",
    summary: str | None = None,
    now: datetime.datetime | None = None,
) -> Ticket:
    """Forward the reply to the representative (and the proposers); the feedback window opens.
    Refused when the ticket has no representative: ``ticket_to_proposers`` instead."""
    return _open_feedback(ticket, move="forward", actor=actor, note=note, summary=summary, now=_now(now))


@transaction.atomic
def ticket_to_proposers(
    *,
    actor: User,
    ticket: Ticket,
    note: str = "",
    summary: str | None = None,
    now: datetime.datetime | None = None,
) -> Ticket:
    """With no responsible representative, send the reply straight to the proposers' rating;
    the feedback window opens as on a forward."""
    return _open_feedback(ticket, move="to_proposers", actor=actor, note=note, summary=summary, now=_now(now))


def _open_feedback(
    ticket: Ticket, *, move: str, actor: User, note: str, summary: str | None, now: datetime.datetime
) -> Ticket:
    acting_as = _acting(ticket, move, actor)
    _refuse(refusal(ticket, move, user=actor, now=now))
    policy = deadlines.policy_for(ticket.county_id, timezone.localdate(now))
    feedback_due = deadlines.add_days(now, policy.feedback_days, mode=policy.day_mode)
    changes: dict[str, object] = {"forwarded_at": now, "feedback_due_at": feedback_due.at}
    if summary is not None:
        changes["reply_summary"] = summary.strip()[:300]
    _move(ticket, move=move, actor=actor, acting_as=acting_as, note=note, now=now, changes=changes)
    return ticket


def raters_outstanding(ticket: Ticket) -> int:
    """How many of the representative and the proposers have not rated this round yet."""
    rated = Rating.objects.filter(ticket=ticket, round=ticket.round)
    expected = Proposer.objects.filter(ticket=ticket).count() + (1 if ticket.representative_id else 0)
    return max(0, expected - rated.count())


@transaction.atomic
def ticket_rate(
    *,
    ticket: Ticket,
    score: str,
    comment: str = "",
    actor: User | None = None,
    proposer: Proposer | None = None,
    now: datetime.datetime | None = None,
) -> Rating:
    """Record the representative's (``actor``) or one proposer's rating, once per handling round.

    When everyone has rated, the feedback concludes at once.

    Raters are independent: two proposers rating at the same moment are both recorded (neither
    gets ``Conflict``), because each waits for the ticket's row lock and then acts on the
    ticket as it is now; the one who comes second sees the first's rating, so exactly one of
    them concludes the feedback. Only a new handling round since the page was loaded (another
    reply to rate) is a conflict.
    """
    now = _now(now)
    acting_as: frozenset[str]
    if proposer is not None:
        if proposer.ticket_id != ticket.pk:
            raise PermissionDenied
        acting_as, rep = frozenset({Party.PROPOSER}), None
    else:
        acting_as = parties(ticket, actor) & {Party.REPRESENTATIVE}
        rep = ticket.representative
    check(ticket, "rate", acting_as)
    return _record_rating(
        ticket,
        move="rate",
        actor=actor,
        acting_as=acting_as,
        actor_label=_("Proposer") if proposer else _("Representative"),
        proposer=proposer,
        rep=rep,
        score=score,
        via=Rating.Via.ONLINE,
        comment=comment,
        now=now,
    )


@transaction.atomic
def rating_enter(
    *,
    actor: User,
    ticket: Ticket,
    proposer: Proposer,
    score: str,
    via: str,
    comment: str = "",
    now: datetime.datetime | None = None,
) -> Rating:
    """Enter the rating a named proposer gave in writing or by phone (书面/电话), for them.

    The reviewing office does it; it counts as that proposer's rating of this round (once per
    proposer per round, as online), and the last rating concludes the feedback as ever.
    """
    now = _now(now)
    acting_as = _acting(ticket, "enter_rating", actor)
    _refuse(refusal(ticket, "enter_rating", user=actor, now=now))
    if proposer.ticket_id != ticket.pk:
        raise ValidationError({"proposer": _("Choose a proposer of this ticket.")})
    if via not in (Rating.Via.PAPER, Rating.Via.PHONE):
        raise ValidationError({"via": _("Say how the proposer gave the rating: in writing or by phone.")})
    return _record_rating(
        ticket,
        move="enter_rating",
        actor=actor,
        acting_as=acting_as,
        actor_label=_label(ticket, actor, acting_as),
        proposer=proposer,
        rep=None,
        score=score,
        via=via,
        comment=comment,
        now=now,
    )


def _record_rating(
    ticket: Ticket,
    *,
    move: str,
    actor: User | None,
    acting_as: frozenset[str],
    actor_label: str,
    proposer: Proposer | None,
    rep: Representative | None,
    score: str,
    via: str,
    comment: str,
    now: datetime.datetime,
) -> Rating:
    """Record one rating of this round under the ticket's row lock, and conclude on the last."""
    if score not in Rating.Score.values:
        raise ValidationError({"score": _("Choose a rating.")})
    seen_round = ticket.round
    if _lock(ticket) != seen_round:
        raise Conflict
    _forget_prefetched(ticket, "ratings")  # a rating by the same rater from another tab shows now
    if move == "enter_rating":
        if already_rated(ticket, proposer_id=proposer.pk if proposer else None):
            raise ValidationError({"proposer": _("This proposer has already rated this reply.")})
    else:
        _refuse(already_rated(ticket, proposer_id=proposer.pk if proposer else None))
    # ``resident``: a proposer's rating, not the rep's (proposals.facts counts them apart).
    data: dict[str, object] = {"score": score}
    if via != Rating.Via.ONLINE:
        data["via"] = via
    if proposer is not None:
        data["resident"] = True
    transition(ticket, move=move, actor=actor, acting_as=acting_as, actor_label=actor_label, note=comment,
               now=now, data=data)  # fmt: skip
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                ticket=ticket,
                round=ticket.round,
                proposer=proposer,
                representative=rep,
                score=score,
                via=via,
                comment=comment.strip()[:500],
                rated_at=now,
            )
    except IntegrityError:
        raise ValidationError(_("This reply has already been rated by you.")) from None
    if raters_outstanding(ticket) == 0:
        ticket_conclude(ticket=ticket, now=now)
    return rating


def feedback_outcome(scores: set[str], *, residents_rated: bool) -> tuple[str, str]:
    """The (status, resolution) the feedback ends in, from the round's ratings: dissatisfied if
    anyone was; else closed, "replied and rated" when a proposer (a resident) rated, "no resident
    rating" when none did (whether or not the representative rated, and even with no proposer to ask).
    The one reading of it, for ``ticket_conclude`` and the sweep (``reminders._conclude_batch``)."""
    if Rating.Score.DISSATISFIED in scores:
        return Status.DISSATISFIED, ""
    if residents_rated:
        return Status.CLOSED, Ticket.Resolution.SATISFIED
    return Status.CLOSED, Ticket.Resolution.NO_RESIDENT_RATING


@transaction.atomic
def ticket_conclude(
    *, ticket: Ticket, actor: User | None = None, now: datetime.datetime | None = None
) -> Ticket:
    """End the feedback: dissatisfied if anyone was, closed otherwise (``feedback_outcome``)."""
    now = _now(now)
    rated = list(Rating.objects.filter(ticket=ticket, round=ticket.round).values_list("score", "proposer_id"))
    scores = {score for score, _proposer in rated}
    acting_as = frozenset({Party.SYSTEM}) if actor is None else parties(ticket, actor)
    target, resolution = feedback_outcome(scores, residents_rated=any(p is not None for _s, p in rated))
    changes = _close_changes(resolution, now) if target == Status.CLOSED else {}
    transition(ticket, move="conclude", actor=actor, acting_as=acting_as, to=target, now=now, changes=changes,
               actor_label=_label(ticket, actor, acting_as) if actor else _("System"),
               data={"scores": sorted(scores)})  # fmt: skip
    return ticket


@transaction.atomic
def ticket_rehandle(
    *, actor: User, ticket: Ticket, note: str, now: datetime.datetime | None = None
) -> Ticket:
    """Order the lead unit to handle it again (重办), with a new reply deadline from today."""
    now = _now(now)
    policy = deadlines.policy_for(ticket.county_id, timezone.localdate(now))
    due = deadlines.add_days(now, policy.reply_days, mode=policy.day_mode)
    _move(
        ticket,
        move="rehandle",
        actor=actor,
        note=note,
        now=now,
        changes={
            "round": bump("round"),
            "assigned_at": now,
            "due_at": due.at,
            "due_year_unknown": due.uncertain,
            "extension_reason": "",
            "replied_at": None,
            "forwarded_at": None,
            "feedback_due_at": None,
        },
        data={"due": timezone.localtime(due.at).isoformat()},
    )
    return ticket


@transaction.atomic
def ticket_close(*, actor: User, ticket: Ticket, note: str, now: datetime.datetime | None = None) -> Ticket:
    now = _now(now)
    _move(ticket, move="close", actor=actor, note=note, now=now,
          changes=_close_changes(Ticket.Resolution.EXPLAINED_AFTER, now))  # fmt: skip
    return ticket


@transaction.atomic
def ticket_archive(*, actor: User, ticket: Ticket, now: datetime.datetime | None = None) -> Ticket:
    _move(ticket, move="archive", actor=actor, now=_now(now))
    return ticket


EDITABLE = ("title", "content", "category", "place", "is_public_interest", "reply_summary")


@transaction.atomic
def ticket_edit(*, actor: User, ticket: Ticket, now: datetime.datetime | None = None, **fields) -> Ticket:
    """Correct a ticket's details (staff); the event records what changed, before and after."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    acting_as = _acting(ticket, "edit", actor)
    changed = {k: v for k, v in fields.items() if getattr(ticket, k) != v}
    if not changed:
        return ticket
    before = {k: str(getattr(ticket, k)) for k in changed}
    _move(ticket, move="edit", actor=actor, acting_as=acting_as, now=_now(now), changes=changed,
          data={"before": before, "after": {k: str(v) for k, v in changed.items()}})  # fmt: skip
    return ticket


@transaction.atomic
def ticket_correct_summary(
    *, actor: User, ticket: Ticket, summary: str, reason: str, now: datetime.datetime | None = None
) -> Ticket:
    """Correct the public summary of a closed (or archived) ticket: township staff or the office.

    The timeline records the reason and the summary before and after; ``summary_corrected_at``
    makes /results/ say that it was corrected, and when."""
    acting_as = _acting(ticket, "correct_summary", actor)
    summary = (summary or "").strip()[:300]
    if not summary:
        raise ValidationError({"summary": _("Write the corrected summary.")})
    if summary == ticket.reply_summary:
        raise ValidationError({"summary": _("The summary is unchanged.")})
    now = _now(now)
    _move(ticket, move="correct_summary", actor=actor, acting_as=acting_as, now=now, note=reason,
          changes={"reply_summary": summary, "summary_corrected_at": now},
          data={"before": {"reply_summary": ticket.reply_summary},
                "after": {"reply_summary": summary}})  # fmt: skip
    return ticket


@transaction.atomic
def ticket_adopt(
    *,
    actor: User,
    ticket: Ticket,
    adopted_by: str,
    adopted_on: datetime.date,
    now: datetime.datetime | None = None,
) -> Ticket:
    """Record that a suggestion was adopted (采纳): by which body, on which day (township or office).

    Once only: the compare-and-set of ``transition`` serialises two posts of the form, and the
    second finds the ticket adopted and is refused (``already_adopted``). The timeline and the
    audit log both say who recorded it."""
    acting_as = _acting(ticket, "adopt", actor)
    _refuse(already_adopted(ticket) or not_adoptable(ticket))
    adopted_by = (adopted_by or "").strip()[:100]
    if not adopted_by:
        raise ValidationError({"adopted_by": _("Name the body that adopted the suggestion.")})
    now = _now(now)
    if adopted_on > timezone.localdate(now):
        raise ValidationError({"adopted_on": _("The day of adoption cannot be in the future.")})
    if adopted_on < timezone.localdate(ticket.created_at):
        raise ValidationError(
            {"adopted_on": _("The day of adoption cannot be before the ticket was registered.")}
        )
    _move(ticket, move="adopt", actor=actor, acting_as=acting_as, now=now,
          changes={"adopted_on": adopted_on, "adopted_by": adopted_by},
          data={"adopted_by": adopted_by, "adopted_on": adopted_on.isoformat()})  # fmt: skip
    audit.record(
        actor=actor,
        verb="ticket.adopted",
        subject=ticket,
        region=ticket.township,
        adopted_by=adopted_by,
        adopted_on=adopted_on.isoformat(),
    )
    return ticket


# --- preconditions, and what a user may do now ------------------------------------------------
#
# Each rule that can refuse a move the user's role allows is one function here, returning the
# reason it refuses now ("" when it does not). The services call them before they act (after
# taking the row lock, where they take one); ``ticket_moves`` calls them on what the ticket page
# prefetched, so the page offers a move exactly when its service would accept it.


def _refuse(reason: str) -> None:
    if reason:
        raise ValidationError(reason)


def _forget_prefetched(ticket: Ticket, *relations: str) -> None:
    """Drop what a page prefetched, so that a check made under the row lock reads the rows as
    they are now (another proposer's rating, another co-unit's opinion, may have come in)."""
    cache = getattr(ticket, "_prefetched_objects_cache", {})
    for name in relations:
        cache.pop(name, None)


def already_rated(ticket: Ticket, *, proposer_id: int | None) -> str:
    """Refuse a second rating this round by the representative (``proposer_id`` None) or one proposer."""
    if any(r.round == ticket.round and r.proposer_id == proposer_id for r in ticket.ratings.all()):
        return _("This reply has already been rated by you.")
    return ""


def own_co_assignment(ticket: Ticket, user) -> Assignment | None:
    """The live co-unit assignment of one of the user's units, one still owing its opinion first."""
    unit_ids = user.scope.unit_ids
    mine = [
        a
        for a in ticket.assignments.all()
        if a.role == Assignment.Role.CO and a.ended_at is None and a.unit_id in unit_ids
    ]
    return next((a for a in mine if a.opinion_at is None), mine[0] if mine else None)


def opinion_already_filed(assignment: Assignment | None) -> str:
    """Refuse a co-unit's second opinion."""
    if assignment is not None and assignment.opinion_at is not None:
        return _("Your unit has already filed its opinion.")
    return ""


def co_opinions_awaited(ticket: Ticket, now: datetime.datetime) -> str:
    """Refuse the reply while a co-unit's opinion is neither in nor past its time."""
    waiting = co_units_outstanding(ticket, now)
    if waiting:
        return _("Waiting for the opinion of: %(units)s (or for their time to pass).") % {
            "units": "、".join(a.unit.name for a in waiting)
        }
    return ""


def pending_extension(ticket: Ticket) -> Extension | None:
    """The extension request waiting for a decision (there is at most one)."""
    return next((e for e in ticket.extensions.all() if e.decision == Extension.Decision.PENDING), None)


def reply_past_due(ticket: Ticket, now: datetime.datetime) -> str:
    """Refuse an extension asked for once the reply is due (or with no due time)."""
    if ticket.due_at is None or now > ticket.due_at:
        return _("An extension must be asked for before the reply is due.")
    return ""


def extension_pending(ticket: Ticket) -> str:
    """Refuse a second extension request while one waits for a decision."""
    if pending_extension(ticket) is not None:
        return _("An extension request is already waiting for a decision.")
    return ""


def extension_at_cap(ticket: Ticket, now: datetime.datetime) -> str:
    """Refuse an extension when the reply is already due on the latest date allowed."""
    if ticket.due_at is not None and ticket.due_at >= _extension_cap(ticket, now):
        return _("The reply is already due on the latest date allowed: one month after assignment.")
    return ""


def no_rep_to_forward_to(ticket: Ticket) -> str:
    """Refuse "forward to the representative" on a ticket without one."""
    if ticket.representative_id is None:
        return _(
            "The ticket has no responsible representative: send the reply to the proposers' rating instead."
        )
    return ""


def rep_to_forward_to(ticket: Ticket) -> str:
    """Refuse sending the reply to the proposers alone when there is a representative to forward it to."""
    if ticket.representative_id is not None:
        return _("The ticket has a responsible representative: forward the reply to them.")
    return ""


def proposers_to_rate(ticket: Ticket) -> list[Proposer]:
    """The proposers who have not rated this round (prefetched proposers and ratings)."""
    rated = {r.proposer_id for r in ticket.ratings.all() if r.round == ticket.round}
    return [p for p in ticket.proposers.all() if p.pk not in rated]


def already_adopted(ticket: Ticket) -> str:
    """Refuse recording an adoption twice."""
    if ticket.adopted_on is not None:
        return _("This suggestion is already recorded as adopted.")
    return ""


def not_adoptable(ticket: Ticket) -> str:
    """Refuse adopting a matter that was answered on the spot, explained or merged: no suggestion went on."""
    if ticket.resolution in (
        Ticket.Resolution.ON_SPOT,
        Ticket.Resolution.EXPLAINED,
        Ticket.Resolution.MERGED,
    ):
        return _("Only a suggestion that went to a handling unit can be adopted.")
    return ""


def no_proposer_to_rate(ticket: Ticket) -> str:
    """Refuse entering a rating when no proposer is left to rate this round."""
    if not ticket.proposers.all():
        return _("No proposer was named: there is no rating to enter for one.")
    if not proposers_to_rate(ticket):
        return _("Every proposer has rated this reply.")
    return ""


def no_pending_extension(ticket: Ticket) -> str:
    """Refuse an extension decision when no request waits for one."""
    if pending_extension(ticket) is None:
        return _("There is no extension request to decide.")
    return ""


# move → its preconditions, each (ticket, user, now) -> reason, checked in this order (by the
# service and by ``ticket_moves`` alike). The cap comes last: it alone reads the database (the
# county's deadline policy). A proposer's rating (tracking page) calls ``already_rated`` itself.
PRECONDITIONS = {
    "reply": (lambda t, u, now: co_opinions_awaited(t, now),),
    "co_opinion": (lambda t, u, now: opinion_already_filed(own_co_assignment(t, u)),),
    "request_extension": (
        lambda t, u, now: reply_past_due(t, now),
        lambda t, u, now: extension_pending(t),
        lambda t, u, now: extension_at_cap(t, now),
    ),
    "decide_extension": (lambda t, u, now: no_pending_extension(t),),
    "rate": (lambda t, u, now: already_rated(t, proposer_id=None),),
    "forward": (lambda t, u, now: no_rep_to_forward_to(t),),
    "to_proposers": (lambda t, u, now: rep_to_forward_to(t),),
    "enter_rating": (lambda t, u, now: no_proposer_to_rate(t),),
    "adopt": (lambda t, u, now: already_adopted(t), lambda t, u, now: not_adoptable(t)),
}


def refusal(ticket: Ticket, move: str, *, user, now: datetime.datetime) -> str:
    """Return why ``move`` is refused now by its first unmet precondition, or ""."""
    for precondition in PRECONDITIONS.get(move, ()):
        reason = precondition(ticket, user, now)
        if reason:
            return reason
    return ""


@dataclass(frozen=True)
class MoveOption:
    """One move the user's role allows on the ticket now; ``reason`` says why it is refused."""

    name: str
    label: str
    allowed: bool
    reason: str = ""


def ticket_moves(
    ticket: Ticket, *, user, now: datetime.datetime, acting_as: frozenset[str] | None = None
) -> list[MoveOption]:
    """Return every move ``user``'s role allows on ``ticket`` in its status, each allowed or refused
    with its reason, as the move's service would decide now.

    Reads only the ticket's assignments, extensions and ratings (prefetched by the ticket page):
    no query per move. The one exception, the county's deadline policy, is read at most once.
    """
    acting_as = parties(ticket, user) if acting_as is None else acting_as
    options = []
    for move in allowed_moves(ticket, acting_as):
        reason = refusal(ticket, move.name, user=user, now=now)
        options.append(MoveOption(move.name, str(move.label), allowed=not reason, reason=reason))
    return options

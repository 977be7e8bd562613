"""Writes to representatives and their network. Each function is one transaction."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from liaison import audit, idempotency
from liaison.models import Category, Region, User
from liaison.uploads import CleanFile, clean_image
from liaison.validators import normalize_phone
from reps import duties, reminders
from reps.models import (
    Contact,
    ContactLink,
    DutyActivity,
    DutyPolicy,
    DutyReport,
    Group,
    GroupReport,
    HomeVisit,
    Representative,
    ResearchReport,
    VisitMatter,
    VisitPhoto,
)


class DuplicatePerson(ValidationError):
    """The same person (name and phone) already exists; ``existing`` is that record."""

    def __init__(self, existing, message):
        super().__init__(message, code="duplicate")
        self.existing = existing


def duplicate_of(model, *, name: str, phone: str, exclude_pk=None):
    """Return the existing record of the same person (same name and phone), if any."""
    if not phone:
        return None
    phone = normalize_phone(phone)
    found = model.objects.filter(name=name.strip(), phone=phone)
    if exclude_pk:
        found = found.exclude(pk=exclude_pk)
    return found.first()


def duplicate_message(existing, admin_url_name: str):
    """A message naming the existing record, with a link to it in the admin."""
    url = reverse(admin_url_name, args=[existing.pk])
    return format_html(
        _('{name} with this phone number already exists: <a href="{url}">open the existing record</a>.'),
        name=existing.name,
        url=url,
    )


@dataclass
class MatterInput:
    """A matter raised on a visit or at a reception (``studios.receptions`` takes the same)."""

    content: str
    answered_on_spot: bool = False
    answer: str = ""
    for_ticket: bool = False
    category: Category | None = None


def check_matters(matters: Sequence[MatterInput]) -> None:
    """The one rule of visit and reception matters: each says what was raised and is either
    answered on the spot (with the answer) or to become a ticket, not both and not neither."""
    problems = []
    for n, matter in enumerate(matters, start=1):
        if not matter.content.strip():
            problems.append(_("Matter %(n)s: say what was raised.") % {"n": n})
        elif matter.answered_on_spot and matter.for_ticket:
            problems.append(
                _("Matter %(n)s: a matter is either answered on the spot or turned into a ticket.") % {"n": n}
            )
        elif matter.answered_on_spot and not matter.answer.strip():
            problems.append(_("Matter %(n)s: say what was answered on the spot.") % {"n": n})
        elif not (matter.answered_on_spot or matter.for_ticket):
            problems.append(
                _("Matter %(n)s: say whether it was answered on the spot or is to become a ticket.")
                % {"n": n}
            )
    if problems:
        raise ValidationError({"matters": problems})


@transaction.atomic
def visit_record(
    *,
    actor: User,
    representative: Representative,
    date: datetime.date,
    kind: str,
    contacts: list[Contact],
    notes: str = "",
    matters: list[MatterInput] = (),
    photos: list = (),
    co_representatives: list[Representative] = (),
    submission_token: str | None = None,
) -> HomeVisit:
    """Record a home visit by ``representative`` (and co-visitors) to some of their contacts.

    The contacts must be linked to the representative; the visit belongs to the township of
    the first contact's village. Photos are re-encoded without metadata. A ``submission_token``
    (the form's nonce, ``liaison.idempotency``) seen before returns the visit that post
    recorded, marked replayed: the form sent twice makes one visit (one toward the duties).
    """
    if (earlier := idempotency.earlier(HomeVisit, submission_token, recorded_by=actor)) is not None:
        return earlier
    if not contacts:
        raise ValidationError(_("Choose at least one contact."), code="no_contacts")
    linked = set(
        ContactLink.objects.filter(representative=representative, contact__in=contacts).values_list(
            "contact_id", flat=True
        )
    )
    strangers = [c.name for c in contacts if c.pk not in linked]
    if strangers:
        raise PermissionDenied(_("Not your contacts: %(names)s") % {"names": "、".join(strangers)})
    if date > timezone.localdate() + datetime.timedelta(days=1):
        raise ValidationError(_("A visit cannot be recorded in the future."), code="future")
    check_matters(matters)
    cleaned_photos = [clean_image(photo) for photo in photos]
    village = contacts[0].village
    visit = HomeVisit(
        date=date,
        kind=kind,
        township=village.parent if village.parent_id else village,
        notes=notes,
        recorded_by=actor,
    )
    visit = idempotency.save_once(visit, submission_token, recorded_by=actor)
    if idempotency.replayed(visit):  # the twin post, at the same instant, saved it first
        return visit
    visit.representatives.add(representative, *co_representatives)
    visit.contacts.add(*contacts)
    for matter in matters:
        row = VisitMatter(
            visit=visit,
            content=matter.content,
            answered_on_spot=matter.answered_on_spot,
            answer=matter.answer.strip() if matter.answered_on_spot else "",
            for_ticket=matter.for_ticket,
            category=matter.category,
        )
        row.full_clean(exclude=["visit"])
        row.save()
    for image in cleaned_photos:
        VisitPhoto.objects.create(visit=visit, image=image)
    audit.record(
        actor=actor,
        verb="visit.recorded",
        subject=visit,
        region=visit.township,
        contacts=len(contacts),
        matters=len(matters),
    )
    return visit


@transaction.atomic
def contact_add_for_rep(
    *, actor: User, representative: Representative, contact: Contact, is_pairing: bool = False
) -> Contact:
    """Create ``contact`` (unsaved) and link it to ``representative``; refuse a duplicate person."""
    existing = duplicate_of(Contact, name=contact.name, phone=contact.phone)
    if existing is not None:
        raise DuplicatePerson(
            existing, _("%(name)s with this phone number is already a contact.") % {"name": existing.name}
        )
    _require_village_in(contact.village, representative.region)
    contact.full_clean()
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:  # a concurrent request created the same person first
        raise DuplicatePerson(
            duplicate_of(Contact, name=contact.name, phone=contact.phone),
            _("%(name)s with this phone number is already a contact.") % {"name": contact.name},
        ) from None
    ContactLink.objects.create(representative=representative, contact=contact, is_pairing=is_pairing)
    audit.record(
        actor=actor, verb="contact.added", subject=contact, region=contact.village, rep=representative.pk
    )
    return contact


@transaction.atomic
def contact_update(
    *,
    actor: User,
    contact: Contact,
    fields: list[str],
    is_pairing: bool | None = None,
    representative: Representative | None = None,
) -> Contact:
    contact.full_clean()
    # The row as it was, for the audit's before and after (read before the save overwrites it).
    before = (Contact.objects.filter(pk=contact.pk).values(*fields).first() or {}) if fields else {}
    if fields:
        contact.save(update_fields=fields)
    if representative is not None and is_pairing is not None:
        ContactLink.objects.filter(representative=representative, contact=contact).update(
            is_pairing=is_pairing
        )
    changes = {}
    for name in fields:
        old, new = before.get(name), contact.serializable_value(name)
        if old != new:
            changes[name] = audit.masked(name, [_plain(old), _plain(new)])
    audit.record(
        actor=actor,
        verb="contact.updated",
        subject=contact,
        region=contact.village,
        fields=fields,
        changes=changes,
    )
    return contact


def _plain(value):
    """A value as JSON keeps it (dates as ISO text)."""
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def _require_village_in(village: Region, area: Region) -> None:
    """A township rep's contacts live in their township; a county-based rep's in their county."""
    if not village.is_within(area):
        raise ValidationError({"village": _("Choose a village in your own area.")})


@transaction.atomic
def research_report_submit(
    *,
    actor: User,
    representative: Representative,
    title: str,
    summary: str = "",
    upload: CleanFile | None = None,
    submission_token: str | None = None,
    today: datetime.date | None = None,
) -> ResearchReport:
    """Hand in a research report (调研报告) of ``representative``, dated today.

    It needs a title and either the file (a PDF or an image, already checked by
    ``clean_attachment``) or a summary. A ``submission_token`` seen before returns the report
    that post made, so the same form sent twice makes one report; a token of another rep's
    report is refused as an expired form.
    """
    if (
        earlier := idempotency.earlier(ResearchReport, submission_token, representative=representative)
    ) is not None:
        return earlier
    title, summary = title.strip(), summary.strip()
    if not title:
        raise ValidationError({"title": _("Give the report a title.")}, code="required")
    if not summary and upload is None:
        raise ValidationError({"file": _("Attach the report, or write its summary.")}, code="empty")
    report = ResearchReport(
        representative=representative,
        title=title,
        summary=summary,
        submitted_on=today or timezone.localdate(),
        submitted_by=actor,
    )
    if upload is not None:
        report.file_name, report.content_type = upload.name, upload.content_type
        report.file.save(upload.content.name, upload.content, save=False)
    saved = idempotency.save_once(report, submission_token, representative=representative)
    if idempotency.replayed(saved):  # the twin post won the race
        report.file.delete(save=False)
        return saved
    audit.record(
        actor=actor,
        verb="research_report.submitted",
        subject=report,
        region=representative.region,
        rep=representative.pk,
    )
    return report


@transaction.atomic
def group_report_file(
    *,
    actor: User,
    representative: Representative,
    group: Group,
    text: str = "",
    upload: CleanFile | None = None,
    submission_token: str | None = None,
    today: datetime.date | None = None,
) -> GroupReport:
    """File (or, until it is due, change) ``group``'s written report for its next annual meeting.

    1. A ``submission_token`` seen before returns the report that post made or changed.
    2. Only the group's leader or liaison files it; the group needs an annual meeting of its own
       congress on or after today (``reminders.upcoming_meeting``).
    3. It needs the text or the file (a PDF or a photo, already checked by ``clean_attachment``).
    4. The group row is locked, so two different posts at once make one report: the first files
       it, the second changes it. A report in is changed only until its due day; a group that
       has not filed by then may still file, late.
    """
    if (earlier := idempotency.earlier(GroupReport, submission_token, group=group)) is not None:
        return earlier
    today = today or timezone.localdate()
    group = Group.objects.select_for_update().select_related("region").get(pk=group.pk)
    if representative.pk not in (group.leader_id, group.liaison_id):
        raise PermissionDenied
    meeting = reminders.upcoming_meeting(group, today=today)
    if meeting is None:
        raise ValidationError(
            _("No annual meeting is set for this group's congress yet: the report has no date to be due by."),
            code="no_meeting",
        )
    due = reminders.report_due_on(meeting.date)
    report = GroupReport.objects.filter(group=group, year=meeting.year).first()
    text = text.strip()
    if not text and upload is None and not (report and report.file):
        raise ValidationError({"file": _("Attach the report, or write it here.")}, code="empty")
    verb = "group_report.changed"
    if report is None:
        report = GroupReport(group=group, year=meeting.year, due_on=due, submitted_on=today)
        verb = "group_report.filed"
    elif today > report.due_on:
        raise ValidationError(
            _("The report was due on %(due)s: it can no longer be changed.")
            % {"due": f"{report.due_on:%Y-%m-%d}"},
            code="past_due",
        )
    old_file = report.file.name if report.pk and upload is not None else ""
    report.text, report.submitted_by, report.updated_at = text, actor, timezone.now()
    report.submission_token = submission_token or None
    if upload is not None:
        report.file_name, report.content_type = upload.name, upload.content_type
        report.file.save(upload.content.name, upload.content, save=False)
    report.save()
    if old_file:
        transaction.on_commit(lambda: report.file.storage.delete(old_file))
    audit.record(
        actor=actor, verb=verb, subject=report, region=group.region, group=group.pk, year=meeting.year
    )
    return report


# --- duty reports (述职) ---------------------------------------------------------------------


def half_year_report_asked(representative: Representative, day: datetime.date) -> bool:
    """Whether the rep's county asks for a half-year report, by the duty policy in force on ``day``."""
    county_id = representative.region.county_id
    return duties.policy_in_force(
        county_id, day, duties.policies_of([county_id]), model=DutyPolicy
    ).half_year_report


@transaction.atomic
def duty_report_submit(
    *,
    actor: User,
    representative: Representative,
    year: int,
    kind: str = DutyReport.Kind.YEAR,
    text: str = "",
    upload: CleanFile | None = None,
    submission_token: str | None = None,
    today: datetime.date | None = None,
) -> DutyReport:
    """Hand in, or change, the rep's duty report of ``kind`` for ``year``: one per rep, year and kind.

    1. A ``submission_token`` seen before returns the report that post made or changed (the same
       form sent twice changes nothing); another rep's token is refused as an expired form.
    2. It needs the text or the file (a PDF or an image, already checked by ``clean_attachment``);
       a half-year report only where the county's duty policy asks for one.
    3. The rep's report of that year and kind, if there is one, is changed (the rep's row is
       locked, so two posts at once make one report), unless it has been evaluated; otherwise a
       new one is made. A new file replaces the old one; without
       one, the old file stays.
    """
    # The rep's row is locked first, so two posts at once (two tabs, or a resend while the first
    # is still saving) run one after the other: the second sees what the first made.
    list(Representative.objects.select_for_update().filter(pk=representative.pk).values_list("pk"))
    if (
        earlier := idempotency.earlier(DutyReport, submission_token, representative=representative)
    ) is not None:
        return earlier
    today = today or timezone.localdate()
    text = text.strip()
    if kind not in DutyReport.Kind.values:
        raise ValidationError({"kind": ValidationError(_("Choose the kind of report."), code="invalid")})
    if kind == DutyReport.Kind.HALF and not half_year_report_asked(representative, today):
        raise ValidationError(
            {"kind": ValidationError(_("Your county does not ask for a half-year report."), code="not_asked")}
        )
    report = (
        DutyReport.objects.select_for_update()
        .filter(representative=representative, year=year, kind=kind)
        .first()
    )
    if report is not None and report.evaluated:
        raise ValidationError(
            _("This report has been evaluated and can no longer be changed."), code="evaluated"
        )
    if not text and upload is None and not (report and report.file):
        raise ValidationError(
            {"file": ValidationError(_("Attach the report, or write its text."), code="empty")}
        )
    if report is None:
        report = DutyReport(
            representative=representative, year=year, kind=kind, submitted_on=today, submitted_by=actor
        )
        _put_file(report, upload)
        report.text = text
        saved = idempotency.save_once(report, submission_token, representative=representative)
        if idempotency.replayed(saved):  # the twin post won the race
            report.file.delete(save=False)
            return saved
        changed = False
    else:
        old_file = report.file.name if upload is not None else ""
        _put_file(report, upload)
        report.text = text
        report.submission_token = submission_token or None
        report.updated_at = timezone.now()
        report.submitted_by = actor
        report.save(
            update_fields=[
                "text",
                "file",
                "file_name",
                "content_type",
                "submission_token",
                "updated_at",
                "submitted_by",
            ]
        )
        if old_file:
            storage = report.file.storage
            transaction.on_commit(lambda: storage.delete(old_file))
        changed = True
    audit.record(
        actor=actor,
        verb="duty_report.changed" if changed else "duty_report.submitted",
        subject=report,
        region=representative.region,
        rep=representative.pk,
        year=year,
        kind=kind,
    )
    return report


def _put_file(report: DutyReport, upload: CleanFile | None) -> None:
    if upload is not None:
        report.file_name, report.content_type = upload.name, upload.content_type
        report.file.save(upload.content.name, upload.content, save=False)


@transaction.atomic
def duty_report_evaluate(
    *,
    actor: User,
    report: DutyReport,
    satisfied: int,
    basically_satisfied: int,
    unsatisfied: int,
    now: datetime.datetime | None = None,
) -> DutyReport:
    """Record the electoral unit's evaluation of a duty report (满意 / 基本满意 / 不满意 counts).

    Counts are whole numbers, none negative. A later entry corrects the earlier one; the audit
    keeps both, with who entered them and when. From the first entry on, the rep can no longer
    change the report.
    """
    counts = {
        "satisfied": satisfied,
        "basically_satisfied": basically_satisfied,
        "unsatisfied": unsatisfied,
    }
    negative = {
        name: ValidationError(_("Enter a number of 0 or more."), code="min_value")
        for name, value in counts.items()
        if value < 0
    }
    if negative:
        raise ValidationError(negative)
    report = DutyReport.objects.select_for_update().get(pk=report.pk)
    before = {name: getattr(report, name) for name in counts}
    for name, value in counts.items():
        setattr(report, name, value)
    report.evaluated_at, report.evaluated_by = now or timezone.now(), actor
    report.save(update_fields=[*counts, "evaluated_at", "evaluated_by"])
    audit.record(
        actor=actor,
        verb="duty_report.evaluated",
        subject=report,
        region=report.representative.region,
        rep=report.representative_id,
        before=before,
        after=counts,
    )
    return report


@transaction.atomic
def duty_activity_record(
    *,
    actor: User,
    representative: Representative,
    kind: str,
    date: datetime.date,
    title: str,
    notes: str = "",
    submission_token: str | None = None,
    today: datetime.date | None = None,
) -> DutyActivity:
    """Record that ``representative`` sat in on a meeting (列席) or took part in an inspection (视察).

    It needs the meeting or place, and a day no later than today. A ``submission_token`` seen
    before returns what that post recorded, so the same form sent twice records one.
    """
    if (
        earlier := idempotency.earlier(DutyActivity, submission_token, representative=representative)
    ) is not None:
        return earlier
    title = title.strip()
    if kind not in DutyActivity.Kind.values:
        raise ValidationError(
            {"kind": ValidationError(_("Choose sitting in or inspection."), code="invalid")}
        )
    if not title:
        raise ValidationError(
            {"title": ValidationError(_("Name the meeting or the place."), code="required")}
        )
    if date > (today or timezone.localdate()):
        raise ValidationError({"date": ValidationError(_("The day cannot be in the future."), code="future")})
    activity = DutyActivity(
        representative=representative,
        kind=kind,
        date=date,
        title=title,
        notes=notes.strip(),
        recorded_by=actor,
    )
    saved = idempotency.save_once(activity, submission_token, representative=representative)
    if idempotency.replayed(saved):
        return saved
    audit.record(
        actor=actor, verb="duty_activity.recorded", subject=activity, region=representative.region, kind=kind
    )
    return activity

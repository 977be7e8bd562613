"""Suggestion tickets (建议意见) and formal motions (提案提议): what a resident raised, where it went,
what each unit did, what was replied, and how the rep and the proposers rated it.

The status and every move between statuses are defined once, in ``transitions.py``; the
``TicketEvent`` table is both the timeline users read and the outbox notifications are sent from.
"""

from __future__ import annotations

import secrets
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from liaison.models import Category, HandlingUnit, Region  # the one category list lives in liaison
from liaison.querysets import ScopedQuerySet
from proposals.querysets import (
    AssignmentQuerySet,
    AttachmentQuerySet,
    BulletinQuerySet,
    CommendationPolicyQuerySet,
    CommendationRoundQuerySet,
    DeadlinePolicyQuerySet,
    TicketEventQuerySet,
    TicketQuerySet,
    WebhookDeliveryQuerySet,
    WebhookSubscriptionQuerySet,
)
from proposals.transitions import Status, running_due
from reps.models import Representative, VisitMatter
from studios.models import ReceptionMatter, Studio

# Readable over the phone: no 0/O, 1/I/L, no vowels that spell words. 28 symbols (8 digits and
# 20 letters), so 28^10 ≈ 3.0·10^14 codes.
CODE_ALPHABET = "23456789BCDFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10


def new_tracking_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """Show a code in groups of four for reading aloud: "BK7M-Q2XD-9T"."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize_code(typed: str) -> str:
    """Undo the grouping and the case a person typed.

    O, I and L are mapped to 0 and 1, which the alphabet lacks too (it has none of the five), so
    the mapping changes no outcome: a code typed with any of them matches no ticket either way.
    """
    # NFKC folds the full-width forms a Chinese input method types (ＢＫ７Ｍ－) into ASCII.
    folded = unicodedata.normalize("NFKC", typed or "").upper()
    cleaned = "".join(ch for ch in folded if ch.isalnum())
    return cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))[:32]


class DeadlinePolicy(models.Model):
    """A county's ticket deadlines, in force from a date (defaults from the seeds)."""

    class DayMode(models.TextChoices):
        CALENDAR = "calendar", _("calendar days")
        WORKING = "working", _("working days (Chinese public holidays)")

    county = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="deadline_policies",
        limit_choices_to={"level": Region.Level.COUNTY},
    )
    effective_from = models.DateField(_("effective from"))
    day_mode = models.CharField(
        _("days counted as"), max_length=16, choices=DayMode.choices, default="calendar"
    )
    reply_days = models.PositiveSmallIntegerField(
        _("reply due (days after assignment)"), default=10, validators=[MinValueValidator(1)]
    )
    max_extension_months = models.PositiveSmallIntegerField(
        _("longest extension (months after assignment)"), default=1, validators=[MinValueValidator(1)]
    )
    handin_days = models.PositiveSmallIntegerField(
        _("hand-in by the representative (days after collecting)"), default=3
    )
    co_opinion_days = models.PositiveSmallIntegerField(_("co-unit opinion due (days)"), default=5)
    feedback_days = models.PositiveSmallIntegerField(_("feedback window (days)"), default=7)
    due_soon_days = models.CharField(
        _("warn the unit (days before due)"),
        max_length=32,
        default="3,1",
        help_text=_("Comma-separated, e.g. 3,1."),
    )
    escalate_after_days = models.CharField(
        _("escalate when overdue by (days)"), max_length=32, default="1,3", help_text=_("Comma-separated.")
    )
    close_without_feedback = models.BooleanField(
        _("conclude the feedback when its window ends, with the ratings given by then"), default=True
    )

    objects = DeadlinePolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policies")
        ordering = ["county", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["county", "effective_from"], name="one_deadline_policy_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.effective_from:%Y-%m-%d}"

    def clean(self) -> None:
        for field in ("due_soon_days", "escalate_after_days"):
            try:
                self.day_list(getattr(self, field))
            except ValueError:
                raise ValidationError({field: _("Enter whole numbers separated by commas.")}) from None

    @staticmethod
    def day_list(text: str) -> list[int]:
        return sorted({int(part) for part in (text or "").replace("，", ",").split(",") if part.strip()})


class WorkCalendarDay(models.Model):
    """A day that breaks the Monday–Friday rule: a public holiday on a weekday, or a weekend day
    declared a working day (调休). Prefilled from the ``chinesecalendar`` package."""

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(
        _("working day"), help_text=_("Ticked: a weekend day worked. Unticked: a weekday off.")
    )
    name = models.CharField(_("name"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("holiday or adjusted working day")
        verbose_name_plural = _("holiday calendar")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class CalendarYear(models.Model):
    """A year whose holidays are known (loaded or entered): working days are counted only in these."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("known holiday year")
        verbose_name_plural = _("known holiday years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class Ticket(models.Model):
    class Kind(models.TextChoices):
        SUGGESTION = "suggestion", _("suggestion (建议意见)")
        MOTION = "motion", _("formal motion (提案提议)")

    class Source(models.TextChoices):
        RECEPTION = "reception", _("studio reception")
        VISIT = "visit", pgettext_lazy("ticket source", "home visit")
        INTAKE = "intake", _("public intake page")
        PHONE = "phone", _("phone")
        MEETING = "meeting", _("thematic or concentrated meeting")
        API = "api", _("integrating system (Open311 API)")
        HOTLINE = "hotline", _("12345 hotline")

    class Resolution(models.TextChoices):
        ON_SPOT = "on_spot", _("answered on the spot")
        EXPLAINED = "explained", _("explained")
        MERGED = "merged", _("merged into another ticket")
        # Concluded without dissatisfaction: a proposer (a resident) rated the reply, or none did,
        # whether or not the representative rated it. Satisfaction figures count residents' ratings;
        # a ticket none of its residents rated is "no resident rating", never "satisfied" nor a
        # non-response of someone asked (it may have had no proposer to ask).
        SATISFIED = "satisfied", _("replied and rated")
        NO_RESIDENT_RATING = "no_resident", _("replied, no resident rating")
        EXPLAINED_AFTER = "explained_after", _("closed with an explanation after dissatisfaction")

    class AssignedBy(models.TextChoices):
        TOWNSHIP = "township", _("township")
        COUNTY = "county", _("county liaison office")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.SUGGESTION)
    title = models.CharField(_("title"), max_length=100)
    content = models.TextField(_("content"), max_length=4000)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="tickets"
    )
    place = models.CharField(_("place"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    township = models.ForeignKey(
        Region,
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        related_name="tickets",
        limit_choices_to={"level": Region.Level.TOWNSHIP},
    )
    studio = models.ForeignKey(
        Studio,
        verbose_name=_("studio"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
    )
    representative = models.ForeignKey(
        Representative,
        verbose_name=_("responsible representative"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
    )
    co_signers = models.ManyToManyField(
        Representative,
        verbose_name=_("co-signing representatives"),
        blank=True,
        related_name="co_signed_tickets",
    )
    reception_matter = models.OneToOneField(
        ReceptionMatter,
        verbose_name=_("from reception matter"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ticket",
    )
    visit_matter = models.OneToOneField(
        VisitMatter,
        verbose_name=_("from visit matter"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ticket",
    )
    is_public_interest = models.BooleanField(
        _("of general concern"),
        default=False,
        help_text=_("Closed tickets of general concern are published."),
    )
    tracking_code = models.CharField(_("tracking code"), max_length=16, unique=True, editable=False)

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.REGISTERED)
    resolution = models.CharField(_("resolution"), max_length=16, choices=Resolution.choices, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    assigned_by = models.CharField(_("assigned by"), max_length=16, choices=AssignedBy.choices, blank=True)
    lead_unit = models.ForeignKey(
        HandlingUnit,
        verbose_name=_("lead unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lead_tickets",
    )
    round = models.PositiveSmallIntegerField(_("handling round"), default=1)

    # Deadlines, computed by services from the county's DeadlinePolicy (see deadlines.py).
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    due_at = models.DateTimeField(_("reply due"), null=True, blank=True, db_index=True)
    extension_reason = models.CharField(_("extension reason"), max_length=300, blank=True)
    due_year_unknown = models.BooleanField(
        _("holiday calendar unknown"),
        default=False,
        help_text=_("The due date falls in a year without a holiday calendar: check it by hand."),
    )
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    reply = models.TextField(_("written reply"), blank=True, max_length=8000)
    reply_summary = models.CharField(_("reply summary (public)"), max_length=300, blank=True)
    # When staff last corrected the published summary after closing (``correct_summary``):
    # /results/ says the summary was corrected, and when.
    summary_corrected_at = models.DateTimeField(_("summary corrected at"), null=True, blank=True)
    forwarded_at = models.DateTimeField(_("forwarded to the representative at"), null=True, blank=True)
    feedback_due_at = models.DateTimeField(_("feedback due"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Adopted (采纳, seed 001: "被县委采纳", "镇党委采纳了这一建议"): the body that took the suggestion up
    # and the day it did, recorded by the office or the township (``services.ticket_adopt``).
    adopted_on = models.DateField(_("adopted on"), null=True, blank=True)
    adopted_by = models.CharField(_("adopted by"), max_length=100, blank=True)

    # What the suggestion statistics count, kept on the row by each move (``proposals.facts``:
    # the one place that says which move sets which), so that a year's figures over a million
    # tickets read the ticket table alone. ``facts.recompute`` derives the same from the records.
    stat_assigned = models.BooleanField(
        _("assigned to a lead unit"), default=False, db_default=False, editable=False
    )
    stat_replied = models.BooleanField(_("replied"), default=False, db_default=False, editable=False)
    stat_first_reply_on_time = models.BooleanField(
        _("first reply on time"), default=False, db_default=False, editable=False
    )
    stat_extension_asked = models.BooleanField(
        _("extension asked"), default=False, db_default=False, editable=False
    )
    stat_extension_granted = models.BooleanField(
        _("extension granted"), default=False, db_default=False, editable=False
    )
    stat_returned = models.BooleanField(_("returned"), default=False, db_default=False, editable=False)
    stat_rehandled = models.BooleanField(_("re-handled"), default=False, db_default=False, editable=False)
    # The ratings of the current round (the last one counts): the rep's, the residents'.
    stat_rep_ratings = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)
    stat_rep_satisfied = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)
    stat_resident_ratings = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)
    stat_resident_satisfied = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("registered at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # Two submissions of one intake form carry the same token: the second finds the first.
    submission_token = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)
    # The number another system gave the matter (a 12345 hotline work order's 工单编号), once per
    # county: importing the same sheet again finds the ticket instead of making a second one.
    # ``external_county`` is the township's county, kept on the row for the constraint.
    external_ref = models.CharField(_("external order number"), max_length=32, blank=True, editable=False)
    external_county = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("suggestion ticket")
        verbose_name_plural = _("suggestion tickets")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_county", "external_ref"],
                condition=~models.Q(external_ref=""),
                name="ticket_external_ref_once_per_county",
            ),
            models.CheckConstraint(
                condition=models.Q(external_ref="", external_county__isnull=True)
                | (~models.Q(external_ref="") & models.Q(external_county__isnull=False)),
                name="ticket_external_ref_has_county",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="ticket_status_due"),
            models.Index(fields=["status", "feedback_due_at"], name="ticket_status_feedback"),
            # The queues' urgency order (TicketQuerySet.by_due): the running deadline, then newest.
            # Plain ASC: PostgreSQL puts NULLs last in an ascending index, as the order asks, and
            # SQLite (the laptop's database) refuses NULLS LAST in an index definition.
            models.Index(
                running_due().asc(),
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="ticket_urgency",
            ),
            # The staff queues' own statuses (proposals.queues: township triage, liaison office):
            # the work waiting for staff, a small part of the tickets, counted and listed from here.
            models.Index(
                fields=["township", "status"],
                name="ticket_staff_queue",
                condition=models.Q(status__in=["registered", "at_county", "replied", "dissatisfied"]),
            ),
            # Overdue by unit (proposals.queues.overdue_by_unit: the overview, the home to-do):
            # the tickets a unit holds while their deadline runs, by unit and due time, with the
            # township the scope filters on, so the count is read from the index alone.
            models.Index(
                fields=["lead_unit", "due_at"],
                name="ticket_unit_running",
                include=["township"],
                condition=models.Q(status__in=["assigned", "contacted", "planned", "signed"]),
            ),
            # Overdue by office (proposals.notifications.render_overdue_digest: each office's
            # digest, counted when it is sent or read): the running tickets of a township that
            # its office or the county's assigned, by due time, counted from the index alone.
            models.Index(
                fields=["township", "assigned_by", "due_at"],
                name="ticket_township_running",
                condition=models.Q(status__in=["assigned", "contacted", "planned", "signed"]),
            ),
            # Newest first (the default order: the admin's ticket list, the lists without a queue).
            models.Index(models.F("created_at").desc(), models.F("id").desc(), name="ticket_newest"),
            # The overview's trend for a user who sees all (proposals.overview._trend_from_indexes):
            # the tickets closed in each month, counted from the index alone, as those registered
            # are from the one on created_at.
            models.Index(
                fields=["closed_at"], name="ticket_closed", condition=models.Q(closed_at__isnull=False)
            ),
            # /results/ (TicketQuerySet.published), in the order it lists them: a page reads its rows.
            models.Index(
                models.F("closed_at").desc(),
                models.F("id").desc(),
                name="ticket_published",
                condition=models.Q(status__in=["closed", "archived"], is_public_interest=True)
                & ~models.Q(resolution="merged"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_code} {self.title}"

    @property
    def display_code(self) -> str:
        return format_code(self.tracking_code)

    @property
    def is_published(self) -> bool:
        """``querysets.published_q`` on this row: closed, of general concern, not merged."""
        from proposals.transitions import CLOSED

        return self.status in CLOSED and self.is_public_interest and self.resolution != self.Resolution.MERGED

    @property
    def county_id(self) -> int:
        return self.township.county_id


class Proposer(models.Model):
    """A person who raised the matter. Private: never shown on a public page."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="proposers"
    )
    name = models.CharField(_("name"), max_length=32)
    phone = models.CharField(_("phone"), max_length=24, blank=True)
    # Ticked by the proposer on the intake form: the receipt, the reply to rate and a re-handling
    # notice go to this phone by SMS (``proposals.reminders``). Unticked, no SMS is ever sent.
    sms_consent = models.BooleanField(_("SMS about this matter"), default=False)
    # When the proposer ticked the privacy notice's consent on the intake form (PIPL 第十四条);
    # empty for a matter staff registered for someone (a reception or a visit).
    privacy_consent_at = models.DateTimeField(_("privacy consent given at"), null=True, blank=True)
    # Set by ``anonymise_closed`` when the name and phone were erased, years after closing.
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)

    class Meta:
        verbose_name = _("proposer")
        verbose_name_plural = _("proposers")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """A unit's part in a ticket: the lead unit, or a co-unit filing its opinion (吹哨报到)."""

    class Role(models.TextChoices):
        LEAD = "lead", _("lead unit")
        CO = "co", _("co-unit")

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="assignments"
    )
    unit = models.ForeignKey(
        HandlingUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="ticket_assignments"
    )
    role = models.CharField(_("role"), max_length=8, choices=Role.choices)
    assigned_at = models.DateTimeField(_("assigned at"), default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    opinion_due_at = models.DateTimeField(_("opinion due"), null=True, blank=True)
    opinion = models.TextField(_("opinion"), blank=True, max_length=4000)
    opinion_at = models.DateTimeField(_("opinion filed at"), null=True, blank=True)
    opinion_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opinion by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    # A unit that returned the ticket, or was replaced, keeps its row for the record.
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit assignment")
        verbose_name_plural = _("unit assignments")
        ordering = ["role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "unit"],
                condition=models.Q(ended_at__isnull=True),
                name="one_live_assignment_per_unit",
            ),
            models.UniqueConstraint(
                fields=["ticket"],
                condition=models.Q(ended_at__isnull=True, role="lead"),
                name="one_live_lead_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} ({self.get_role_display()})"


class Extension(models.Model):
    """A lead unit's request for more time, and the office's decision."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="extensions"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    requested_until = models.DateTimeField(_("new due time asked for"))
    reason = models.CharField(_("reason"), max_length=300)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, default="pending")
    granted_until = models.DateTimeField(_("new due time granted"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=models.Q(decision="pending"), name="one_pending_extension"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.get_decision_display()}"


class Rating(models.Model):
    """How the representative or one proposer rated the reply of one handling round."""

    class Score(models.TextChoices):
        SATISFIED = "satisfied", _("satisfied (满意)")
        BASICALLY = "basically", _("basically satisfied (基本满意)")
        DISSATISFIED = "dissatisfied", _("dissatisfied (不满意)")

    # What satisfaction rates count as satisfied: 满意 and 基本满意 (every figure reads this).
    SATISFIED_SCORES = (Score.SATISFIED, Score.BASICALLY)

    class Via(models.TextChoices):
        """How the rating was given: online by the rater, or entered by staff for a proposer."""

        ONLINE = "online", _("online")
        PAPER = "paper", _("in writing (书面)")
        PHONE = "phone", _("by phone (电话)")

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="ratings"
    )
    round = models.PositiveSmallIntegerField(_("handling round"))
    proposer = models.ForeignKey(
        Proposer,
        verbose_name=_("proposer"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="ratings",
    )
    representative = models.ForeignKey(
        Representative,
        verbose_name=_("representative"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ticket_ratings",
    )
    score = models.CharField(_("rating"), max_length=16, choices=Score.choices)
    via = models.CharField(_("given"), max_length=8, choices=Via.choices, default=Via.ONLINE)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    rated_at = models.DateTimeField(_("rated at"), default=timezone.now)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["rated_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "round", "proposer"],
                condition=models.Q(proposer__isnull=False),
                name="one_rating_per_proposer",
            ),
            models.UniqueConstraint(
                fields=["ticket", "round"],
                condition=models.Q(proposer__isnull=True),
                name="one_rating_per_rep",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.get_score_display()}"


def attachment_path(instance, filename: str) -> str:
    return f"proposals/{timezone.localdate():%Y/%m}/{secrets.token_hex(12)}{_suffix(filename)}"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower()[:6] if dot != -1 else ""


class Attachment(models.Model):
    """A photo or PDF sent with the matter, or the file of a written reply. Served only through
    a scoped view: the storage path is random and never linked publicly."""

    class Purpose(models.TextChoices):
        MATTER = "matter", _("with the matter")
        REPLY = "reply", _("written reply")

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="attachments"
    )
    purpose = models.CharField(_("purpose"), max_length=8, choices=Purpose.choices, default=Purpose.MATTER)
    file = models.FileField(_("file"), upload_to=attachment_path)
    name = models.CharField(_("file name"), max_length=120)
    content_type = models.CharField(_("type"), max_length=64)
    size = models.PositiveIntegerField(_("size"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class TicketEvent(models.Model):
    """One move of a ticket, append-only: who, when, from which status to which, and why.

    The timeline on every ticket page, and the outbox that notifications are sent from.
    ``is_public`` marks the steps a proposer may see on the tracking page (no names of staff).
    """

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    # PROTECT: the timeline is append-only in the database (a trigger refuses UPDATE and
    # DELETE, migration 0011), so a user who moved a ticket is deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("on behalf of"), max_length=64, blank=True)
    move = models.CharField(_("action"), max_length=24)
    from_status = models.CharField(_("previous status"), max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(_("new status"), max_length=16, choices=Status.choices)
    note = models.TextField(_("note"), blank=True, max_length=8000)
    data = models.JSONField(_("details"), default=dict, blank=True)
    is_public = models.BooleanField(_("shown to the proposer"), default=False)

    objects = TicketEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["ticket", "at"], name="ticket_event_timeline"),
            # The outbox sweep reads the recent events of each move (reminders.ticket_events_notify).
            models.Index(fields=["move", "at"], name="ticket_event_outbox"),
        ]

    def __str__(self) -> str:
        return f"{self.move_label} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"

    @property
    def move_label(self) -> str:
        from proposals.transitions import MOVES

        return str(MOVES[self.move].label) if self.move in MOVES else str(_("registered"))


class Bulletin(models.Model):
    """A periodic bulletin (定期通报) of a county's liaison office: see ``proposals.bulletins``.

    A draft holds figures computed from the records (refreshable) and the office's commentary
    and typical matters; publishing numbers it and freezes it (on PostgreSQL a trigger refuses
    any UPDATE or DELETE of a published row).
    """

    class Kind(models.TextChoices):
        MONTH = "month", _("monthly")
        QUARTER = "quarter", _("quarterly")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    county = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="bulletins",
        limit_choices_to={"level": Region.Level.COUNTY},
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    number = models.PositiveSmallIntegerField(_("month or quarter"))
    start = models.DateField(_("from"))
    end = models.DateField(_("until"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    serial_year = models.PositiveSmallIntegerField(_("issue year"), null=True, blank=True, editable=False)
    serial = models.PositiveSmallIntegerField(_("issue number"), null=True, blank=True, editable=False)
    commentary = models.TextField(_("commentary"), blank=True, max_length=8000)
    figures = models.JSONField(_("figures"), default=dict, blank=True, editable=False)
    figures_at = models.DateTimeField(_("figures computed at"), null=True, blank=True, editable=False)
    typical_matters = models.JSONField(_("typical matters"), default=list, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("drafted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(_("drafted at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)

    objects = BulletinQuerySet.as_manager()

    class Meta:
        verbose_name = _("bulletin")
        verbose_name_plural = _("bulletins")
        ordering = ["-end", "-kind", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "kind", "year", "number"], name="bulletin_one_per_period"
            ),
            models.UniqueConstraint(
                fields=["county", "serial_year", "serial"],
                condition=models.Q(serial__isnull=False),
                name="bulletin_unique_serial",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="month", number__gte=1, number__lte=12)
                | models.Q(kind="quarter", number__gte=1, number__lte=4),
                name="bulletin_number_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft", serial__isnull=True)
                | models.Q(
                    status="published",
                    serial__isnull=False,
                    serial_year__isnull=False,
                    published_at__isnull=False,
                ),
                name="bulletin_published_is_numbered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.period_label}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def period_label(self) -> str:
        if self.kind == self.Kind.QUARTER:
            return _("%(year)s, quarter %(number)s") % {"year": self.year, "number": self.number}
        return _("%(year)s-%(number)02d") % {"year": self.year, "number": self.number}

    @property
    def issue_label(self) -> str:
        """The issue as printed on the bulletin: "2026年第3期" (empty for a draft)."""
        if self.serial is None:
            return ""
        return _("%(year)s, issue %(serial)s") % {"year": self.serial_year, "serial": self.serial}


# --- annual commendations (年度评先: 十佳 lists and 五好工作室, issue 13) -------------------------


class CommendationList(models.TextChoices):
    REPS = "reps", _("ten best representatives (十佳代表)")
    STUDIOS = "studios", _("ten best studios (十佳工作室)")
    SUGGESTIONS = "suggestions", _("ten best suggestions (十佳建议)")
    UNITS = "units", _("ten best handling units (十佳办理单位)")
    FIVE_GOOD = "five_good", _("five-good studios (五好工作室)")


def _places(label):
    return models.PositiveSmallIntegerField(label, default=10, validators=[MinValueValidator(1)])


class CommendationPolicy(models.Model):
    """A county's commendation rules from a date on: the places of each list and its criteria text.

    Versioned like the points policy: the version in force on 31 December of the round's year (today
    for the current year) rules the round; without one, the defaults (10 places each, 5 five-good)."""

    county = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="commendation_policies",
        limit_choices_to={"level": Region.Level.COUNTY},
    )
    effective_from = models.DateField(_("effective from"))
    reps_places = _places(_("places: ten best representatives"))
    studios_places = _places(_("places: ten best studios"))
    suggestions_places = _places(_("places: ten best suggestions"))
    units_places = _places(_("places: ten best handling units"))
    five_good_places = models.PositiveSmallIntegerField(
        _("places: five-good studios"), default=5, validators=[MinValueValidator(1)]
    )
    reps_criteria = models.TextField(_("criteria: representatives"), blank=True, max_length=2000)
    studios_criteria = models.TextField(_("criteria: studios"), blank=True, max_length=2000)
    suggestions_criteria = models.TextField(_("criteria: suggestions"), blank=True, max_length=2000)
    units_criteria = models.TextField(_("criteria: handling units"), blank=True, max_length=2000)
    five_good_criteria = models.TextField(_("criteria: five-good studios"), blank=True, max_length=2000)
    unsatisfactory_below = models.DecimalField(
        _("unsatisfactory below (review score)"),
        max_digits=4,
        decimal_places=1,
        default=60,
        validators=[MinValueValidator(0)],
        help_text=_("A representative whose year-end review score is below this is flagged."),
    )

    objects = CommendationPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("commendation policy")
        verbose_name_plural = _("commendation policies")
        ordering = ["county_id", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "effective_from"], name="one_commendation_policy_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.effective_from:%Y-%m-%d}"

    def places(self, kind: str) -> int:
        return getattr(self, f"{kind}_places")

    def criteria(self, kind: str) -> str:
        return getattr(self, f"{kind}_criteria")


class CommendationRound(models.Model):
    """A county's commendation round of a year: nominees per list, then published and frozen."""

    county = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="commendation_rounds",
        limit_choices_to={"level": Region.Level.COUNTY},
    )
    year = models.PositiveSmallIntegerField(_("year"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    objects = CommendationRoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("commendation round")
        verbose_name_plural = _("commendation rounds")
        constraints = [
            models.UniqueConstraint(fields=["county", "year"], name="one_commendation_round_per_year")
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.year}"


class Nominee(models.Model):
    """One place on a list of a round: who or what (one of rep, studio, ticket, unit) and its order.

    The public fields are copied when nominated so that a published list shows what was decided."""

    round = models.ForeignKey(
        CommendationRound, verbose_name=_("round"), on_delete=models.CASCADE, related_name="nominees"
    )
    kind = models.CharField(_("list"), max_length=16, choices=CommendationList.choices)
    position = models.PositiveSmallIntegerField(_("position"))
    object_id = models.PositiveIntegerField()
    name = models.CharField(_("name"), max_length=200)
    title = models.CharField(_("position / title"), max_length=200, blank=True)
    township = models.CharField(_("township"), max_length=100, blank=True)
    unit = models.CharField(_("handling unit"), max_length=100, blank=True)
    figures = models.CharField(_("figures"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("nominee")
        verbose_name_plural = _("nominees")
        ordering = ["round_id", "kind", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["round", "kind", "object_id"], name="one_nominee_per_list"),
        ]

    def __str__(self) -> str:
        return f"{self.round} {self.kind} {self.position}. {self.name}"


class NomineeChange(models.Model):
    """A change to a list after the pre-ranking: added, removed or moved, with its reason."""

    class Action(models.TextChoices):
        ADDED = "added", _("added")
        REMOVED = "removed", _("removed")
        MOVED = "moved", _("moved")

    round = models.ForeignKey(
        CommendationRound, verbose_name=_("round"), on_delete=models.CASCADE, related_name="changes"
    )
    kind = models.CharField(_("list"), max_length=16, choices=CommendationList.choices)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    name = models.CharField(_("name"), max_length=200)
    reason = models.TextField(_("reason"), max_length=1000)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("change of a list")
        verbose_name_plural = _("changes of the lists")
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.round} {self.kind} {self.action} {self.name}"


class ApiKey(models.Model):
    """An integrating system's key to the Open311 API (a 12345 platform, a mini-program).

    Only a SHA-256 digest of the key is stored: the key is 32 random bytes, so a fast digest is
    as safe as a slow one and lets every request be checked in one indexed lookup. The raw key is
    shown once, when it is created in the admin. The region (a county or a township) is the key's
    scope: where it may file matters and which of their tickets it may read.
    """

    name = models.CharField(
        _("name"), max_length=100, help_text=_("The integrating system, e.g. 12345 hotline.")
    )
    region = models.ForeignKey(
        "liaison.Region",
        verbose_name=_("scope"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("A county or a township: the key files and reads matters there only."),
    )
    prefix = models.CharField(_("key begins with"), max_length=8, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    objects = ScopedQuerySet.as_manager()  # visible_to: keys whose region is in the user's scope

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


def validate_webhook_url(url: str) -> None:
    """Refuse a webhook address that is not https, except for this machine or in development.

    The body is signed, not encrypted: over plain http anyone on the way reads it and replays it.
    """
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if loopback or settings.DEBUG:
            return
    raise ValidationError(
        _(
            "The address must start with https://. Plain http:// is accepted only for this machine "
            "(127.0.0.1, ::1, localhost) or in development (DEBUG)."
        ),
        code="insecure_url",
    )


class WebhookSubscription(models.Model):
    """An integrating system's subscription to the ticket events in its key's region.

    The secret signs every body (HMAC-SHA256). Unlike the API key, it is stored as it is: the
    server needs the raw secret to compute each signature, and a digest cannot sign. It is shown
    once, when the subscription is created, and never in the admin after that.
    """

    api_key = models.ForeignKey(
        ApiKey,
        verbose_name=_("API key"),
        on_delete=models.CASCADE,
        related_name="webhooks",
        help_text=_("The integrating system: its region is the subscription's scope."),
    )
    url = models.URLField(
        _("target address"),
        max_length=500,
        validators=[validate_webhook_url],
        help_text=_("Where each event is POSTed as JSON, e.g. https://12345.example.cn/liaison/events."),
    )
    secret = models.CharField(_("signing secret"), max_length=64, editable=False)
    on_assigned = models.BooleanField(_("assigned"), default=True, help_text=_("A unit was assigned."))
    on_replied = models.BooleanField(_("replied"), default=True, help_text=_("The unit replied in writing."))
    on_closed = models.BooleanField(_("closed"), default=True, help_text=_("The matter was closed."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = WebhookSubscriptionQuerySet.as_manager()  # visible_to: through the key's region

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["-created_at", "-id"]
        constraints = [
            # A form sent twice (or the same address subscribed again) would have every event
            # delivered twice to one receiver: one subscription per key and address.
            models.UniqueConstraint(fields=["api_key", "url"], name="webhook_subscription_once"),
        ]

    def __str__(self) -> str:
        return f"{self.api_key.name} → {self.url}"


class WebhookDelivery(models.Model):
    """One ticket event owed to one subscription: the ledger that makes it sent once.

    The unique (event, subscription) pair makes each delivery exist once however often the
    outbox sweep runs; ``attempts`` is counted before each send, so an attempt whose worker was
    killed still shows (``proposals.webhooks``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    event = models.ForeignKey(
        TicketEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="+"
    )
    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    # What the event was to the subscriber ("assigned", "replied", "closed": proposals.webhooks.KINDS).
    kind = models.CharField(_("event kind"), max_length=16)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    objects = WebhookDeliveryQuerySet.as_manager()  # visible_to: through the key's region

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "subscription"], name="webhook_delivery_once"),
        ]
        indexes = [
            # /healthz's figures (webhooks.health): the rows not yet delivered, a small part of the ledger.
            models.Index(
                fields=["status", "created_at"],
                name="webhook_delivery_undelivered",
                condition=models.Q(status__in=["failed", "pending"]),
            ),
            # The dispatch reads the pending deliveries that are due.
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}/{self.event_id} {self.status}"

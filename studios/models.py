"""Studios, who sits there when (rosters), and what happened there (reception records).

A studio's rota comes from its ``RosterRule`` rows; the generator (``studios.rosters``) turns
them into ``DutySlot`` rows for a ``RosterPeriod``. A period is drafted, then published; after
publication a slot changes only with a stated reason, recorded in ``SlotChange``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from liaison.models import Category, HandlingUnit, Region
from liaison.validators import clean_phone_field
from reps.models import Representative
from studios.querysets import (
    DutySlotQuerySet,
    OpinionReportQuerySet,
    ReceptionQuerySet,
    RosterPeriodQuerySet,
    StudioQuerySet,
)


class Studio(models.Model):
    class Level(models.TextChoices):
        COUNTY = "county", _("County studio")
        TOWNSHIP = "township", _("Township studio")
        AREA = "area", _("Village / community area studio")
        INDIVIDUAL = "individual", _("Representative's own studio")

    # The minimum floor area (m²) the rules set for each level (DOMAIN.md: county ≥ 20, township ≥ 16).
    AREA_STANDARD = {Level.COUNTY: Decimal(20), Level.TOWNSHIP: Decimal(16)}
    FIVE_ONES = ("has_signage", "has_phone", "has_record_book", "has_duty_roster", "has_rules_on_wall")

    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    region = models.ForeignKey(
        Region, verbose_name=_("host region"), on_delete=models.PROTECT, related_name="studios"
    )
    host_organisation = models.CharField(_("host organisation"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=200)
    area_m2 = models.DecimalField(
        _("area (m²)"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    phone = models.CharField(_("phone"), max_length=24, blank=True)
    liaison_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("liaison officer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="studios",
    )
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    has_signage = models.BooleanField(_("signage"), default=False)
    has_phone = models.BooleanField(_("a phone"), default=False)
    has_record_book = models.BooleanField(_("a record book"), default=False)
    has_duty_roster = models.BooleanField(_("a duty roster on the door"), default=False)
    has_rules_on_wall = models.BooleanField(_("the rules on the wall"), default=False)

    objects = StudioQuerySet.as_manager()

    class Meta:
        verbose_name = _("studio")
        verbose_name_plural = _("studios")
        ordering = ["region__path", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="studio_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        clean_phone_field(self)

    @property
    def five_ones_done(self) -> int:
        return sum(1 for field in self.FIVE_ONES if getattr(self, field))

    @property
    def area_below_standard(self) -> bool:
        minimum = self.AREA_STANDARD.get(self.level)
        return bool(minimum and self.area_m2 is not None and self.area_m2 < minimum)


class StudioAssignment(models.Model):
    """A representative (of any level) serves at a studio from a date, until a date."""

    studio = models.ForeignKey(
        Studio, verbose_name=_("studio"), on_delete=models.CASCADE, related_name="assignments"
    )
    representative = models.ForeignKey(
        Representative,
        verbose_name=_("representative"),
        on_delete=models.CASCADE,
        related_name="studio_assignments",
    )
    start = models.DateField(_("from"))
    end = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("studio assignment")
        verbose_name_plural = _("studio assignments")
        ordering = ["studio_id", "representative__name_initials"]
        constraints = [
            models.UniqueConstraint(fields=["studio", "representative", "start"], name="assignment_once"),
            models.CheckConstraint(
                condition=models.Q(end__isnull=True) | models.Q(end__gte=models.F("start")),
                name="assignment_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.representative} @ {self.studio}"


class Leave(models.Model):
    """A representative is away (ill, travelling, training): the generator skips them."""

    representative = models.ForeignKey(
        Representative, verbose_name=_("representative"), on_delete=models.CASCADE, related_name="leaves"
    )
    start = models.DateField(_("from"))
    end = models.DateField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("leave")
        verbose_name_plural = _("leaves")
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="leave_order")
        ]

    def __str__(self) -> str:
        return f"{self.representative} {self.start:%m-%d}–{self.end:%m-%d}"


class MeetingKind(models.TextChoices):
    REGULAR = "regular", _("Regular duty")
    RECEPTION_DAY = "reception_day", _("Reception day")
    THEMATIC = "thematic", _("Thematic meeting")
    CONCENTRATED = "concentrated", _("Concentrated meeting")
    APPOINTED = "appointed", _("Appointed meeting")


class RosterRule(models.Model):
    """A recurring duty at a studio.

    - regular: every week on ``weekday``;
    - reception day: on the ``days_of_month`` (e.g. "10,20"); a day a month lacks is skipped;
    - concentrated: once a quarter, on a Sunday read from "每季度最后一周的周日" as ``quarter_sunday`` says;
    - thematic: once a month, on the ``week_of_month``-th ``weekday`` (-1 = the last one).
    """

    class QuarterSunday(models.TextChoices):
        """The two readings of "每季度最后一周的周日" (seed 001: the quarter's concentrated meeting day).

        The default is the last Sunday *within* the quarter. Seed 001 counts these meetings by
        quarter ("今年第三季度的集中约见", 51 of them in the quarters since 2008): a meeting is its
        quarter's, so it is held, counted in the quarter's statistics and quotas, and reported inside
        that quarter. The other reading, the Sunday of the Monday–Sunday week that holds the
        quarter's last day, lands in the next quarter's first days whenever the quarter does not
        end on a Sunday (for Q3 in the National Day holiday, for Q4 in the next year); it is
        offered for counties that read it so. Both agree when the quarter ends on a Sunday.
        """

        LAST_SUNDAY = "last_sunday", _("The last Sunday within the quarter")
        LAST_WEEK = (
            "last_week",
            _(
                "The Sunday of the week (Monday to Sunday) holding the quarter's last day, "
                "which may fall in the next quarter"
            ),
        )

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    studio = models.ForeignKey(
        Studio, verbose_name=_("studio"), on_delete=models.CASCADE, related_name="rules"
    )
    kind = models.CharField(
        _("kind"),
        max_length=16,
        choices=[(k, label) for k, label in MeetingKind.choices if k != MeetingKind.APPOINTED],
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices, null=True, blank=True)
    days_of_month = models.CharField(
        _("days of the month"), max_length=40, blank=True, help_text=_("Comma-separated, e.g. 10,20")
    )
    week_of_month = models.SmallIntegerField(
        _("week of the month"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-1), MaxValueValidator(5)],
        help_text=_("1–5, or -1 for the last one in the month"),
    )
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))
    reps_per_slot = models.PositiveSmallIntegerField(
        _("representatives per duty"), default=1, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    quarter_sunday = models.CharField(
        _("concentrated meeting day"),
        max_length=16,
        choices=QuarterSunday.choices,
        default=QuarterSunday.LAST_SUNDAY,
        help_text=_("How “the Sunday of each quarter's last week” is read (concentrated meetings only)."),
    )
    theme = models.CharField(_("theme"), max_length=200, blank=True)
    invited_units = models.ManyToManyField(
        HandlingUnit, verbose_name=_("invited departments"), blank=True, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("roster rule")
        verbose_name_plural = _("roster rules")
        ordering = ["studio_id", "kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")), name="rule_time_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.studio} · {self.get_kind_display()}"

    def clean(self) -> None:
        errors = {}
        if self.kind in (MeetingKind.REGULAR, MeetingKind.THEMATIC) and self.weekday is None:
            errors["weekday"] = _("Choose the weekday.")
        if self.kind == MeetingKind.THEMATIC and not self.week_of_month:
            errors["week_of_month"] = _("Choose which week of the month.")
        if self.kind == MeetingKind.RECEPTION_DAY:
            try:
                days = self.day_list
            except ValueError:
                days = []
            if not days or any(not 1 <= d <= 31 for d in days):
                errors["days_of_month"] = _("List days between 1 and 31, separated by commas.")
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            errors["end_time"] = _("The duty must end after it starts.")
        if errors:
            raise ValidationError(errors)

    @property
    def day_list(self) -> list[int]:
        return sorted(
            {int(part) for part in self.days_of_month.replace("，", ",").split(",") if part.strip()}
        )


class RosterPeriod(models.Model):
    """The slots of one studio for a stretch of time: drafted, then published."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    studio = models.ForeignKey(
        Studio, verbose_name=_("studio"), on_delete=models.CASCADE, related_name="periods"
    )
    start = models.DateField(_("from"))
    end = models.DateField(_("until"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = RosterPeriodQuerySet.as_manager()

    class Meta:
        verbose_name = _("roster period")
        verbose_name_plural = _("roster periods")
        ordering = ["studio_id", "-start"]
        constraints = [
            models.UniqueConstraint(fields=["studio", "start"], name="period_once"),
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="period_order"),
        ]

    def __str__(self) -> str:
        return f"{self.studio} {self.start:%Y-%m-%d}–{self.end:%Y-%m-%d}"


class DutySlot(models.Model):
    """One duty at a studio: when, what kind, which representatives."""

    period = models.ForeignKey(
        RosterPeriod, verbose_name=_("period"), on_delete=models.CASCADE, related_name="slots"
    )
    studio = models.ForeignKey(
        Studio, verbose_name=_("studio"), on_delete=models.CASCADE, related_name="slots"
    )
    rule = models.ForeignKey(
        RosterRule,
        verbose_name=_("rule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="slots",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MeetingKind.choices)
    date = models.DateField(_("date"), db_index=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    theme = models.CharField(_("theme"), max_length=200, blank=True)
    representatives = models.ManyToManyField(
        Representative,
        verbose_name=_("representatives"),
        through="SlotAssignment",
        through_fields=("slot", "representative"),
        related_name="duty_slots",
    )
    is_changed = models.BooleanField(_("changed after publication"), default=False)
    # Bumped by every change: a form posts the version it showed, and a stale one is refused.
    version = models.PositiveIntegerField(_("version"), default=1)

    objects = DutySlotQuerySet.as_manager()

    class Meta:
        verbose_name = _("duty slot")
        verbose_name_plural = _("duty slots")
        ordering = ["starts_at", "studio_id"]
        indexes = [models.Index(fields=["studio", "starts_at"])]

    def __str__(self) -> str:
        local = timezone.localtime(self.starts_at)
        return f"{self.studio} {local:%Y-%m-%d %H:%M} {self.get_kind_display()}"


class SlotAssignment(models.Model):
    class Attendance(models.TextChoices):
        PENDING = "pending", _("Not yet marked")
        ATTENDED = "attended", _("Attended")
        ABSENT = "absent", _("Absent")
        SUBSTITUTED = "substituted", _("Substituted")

    slot = models.ForeignKey(
        DutySlot, verbose_name=_("duty slot"), on_delete=models.CASCADE, related_name="assignments"
    )
    representative = models.ForeignKey(
        Representative,
        verbose_name=_("representative"),
        on_delete=models.PROTECT,
        related_name="slot_assignments",
    )
    attendance = models.CharField(
        _("attendance"), max_length=16, choices=Attendance.choices, default=Attendance.PENDING
    )
    substitute = models.ForeignKey(
        Representative,
        verbose_name=_("substitute"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="substitutions",
    )
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    marked_at = models.DateTimeField(_("marked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("duty assignment")
        verbose_name_plural = _("duty assignments")
        constraints = [models.UniqueConstraint(fields=["slot", "representative"], name="slot_rep_once")]

    def __str__(self) -> str:
        return f"{self.representative} · {self.slot}"


class SlotChange(models.Model):
    """A change to a published slot: who, when, why, and the slot before and after (append-only)."""

    slot = models.ForeignKey(
        DutySlot, verbose_name=_("duty slot"), on_delete=models.CASCADE, related_name="changes"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=300)
    before = models.JSONField(_("before"))
    after = models.JSONField(_("after"))

    class Meta:
        verbose_name = _("slot change")
        verbose_name_plural = _("slot changes")
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.slot} · {self.reason}"


class Reception(models.Model):
    """A reception record card (接待、约见党员群众活动记录卡)."""

    studio = models.ForeignKey(
        Studio,
        verbose_name=_("studio"),
        on_delete=models.PROTECT,
        related_name="receptions",
        null=True,
        blank=True,
    )
    slot = models.ForeignKey(
        DutySlot,
        verbose_name=_("duty slot"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="receptions",
    )
    township = models.ForeignKey(
        Region,
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        related_name="receptions",
        help_text=_("Where it took place, for who may see it."),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MeetingKind.choices)
    starts_at = models.DateTimeField(_("time"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    representatives = models.ManyToManyField(
        Representative, verbose_name=_("representatives present"), related_name="receptions"
    )
    people_received = models.PositiveIntegerField(
        _("people received"), validators=[MaxValueValidator(100000)]
    )
    notes = models.TextField(_("notes"), blank=True, max_length=4000)
    # Withdrawn, never erased (the evidence of the duty report, 等保 安全审计): a withdrawn record
    # stays, marked, and no longer counts toward duties or statistics (``.active()``).
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True, editable=False)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("withdrawn by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    withdrawn_reason = models.TextField(
        _("reason for withdrawal"), blank=True, max_length=1000, editable=False
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)
    # Two posts of one card carry the same nonce: the second finds the record the first made.
    submission_token = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)

    objects = ReceptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("reception record")
        verbose_name_plural = _("reception records")
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.starts_at):%Y-%m-%d} {self.get_kind_display()}"


class Visitor(models.Model):
    """Someone received, if they chose to leave a name (private: never shown publicly)."""

    reception = models.ForeignKey(
        Reception, verbose_name=_("reception"), on_delete=models.CASCADE, related_name="visitors"
    )
    name = models.CharField(_("name"), max_length=32)
    phone = models.CharField(_("phone"), max_length=24, blank=True)

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")

    def __str__(self) -> str:
        return self.name


class ReceptionMatter(models.Model):
    """A matter raised at a reception: answered on the spot, or to become a suggestion ticket."""

    reception = models.ForeignKey(
        Reception, verbose_name=_("reception"), on_delete=models.CASCADE, related_name="matters"
    )
    content = models.TextField(_("matter raised"), max_length=2000)
    answered_on_spot = models.BooleanField(_("answered on the spot"), default=False)
    answer = models.TextField(_("answer given"), blank=True, max_length=2000)
    for_ticket = models.BooleanField(_("to become a suggestion ticket"), default=False)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The ticket made from the matter starts in this category."),
    )

    class Meta:
        verbose_name = _("matter raised")
        verbose_name_plural = _("matters raised")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=~(models.Q(answered_on_spot=True) & models.Q(for_ticket=True)),
                name="matter_answered_or_ticket",
            )
        ]

    def __str__(self) -> str:
        return self.content[:40]

    def clean(self) -> None:
        if self.answered_on_spot and not self.answer.strip():
            raise ValidationError({"answer": _("Say what was answered on the spot.")})
        if self.answered_on_spot and self.for_ticket:
            raise ValidationError(_("A matter is either answered on the spot or turned into a ticket."))


class ReceptionPhoto(models.Model):
    reception = models.ForeignKey(
        Reception, verbose_name=_("reception"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.ImageField(_("photo"), upload_to="studios/receptions/%Y/%m/")

    class Meta:
        verbose_name = _("reception photo")
        verbose_name_plural = _("reception photos")

    def __str__(self) -> str:
        return self.image.name


class OpinionReport(models.Model):
    """A representative's monthly public-opinion card (社情民意): what they heard, by category."""

    representative = models.ForeignKey(
        Representative,
        verbose_name=_("representative"),
        on_delete=models.CASCADE,
        related_name="opinion_reports",
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month reported on."))
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="opinion_reports"
    )
    content = models.TextField(_("what was heard"), max_length=4000)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    objects = OpinionReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("public-opinion report")
        verbose_name_plural = _("public-opinion reports")
        ordering = ["-month", "representative_id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(month__day=1), name="opinion_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.representative} {self.month:%Y-%m} {self.category}"


class OpinionRegisterSubmission(models.Model):
    """A quarterly 民情民意收集登记表 marked as sent, once per quarter, for a studio or a township."""

    studio = models.ForeignKey(
        Studio,
        verbose_name=_("studio"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="opinion_register_submissions",
    )
    township = models.ForeignKey(
        Region,
        verbose_name=_("township"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="opinion_register_submissions",
    )
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("public-opinion register submitted")
        verbose_name_plural = _("public-opinion registers submitted")
        constraints = [
            models.UniqueConstraint(
                fields=["studio", "year", "quarter"],
                condition=models.Q(studio__isnull=False),
                name="opinion_register_once",
            ),
            models.UniqueConstraint(
                fields=["township", "year", "quarter"],
                condition=models.Q(township__isnull=False),
                name="opinion_register_township_once",
            ),
            models.CheckConstraint(
                condition=models.Q(studio__isnull=False, township__isnull=True)
                | models.Q(studio__isnull=True, township__isnull=False),
                name="opinion_register_studio_or_township",
            ),
            models.CheckConstraint(
                condition=models.Q(quarter__gte=1, quarter__lte=4), name="opinion_register_quarter"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.studio or self.township} {self.year}Q{self.quarter}"

"""Representatives, their mandates and groups, their contact network and their home visits.

A representative (``Representative``) is one person; each of their seats at a level is a
``Mandate`` with its own term. Duties are the person's, not the mandate's: a rep with a
county and a township mandate is counted once (see ``reps.duties``).
"""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from liaison.models import Category, Region
from liaison.validators import clean_phone_field
from reps.querysets import (
    AssessmentQuerySet,
    CommitteeLinkQuerySet,
    ContactLinkQuerySet,
    ContactQuerySet,
    DutyActivityQuerySet,
    DutyPolicyQuerySet,
    DutyReportQuerySet,
    FundExpenseQuerySet,
    GroupQuerySet,
    GroupReportQuerySet,
    HomeVisitQuerySet,
    PointsPolicyQuerySet,
    RepresentativeQuerySet,
    ResearchReportQuerySet,
    TrainingQuerySet,
)


class Level(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County / district")
    TOWNSHIP = "township", _("Township")


class Representative(models.Model):
    class Gender(models.TextChoices):
        MALE = "m", _("Male")
        FEMALE = "f", _("Female")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="representative",
    )
    name = models.CharField(_("name"), max_length=32)
    name_initials = models.CharField(_("pinyin initials"), max_length=32, editable=False, db_index=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    region = models.ForeignKey(
        Region,
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        related_name="representatives",
        limit_choices_to={"level__in": [Region.Level.COUNTY, Region.Level.TOWNSHIP]},
        help_text=_("Where the representative is based: their township (or the county for county staff)."),
    )
    title = models.CharField(_("position / title"), max_length=100, blank=True)
    party_branch = models.CharField(_("party branch"), max_length=100, blank=True)
    sector = models.CharField(_("sector"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=24, blank=True)
    phone_public = models.BooleanField(
        _("publish phone"), default=False, help_text=_("Only with the representative's consent.")
    )
    photo = models.ImageField(_("photo"), upload_to="reps/photos/", blank=True)
    statement = models.TextField(_("personal statement"), blank=True, max_length=1000)
    pledge = models.TextField(_("service pledge"), blank=True, max_length=1000)
    is_leading_cadre = models.BooleanField(_("leading cadre"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = RepresentativeQuerySet.as_manager()

    class Meta:
        verbose_name = _("representative")
        verbose_name_plural = _("representatives")
        ordering = ["name_initials", "name", "id"]
        constraints = [
            # The same person twice: same name and phone. Reps without a phone are not compared.
            models.UniqueConstraint(
                fields=["name", "phone"],
                condition=~models.Q(phone=""),
                name="rep_unique_name_phone",
                violation_error_message=_("A representative with this name and phone number already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # A search key derived from the name, kept with it so that every way of writing a rep
        # (admin, import, services) keeps the directory's pinyin search right.
        from reps.pinyin import initials

        self.name_initials = initials(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "name_initials"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        """The public page (the admin's "view on site" and the contact card start there)."""
        from django.urls import reverse

        return reverse("reps:public_detail", args=[self.pk])

    def clean(self) -> None:
        clean_phone_field(self)
        if self.phone_public and not self.phone:
            raise ValidationError({"phone_public": _("There is no phone number to publish.")})


class Mandate(models.Model):
    """A seat at one level, for one term: when the term ends the person stops being a rep there."""

    representative = models.ForeignKey(
        Representative, verbose_name=_("representative"), on_delete=models.CASCADE, related_name="mandates"
    )
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    congress = models.CharField(_("congress"), max_length=64, help_text=_("e.g. 第十二次党代会"))
    term_start = models.DateField(_("term start"))
    term_end = models.DateField(_("term end"))
    electoral_unit = models.CharField(_("electoral unit"), max_length=100, blank=True)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="mandates",
        null=True,
        blank=True,
        help_text=_("The county or township whose congress this is (empty for province and city)."),
    )

    class Meta:
        verbose_name = _("mandate")
        verbose_name_plural = _("mandates")
        ordering = ["representative_id", "-term_start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(term_end__gte=models.F("term_start")), name="mandate_term_order"
            ),
            models.UniqueConstraint(
                fields=["representative", "level", "congress"], name="mandate_unique_per_congress"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} · {self.congress}"

    def clean(self) -> None:
        if self.term_start and self.term_end and self.term_end < self.term_start:
            raise ValidationError({"term_end": _("The term cannot end before it starts.")})

    def is_active_on(self, day: datetime.date) -> bool:
        return self.term_start <= day <= self.term_end


class Group(models.Model):
    """A representatives' group (代表小组/代表队), with a leader and a liaison."""

    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="rep_groups",
        limit_choices_to={"level__in": [Region.Level.COUNTY, Region.Level.TOWNSHIP]},
    )
    leader = models.ForeignKey(
        Representative,
        verbose_name=_("leader"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    liaison = models.ForeignKey(
        Representative,
        verbose_name=_("liaison"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    members = models.ManyToManyField(
        Representative, verbose_name=_("members"), through="GroupMembership", related_name="rep_groups"
    )

    objects = GroupQuerySet.as_manager()

    class Meta:
        verbose_name = _("representatives' group")
        verbose_name_plural = _("representatives' groups")
        ordering = ["region__path", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "level", "name"], name="group_unique_name")]

    def __str__(self) -> str:
        return self.name


class GroupMembership(models.Model):
    group = models.ForeignKey(
        Group, verbose_name=_("group"), on_delete=models.CASCADE, related_name="memberships"
    )
    representative = models.ForeignKey(
        Representative, verbose_name=_("representative"), on_delete=models.CASCADE, related_name="memberships"
    )
    # Copied from the group so that the database can hold "one group per level" for each rep.
    level = models.CharField(_("level"), max_length=16, choices=Level.choices, editable=False)

    class Meta:
        verbose_name = _("group membership")
        verbose_name_plural = _("group memberships")
        constraints = [
            models.UniqueConstraint(fields=["representative", "level"], name="one_group_per_level"),
        ]

    def __str__(self) -> str:
        return f"{self.representative} · {self.group}"

    def save(self, *args, **kwargs):
        self.level = self.group.level
        super().save(*args, **kwargs)


class CommitteeLink(models.Model):
    """A party committee member (党委委员) links a few representatives (3–5 by default)."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("committee member"),
        on_delete=models.CASCADE,
        related_name="committee_links",
    )
    representative = models.ForeignKey(
        Representative,
        verbose_name=_("representative"),
        on_delete=models.CASCADE,
        related_name="committee_links",
    )
    since = models.DateField(_("since"), default=timezone.localdate)

    objects = CommitteeLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("committee member link")
        verbose_name_plural = _("committee member links")
        constraints = [
            models.UniqueConstraint(fields=["member", "representative"], name="committee_link_once")
        ]

    def __str__(self) -> str:
        return f"{self.member} → {self.representative}"


class Contact(models.Model):
    """A party member or resident in a representative's contact network."""

    class Kind(models.TextChoices):
        PARTY_MEMBER = "party_member", _("Party member")
        RESIDENT = "resident", _("Resident")

    # Focus categories; booleans, so quotas and filters are plain column tests.
    CATEGORY_FIELDS = (
        "is_low_income",
        "is_business_backbone",
        "is_wealth_leader",
        "is_difficult_household",
        "is_old_party_member",
        "is_poor_party_member",
    )

    name = models.CharField(_("name"), max_length=32)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.RESIDENT)
    phone = models.CharField(_("phone"), max_length=24, blank=True)
    village = models.ForeignKey(
        Region,
        verbose_name=_("village / community"),
        on_delete=models.PROTECT,
        related_name="contacts",
        limit_choices_to={"level": Region.Level.VILLAGE},
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_low_income = models.BooleanField(_("low-income"), default=False)
    is_business_backbone = models.BooleanField(_("business backbone"), default=False)
    is_wealth_leader = models.BooleanField(_("wealth leader"), default=False)
    is_difficult_household = models.BooleanField(_("difficult household"), default=False)
    is_old_party_member = models.BooleanField(_("old party member"), default=False)
    is_poor_party_member = models.BooleanField(_("poor party member"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["village__path", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "phone"],
                condition=~models.Q(phone=""),
                name="contact_unique_name_phone",
                violation_error_message=_("A contact with this name and phone number already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        clean_phone_field(self)
        if self.village_id and self.village.level != Region.Level.VILLAGE:
            raise ValidationError({"village": _("Choose a village or community.")})

    @property
    def categories(self) -> list[str]:
        return [str(self._meta.get_field(f).verbose_name) for f in self.CATEGORY_FIELDS if getattr(self, f)]


class ContactLink(models.Model):
    """A representative keeps in touch with a contact, possibly as a pairing (结对帮扶)."""

    representative = models.ForeignKey(
        Representative,
        verbose_name=_("representative"),
        on_delete=models.CASCADE,
        related_name="contact_links",
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="links"
    )
    since = models.DateField(_("since"), default=timezone.localdate)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    is_pairing = models.BooleanField(_("pairing (结对帮扶)"), default=False)

    objects = ContactLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact link")
        verbose_name_plural = _("contact links")
        constraints = [
            models.UniqueConstraint(fields=["representative", "contact"], name="contact_link_once")
        ]

    def __str__(self) -> str:
        return f"{self.representative} → {self.contact}"


class HomeVisit(models.Model):
    """A home visit or talk (走访谈心/帮扶) by one or more reps to one or more contacts."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("Home visit")
        TALK = "talk", _("Heart-to-heart talk")
        ASSISTANCE = "assistance", _("Pairing assistance")
        SURVEY = "survey", _("Survey")

    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.VISIT)
    township = models.ForeignKey(
        Region,
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        related_name="home_visits",
        help_text=_("The township the visit took place in (from the contacts' village)."),
    )
    representatives = models.ManyToManyField(
        Representative, verbose_name=_("representatives"), related_name="visits"
    )
    contacts = models.ManyToManyField(Contact, verbose_name=_("contacts"), related_name="visits")
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
    # Two posts of one form carry the same nonce: the second finds the visit the first recorded.
    submission_token = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)

    objects = HomeVisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("home visit")
        verbose_name_plural = _("home visits")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()}"


class VisitMatter(models.Model):
    """A matter raised during a visit: answered on the spot, or to become a suggestion ticket
    (the same two flags, constraint and rule as ``studios.ReceptionMatter``)."""

    visit = models.ForeignKey(
        HomeVisit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="matters"
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
                name="visit_matter_answered_or_ticket",
            )
        ]

    def __str__(self) -> str:
        return self.content[:40]

    def clean(self) -> None:
        if self.answered_on_spot and not self.answer.strip():
            raise ValidationError({"answer": _("Say what was answered on the spot.")})
        if self.answered_on_spot and self.for_ticket:
            raise ValidationError(_("A matter is either answered on the spot or turned into a ticket."))


class VisitPhoto(models.Model):
    visit = models.ForeignKey(
        HomeVisit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.ImageField(_("photo"), upload_to="reps/visits/%Y/%m/")

    class Meta:
        verbose_name = _("visit photo")
        verbose_name_plural = _("visit photos")

    def __str__(self) -> str:
        return self.image.name


def research_report_path(instance, filename: str) -> str:
    dot = filename.rfind(".")
    suffix = filename[dot:].lower()[:6] if dot != -1 else ""
    return f"reps/reports/{timezone.localdate():%Y/%m}/{secrets.token_hex(12)}{suffix}"


class ResearchReport(models.Model):
    """A research report (调研报告) handed in by a representative."""

    representative = models.ForeignKey(
        Representative,
        verbose_name=_("representative"),
        on_delete=models.CASCADE,
        related_name="research_reports",
    )
    title = models.CharField(_("title"), max_length=200)
    submitted_on = models.DateField(_("submitted on"))
    summary = models.TextField(_("summary"), blank=True, max_length=4000)
    # The report itself, a PDF or a photo of the paper (``liaison.uploads.clean_attachment``),
    # stored under a random name and served only through the scoped view ``reps:report_file``.
    file = models.FileField(_("file"), upload_to=research_report_path, blank=True)
    file_name = models.CharField(_("file name"), max_length=120, blank=True)
    content_type = models.CharField(_("type"), max_length=64, blank=True, editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # Two posts of one form carry the same token: the second finds the report the first made.
    submission_token = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)

    objects = ResearchReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("research report")
        verbose_name_plural = _("research reports")
        ordering = ["-submitted_on", "-id"]

    def __str__(self) -> str:
        return self.title


def duty_report_path(instance, filename: str) -> str:
    dot = filename.rfind(".")
    suffix = filename[dot:].lower()[:6] if dot != -1 else ""
    return f"reps/duty-reports/{timezone.localdate():%Y/%m}/{secrets.token_hex(12)}{suffix}"


class DutyReport(models.Model):
    """A representative's year-end duty report (述职) to their electoral unit, or the half-year
    report a county's ``DutyPolicy.half_year_report`` asks for: one of each kind per rep and year.

    The rep may change it until staff record the electoral unit's evaluation (满意 / 基本满意 /
    不满意 counts); from then on it is the record that was evaluated."""

    class Kind(models.TextChoices):
        YEAR = "year", _("year-end duty report (述职)")
        HALF = "half", _("half-year report")

    representative = models.ForeignKey(
        Representative,
        verbose_name=_("representative"),
        on_delete=models.CASCADE,
        related_name="duty_reports",
    )
    year = models.PositiveSmallIntegerField(_("year"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.YEAR)
    text = models.TextField(_("text"), blank=True, max_length=8000)
    # As ``ResearchReport.file``: a PDF or a photo, checked by ``clean_attachment``, stored under a
    # random name and served only through the scoped view ``reps:duty_report_file``.
    file = models.FileField(_("file"), upload_to=duty_report_path, blank=True)
    file_name = models.CharField(_("file name"), max_length=120, blank=True)
    content_type = models.CharField(_("type"), max_length=64, blank=True, editable=False)
    submitted_on = models.DateField(_("submitted on"))
    updated_at = models.DateTimeField(_("last changed"), default=timezone.now, editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # The nonce of the last post that made or changed it: that post sent again changes nothing.
    submission_token = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)
    satisfied = models.PositiveIntegerField(_("satisfied (满意)"), null=True, blank=True)
    basically_satisfied = models.PositiveIntegerField(
        _("basically satisfied (基本满意)"), null=True, blank=True
    )
    unsatisfied = models.PositiveIntegerField(_("unsatisfied (不满意)"), null=True, blank=True)
    evaluated_at = models.DateTimeField(_("evaluated at"), null=True, blank=True, editable=False)
    evaluated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("evaluated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = DutyReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("duty report")
        verbose_name_plural = _("duty reports")
        ordering = ["-year", "kind", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["representative", "year", "kind"], name="one_duty_report_per_year"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.representative} {self.year} {self.get_kind_display()}"

    @property
    def evaluated(self) -> bool:
        return self.evaluated_at is not None


class DutyPolicy(models.Model):
    """The duty quotas of a county, from a date on. A change applies to the whole period
    (year, quarter, month) in which it takes effect; earlier periods keep the old numbers."""

    county = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="duty_policies",
        limit_choices_to={"level": Region.Level.COUNTY},
    )
    effective_from = models.DateField(_("effective from"))
    contacts_per_rep = models.PositiveSmallIntegerField(_("contacts per representative"), default=5)
    visits_per_contact_per_year = models.PositiveSmallIntegerField(
        _("visits per contact per year"), default=2
    )
    pairing_poor_party_members = models.PositiveSmallIntegerField(_("paired poor party members"), default=1)
    pairing_difficult_households = models.PositiveSmallIntegerField(
        _("paired difficult households"), default=1
    )
    reps_per_committee_member_min = models.PositiveSmallIntegerField(
        _("reps per committee member, at least"), default=3
    )
    reps_per_committee_member_max = models.PositiveSmallIntegerField(
        _("reps per committee member, at most"), default=5
    )

    class ResearchRule(models.TextChoices):
        TERM_EITHER = "term_either", _("Within the term: the suggestions or the research reports")
        YEARLY_BOTH = "yearly_both", _("Every year: the suggestions and the research reports")

    # Seed 000 gives two readings of the research duty. Its second and third pieces, two
    # counties' adopted rules (党代表联系党员群众制度, "四、调查研究"), both say "任期内至少要提出2项具有
    # 建设性的意见、建议或1篇具有指导意义的调研报告": within the term, 2 suggestions OR 1 report. Only
    # its fifth piece, a draft for comment (征求意见稿), says "任期内每年至少要提出2项…,撰写1篇…调研
    # 报告": every year, 2 suggestions AND 1 report. Two texts to one, and the one not a draft: the
    # term reading is the default; a county that follows the other chooses it here.
    research_rule = models.CharField(
        _("research duty"),
        max_length=16,
        choices=ResearchRule.choices,
        default=ResearchRule.TERM_EITHER,
        help_text=_(
            "Seed 000 reads both ways: within the term, the suggestions or the research reports below; "
            "or every year, both."
        ),
    )
    suggestions_per_year = models.PositiveSmallIntegerField(
        _("constructive suggestions per year"),
        default=2,
        help_text=_("Under the “within the term” research duty, the number for the whole term."),
    )
    research_reports_per_year = models.PositiveSmallIntegerField(
        _("research reports per year"),
        default=1,
        help_text=_("Under the “within the term” research duty, the number for the whole term."),
    )
    receptions_per_quarter = models.PositiveSmallIntegerField(_("studio receptions per quarter"), default=2)
    receptions_per_quarter_province = models.PositiveSmallIntegerField(
        _("studio receptions per quarter (provincial reps)"), default=1
    )
    four_ones = models.BooleanField(_("monthly “four ones” (四个一)"), default=False)
    activity_funds_per_year = models.DecimalField(
        _("activity funds per representative per year (yuan)"),
        max_digits=8,
        decimal_places=2,
        default=Decimal(800),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_(
            "Seed 000: at least 800 yuan a year, accounted separately; the unspent balance carries over."
        ),
    )
    half_year_report = models.BooleanField(
        _("half-year report"),
        default=False,
        help_text=_(
            "Besides the year-end duty report (述职), each rep hands in a report on the first half-year."
        ),
    )

    objects = DutyPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("duty policy")
        verbose_name_plural = _("duty policies")
        ordering = ["county_id", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["county", "effective_from"], name="one_policy_per_day"),
            models.CheckConstraint(
                condition=models.Q(
                    reps_per_committee_member_min__lte=models.F("reps_per_committee_member_max")
                ),
                name="committee_min_le_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.effective_from:%Y-%m-%d}"


def _points(label, default: str, help_text=""):
    return models.DecimalField(
        label,
        max_digits=5,
        decimal_places=1,
        default=Decimal(default),
        validators=[MinValueValidator(Decimal(0))],
        help_text=help_text,
    )


SCORE_VALIDATORS = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


class PointsPolicy(models.Model):
    """How a county scores its representatives' year (考核积分制, seed 004), from a date on.

    Versioned like ``DutyPolicy``, and read by the same rule (``reps.points``): the version in force
    on the year's reference day (31 December, or today for the current year) scores the whole year.
    Routine points come from the records, never typed; the year's total weighs them against the
    year-end review (民主评议): routine × w + review × (1 − w)."""

    county = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="points_policies",
        limit_choices_to={"level": Region.Level.COUNTY},
    )
    effective_from = models.DateField(_("effective from"))
    per_duty_met = _points(
        _("points per duty met"),
        "2",
        _("For each duty quota met in a period (the cells of the duty status)."),
    )
    per_duty_missed = _points(
        _("points deducted per duty missed"), "2", _("For each duty quota behind at the end of its period.")
    )
    per_reception = _points(_("points per studio reception"), "2")
    per_visit = _points(_("points per home visit"), "1")
    per_suggestion = _points(_("points per suggestion"), "3", _("For the responsible representative."))
    per_adopted = _points(_("extra points per adopted suggestion"), "5")
    per_report = _points(_("points per research or public-opinion report"), "3")
    per_duty_report = _points(
        _("points per duty report (述职)"), "5", _("The year-end and half-year reports.")
    )
    per_activity = _points(
        _("points per sitting-in or inspection"),
        "2",
        _("Sitting in on a meeting (列席), an inspection (视察)."),
    )
    full_marks = models.PositiveSmallIntegerField(
        _("routine points for full marks"),
        default=100,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Routine points worth a score of 100 for a whole year in office; prorated by the days in office."
        ),
    )
    routine_weight = models.DecimalField(
        _("weight of routine points"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.30"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text=_("Seed 004 weighs routine and year-end 3:7 (0.30); elsewhere 5:5 (0.50)."),
    )

    objects = PointsPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("points policy")
        verbose_name_plural = _("points policies")
        ordering = ["county_id", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["county", "effective_from"], name="one_points_policy_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.effective_from:%Y-%m-%d}"


class ReviewScore(models.Model):
    """A representative's year-end democratic review score (民主评议), 0–100, entered or imported by staff."""

    representative = models.ForeignKey(
        Representative,
        verbose_name=_("representative"),
        on_delete=models.CASCADE,
        related_name="review_scores",
    )
    year = models.PositiveSmallIntegerField(_("year"))
    score = models.DecimalField(
        _("review score"), max_digits=4, decimal_places=1, validators=SCORE_VALIDATORS
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("entered by"), on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered at"), default=timezone.now)

    class Meta:
        verbose_name = _("year-end review score")
        verbose_name_plural = _("year-end review scores")
        constraints = [
            models.UniqueConstraint(fields=["representative", "year"], name="one_review_score_per_year"),
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=100), name="review_score_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.representative} {self.year}: {self.score}"


class AssessmentSheet(models.Model):
    """A county's assessment of a year, published: its rows (``AssessmentEntry``) are frozen; a
    later correction is an ``Amendment`` with a reason."""

    county = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="assessment_sheets",
        limit_choices_to={"level": Region.Level.COUNTY},
    )
    year = models.PositiveSmallIntegerField(_("year"))
    routine_weight = models.DecimalField(_("weight of routine points"), max_digits=3, decimal_places=2)
    published_at = models.DateTimeField(_("published at"), default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("published by"), on_delete=models.PROTECT, related_name="+"
    )

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("published assessment")
        verbose_name_plural = _("published assessments")
        # Publishing twice (a double click, two clerks) makes one sheet: the second insert fails.
        constraints = [
            models.UniqueConstraint(fields=["county", "year"], name="one_assessment_per_county_year")
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.year}"


class AssessmentEntry(models.Model):
    """One representative's row of a published sheet, as it stood when published (or amended)."""

    sheet = models.ForeignKey(
        AssessmentSheet, verbose_name=_("assessment"), on_delete=models.CASCADE, related_name="entries"
    )
    representative = models.ForeignKey(
        Representative, verbose_name=_("representative"), on_delete=models.PROTECT, related_name="+"
    )
    township = models.ForeignKey(
        Region, verbose_name=_("township"), on_delete=models.PROTECT, related_name="+"
    )
    routine_points = models.DecimalField(_("routine points"), max_digits=7, decimal_places=1)
    routine_score = models.DecimalField(_("routine score"), max_digits=4, decimal_places=1)
    review_score = models.DecimalField(_("review score"), max_digits=4, decimal_places=1, null=True)
    total = models.DecimalField(_("total"), max_digits=4, decimal_places=1, null=True)
    breakdown = models.JSONField(_("breakdown"), default=list)
    # The policy's full marks prorated by the days in office, as the routine score was made from
    # them: a rep in office half the year scores 34.0 for 17 points, and the sheet says why.
    full_marks = models.PositiveSmallIntegerField(_("full marks for the days in office"), null=True)

    class Meta:
        verbose_name = _("assessment row")
        verbose_name_plural = _("assessment rows")
        constraints = [models.UniqueConstraint(fields=["sheet", "representative"], name="one_entry_per_rep")]

    def __str__(self) -> str:
        return f"{self.sheet} · {self.representative}"


class Amendment(models.Model):
    """A correction of a published row: who, when, the scores before and after, and why."""

    entry = models.ForeignKey(
        AssessmentEntry, verbose_name=_("assessment row"), on_delete=models.CASCADE, related_name="amendments"
    )
    amended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("amended by"), on_delete=models.PROTECT, related_name="+"
    )
    amended_at = models.DateTimeField(_("amended at"), default=timezone.now)
    reason = models.TextField(_("reason"), max_length=1000)
    old_routine_score = models.DecimalField(max_digits=4, decimal_places=1)
    new_routine_score = models.DecimalField(max_digits=4, decimal_places=1)
    old_review_score = models.DecimalField(max_digits=4, decimal_places=1, null=True)
    new_review_score = models.DecimalField(max_digits=4, decimal_places=1, null=True)
    old_total = models.DecimalField(max_digits=4, decimal_places=1, null=True)
    new_total = models.DecimalField(max_digits=4, decimal_places=1, null=True)

    class Meta:
        verbose_name = _("amendment")
        verbose_name_plural = _("amendments")
        ordering = ["amended_at", "id"]

    def __str__(self) -> str:
        return f"{self.entry} {self.amended_at:%Y-%m-%d}"


class ImportJob(models.Model):
    """One uploaded sheet of representatives or contacts (or of a higher app's kind: the 12345
    hotline's work orders, registered by ``proposals``), checked and then imported in the background.

    The lifecycle (``Status``) is driven by ``reps.importing``: uploaded → checking → ready or
    invalid; ready → importing → done or failed. ``errors`` holds the bad rows found by the
    check, each ``{"row", "column", "message", "params"}`` with the English message id, so that
    every reader sees it in their own language.
    """

    class Kind(models.TextChoices):
        REPRESENTATIVES = "reps", _("Representatives")
        CONTACTS = "contacts", _("Contacts")
        HOTLINE = "hotline", _("12345 hotline work orders")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        CHECKING = "checking", _("Checking")
        READY = "ready", _("Ready to import")
        INVALID = "invalid", _("Has errors")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to="reps/imports/%Y/%m/")
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.CASCADE,
        related_name="rep_import_jobs",
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level__in": [Region.Level.COUNTY, Region.Level.TOWNSHIP]},
        help_text=_("Rows may name only places in this county or township."),
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.file_name or self.file.name}"

    @property
    def percent(self) -> int:
        return min(100, self.processed_rows * 100 // self.total_rows) if self.total_rows else 0

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.UPLOADED, self.Status.CHECKING, self.Status.IMPORTING}


def group_report_path(instance, filename: str) -> str:
    dot = filename.rfind(".")
    suffix = filename[dot:].lower()[:6] if dot != -1 else ""
    return f"reps/group-reports/{timezone.localdate():%Y/%m}/{secrets.token_hex(12)}{suffix}"


class GroupReport(models.Model):
    """A group's written report (书面报告) before its own congress's annual meeting of ``year``,
    filed by the group's leader or liaison: one per group and meeting year (``reps.reminders``
    stops reminding the group once it is in).

    It is due ``GROUP_REPORT_DUE_DAYS`` before the meeting; until then the leader or liaison may
    change it, after that it stays as filed. A group that files after the due day is marked late
    by its ``submitted_on``."""

    group = models.ForeignKey(
        Group, verbose_name=_("group"), on_delete=models.CASCADE, related_name="written_reports"
    )
    year = models.PositiveSmallIntegerField(_("meeting year"))
    due_on = models.DateField(_("due on"))
    text = models.TextField(_("text"), blank=True, max_length=8000)
    # As ``ResearchReport.file``: a PDF or a photo, checked by ``clean_attachment``, stored under a
    # random name and served only through the scoped view ``reps:group_report_file``.
    file = models.FileField(_("file"), upload_to=group_report_path, blank=True)
    file_name = models.CharField(_("file name"), max_length=120, blank=True)
    content_type = models.CharField(_("type"), max_length=64, blank=True, editable=False)
    submitted_on = models.DateField(_("filed on"))
    updated_at = models.DateTimeField(_("last changed"), default=timezone.now, editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # The nonce of the last post that made or changed it: that post sent again changes nothing.
    submission_token = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)

    objects = GroupReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("group report")
        verbose_name_plural = _("group reports")
        ordering = ["-year", "group__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "year"], name="one_group_report_per_year"),
        ]

    def __str__(self) -> str:
        return f"{self.group} {self.year}"

    @property
    def late(self) -> bool:
        return self.submitted_on > self.due_on


class Training(models.Model):
    """A training session (培训) and the representatives who attended it, recorded by staff."""

    date = models.DateField(_("date"))
    title = models.CharField(_("title"), max_length=200)
    hours = models.DecimalField(
        _("hours"),
        max_digits=4,
        decimal_places=1,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
    )
    organiser = models.CharField(_("organiser"), max_length=100, blank=True)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level__in": [Region.Level.COUNTY, Region.Level.TOWNSHIP]},
        help_text=_("The county or township that held it."),
    )
    attendees = models.ManyToManyField(
        Representative, verbose_name=_("attended by"), related_name="trainings"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)

    objects = TrainingQuerySet.as_manager()

    class Meta:
        verbose_name = _("training")
        verbose_name_plural = _("trainings")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.title}"


class FundExpense(models.Model):
    """Money spent from a representative's activity funds (活动经费, seed 000: at least 800 yuan a
    year, accounted separately, the surplus carried over; see ``reps.funds``)."""

    representative = models.ForeignKey(
        Representative,
        verbose_name=_("representative"),
        on_delete=models.PROTECT,
        related_name="fund_expenses",
    )
    date = models.DateField(_("date"))
    amount = models.DecimalField(
        _("amount (yuan)"), max_digits=9, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    purpose = models.CharField(_("purpose"), max_length=200)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)

    objects = FundExpenseQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity fund expense")
        verbose_name_plural = _("activity fund expenses")
        ordering = ["-date", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="fund_expense_positive")]

    def __str__(self) -> str:
        return f"{self.representative} {self.date:%Y-%m-%d} {self.amount}"


class DutyActivity(models.Model):
    """A duty a representative performed away from the studio and recorded themself: sitting in
    on a meeting (列席) or an inspection (视察). It counts in the duty record and the points."""

    class Kind(models.TextChoices):
        SIT_IN = "sit_in", _("Sitting in on a meeting (列席)")
        INSPECTION = "inspection", _("Inspection (视察)")

    representative = models.ForeignKey(
        Representative, verbose_name=_("representative"), on_delete=models.CASCADE, related_name="activities"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    date = models.DateField(_("date"))
    title = models.CharField(_("meeting or place"), max_length=200)
    notes = models.TextField(_("notes"), blank=True, max_length=4000)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)
    # Two posts of one form carry the same nonce: the second finds what the first recorded.
    submission_token = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)

    objects = DutyActivityQuerySet.as_manager()

    class Meta:
        verbose_name = _("sitting-in or inspection")
        verbose_name_plural = _("sittings-in and inspections")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()} {self.title}"

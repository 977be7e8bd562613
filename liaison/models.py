"""The organisation tree, handling units, users and their roles.

Every record in the product belongs to a region, and a region knows its place in the tree by a
materialised ``path`` ("/1/4/17/"). Scoping a user is then one ``path__startswith`` per root
they may see, whatever the depth: see ``liaison.scoping``.
"""

from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from liaison.querysets import (
    AnnualMeetingQuerySet,
    DeliveryQuerySet,
    HandlingUnitQuerySet,
    LoginThrottleQuerySet,
    NotificationQuerySet,
    RegionQuerySet,
    ReminderQuerySet,
    RoleAssignmentQuerySet,
    ScopedQuerySet,
    SecurityPolicyQuerySet,
    UserQuerySet,
)
from liaison.regions import county_id_of_path, county_path_of_path
from liaison.roles import ANCHOR_LEVEL, Role
from liaison.validators import clean_phone_field


class Region(models.Model):
    class Level(models.TextChoices):
        COUNTY = "county", _("County / district")
        TOWNSHIP = "township", _("Township / street")
        VILLAGE = "village", _("Village / community")

    # Which level a parent must have for each level of child.
    PARENT_LEVEL = {Level.COUNTY: None, Level.TOWNSHIP: Level.COUNTY, Level.VILLAGE: Level.TOWNSHIP}

    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    code = models.CharField(
        _("administrative code"),
        max_length=12,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The 6–12 digit administrative division code, if known."),
    )
    path = models.CharField(_("tree path"), max_length=255, editable=False, db_index=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="region_unique_name_per_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # The path is the row's address in the tree, not business state: it is written
        # once, when the row first gets its id, and regions never move (see clean()).
        super().save(*args, **kwargs)
        if not self.path:
            prefix = self.parent.path if self.parent_id else "/"
            self.path = f"{prefix}{self.pk}/"
            Region.objects.filter(pk=self.pk).update(path=self.path)

    def clean(self) -> None:
        expected = self.PARENT_LEVEL.get(self.level)
        if expected is None and self.parent_id:
            raise ValidationError({"parent": _("A county has no parent region.")})
        if expected is not None and (self.parent is None or self.parent.level != expected):
            raise ValidationError(
                {
                    "parent": _("The parent of a %(level)s must be a %(parent)s.")
                    % {"level": self.get_level_display(), "parent": self.Level(expected).label}
                }
            )
        if (
            self.pk
            and self.parent_id
            != Region.objects.filter(pk=self.pk).values_list("parent_id", flat=True).first()
        ):
            raise ValidationError({"parent": _("A region cannot be moved to another parent.")})

    @property
    def full_name(self) -> str:
        """Return the name with its ancestors, e.g. "和平县 城关镇 东街社区"."""
        ids = [int(part) for part in self.path.strip("/").split("/") if part]
        names = dict(Region.objects.filter(pk__in=ids).values_list("pk", "name"))
        return " ".join(names[i] for i in ids if i in names)

    def is_within(self, other: Region) -> bool:
        return self.path.startswith(other.path)

    @property
    def county_id(self) -> int:
        """The id of the county this region lies in (its own, for a county)."""
        return county_id_of_path(self.path)

    @property
    def county_path(self) -> str:
        """The path of the county this region lies in: every region of the county starts with it."""
        return county_path_of_path(self.path)


class HandlingUnit(models.Model):
    """A unit that handles tickets: a county bureau or a township office."""

    name = models.CharField(_("name"), max_length=100)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="units",
        limit_choices_to={"level__in": [Region.Level.COUNTY, Region.Level.TOWNSHIP]},
        help_text=_("The county for a county department, the township for a township office."),
    )
    contact_person = models.CharField(_("contact person"), max_length=32, blank=True)
    phone = models.CharField(_("phone"), max_length=24, blank=True)
    email = models.EmailField(_("email"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = HandlingUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("handling unit")
        verbose_name_plural = _("handling units")
        ordering = ["region__path", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="unit_unique_name_per_region")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        clean_phone_field(self)

    @property
    def level(self) -> str:
        return self.region.level


class Category(models.Model):
    """The one list of matter categories (城乡建设, 民生保障, 交通出行, ...), admin-editable, read by
    tickets, reception and visit matters and public-opinion reports alike."""

    name = models.CharField(_("name"), max_length=32, unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class AnnualMeeting(models.Model):
    """The date of an annual party congress meeting (年会) in a given year: a county's, or, with
    ``township`` set, a township congress's (乡镇党代会年会制, seed 000's fifth piece). Each group
    reports 15 days before its own congress's meeting (seed 000: a township group to the
    township's congress office), see ``reps.reminders``."""

    county = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="annual_meetings",
        limit_choices_to={"level": Region.Level.COUNTY},
    )
    township = models.ForeignKey(
        Region,
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        related_name="township_annual_meetings",
        null=True,
        blank=True,
        limit_choices_to={"level": Region.Level.TOWNSHIP},
        help_text=_("Empty for the county's own meeting; else the township whose congress meets."),
    )
    year = models.PositiveSmallIntegerField(_("year"))
    date = models.DateField(_("meeting date"))
    title = models.CharField(_("title"), max_length=100, blank=True)

    objects = AnnualMeetingQuerySet.as_manager()

    class Meta:
        verbose_name = _("annual congress meeting")
        verbose_name_plural = _("annual congress meetings")
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "year"],
                condition=models.Q(township__isnull=True),
                name="one_annual_meeting_per_year",
                violation_error_message=_("The county already has its annual meeting in this year."),
            ),
            models.UniqueConstraint(
                fields=["township", "year"],
                condition=models.Q(township__isnull=False),
                name="one_township_meeting_per_year",
                violation_error_message=_("The township already has its annual meeting in this year."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.township or self.county} {self.year}"

    def clean(self) -> None:
        if self.date and self.year and self.date.year != self.year:
            raise ValidationError(
                {"date": _("The date must fall in the year %(year)s.") % {"year": self.year}}
            )
        if self.county_id and self.county.level != Region.Level.COUNTY:
            raise ValidationError({"county": _("Choose a county or district.")})
        if self.township_id and (
            self.township.level != Region.Level.TOWNSHIP or self.township.parent_id != self.county_id
        ):
            raise ValidationError({"township": _("Choose a township of this county.")})


class LiaisonUserManager(UserManager.from_queryset(UserQuerySet)):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.pop("is_staff", None)  # derived from roles, see User.is_staff
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(username, email, password, **extra_fields)

    def create_user(self, username, email=None, password=None, **extra_fields):
        extra_fields.pop("is_staff", None)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in. What they may see and do comes from their role assignments."""

    # Chinese names are not split into first and last name.
    first_name = None
    last_name = None
    name = models.CharField(_("full name"), max_length=32, blank=True)
    phone = models.CharField(_("phone"), max_length=24, blank=True)
    # Which channels besides the in-app inbox reach this user; a blank address reaches no one.
    notify_by_email = models.BooleanField(_("notify by email"), default=True)
    notify_by_sms = models.BooleanField(_("notify by SMS"), default=True)

    objects = LiaisonUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.name or self.username

    def get_full_name(self) -> str:
        return self.name or self.username

    def get_short_name(self) -> str:
        return self.name or self.username

    def clean(self) -> None:
        super().clean()
        clean_phone_field(self)

    @property
    def is_staff(self) -> bool:
        """Whether the user may use the admin: a superuser, or a holder of a staff role."""
        return self.is_active and (self.is_superuser or self.scope.is_staff)

    @cached_property
    def scope(self):
        """What this user may see, computed once per request from their role assignments."""
        from liaison.scoping import Scope

        return Scope.for_user(self)


class RoleAssignment(models.Model):
    """One role held by one user, anchored in a region or a handling unit."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="role_assignments",
        limit_choices_to={"level__in": [Region.Level.COUNTY, Region.Level.TOWNSHIP]},
    )
    unit = models.ForeignKey(
        HandlingUnit,
        verbose_name=_("handling unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff_roles",
    )
    created_at = models.DateTimeField(_("granted at"), default=timezone.now, editable=False)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["user_id", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "region"],
                condition=models.Q(unit__isnull=True),
                name="role_unique_per_region",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "unit"],
                condition=models.Q(unit__isnull=False),
                name="role_unique_per_unit",
            ),
            models.CheckConstraint(
                condition=models.Q(region__isnull=False) | models.Q(unit__isnull=False),
                name="role_has_anchor",
            ),
        ]

    def __str__(self) -> str:
        anchor = self.unit or self.region
        return f"{self.get_role_display()} · {anchor}"

    def clean(self) -> None:
        """Check that the role is anchored where it belongs."""
        if self.role == Role.HANDLING_UNIT:
            if not self.unit_id:
                raise ValidationError({"unit": _("Handling-unit staff must name their unit.")})
            self.region = self.unit.region
            return
        if self.unit_id:
            raise ValidationError({"unit": _("Only handling-unit staff belong to a unit.")})
        if not self.region_id:
            raise ValidationError({"region": _("This role needs a region.")})
        wanted = ANCHOR_LEVEL.get(self.role)
        if wanted and self.region.level not in wanted:
            raise ValidationError(
                {
                    "region": _("A %(role)s is anchored at: %(levels)s.")
                    % {
                        "role": Role(self.role).label,
                        "levels": "、".join(str(Region.Level(level).label) for level in wanted),
                    }
                }
            )

    @property
    def anchor_path(self) -> str:
        return (self.unit.region if self.unit_id else self.region).path


class Heartbeat(models.Model):
    """When a periodic process last reported in: proves beat and a worker are running."""

    name = models.CharField(_("name"), max_length=32, unique=True)
    seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class AuditEvent(models.Model):
    """One change made by someone, append-only: who did what to which record, and when.

    Services write these (``liaison.audit.record``); nothing updates or deletes them: on
    PostgreSQL a trigger refuses UPDATE and DELETE (migration 0008), except the retention purge
    of rows older than the policy keeps them (``purge_audit``). A user who acted is therefore
    never deleted (``actor`` PROTECTs): deactivate them instead. Ticket transitions have their
    own event table (the ticket timeline), which is also their outbox, and as append-only.
    """

    class Outcome(models.TextChoices):
        OK = "ok", _("done")
        REFUSED = "refused", _("refused")

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, verbose_name=_("actor"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.OK)
    verb = models.CharField(_("action"), max_length=48)
    subject_type = models.CharField(_("record type"), max_length=64)
    subject_id = models.CharField(_("record id"), max_length=40)
    subject_label = models.CharField(_("record"), max_length=200)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(_("details"), default=dict, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.verb} {self.subject_label}"


# --- Notifications --------------------------------------------------------------------------
# Reminder → Notification → Delivery is append-only: a reminder records that something is owed
# about a subject (once per subject, kind and period), a notification that one user was told
# (their inbox), a delivery that it was sent to them by email or SMS. ``liaison.notify`` writes
# all three; nothing in the admin may change them.


class Reminder(models.Model):
    """That a ``kind`` notice about one subject is owed for one period: exists at most once."""

    subject_type = models.CharField(_("record type"), max_length=64)
    subject_id = models.BigIntegerField(_("record id"))
    kind = models.CharField(_("kind"), max_length=48)
    period = models.CharField(_("period"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    batch = models.CharField(_("batch"), max_length=32, db_index=True)

    objects = ReminderQuerySet.as_manager()

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "kind", "period"], name="reminder_once_per_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_type}#{self.subject_id} {self.period}".rstrip()


class Notification(models.Model):
    """One person told about one reminder: a user's inbox entry, or a message to an address.

    Someone without an account (a resident who filed a matter) has no ``user`` and no inbox:
    the notification names the ``address`` (a phone number) that its one delivery goes to.
    """

    user = models.ForeignKey(
        User,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    address = models.CharField(
        _("address"),
        max_length=254,
        blank=True,
        help_text=_("The phone number or email of a recipient without an account."),
    )
    reminder = models.ForeignKey(
        Reminder, verbose_name=_("reminder"), on_delete=models.CASCADE, related_name="notifications"
    )
    # Copied from the reminder so that an inbox page renders without joining it.
    kind = models.CharField(_("kind"), max_length=48)
    subject_type = models.CharField(_("record type"), max_length=64)
    subject_id = models.BigIntegerField(_("record id"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    batch = models.CharField(_("batch"), max_length=32, db_index=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["reminder", "user"], name="notification_once_per_user"),
            models.UniqueConstraint(
                fields=["reminder", "address"],
                condition=models.Q(user__isnull=True),
                name="notification_once_per_address",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, address="")
                | (models.Q(user__isnull=True) & ~models.Q(address="")),
                name="notification_user_or_address",
            ),
        ]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_inbox_idx")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id or self.address}"


class Delivery(models.Model):
    """One notification sent to its user by email or SMS, with its attempts."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    notification = models.ForeignKey(
        Notification, verbose_name=_("notification"), on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    address = models.CharField(_("address"), max_length=254)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # When a worker may next pick it up: a claim or a failed attempt moves it forward.
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    batch = models.CharField(_("batch"), max_length=32)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.address}"

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt, so a provider (or a mail client) drops a repeat."""
        return f"liaison-delivery-{self.pk}"


# --- Security policy ------------------------------------------------------------------------


def _default_two_factor_roles() -> list[str]:
    return [Role.LIAISON_OFFICE, Role.TOWNSHIP_STAFF, Role.STUDIO_OFFICER, Role.HANDLING_UNIT]


class SecurityPolicy(models.Model):
    """A county's rules for signing in and staying signed in, and for keeping records.

    ``liaison.security.policy_for(user)`` gives the policy that applies to a user: their
    county's, or the strictest of their counties', or these defaults when there is no row.
    """

    county = models.OneToOneField(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="security_policy",
        limit_choices_to={"level": Region.Level.COUNTY},
    )
    idle_timeout_minutes = models.PositiveSmallIntegerField(
        _("idle timeout (minutes)"),
        default=30,
        validators=[MinValueValidator(1)],
        help_text=_("A signed-in user who does nothing for this long is signed out."),
    )
    staff_sessions_end_at_browser_close = models.BooleanField(
        _("staff sessions end when the browser closes"),
        default=True,
        help_text=_(
            "Staff and superusers (not representatives or committee members) sign in again "
            "after closing the browser."
        ),
    )
    single_session = models.BooleanField(
        _("one session per user"),
        default=False,
        help_text=_("Signing in ends the user's sessions on other browsers and devices."),
    )
    lockout_failures = models.PositiveSmallIntegerField(
        _("failed sign-ins before locking"),
        default=5,
        validators=[MinValueValidator(1)],
        help_text=_("This many wrong passwords in a row lock the account."),
    )
    lockout_minutes = models.PositiveSmallIntegerField(
        _("lockout (minutes)"),
        default=15,
        validators=[MinValueValidator(1)],
        help_text=_("How long a locked account stays locked, unless the liaison office unlocks it sooner."),
    )
    two_factor_roles = models.JSONField(
        _("roles that must use two-factor sign-in"),
        default=_default_two_factor_roles,
        blank=True,
        help_text=_("The roles whose holders confirm each sign-in with a second factor."),
    )
    two_factor_superusers = models.BooleanField(_("superusers must use two-factor sign-in"), default=True)
    audit_retention_months = models.PositiveSmallIntegerField(
        _("keep the audit log (months)"),
        default=6,
        validators=[MinValueValidator(6)],
        help_text=_("At least 6 months (Cybersecurity Law, article 21)."),
    )
    anonymise_after_years = models.PositiveSmallIntegerField(
        _("anonymise residents' personal data after (years)"),
        default=5,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Years after a matter is closed before the residents' names and phone numbers are erased."
        ),
    )

    objects = SecurityPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("security policy")
        verbose_name_plural = _("security policies")
        ordering = ["county_id"]

    def __str__(self) -> str:
        return str(self.county) if self.county_id else str(_("default security policy"))

    def clean(self) -> None:
        if self.county_id and self.county.level != Region.Level.COUNTY:
            raise ValidationError({"county": _("Choose a county or district.")})
        roles = self.two_factor_roles
        if not isinstance(roles, list) or any(role not in Role.values for role in roles):
            raise ValidationError(
                {
                    "two_factor_roles": _("List role codes among: %(roles)s.")
                    % {"roles": ", ".join(Role.values)}
                }
            )


# --- Sign-in throttling and sessions --------------------------------------------------------


class LoginThrottle(models.Model):
    """Failed sign-ins counted per username and per client IP, and the lock they lead to.

    ``liaison.lockout`` keeps these rows: each failure adds one to the count of its username
    and of its IP (a count older than the window starts again); reaching the limit locks the
    username (the user's security policy) or the IP (settings) until ``locked_until``. A
    successful sign-in clears its username's row; the liaison office may unlock a row sooner.
    """

    class Kind(models.TextChoices):
        USERNAME = "username", _("account")
        IP = "ip", _("IP address")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    key = models.CharField(_("username or IP address"), max_length=150)
    user = models.ForeignKey(
        User,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The account of this username, when there is one."),
    )
    failures = models.PositiveIntegerField(_("failed sign-ins"), default=0)
    first_failure_at = models.DateTimeField(_("first failure"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    last_ip = models.GenericIPAddressField(_("last IP address"), null=True, blank=True)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True, db_index=True)

    objects = LoginThrottleQuerySet.as_manager()

    class Meta:
        verbose_name = _("sign-in lock")
        verbose_name_plural = _("sign-in locks")
        ordering = ["-last_failure_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="login_throttle_once_per_key")]

    def __str__(self) -> str:
        return self.key

    def is_locked(self, now=None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or timezone.now())


class LoginSession(models.Model):
    """The token of a user's latest sign-in: with the one-session policy, a session that
    carries another token was signed in earlier and is ended (``liaison.session_policy``)."""

    user = models.OneToOneField(
        User, verbose_name=_("user"), on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    token = models.CharField(_("token"), max_length=64)
    signed_in_at = models.DateTimeField(_("signed in"), default=timezone.now)

    class Meta:
        verbose_name = _("latest sign-in")
        verbose_name_plural = _("latest sign-ins")

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.signed_in_at:%Y-%m-%d %H:%M}"

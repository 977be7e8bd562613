from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from liaison import lockout, notify, twofa
from liaison.admin_mixins import CappedCountPaginator, ScopedAdmin, ScopedInline
from liaison.models import (
    AnnualMeeting,
    AuditEvent,
    Category,
    Delivery,
    HandlingUnit,
    Heartbeat,
    LoginThrottle,
    Notification,
    Region,
    Reminder,
    RoleAssignment,
    SecurityPolicy,
    User,
)
from liaison.roles import GRANTABLE_BY, Role


@admin.register(Region)
class RegionAdmin(ScopedAdmin):
    list_display = ["indented_name", "level", "code"]
    list_filter = ["level"]
    search_fields = ["name", "code"]
    list_per_page = 50

    @admin.display(description=_("name"), ordering="path")
    def indented_name(self, obj):
        depth = obj.path.count("/") - 2
        return "\u3000" * depth + obj.name

    def get_readonly_fields(self, request, obj=None):
        return ["level", "parent"] if obj else []


@admin.register(HandlingUnit)
class HandlingUnitAdmin(ScopedAdmin):
    list_display = ["name", "region", "unit_level", "contact_person", "phone", "is_active"]
    list_filter = ["is_active", "region__level", "region"]
    search_fields = ["name", "contact_person", "phone"]
    list_select_related = ["region"]
    list_per_page = 50

    @admin.display(description=_("level"), ordering="region__level")
    def unit_level(self, obj):
        return obj.region.get_level_display()


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """The one category list of tickets, matters and public-opinion reports."""

    list_display = ["name", "order", "is_active"]
    list_editable = ["order", "is_active"]
    search_fields = ["name"]

    def has_delete_permission(self, request, obj=None):
        # A category in use stays (tickets and reports PROTECT it); deactivate it instead.
        return super().has_delete_permission(request, obj) and (obj is None or not _in_use(obj))


def _in_use(obj) -> bool:
    """Whether any row of another app points at ``obj`` (liaison does not know those apps)."""
    for relation in obj._meta.related_objects:
        if relation.related_model.objects.filter(**{relation.field.name: obj}).exists():
            return True
    return False


@admin.register(AnnualMeeting)
class AnnualMeetingAdmin(ScopedAdmin):
    list_display = ["county", "township", "year", "date", "title"]
    list_filter = ["year", "township"]
    list_select_related = ["county", "township"]
    fields = ["county", "township", "year", "date", "title"]


class SecurityPolicyForm(forms.ModelForm):
    two_factor_roles = forms.TypedMultipleChoiceField(
        label=_("roles that must use two-factor sign-in"),
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The roles whose holders confirm each sign-in with a second factor."),
    )

    class Meta:
        model = SecurityPolicy
        fields = [
            "county",
            "idle_timeout_minutes",
            "staff_sessions_end_at_browser_close",
            "single_session",
            "lockout_failures",
            "lockout_minutes",
            "two_factor_roles",
            "two_factor_superusers",
            "audit_retention_months",
            "anonymise_after_years",
        ]


@admin.register(SecurityPolicy)
class SecurityPolicyAdmin(ScopedAdmin):
    """A county's sign-in and retention rules: the liaison office's (and superusers') to edit."""

    form = SecurityPolicyForm
    list_display = [
        "county",
        "idle_timeout_minutes",
        "lockout_failures",
        "lockout_minutes",
        "single_session",
        "two_factor_superusers",
        "audit_retention_months",
        "anonymise_after_years",
    ]
    list_select_related = ["county"]
    fieldsets = [
        (None, {"fields": ["county"]}),
        (
            _("Sessions"),
            {"fields": ["idle_timeout_minutes", "staff_sessions_end_at_browser_close", "single_session"]},
        ),
        (_("Failed sign-ins"), {"fields": ["lockout_failures", "lockout_minutes"]}),
        (_("Two-factor sign-in"), {"fields": ["two_factor_roles", "two_factor_superusers"]}),
        (_("Retention"), {"fields": ["audit_retention_months", "anonymise_after_years"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["county"] if obj else []


class LockedNowFilter(admin.SimpleListFilter):
    """Locked now (what the list opens on), not locked, or all the counts."""

    title = _("status")
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", _("locked now")), ("no", _("not locked")), ("all", _("all"))]

    def value(self):
        return super().value() or "yes"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.locked(now)
        if self.value() == "no":
            return queryset.exclude(locked_until__gt=now)
        return queryset


@admin.register(LoginThrottle)
class LoginThrottleAdmin(admin.ModelAdmin):
    """Accounts and addresses locked after failed sign-ins, and the action that unlocks them.

    The liaison office sees the accounts of its county's users; superusers also see the locked
    IP addresses and the usernames that have no account. Rows are written by sign-ins only."""

    list_display = [
        "key",
        "kind",
        "user",
        "failures",
        "last_failure_at",
        "last_ip",
        "locked_until",
        "locked_now",
    ]
    list_filter = [LockedNowFilter, "kind"]
    list_select_related = ["user"]
    search_fields = ["key", "user__name"]
    actions = ["unlock"]
    fields = list_display[:-1]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    @admin.display(description=_("locked now"), boolean=True)
    def locked_now(self, obj):
        return obj.is_locked()

    @admin.action(description=_("Unlock the selected accounts or addresses"), permissions=["change"])
    def unlock(self, request, queryset):
        count = lockout.unlock(list(queryset), actor=request.user)
        self.message_user(
            request,
            ngettext("%(count)d lock lifted.", "%(count)d locks lifted.", count) % {"count": count},
            messages.SUCCESS,
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RoleAssignmentInline(ScopedInline):
    model = RoleAssignment
    extra = 0
    fields = ["role", "region", "unit"]
    verbose_name_plural = _("roles (only those within your scope are shown)")

    def get_min_num(self, request, obj=None, **kwargs):
        # A user with no role in the clerk's scope would vanish from their lists the moment
        # it is saved: staff create users together with their first role.
        return 0 if request.user.is_superuser or obj is not None else 1

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not request.user.is_superuser:
            allowed = set().union(*(GRANTABLE_BY.get(r, set()) for r in request.user.scope.roles))
            kwargs["choices"] = [(value, label) for value, label in Role.choices if value in allowed]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


@admin.register(User)
class UserAdmin(ScopedAdmin, DjangoUserAdmin):
    list_display = ["username", "name", "phone", "role_summary", "is_active", "last_login"]
    list_filter = ["is_active", "is_superuser", "roles__role"]
    search_fields = ["username", "name", "phone", "email"]
    ordering = ["username"]
    inlines = [RoleAssignmentInline]
    add_form_template = "admin/liaison/user/add_form.html"
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Personal info"), {"fields": ["name", "phone", "email"]}),
        (_("Notifications"), {"fields": ["notify_by_email", "notify_by_sms"]}),
        (_("Status"), {"fields": ["is_active", "is_superuser"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "username",
                    "name",
                    "phone",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        ),
    ]
    readonly_fields = ["last_login", "date_joined"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("roles__region", "roles__unit")

    @admin.display(description=_("roles"))
    def role_summary(self, obj):
        return "；".join(str(r) for r in obj.roles.all())

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser or obj is None:
            return fieldsets
        # Only a superuser may make a superuser.
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f != "is_superuser"]})
            for name, opts in fieldsets
        ]

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or _may_manage(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    actions = ["reset_two_factor"]

    def has_reset_two_factor_permission(self, request):
        """Superusers and the liaison office reset a second factor (of the users they manage)."""
        actor = request.user
        return actor.is_superuser or Role.LIAISON_OFFICE in actor.scope.roles

    @admin.action(
        description=_("Reset two-step sign-in (set up again at next sign-in)"),
        permissions=["reset_two_factor"],
    )
    def reset_two_factor(self, request, queryset):
        users = [user for user in queryset if _may_manage(request.user, user)]
        for user in users:
            twofa.reset(actor=request.user, user=user)
        self.message_user(
            request,
            ngettext(
                "Two-step sign-in reset for %(count)d user: they set it up again at their next sign-in.",
                "Two-step sign-in reset for %(count)d users: they set it up again at their next sign-in.",
                len(users),
            )
            % {"count": len(users)},
            messages.SUCCESS,
        )


def _may_manage(actor, user) -> bool:
    """Whether ``actor`` may change ``user``: every role of the user lies in the actor's scope."""
    if actor.is_superuser:
        return True
    if user.is_superuser:
        return False
    scope = actor.scope
    return all(
        scope.covers_path(role.anchor_path) for role in user.roles.select_related("region", "unit__region")
    )


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "seen_at"]

    def has_module_permission(self, request):
        return request.user.is_superuser


# --- Notifications: an append-only ledger, read-only here --------------------------------------


class KindFilter(admin.SimpleListFilter):
    """The kinds that occur in the rows this user may see (one query)."""

    title = _("kind")
    parameter_name = "kind"
    kind_field = "kind"

    def lookups(self, request, model_admin):
        kinds = model_admin.get_queryset(request).order_by().values_list(self.kind_field, flat=True)
        return [(code, code) for code in sorted(set(kinds.distinct()))]

    def queryset(self, request, queryset):
        return queryset.filter(**{self.kind_field: self.value()}) if self.value() else queryset


class DeliveryKindFilter(KindFilter):
    kind_field = "notification__kind"


class LedgerAdmin(ScopedAdmin):
    """Rows are scoped to the users the staff member may see; nobody adds, edits or deletes them."""

    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Reminder)
class ReminderAdmin(LedgerAdmin):
    list_display = ["created_at", "kind", "subject_type", "subject_id", "period", "batch"]
    list_filter = [KindFilter, "subject_type", "created_at"]
    search_fields = ["batch", "=subject_id"]
    date_hierarchy = "created_at"


@admin.register(Notification)
class NotificationAdmin(LedgerAdmin):
    list_display = ["created_at", "user", "kind", "subject_type", "subject_id", "read_at"]
    list_filter = [KindFilter, ("read_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["user__name", "user__username", "=subject_id", "batch"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"


@admin.register(Delivery)
class DeliveryAdmin(LedgerAdmin):
    list_display = [
        "created_at",
        "recipient",
        "channel",
        "address",
        "kind",
        "status",
        "attempts",
        "last_error",
    ]
    list_filter = ["channel", "status", DeliveryKindFilter, "created_at"]
    search_fields = ["notification__user__name", "notification__user__username", "address"]
    list_select_related = ["notification__user"]
    # The ledgers grow with every notice: no whole-table count per page and no date drill-down
    # (a DISTINCT over every row's date); the created_at filter narrows by date instead.
    paginator = CappedCountPaginator
    show_full_result_count = False
    actions = ["resend_failed"]

    @admin.display(description=_("recipient"), ordering="notification__user__name")
    def recipient(self, obj):
        return obj.notification.user

    @admin.display(description=_("kind"), ordering="notification__kind")
    def kind(self, obj):
        return obj.notification.kind

    def has_resend_permission(self, request):
        return self.has_view_permission(request)

    @admin.action(description=_("Resend failed deliveries"), permissions=["resend"])
    def resend_failed(self, request, queryset):
        failed = list(queryset.filter(status=Delivery.Status.FAILED))
        for delivery in failed:
            notify.delivery_resend(actor=request.user, delivery=delivery)
        self.message_user(
            request,
            ngettext(
                "%(count)d failed delivery was queued again.",
                "%(count)d failed deliveries were queued again.",
                len(failed),
            )
            % {"count": len(failed)},
            messages.SUCCESS,
        )


@admin.register(AuditEvent)
class AuditEventAdmin(LedgerAdmin):
    """The audit log, read-only for everyone, superusers included (the database refuses changes
    anyway); staff read it scoped, as on /audit/."""

    list_display = ["at", "actor", "verb", "subject_type", "subject_id", "subject_label", "ip", "outcome"]
    list_filter = ["outcome", "subject_type", "at"]
    search_fields = ["verb", "subject_label", "=subject_id", "actor__username", "actor__name"]
    list_select_related = ["actor"]
    date_hierarchy = "at"

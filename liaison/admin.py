from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from liaison.admin_mixins import ScopedAdmin, ScopedInline
from liaison.models import AnnualMeeting, HandlingUnit, Heartbeat, Region, RoleAssignment, User
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


@admin.register(AnnualMeeting)
class AnnualMeetingAdmin(ScopedAdmin):
    list_display = ["county", "year", "date", "title"]
    list_filter = ["year"]
    list_select_related = ["county"]


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

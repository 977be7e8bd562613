from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from liaison.admin_mixins import RecordAdmin, ScopedAdmin, ScopedInline
from liaison.pii_admin import MaskedPhoneInline
from studios.models import (
    DutySlot,
    Leave,
    OpinionReport,
    Reception,
    ReceptionMatter,
    ReceptionPhoto,
    RosterPeriod,
    RosterRule,
    SlotChange,
    Studio,
    StudioAssignment,
    Visitor,
)


class AssignmentInline(ScopedInline):
    model = StudioAssignment
    extra = 0
    fields = ["representative", "start", "end"]
    autocomplete_fields = ["representative"]


class RuleInline(admin.StackedInline):
    model = RosterRule
    extra = 0
    fields = [
        ("kind", "is_active"),
        ("weekday", "days_of_month", "week_of_month"),
        "quarter_sunday",
        ("start_time", "end_time"),
        "reps_per_slot",
        "theme",
        "invited_units",
    ]
    filter_horizontal = ["invited_units"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "invited_units":
            from liaison.models import HandlingUnit

            kwargs["queryset"] = HandlingUnit.objects.visible_to(request.user).active()
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Studio)
class StudioAdmin(ScopedAdmin):
    list_display = [
        "name",
        "level",
        "region",
        "area_m2",
        "area_flag",
        "five_ones",
        "liaison_officer",
        "is_active",
    ]
    list_filter = ["level", "is_active", "region"]
    search_fields = ["name", "address", "host_organisation"]
    inlines = [AssignmentInline, RuleInline]
    list_select_related = ["region", "liaison_officer"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "level",
                    "region",
                    "host_organisation",
                    "address",
                    "area_m2",
                    "phone",
                    "liaison_officer",
                    "opened_on",
                    "is_active",
                ]
            },
        ),
        (_("“Five ones” (五个一)"), {"fields": list(Studio.FIVE_ONES)}),
    ]

    @admin.display(description=_("area"), boolean=True)
    def area_flag(self, obj):
        return None if obj.area_m2 is None else not obj.area_below_standard

    @admin.display(description=_("five ones"))
    def five_ones(self, obj):
        done = obj.five_ones_done
        # A class, not style="": the Content-Security-Policy refuses inline styles (admin.css colours it).
        return format_html(
            '<span class="{}">{}/5</span>', "five-ones-done" if done == 5 else "five-ones-short", done
        )

    def get_readonly_fields(self, request, obj=None):
        # The officer keeps the record, not the studio's identity or who runs it.
        if obj and not request.user.scope.region_paths and not request.user.is_superuser:
            return ["name", "level", "region", "liaison_officer", "is_active"]
        return []


@admin.register(Leave)
class LeaveAdmin(ScopedAdmin):
    list_display = ["representative", "start", "end", "reason"]
    search_fields = ["representative__name"]
    autocomplete_fields = ["representative"]

    def get_queryset(self, request):
        from reps.models import Representative

        return Leave.objects.filter(representative__in=Representative.objects.visible_to(request.user))


@admin.register(RosterPeriod)
class RosterPeriodAdmin(ScopedAdmin):
    list_display = ["studio", "start", "end", "status", "slot_count", "published_at", "open_link"]
    list_filter = ["status", "studio__region"]
    search_fields = ["studio__name"]
    readonly_fields = ["studio", "start", "end", "status", "published_at", "published_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("studio").annotate(n=Count("slots"))

    @admin.display(description=_("duties"), ordering="n")
    def slot_count(self, obj):
        return obj.n

    @admin.display(description="")
    def open_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("studios:period", args=[obj.pk]), _("Open the roster")
        )

    def has_add_permission(self, request):
        return False  # periods come from the generator


class ChangeInline(admin.TabularInline):
    model = SlotChange
    extra = 0
    can_delete = False
    readonly_fields = ["changed_at", "changed_by", "reason", "before", "after"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DutySlot)
class DutySlotAdmin(ScopedAdmin):
    """Read-only here: duties change on the roster page, which asks for a reason and checks clashes."""

    list_display = ["studio", "starts_at", "kind", "rep_names", "is_changed"]
    list_filter = ["kind", "is_changed", "period__status", "studio__region"]
    date_hierarchy = "date"
    search_fields = ["studio__name", "representatives__name", "theme"]
    inlines = [ChangeInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("studio").prefetch_related("representatives")

    @admin.display(description=_("representatives"))
    def rep_names(self, obj):
        return "、".join(r.name for r in obj.representatives.all())

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MatterInline(admin.TabularInline):
    model = ReceptionMatter
    extra = 0


class VisitorInline(MaskedPhoneInline, admin.TabularInline):
    model = Visitor
    extra = 0


class ReceptionPhotoInline(admin.TabularInline):
    model = ReceptionPhoto
    extra = 0
    readonly_fields = ["image"]

    def has_add_permission(self, request, obj=None):
        return False  # photos come from the record form, which strips their metadata


@admin.register(Reception)
class ReceptionAdmin(RecordAdmin):
    list_display = ["starts_at", "kind", "studio", "township", "people_received", "matter_count"]
    list_filter = ["kind", "township", "studio"]
    date_hierarchy = "starts_at"
    search_fields = ["place", "notes", "representatives__name", "matters__content"]
    filter_horizontal = ["representatives"]
    inlines = [MatterInline, VisitorInline, ReceptionPhotoInline]
    readonly_fields = ["recorded_by"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("studio", "township")
            .annotate(n_matters=Count("matters"))
        )

    @admin.display(description=_("matters raised"), ordering="n_matters")
    def matter_count(self, obj):
        return obj.n_matters

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(OpinionReport)
class OpinionReportAdmin(ScopedAdmin):
    list_display = ["representative", "month", "category", "submitted_at"]
    list_filter = ["category", "month"]
    list_select_related = ["representative", "category"]
    search_fields = ["representative__name", "content"]
    list_select_related = ["representative"]

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from liaison import audit
from liaison.admin_mixins import RecordAdmin, ScopedAdmin, ScopedInline
from liaison.exports import xlsx_response
from liaison.pii_admin import MaskedPhoneAdmin
from reps import importing
from reps.forms import ContactAdminForm, RepresentativeAdminForm, ResearchReportAdminForm
from reps.models import (
    CommitteeLink,
    Contact,
    ContactLink,
    DutyActivity,
    DutyPolicy,
    FundExpense,
    Group,
    GroupMembership,
    HomeVisit,
    Mandate,
    PointsPolicy,
    Representative,
    ResearchReport,
    Training,
    VisitMatter,
    VisitPhoto,
)


class MandateInline(admin.TabularInline):
    model = Mandate
    extra = 0
    fields = ["level", "congress", "term_start", "term_end", "electoral_unit", "region"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region":
            kwargs["queryset"] = db_field.remote_field.model.objects.exclude(level="village")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MembershipInline(ScopedInline):
    model = GroupMembership
    extra = 0
    fields = ["group"]


class ExcelExportMixin:
    """An "Export to Excel" action, and an export URL for the filtered list (the changelist's
    own query string), both in the import's columns and scoped like the list."""

    export_kind: str
    change_list_template = "reps/import_export_change_list.html"
    actions = ["export_xlsx"]

    @admin.action(description=_("Export to Excel"), permissions=["view"])
    def export_xlsx(self, request, queryset):
        return self.xlsx(request, queryset)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        export = path("export/", self.admin_site.admin_view(self.export_view), name=name)
        return [export, *super().get_urls()]

    def export_view(self, request):
        """Export what the changelist shows with the same filters, search and order."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return redirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist") + "?e=1"
            )
        return self.xlsx(request, changelist.queryset)

    def xlsx(self, request, queryset):
        header, rows = importing.export_rows(self.export_kind, queryset, user=request.user)
        response = xlsx_response(
            self.opts.verbose_name_plural, header, rows, filename=f"{self.opts.verbose_name_plural}.xlsx"
        )
        # An export of people's names and phones is itself audited (等保: exports of personal data).
        audit.record(
            actor=request.user,
            verb="pii.exported",
            subject=request.user,
            region=audit.region_of(request.user, request.user),
            kind=str(self.export_kind),
            rows=queryset.count(),
        )
        return response


@admin.register(Representative)
class RepresentativeAdmin(MaskedPhoneAdmin, ExcelExportMixin, ScopedAdmin):
    export_kind = importing.Kind.REPRESENTATIVES
    form = RepresentativeAdminForm
    list_display = ["name", "region", "title", "levels", "masked_phone", "phone_public", "is_leading_cadre"]
    list_filter = ["region", "mandates__level", "is_leading_cadre", "gender", "phone_public"]
    search_fields = ["name", "name_initials", "phone", "title", "party_branch"]
    inlines = [MandateInline, MembershipInline]
    list_per_page = 50
    autocomplete_fields = ["user"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "gender",
                    "region",
                    "title",
                    "party_branch",
                    "sector",
                    "is_leading_cadre",
                    "user",
                ]
            },
        ),
        (_("Contact"), {"fields": ["phone", "phone_public"]}),
        (_("Public profile"), {"fields": ["photo", "statement", "pledge"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("region").prefetch_related("mandates")

    @admin.display(description=_("levels"))
    def levels(self, obj):
        return "、".join(m.get_level_display() for m in obj.mandates.all())


@admin.register(Group)
class GroupAdmin(ScopedAdmin):
    list_display = ["name", "level", "region", "leader", "liaison", "member_count"]
    list_filter = ["level", "region"]
    search_fields = ["name"]
    inlines = [
        type(
            "GroupMemberInline",
            (ScopedInline,),
            {"model": GroupMembership, "extra": 0, "fields": ["representative"]},
        )
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("region", "leader", "liaison")
            .annotate(n_members=Count("memberships"))
        )

    @admin.display(description=_("members"), ordering="n_members")
    def member_count(self, obj):
        return obj.n_members


@admin.register(CommitteeLink)
class CommitteeLinkAdmin(ScopedAdmin):
    list_display = ["member", "representative", "since"]
    search_fields = ["member__name", "representative__name"]
    list_select_related = ["member", "representative"]


class ContactLinkInline(ScopedInline):
    model = ContactLink
    extra = 0
    fields = ["representative", "since", "ended_on", "is_pairing"]


@admin.register(Contact)
class ContactAdmin(MaskedPhoneAdmin, ExcelExportMixin, ScopedAdmin):
    export_kind = importing.Kind.CONTACTS
    form = ContactAdminForm
    list_display = ["name", "kind", "village", "masked_phone", "category_list"]
    list_filter = ["kind", *Contact.CATEGORY_FIELDS, "village"]
    search_fields = ["name", "phone", "address"]
    inlines = [ContactLinkInline]
    list_select_related = ["village"]
    list_per_page = 50

    @admin.display(description=_("categories"))
    def category_list(self, obj):
        return "、".join(obj.categories)


class MatterInline(admin.TabularInline):
    model = VisitMatter
    extra = 0


class PhotoInline(admin.TabularInline):
    model = VisitPhoto
    extra = 0
    readonly_fields = ["image"]
    can_delete = True

    def has_add_permission(self, request, obj=None):
        return False  # photos come from the visit form, which strips their metadata


@admin.register(HomeVisit)
class HomeVisitAdmin(RecordAdmin):
    list_display = ["date", "kind", "township", "rep_names", "contact_count", "recorded_by"]
    list_filter = ["kind", "township", "date"]
    date_hierarchy = "date"
    search_fields = ["notes", "representatives__name", "contacts__name"]
    filter_horizontal = ["representatives", "contacts"]
    inlines = [MatterInline, PhotoInline]
    readonly_fields = ["recorded_by"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("township", "recorded_by")
            .prefetch_related("representatives")
            .annotate(n_contacts=Count("contacts", distinct=True))
        )

    @admin.display(description=_("representatives"))
    def rep_names(self, obj):
        return "、".join(r.name for r in obj.representatives.all())

    @admin.display(description=_("contacts"), ordering="n_contacts")
    def contact_count(self, obj):
        return obj.n_contacts

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ResearchReport)
class ResearchReportAdmin(ScopedAdmin):
    form = ResearchReportAdminForm
    list_display = ["title", "representative", "submitted_on", "has_file"]
    list_filter = ["submitted_on"]
    search_fields = ["title", "representative__name"]
    list_select_related = ["representative"]
    readonly_fields = ["file_name", "submitted_by"]

    @admin.display(description=_("file"), boolean=True)
    def has_file(self, obj):
        return bool(obj.file)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.submitted_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(DutyPolicy)
class DutyPolicyAdmin(ScopedAdmin):
    list_display = [
        "county",
        "effective_from",
        "contacts_per_rep",
        "visits_per_contact_per_year",
        "research_rule",
        "suggestions_per_year",
        "research_reports_per_year",
        "receptions_per_quarter",
        "four_ones",
    ]
    list_select_related = ["county"]


@admin.register(PointsPolicy)
class PointsPolicyAdmin(ScopedAdmin):
    """A county's points policy, versioned by the day it takes effect (scoped like the duty policy)."""

    list_display = [
        "county",
        "effective_from",
        "per_duty_met",
        "per_duty_missed",
        "per_reception",
        "per_visit",
        "per_suggestion",
        "per_adopted",
        "per_report",
        "full_marks",
        "routine_weight",
    ]
    list_select_related = ["county"]


@admin.register(Training)
class TrainingAdmin(ScopedAdmin):
    """Trainings held by a county or township and who attended (reps in the user's scope only)."""

    list_display = ["date", "title", "hours", "region", "attendee_count"]
    list_filter = ["date"]
    search_fields = ["title", "organiser", "attendees__name"]
    list_select_related = ["region"]
    filter_horizontal = ["attendees"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_attendees=Count("attendees"))

    @admin.display(description=_("attended by"), ordering="n_attendees")
    def attendee_count(self, obj):
        return obj.n_attendees

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(FundExpense)
class FundExpenseAdmin(ScopedAdmin):
    """A rep's activity fund spending (the balance and what carries over: ``reps.funds``)."""

    list_display = ["date", "representative", "amount", "purpose"]
    list_filter = ["date"]
    search_fields = ["representative__name", "purpose"]
    list_select_related = ["representative"]
    autocomplete_fields = ["representative"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(DutyActivity)
class DutyActivityAdmin(ScopedAdmin):
    """Sittings-in and inspections: reps record their own; staff correct or add from paper."""

    list_display = ["date", "representative", "kind", "title"]
    list_filter = ["kind", "date"]
    search_fields = ["representative__name", "title"]
    list_select_related = ["representative"]
    autocomplete_fields = ["representative"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)

"""The admin for tickets' reference data (deadline policy, holiday calendar; the one category
list is liaison's), and a read-only view of tickets: every change to a ticket goes through the
workflow pages, so that it is checked and recorded on the ticket's timeline."""

import datetime

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from liaison.admin_mixins import CappedCountPaginator, FastResultsMixin, ScopedAdmin, ScopedRelatedFilter
from liaison.models import Region
from proposals import holidays, webhooks
from proposals.api_keys import api_key_create, api_key_revoke
from proposals.models import (
    ApiKey,
    Bulletin,
    CalendarYear,
    CommendationPolicy,
    DeadlinePolicy,
    Ticket,
    TicketEvent,
    WebhookDelivery,
    WebhookSubscription,
    WorkCalendarDay,
)
from proposals.statistics import day_start


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(ScopedAdmin):
    list_display = [
        "county",
        "effective_from",
        "day_mode",
        "reply_days",
        "max_extension_months",
        "handin_days",
        "co_opinion_days",
        "feedback_days",
        "close_without_feedback",
    ]
    list_filter = ["county", "day_mode"]
    list_select_related = ["county"]


@admin.register(CommendationPolicy)
class CommendationPolicyAdmin(ScopedAdmin):
    """A county's commendation policy (places and criteria of each list), versioned by its start day."""

    list_display = [
        "county",
        "effective_from",
        "reps_places",
        "studios_places",
        "suggestions_places",
        "units_places",
        "five_good_places",
        "unsatisfactory_below",
    ]
    list_filter = ["county"]
    list_select_related = ["county"]


class KnownYearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = WorkCalendarDay.objects.dates("date", "year")
        return [(d.year, str(d.year)) for d in years]

    def queryset(self, request, queryset):
        return queryset.filter(date__year=self.value()) if self.value() else queryset


@admin.register(WorkCalendarDay)
class WorkCalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "weekday", "is_working_day", "name"]
    list_filter = [KnownYearFilter, "is_working_day"]
    search_fields = ["name"]
    date_hierarchy = "date"

    @admin.display(description=_("weekday"))
    def weekday(self, obj):
        return obj.date.strftime("%a")

    def changelist_view(self, request, extra_context=None):
        from django.utils import timezone

        this_year = timezone.localdate().year
        known = set(CalendarYear.objects.values_list("year", flat=True))
        missing = [y for y in (this_year, this_year + 1) if y not in known]
        if missing:
            self.message_user(
                request,
                _(
                    "The holidays of %(years)s are not known yet: deadlines counted in working days "
                    "through those years are flagged. Enter the days below and add the year under "
                    "“known holiday years”."
                )
                % {"years": "、".join(map(str, missing))},
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "source"]
    actions = ["reload_from_package"]

    @admin.action(description=_("Load the holidays the chinesecalendar package knows"))
    def reload_from_package(self, request, queryset):
        years = holidays.load()
        self.message_user(
            request,
            _("Loaded: %(years)s.") % {"years": "、".join(map(str, years))}
            if years
            else _("Nothing new to load."),
        )


class EventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    can_delete = False
    fields = ["at", "action", "from_status", "to_status", "actor", "actor_label", "note", "is_public"]
    readonly_fields = fields

    @admin.display(description=_("action"))
    def action(self, obj):
        return obj.move_label

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RegisteredFilter(admin.SimpleListFilter):
    """Registered this month, last month, this year or last year (Beijing time): a range on the
    indexed ``created_at``, where a date drill-down would first find the MIN and MAX of the list."""

    title = _("registered at")
    parameter_name = "registered"

    def lookups(self, request, model_admin):
        return [
            ("month", _("This month")),
            ("last_month", _("Last month")),
            ("year", _("This year")),
            ("last_year", _("Last year")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        month = today.replace(day=1)
        last_month = (month - datetime.timedelta(days=1)).replace(day=1)
        year = today.replace(month=1, day=1)
        ranges = {
            "month": (month, None),
            "last_month": (last_month, month),
            "year": (year, None),
            "last_year": (year.replace(year=year.year - 1), year),
        }
        if self.value() not in ranges:
            return queryset
        start, end = ranges[self.value()]
        queryset = queryset.filter(created_at__gte=day_start(start))
        return queryset.filter(created_at__lt=day_start(end)) if end else queryset


class TicketChangeList(ChangeList):
    """The list's page reads only the columns it shows (``TicketAdmin.list_columns``), not the
    suggestion's text, its reply or the related rows' other columns: a county's page of 50 went
    from 12.6 to 6.3 ms (1,000,000 tickets)."""

    def get_queryset(self, request, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).only(*self.model_admin.list_columns)


@admin.register(Ticket)
class TicketAdmin(FastResultsMixin, ScopedAdmin):
    """Read-only, and cheap at a million tickets: no whole-list count (a capped paginator, no
    full count), filters read from the townships and categories, not DISTINCT over tickets, and a
    registration-date filter instead of the date drill-down."""

    list_display = [
        "display_code",
        "title",
        "status",
        "category",
        "township",
        "lead_unit",
        "due_on",
        "registered_on",
    ]
    list_filter = [
        "status",
        "kind",
        "source",
        ("category", ScopedRelatedFilter),
        ("township", ScopedRelatedFilter),
        RegisteredFilter,
        "is_public_interest",
    ]
    related_filter_limits = {"township": {"level": "township"}}
    search_fields = ["tracking_code", "title", "content", "=external_ref"]
    list_select_related = ["category", "township", "lead_unit"]
    # What list_display (and a ticket's str, the action checkbox's label) reads.
    list_columns = [
        "tracking_code",
        "title",
        "status",
        "category__name",
        "township__name",
        "lead_unit__name",
        "due_at",
        "created_at",
    ]
    inlines = [EventInline]
    list_per_page = 50
    paginator = CappedCountPaginator
    show_full_result_count = False
    readonly_fields = ["workflow_link"]

    # Dates without the time, so that the list fits a 1280-px screen beside its filters.
    @admin.display(description=_("reply due"), ordering="due_at")
    def due_on(self, obj):
        return timezone.localtime(obj.due_at).date() if obj.due_at else None

    @admin.display(description=_("registered at"), ordering="created_at")
    def registered_on(self, obj):
        return timezone.localtime(obj.created_at).date()

    fields = [
        "workflow_link",
        ("kind", "source", "status", "resolution"),
        "title",
        "content",
        ("category", "place"),
        ("township", "studio", "representative"),
        ("lead_unit", "assigned_by", "assigned_at", "due_at"),
        ("replied_at", "forwarded_at", "feedback_due_at", "closed_at"),
        "reply",
        "is_public_interest",
    ]

    @admin.display(description=_("tracking code"), ordering="tracking_code")
    def display_code(self, obj):
        return obj.display_code

    @admin.display(description=_("workflow"))
    def workflow_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("proposals:detail", args=[obj.pk]), _("Open the ticket page")
        )

    def get_readonly_fields(self, request, obj=None):
        return [f for row in self.fields for f in (row if isinstance(row, tuple) else (row,))]

    def get_changelist(self, request, **kwargs):
        return TicketChangeList

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Bulletin)
class BulletinAdmin(ScopedAdmin):
    """Read-only: bulletins are drafted, edited and published on their pages (``/bulletins/``),
    where the services refuse any change to a published one; only a draft may be deleted here."""

    list_display = ["county", "kind", "year", "number", "status", "issue_label", "published_at"]
    list_filter = ["status", "kind", "year", "county"]
    list_select_related = ["county"]
    fields = [
        "page_link",
        ("county", "kind", "year", "number"),
        ("start", "end", "status"),
        ("serial_year", "serial", "published_by", "published_at"),
        ("created_by", "created_at", "updated_at", "figures_at"),
        "commentary",
    ]

    @admin.display(description=_("issue"))
    def issue_label(self, obj):
        return obj.issue_label

    @admin.display(description=_("page"))
    def page_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("bulletins:detail", args=[obj.pk]), _("Open the bulletin page")
        )

    def get_readonly_fields(self, request, obj=None):
        return [f for row in self.fields for f in (row if isinstance(row, tuple) else (row,))]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return obj is not None and not obj.is_published and super().has_delete_permission(request, obj)


@admin.register(ApiKey)
class ApiKeyAdmin(ScopedAdmin):
    """Keys of integrating systems (the Open311 API). Creating one shows the raw key once, in
    the message after saving; only its digest is stored. A key is revoked, never edited.

    Scoped as every admin: the liaison office lists, opens, creates and revokes the keys of its
    own county and townships (another county's key answers 404, another county's region is not
    a choice, and a posted one is refused as any invalid choice); a superuser, every key."""

    list_display = ("name", "region", "prefix", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("region",)
    fields = ("name", "region")
    actions = ["revoke"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region":
            # ScopedAdmin then keeps only the regions the user's scope covers.
            kwargs["queryset"] = Region.objects.exclude(level=Region.Level.VILLAGE).order_by("path")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ("name", "region") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        """Create through ``api_key_create`` (which audits it); a key is never changed."""
        if change:
            return
        key, raw = api_key_create(actor=request.user, name=obj.name, region=obj.region)
        obj.pk, obj.prefix, obj.digest, obj.created_at = key.pk, key.prefix, key.digest, key.created_at
        messages.warning(
            request,
            _("The new API key (shown only now, copy it for the integrating system): %(key)s") % {"key": raw},
        )

    @admin.action(description=_("Revoke the selected API keys"), permissions=["change"])
    def revoke(self, request, queryset):
        # ``queryset`` is already scoped (get_queryset): ids of keys outside it revoke nothing.
        for key in queryset.select_related("region"):
            api_key_revoke(actor=request.user, key=key)
        self.message_user(request, _("Revoked."))


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ScopedAdmin):
    """Integrating systems' webhook subscriptions, scoped as their API keys (the liaison office:
    the keys of its county; another county's subscription answers 404, its keys are no choice).
    Creating one shows the signing secret once, in the message after saving; the key is fixed,
    the address, the event kinds and the active flag may change."""

    list_display = ("api_key", "url", "on_assigned", "on_replied", "on_closed", "is_active", "created_at")
    list_filter = ("is_active",)
    list_select_related = ("api_key",)
    fields = ("api_key", "url", "on_assigned", "on_replied", "on_closed", "is_active")
    actions = ["rotate_secret"]
    # An address typed without a scheme is read as https (the only one allowed off this machine).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "api_key":
            # ScopedAdmin then keeps only the keys the user's scope covers.
            kwargs["queryset"] = ApiKey.objects.filter(revoked_at__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ("api_key",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = webhooks.webhook_subscription_create(
            actor=request.user,
            api_key=obj.api_key,
            url=obj.url,
            on_assigned=obj.on_assigned,
            on_replied=obj.on_replied,
            on_closed=obj.on_closed,
        )
        obj.pk, obj.secret, obj.created_at = created.pk, created.secret, created.created_at
        messages.warning(
            request,
            _("The signing secret (shown only now, copy it for the integrating system): %(secret)s")
            % {"secret": created.secret},
        )

    @admin.action(
        description=_("Replace the signing secret of the selected subscriptions"), permissions=["change"]
    )
    def rotate_secret(self, request, queryset):
        # ``queryset`` is already scoped (get_queryset): another county's ids replace nothing.
        for subscription in queryset:
            secret = webhooks.webhook_secret_rotate(actor=request.user, subscription=subscription)
            messages.warning(
                request,
                _(
                    "The new signing secret of %(subscription)s (shown only now; the old one no longer "
                    "signs): %(secret)s"
                )
                % {"subscription": subscription, "secret": secret},
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ScopedAdmin):
    """The webhook ledger, read-only and scoped through the subscription's key: each event owed
    to each subscriber, its attempts and the last answer. A failed delivery can be queued again
    with fresh attempts (``queryset`` is scoped: another county's ids resend nothing)."""

    list_display = (
        "created_at",
        "subscription",
        "ticket",
        "kind",
        "status",
        "attempts",
        "status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "kind", "created_at")
    list_select_related = ("subscription__api_key", "event")
    search_fields = ("=event__ticket__id", "subscription__api_key__name")
    # As the notifications' ledger (liaison.admin.DeliveryAdmin): no whole-table count, no drill-down.
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    actions = ["resend_failed"]

    @admin.display(description=_("ticket"), ordering="event__ticket_id")
    def ticket(self, obj):
        return obj.event.ticket_id

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return self.has_view_permission(request)

    @admin.action(description=_("Resend failed webhook deliveries"), permissions=["resend"])
    def resend_failed(self, request, queryset):
        resent = sum(
            webhooks.webhook_delivery_resend(actor=request.user, delivery=delivery)
            for delivery in queryset.filter(status=WebhookDelivery.Status.FAILED)
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d failed delivery was queued again.",
                "%(count)d failed deliveries were queued again.",
                resent,
            )
            % {"count": resent},
            messages.SUCCESS,
        )

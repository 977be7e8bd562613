"""What every admin of the product shares: rows and choices scoped to the user's roles, and
an audit row for every add, change and delete (``AuditedAdmin``)."""

from urllib.parse import quote_plus

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from liaison import audit
from liaison.audit import region_of


class ScopedQuerysetMixin:
    """Limit rows and foreign-key choices to what the user may see (``visible_to``)."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs["queryset"] = _scoped_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs["queryset"] = _scoped_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def _scoped_choices(db_field, request, kwargs):
    queryset = kwargs.get("queryset")
    if queryset is None:
        queryset = db_field.remote_field.model._default_manager.all()
    if hasattr(queryset, "visible_to"):
        return queryset.visible_to(request.user)
    return queryset


class AuditedAdminMixin:
    """Write an audit row for every add, change and delete through the admin, with the values
    before and after of the fields that changed (phones masked, passwords left out). Inline rows
    are audited as their own records. Every ModelAdmin of the site has it (a test checks)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _audit_form(request, form, change)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        for inline_form in formset.forms:
            if inline_form in getattr(formset, "deleted_forms", ()) or not inline_form.has_changed():
                continue
            if inline_form.instance.pk is not None:
                _audit_form(request, inline_form, change=bool(inline_form.initial))
        for deleted in getattr(formset, "deleted_objects", ()):
            _audit_deleted(request, deleted)

    def delete_model(self, request, obj):
        _audit_deleted(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            _audit_deleted(request, obj)
        super().delete_queryset(request, queryset)


class AuditedAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """A ModelAdmin without scoping (reference data), audited like every other."""


class ScopedAdmin(AuditedAdminMixin, ScopedQuerysetMixin, admin.ModelAdmin):
    """A ModelAdmin whose objects outside the user's scope answer 404, like missing ones,
    so that ids cannot be probed, and whose filters offer only what the user may see."""

    def get_list_filter(self, request):
        """Make every foreign-key filter list only objects that occur in the scoped rows.

        Django's default related filter lists every row of the related table, which would
        show a clerk the names of other townships' regions and units.
        """
        return [_scoped_filter(self.model, spec) for spec in super().get_list_filter(request)]

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj


class FastResultsMixin:
    """A changelist whose rows are Django's cells, each row written in one pass
    (``liaison_admin.fast_result_list``): a page of 50 tickets' nine columns took ~9 ms of
    Django's per-cell work (links reversed, checkboxes rendered and cells formatted one by one)."""

    change_list_template = "admin/fast_change_list.html"


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for withdrawal"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The record stays, marked as withdrawn, and no longer counts toward duties."),
    )


class WithdrawnFilter(admin.SimpleListFilter):
    title = _("withdrawn")
    parameter_name = "withdrawn"

    def lookups(self, request, model_admin):
        return [("no", _("Counted")), ("yes", _("Withdrawn"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(withdrawn_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(withdrawn_at__isnull=False)
        return queryset


class RecordAdmin(ScopedAdmin):
    """The admin of a record of work done (a visit, a reception): evidence for the duty report,
    so it is never deleted, not even by a superuser: staff who may delete it withdraw it instead,
    with a reason, one at a time, after a confirmation page (``liaison.withdrawals``). Withdrawn
    records stay listed, marked, and can no longer be changed."""

    change_form_template = "admin/record_change_form.html"
    withdrawn_fields = ("withdrawn_at", "withdrawn_by", "withdrawn_reason")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        return False

    def has_withdraw_permission(self, request, obj=None):
        opts = self.opts
        allowed = request.user.has_perm(f"{opts.app_label}.delete_{opts.model_name}")
        return allowed and (obj is None or obj.withdrawn_at is None)

    def has_change_permission(self, request, obj=None):
        withdrawn = obj is not None and obj.withdrawn_at is not None
        return not withdrawn and super().has_change_permission(request, obj)

    def get_list_display(self, request):
        return [*super().get_list_display(request), "withdrawal"]

    def get_list_filter(self, request):
        return [*super().get_list_filter(request), WithdrawnFilter]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.withdrawn_at is not None:
            fields += [f for f in self.withdrawn_fields if f not in fields]
        return fields

    @admin.display(description=_("withdrawn"), ordering="withdrawn_at")
    def withdrawal(self, obj):
        if obj.withdrawn_at is None:
            return ""
        return _("Withdrawn %(date)s") % {"date": date_format(timezone.localtime(obj.withdrawn_at), "Y-m-d")}

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        withdraw = path(
            "<path:object_id>/withdraw/",
            self.admin_site.admin_view(self.withdraw_view),
            name="{}_{}_withdraw".format(*info),
        )
        return [withdraw, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id))
        if self.has_withdraw_permission(request, obj):
            extra_context["withdraw_url"] = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_withdraw",
                args=[quote(obj.pk)],
                current_app=self.admin_site.name,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def withdraw_view(self, request, object_id):
        from liaison import withdrawals

        obj = self.get_object(request, unquote(object_id))  # 404 outside the scope
        if not self.has_withdraw_permission(request, obj):
            raise PermissionDenied
        form = WithdrawForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                withdrawals.withdraw(
                    actor=request.user,
                    record=obj,
                    reason=form.cleaned_data["reason"],
                    region=region_of(obj, request.user),
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(
                    request, _("“%(record)s” was withdrawn.") % {"record": obj}, messages.SUCCESS
                )
                return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Withdraw %(record)s") % {"record": obj},
            "subtitle": None,
            "object": obj,
            "opts": self.opts,
            "form": form,
            "app_label": self.opts.app_label,
        }
        return TemplateResponse(request, "admin/withdraw_confirmation.html", context)


class ScopedInline(ScopedQuerysetMixin, admin.TabularInline):
    """An inline whose choices are scoped. Its rows belong to the parent object, which the
    parent admin already scoped, so rows of a model without ``visible_to`` are shown as-is."""

    def get_queryset(self, request):
        queryset = admin.TabularInline.get_queryset(self, request)
        return queryset.visible_to(request.user) if hasattr(queryset, "visible_to") else queryset


def _scoped_filter(model, spec):
    if not isinstance(spec, str):
        return spec
    field = model._meta.get_field(spec.split("__")[0])
    if "__" not in spec and field.is_relation:
        return (spec, admin.RelatedOnlyFieldListFilter)
    return spec


# --- Audit rows of admin writes ------------------------------------------------------------------


def _value(form, name, value):
    """A JSON-able value of a form field: model choices by primary key, the rest as text."""
    field = form.fields.get(name)
    if field is not None:
        value = field.prepare_value(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set):
        return sorted(str(v) for v in value)
    if isinstance(value, File):  # a stored or an uploaded file: its name (an empty one has none)
        return value.name or None
    return str(value)


def _audit_form(request, form, change: bool) -> None:
    """One audit row for a saved model form: the changed fields' before and after."""
    obj = form.instance
    changes = {}
    for name in form.changed_data:
        if audit.is_secret(name):
            continue
        before = _value(form, name, form.initial.get(name)) if change else None
        after = _value(form, name, form.cleaned_data.get(name))
        changes[name] = audit.masked(name, [before, after])
    audit.record(
        actor=request.user,
        verb=f"{obj._meta.model_name}.{'changed' if change else 'added'}",
        subject=obj,
        region=region_of(obj, request.user),
        via="admin",
        changes=changes,
    )


def _audit_deleted(request, obj) -> None:
    """One audit row for a deleted record, with every field's value before."""
    before = {}
    for field in obj._meta.concrete_fields:
        if field.primary_key or audit.is_secret(field.name):
            continue
        value = field.value_from_object(obj)
        value = value if value is None or isinstance(value, bool | int | float | str) else str(value)
        before[field.name] = audit.masked(field.name, [value, None])
    audit.record(
        actor=request.user,
        verb=f"{obj._meta.model_name}.deleted",
        subject=obj,
        region=region_of(obj, request.user),
        via="admin",
        changes=before,
    )


# --- Lists of a million rows ---------------------------------------------------------------------


class CappedCountPaginator(Paginator):
    """A paginator that counts at most ``CAP + 1`` rows (``SELECT COUNT(*) FROM (… LIMIT n)``), so a
    list of a million rows is not counted whole on every page; past the cap it says "10000+" and
    pages up to the cap. With ``show_full_result_count = False`` the changelist counts nothing else."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        # Unordered: the order of the rows counted does not change how many there are, and
        # sorting ten thousand of them only to count them doubled the count's time.
        rows = self.object_list
        if hasattr(rows, "order_by"):
            rows = rows.order_by()
        return rows[: self.CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.CAP


class ScopedRelatedFilter(admin.RelatedFieldListFilter):
    """Offer the related rows the user may see, read from the related (reference) table.

    ``RelatedOnlyFieldListFilter`` finds the values with a DISTINCT over the listed table, a scan of
    every row on a big one; this one reads the townships or categories themselves.

    A superuser's township filter has 1,500 choices: each choice's link is the list's query string
    encoded once with the choice's own parameter put in its sorted place (the same link as
    Django's, which encodes every parameter again for each choice), and the choices are written in
    one pass (``admin/many_choices_filter.html``), not through the template engine one by one."""

    template = "admin/many_choices_filter.html"
    # A choice's label: the related row's ``name``, which is its ``__str__`` (regions, categories),
    # read as (id, name) pairs rather than 1,500 model instances.
    label_field = "name"

    def field_choices(self, field, request, model_admin):
        related = field.remote_field.model._default_manager.all()
        if hasattr(related, "visible_to"):
            related = related.visible_to(request.user)
        limit = getattr(model_admin, "related_filter_limits", {}).get(field.name)
        if limit:
            related = related.filter(**limit)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            related = related.order_by(*ordering)
        return list(related.values_list("pk", self.label_field))

    def choices(self, changelist):
        if changelist.add_facets:  # counts per choice: Django's own, rarely asked for
            yield from super().choices(changelist)
            return
        yield {
            "selected": self.lookup_val is None and not self.lookup_val_isnull,
            "query_string": changelist.get_query_string(remove=[self.lookup_kwarg, self.lookup_kwarg_isnull]),
            "display": _("All"),
        }
        # Django's get_query_string(): the filter's parameters minus ours, sorted, then ours set.
        params = dict(changelist.filter_params)
        params.pop(self.lookup_kwarg, None)
        for name in list(params):
            if name.startswith(self.lookup_kwarg_isnull):
                del params[name]
        before = urlencode(sorted((k, v) for k, v in params.items() if k < self.lookup_kwarg), doseq=True)
        after = urlencode(sorted((k, v) for k, v in params.items() if k > self.lookup_kwarg), doseq=True)
        head = f"?{before}&" if before else "?"
        tail = f"&{after}" if after else ""
        key = urlencode({self.lookup_kwarg: ""})
        selected = self.lookup_val or ()
        for pk_val, val in self.lookup_choices:
            value = str(pk_val)
            yield {
                "selected": value in selected,
                "query_string": f"{head}{key}{quote_plus(value)}{tail}",
                "display": val,
            }
        if self.include_empty_choice:
            yield {
                "selected": bool(self.lookup_val_isnull),
                "query_string": changelist.get_query_string(
                    {self.lookup_kwarg_isnull: "True"}, [self.lookup_kwarg]
                ),
                "display": self.empty_value_display,
            }

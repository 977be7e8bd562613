"""The audit log, read-only (安全审计): who did what to which record, when, from where.

The liaison office reads its county's rows, township staff their township's, superusers all
(``AuditEvent.objects.visible_to``). Filters, pages of 50 and an Excel download; nothing here
or in the admin changes a row (the database refuses it anyway). The page costs the same
queries whatever the number of rows; the download is itself audited.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json

from django import forms
from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from liaison import audit
from liaison.exports import xlsx_response
from liaison.models import AuditEvent
from liaison.roles import STAFF_ROLES

PAGE_SIZE = 50
EXPORT_LIMIT = 50_000  # one sheet; narrow the filters for more


def may_read_audit(user) -> bool:
    """Superusers, the liaison office and township staff (each within their scope)."""
    scope = getattr(user, "scope", None)
    return bool(scope and (scope.sees_all or scope.roles & STAFF_ROLES))


def type_label(subject_type: str) -> str:
    """``reps.homevisit`` -> the model's name (家访记录), or the code when it is no model."""
    try:
        return str(apps.get_model(subject_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return subject_type


def record_types() -> list[str]:
    """The project's models and the accounts (``app.model``): what a row of the log can be about."""
    return [
        model._meta.label_lower
        for app in ("auth", "liaison", "reps", "studios", "proposals")
        for model in apps.get_app_config(app).get_models()
    ]


class AuditFilterForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("from"), required=False, widget=forms.DateInput({"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("to"), required=False, widget=forms.DateInput({"type": "date"})
    )
    actor = forms.CharField(label=gettext_lazy("by (name or username)"), required=False, max_length=64)
    verb = forms.ChoiceField(label=gettext_lazy("action"), required=False)
    subject_type = forms.ChoiceField(label=gettext_lazy("record type"), required=False)
    outcome = forms.ChoiceField(label=gettext_lazy("outcome"), required=False)
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        anything = [("", _("All"))]
        # From the code, not from the rows: no DISTINCT over the whole log on every page.
        self.fields["verb"].choices = (
            anything
            + [(verb, str(label)) for verb, label in audit.VERBS.items()]
            + [(f"*.{action}", str(label)) for action, label in audit.ACTIONS.items()]
        )
        self.fields["subject_type"].choices = anything + sorted(
            ((t, type_label(t)) for t in record_types()), key=lambda choice: choice[1]
        )
        self.fields["outcome"].choices = anything + list(AuditEvent.Outcome.choices)

    def filter(self, events):
        if not self.is_valid():
            return events.none()
        data = self.cleaned_data
        if data["date_from"]:
            events = events.filter(at__gte=_midnight(data["date_from"]))
        if data["date_to"]:
            events = events.filter(at__lt=_midnight(data["date_to"] + datetime.timedelta(days=1)))
        if data["actor"]:
            events = events.filter(
                Q(actor__name__icontains=data["actor"]) | Q(actor__username__icontains=data["actor"])
            )
        if data["verb"].startswith("*."):  # any record's "added", "changed", ...
            events = events.filter(verb__endswith=data["verb"][1:])
        elif data["verb"]:
            events = events.filter(verb=data["verb"])
        for name in ("subject_type", "outcome"):
            if data[name]:
                events = events.filter(**{name: data[name]})
        if text := data["q"].strip():
            found = Q(subject_label__icontains=text) | Q(subject_id=text) | Q(verb__icontains=text)
            with contextlib.suppress(ValueError):  # an address: its rows too
                found |= Q(ip=str(ipaddress.ip_address(text)))
            events = events.filter(found)
        return events


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def details(event: AuditEvent) -> list[str]:
    """The row's data as lines: each changed field as "field: before → after", then the rest."""
    data = dict(event.data or {})
    lines = [
        f"{name}: {_shown(values[0])} → {_shown(values[1])}"
        for name, values in (data.pop("changes", None) or {}).items()
        if isinstance(values, list | tuple) and len(values) == 2
    ]
    lines += [f"{key}: {_shown(value)}" for key, value in data.items()]
    return lines


def _shown(value) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@login_required
def audit_log(request):
    user = request.user
    if not may_read_audit(user):
        raise PermissionDenied
    visible = AuditEvent.objects.visible_to(user)
    form = AuditFilterForm(request.GET)
    events = form.filter(visible).select_related("actor", "region").order_by("-at", "-id")
    if request.GET.get("format") == "xlsx":
        return _export(request, form, events)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page:
        event.details = details(event)
        event.type_label = type_label(event.subject_type)
        event.verb_label = audit.verb_label(event.verb)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(
        request,
        "liaison/audit_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def _export(request, form, events):
    header = [
        _("time"),
        _("username"),
        _("actor"),
        _("IP address"),
        _("action"),
        _("record type"),
        _("record id"),
        _("record"),
        _("region"),
        _("outcome"),
        _("details"),
    ]
    rows = (
        [
            timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"),
            e.actor.username if e.actor else "",
            e.actor.name if e.actor else "",
            e.ip or "",
            f"{audit.verb_label(e.verb)} ({e.verb})",
            type_label(e.subject_type),
            e.subject_id,
            e.subject_label,
            e.region.name if e.region else "",
            e.get_outcome_display(),
            "；".join(details(e)),
        ]
        for e in events[:EXPORT_LIMIT]
    )
    response = xlsx_response(
        _("Audit log"), header, rows, filename=f"audit-{timezone.localdate():%Y%m%d}.xlsx"
    )
    audit.record(
        actor=request.user,
        verb="audit.exported",
        subject=request.user,
        region=audit.region_of(request.user, request.user),
        filters={k: str(v) for k, v in (form.cleaned_data or {}).items() if v} if form.is_valid() else {},
    )
    return response

"""The admin side of ``liaison.pii``: phones masked in lists and, for everyone but superusers,
read-only and masked in change views, with a link to the audited reveal page for those who may."""

from __future__ import annotations

import contextvars

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from liaison import pii

# The request being rendered (admin display methods get only the object); per thread and task.
_REQUEST: contextvars.ContextVar = contextvars.ContextVar("pii_admin_request", default=None)


def _swap(fields, old: str, new: str):
    return [new if f == old else f for f in fields]


class MaskedPhoneAdmin:
    """Mix into a ModelAdmin (or inline) whose model has ``phone``.

    - lists: put ``"masked_phone"`` in ``list_display`` instead of ``"phone"``;
    - change views (and inlines of existing rows): for a user who is not a superuser, ``phone``
      becomes the read-only ``masked_phone``, with "Show number" for a user who may reveal it
      (that page asks for a POST and writes the audit row). Adding a row still takes a phone.
    """

    @admin.display(description=_("phone"))
    def masked_phone(self, obj) -> str:
        return pii.mask_phone(getattr(obj, "phone", ""))

    @admin.display(description=_("phone"))
    def phone_with_reveal(self, obj) -> str:
        number = getattr(obj, "phone", "") if obj is not None and obj.pk else ""
        if not number:
            return "-"
        request = _REQUEST.get()
        if request is None or not pii.may_reveal(request.user, obj):
            return pii.mask_phone(number)
        url = reverse("reveal_phone", args=[obj._meta.label_lower, obj.pk])
        return format_html(
            '{} <a class="pii-reveal" href="{}?{}">{}</a>',
            pii.mask_phone(number),
            url,
            urlencode({"next": request.get_full_path()}),
            _("Show number"),
        )

    def _masks(self, request, obj) -> bool:
        _REQUEST.set(request)
        return obj is not None and not request.user.is_superuser

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self._masks(request, obj):
            return fieldsets
        return [
            (name, {**opts, "fields": _swap(opts["fields"], "phone", "phone_with_reveal")})
            for name, opts in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "phone_with_reveal"] if self._masks(request, obj) else fields


class MaskedPhoneInline:
    """Mix into an inline: rows of an existing parent show the phone masked and read-only (the
    record's own page has the reveal button); adding rows to a new parent still takes a phone."""

    @admin.display(description=_("phone"))
    def masked_phone(self, obj) -> str:
        return pii.mask_phone(getattr(obj, "phone", ""))

    def _masks(self, request, obj) -> bool:
        return obj is not None and not request.user.is_superuser

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return _swap(fields, "phone", "masked_phone") if self._masks(request, obj) else fields

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "masked_phone"] if self._masks(request, obj) else fields

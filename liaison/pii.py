"""Personal data shown to staff: phones masked everywhere, revealed one at a time, audited.

Every staff page and admin view shows a resident's phone as ``mask_phone(phone)``
(``138****5678``; template filter ``mask_phone`` from ``{% load pii %}``). Only the roles that need
to call someone may reveal the full number: each app registers, for each model with a phone,
who may (``register``), and ``views.reveal_phone`` checks it, writes one ``pii.phone_revealed``
audit row and shows the number. The rule per model lives beside the model's app (``apps.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models

MASK = "****"


def mask_phone(phone: str | None) -> str:
    """The number with its middle hidden: enough to tell two apart, not to call one.

    Mobile ``13812345678`` -> ``138****5678``; landline ``0513-88123456`` -> ``0513-****3456``
    (an extension is dropped); anything else keeps at most its last four digits.
    """
    phone = str(phone or "").strip()
    if not phone:
        return ""
    parts = phone.split("-")
    if len(parts) >= 2 and parts[0].startswith("0"):
        return f"{parts[0]}-{MASK}{parts[1][-4:]}"
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 11:
        return f"{digits[:3]}{MASK}{digits[-4:]}"
    return MASK + digits[-4:] if len(digits) > 4 else MASK


@dataclass(frozen=True)
class Revealable:
    """A model whose ``phone`` staff may reveal: who may (``may_reveal(user, obj)``) and the
    region the audit row is filed under (``region_of(obj)``, for the audit viewer's scope)."""

    model: type[models.Model]
    may_reveal: Callable[[object, models.Model], bool]
    region_of: Callable[[models.Model], object] = lambda obj: None
    queryset: Callable[[], models.QuerySet] | None = None
    field: str = "phone"

    def objects(self) -> models.QuerySet:
        return self.queryset() if self.queryset else self.model._default_manager.all()


_REGISTRY: dict[str, Revealable] = {}


def register(revealable: Revealable) -> None:
    """Declare who may reveal the phones of a model (called from each app's ``ready()``)."""
    _REGISTRY[revealable.model._meta.label_lower] = revealable


def revealable(label: str) -> Revealable | None:
    return _REGISTRY.get(label)


def may_reveal(user, obj: models.Model) -> bool:
    """Whether ``user`` may see ``obj``'s full phone (False for a model nobody registered)."""
    entry = _REGISTRY.get(obj._meta.label_lower)
    if entry is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(entry.may_reveal(user, obj))


def holds_role_over(user, role: str, path: str | None) -> bool:
    """Whether ``user`` holds ``role`` anchored at ``path`` or above it (a superuser always does)."""
    scope = user.scope
    if scope.sees_all:
        return True
    return bool(path) and any(path.startswith(root) for root in scope.anchor_paths.get(role, ()))

"""Withdraw a record of work done (a home visit, a reception) instead of deleting it.

Visits and receptions are the evidence of the duty report: a wrong one is withdrawn with a
reason, by whom and when, and stays in the database, marked; every count of duties and every
statistic reads only the ``active()`` ones. Each withdrawal is audited.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import audit


@transaction.atomic
def withdraw(*, actor, record, reason: str, region=None, now=None):
    """Mark ``record`` withdrawn by ``actor`` for ``reason``; refuse a blank reason, or a record
    already withdrawn (by someone else a moment ago too: the update is a compare-and-set)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the record is withdrawn.")}, code="required")
    now = now or timezone.now()
    updated = (
        type(record)
        ._default_manager.filter(pk=record.pk, withdrawn_at__isnull=True)
        .update(withdrawn_at=now, withdrawn_by=actor, withdrawn_reason=reason)
    )
    if not updated:
        raise ValidationError(_("This record was already withdrawn."), code="withdrawn")
    record.withdrawn_at, record.withdrawn_by, record.withdrawn_reason = now, actor, reason
    audit.record(
        actor=actor,
        verb=f"{record._meta.model_name}.withdrawn",
        subject=record,
        region=region,
        reason=reason,
    )
    return record

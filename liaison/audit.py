"""Write the append-only audit log. Services call ``record`` inside their transaction."""

from __future__ import annotations

from typing import Any

from django.db import models

from liaison.models import AuditEvent, Region


def record(
    *, actor, verb: str, subject: models.Model, region: Region | None = None, **data: Any
) -> AuditEvent:
    """Log that ``actor`` did ``verb`` to ``subject`` (in ``region``, for scoping who may read it)."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        verb=verb,
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
        subject_label=str(subject)[:200],
        region=region,
        data=data,
    )


def record_many(*, actor, verb: str, subjects, region_of=lambda obj: None, **data: Any) -> None:
    """Log the same action on many records at once (one INSERT)."""
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            verb=verb,
            subject_type=subject._meta.label_lower,
            subject_id=str(subject.pk),
            subject_label=str(subject)[:200],
            region=region_of(subject),
            data=data,
        )
        for subject in subjects
    )

"""API keys of integrating systems (``ApiKey``): create, check, revoke.

A key is ``l311_`` and 43 URL-safe characters (32 random bytes). Only its SHA-256 digest is
stored; the raw key exists in the admin's answer to "create" and nowhere else.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from liaison import audit, idempotency
from liaison.models import AuditEvent, Category, Region
from proposals import services
from proposals.models import ApiKey, Ticket

PREFIX = "l311_"


def digest_of(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


def new_raw_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def api_key_create(*, actor, name: str, region: Region) -> tuple[ApiKey, str]:
    """Create a key for ``region`` (a county or a township); return it and the raw key (shown once)."""
    raw = new_raw_key()
    key = ApiKey.objects.create(
        name=name, region=region, prefix=raw[len(PREFIX) :][:8], digest=digest_of(raw)
    )
    audit.record(actor=actor, verb="api_key.created", subject=key, region=region)
    return key, raw


@transaction.atomic
def api_key_revoke(*, actor, key: ApiKey) -> ApiKey:
    """Revoke ``key``: every later request with it is refused (403)."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(actor=actor, verb="api_key.revoked", subject=key, region=key.region)
    return key


def api_key_find(raw: str) -> ApiKey | None:
    """The key ``raw`` is (revoked or not), with its region; None for an unknown key."""
    raw = (raw or "").strip()
    if not raw.startswith(PREFIX) or len(raw) > 100:
        return None
    return ApiKey.objects.select_related("region").filter(digest=digest_of(raw)).first()


def api_key_refused(*, key: ApiKey) -> None:
    """Record that revoked ``key`` was used (someone still holds it)."""
    audit.record(
        actor=None, verb="open311.refused", subject=key, region=key.region, outcome=AuditEvent.Outcome.REFUSED
    )


@transaction.atomic
def ticket_file_by_api(
    *,
    key: ApiKey,
    township: Region,
    category: Category,
    title: str,
    content: str,
    place: str,
    proposers: list[tuple[str, str]],
    nonce: str | None,
) -> Ticket:
    """File a matter for the integrating system of ``key`` through ``services.ticket_register``
    (the intake's validation, limits and exactly-once token), and audit the filing once: a
    resend with the same ``nonce`` returns the first ticket and records nothing."""
    ticket = services.ticket_register(
        actor=None,
        source=Ticket.Source.API,
        township=township,
        category=category,
        title=title,
        content=content,
        place=place,
        proposers=proposers,
        submission_token=nonce,
    )
    if not idempotency.replayed(ticket):
        audit.record(actor=None, verb="open311.filed", subject=ticket, region=township, api_key=key.pk)
    return ticket

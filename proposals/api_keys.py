"""API keys of integrating systems (``ApiKey``): create, check, revoke.

A key is ``l311_`` and 43 URL-safe characters (32 random bytes). Only its SHA-256 digest is
stored; the raw key exists in the admin's answer to "create" and nowhere else.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from liaison import audit
from liaison.models import Region
from proposals.models import ApiKey

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

"""The cache of the published results (/results/), in Django's cache (Redis in production).

Every key carries a version number kept in the cache itself. Whatever may change what /results/
shows (a ticket closed, reopened or archived, an edit of its title, summary or public-interest
flag, a resident's rating, an anonymisation) bumps the version through ``bump()``, called by
the service that made the change once its transaction commits; the pages cached under the old
version are then never read again and expire on their own (``TIMEOUT``).

If the cache does not answer, the page is built from the database as if nothing were cached.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache
from django.db import transaction

log = logging.getLogger(__name__)

VERSION_KEY = "results:version"
# A cached page lives at most this long, even if nothing bumps the version (a safety net).
TIMEOUT = 15 * 60


def version() -> int:
    try:
        current = cache.get(VERSION_KEY)
        if current is None:
            cache.add(VERSION_KEY, 1, None)
            current = cache.get(VERSION_KEY) or 1
        return int(current)
    except Exception:  # noqa: BLE001 - a cache down is a page built from the database
        return 0


def key(*parts: object) -> str:
    """The cache key of one page (or fragment) under the current version; ``parts`` are its
    filters and page number, hashed so that a search text of any length makes a short key."""
    digest = hashlib.sha256(repr(parts).encode("utf-8", "replace")).hexdigest()[:32]
    return f"results:{version()}:{digest}"


def get(cache_key: str):
    if cache_key.startswith("results:0:"):
        return None
    try:
        return cache.get(cache_key)
    except Exception:  # noqa: BLE001 - as in version()
        return None


def put(cache_key: str, value) -> None:
    if cache_key.startswith("results:0:"):
        return
    try:
        cache.set(cache_key, value, TIMEOUT)
    except Exception:  # noqa: BLE001 - as in version()
        log.warning("results cache: the cache does not answer; the page was not cached")


def bump_now() -> None:
    try:
        cache.add(VERSION_KEY, 1, None)
        cache.incr(VERSION_KEY)
    except Exception:  # noqa: BLE001 - as in version()
        log.warning("results cache: could not bump the version; cached pages expire within %s s", TIMEOUT)


def bump() -> None:
    """Forget every cached results page, once the current transaction (if any) commits: once
    per transaction, however many tickets it changed."""
    connection = transaction.get_connection()
    if any(entry[1] is bump_now for entry in connection.run_on_commit):
        return
    transaction.on_commit(bump_now)

"""Fixed-window rate limits for the public pages, counted in Django's cache (Redis in production).

A window is a fixed stretch of time (e.g. the current hour). The counter for (rule, subject,
window) is created with ``cache.add`` and raised with ``cache.incr``; both are atomic in Redis,
so concurrent requests from many worker processes are counted exactly. A counter expires with
its window, so nothing needs sweeping.

Limits can be changed through ``settings.RATE_LIMITS`` ({rule: (count, seconds)}; the README's
``RATE_LIMIT_*`` variables).

When the cache does not answer (Redis down), the pages keep working: the counters fall back to
this process's memory and a warning is logged. Not simply "fail open": the tracking form would
then take unlimited guesses at a code's phone digits for as long as Redis is down. A local count
still bounds them (per web process, so with four gunicorn workers up to four times the limit),
and costs nothing when Redis is back.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.connection import ConnectionProxy

from liaison import http

log = logging.getLogger(__name__)

DEFAULTS: dict[str, tuple[int, int]] = {
    "intake": (10, 3600),  # intake form posts per form token and IP address
    "intake_ip": (200, 3600),  # intake form posts per IP address (a studio's shared Wi-Fi)
    "track_ip": (20, 3600),  # wrong code/phone pairs per IP address, across codes
    "track_code": (5, 3600),  # wrong code/phone pairs per tracking code and IP address
    "results_ip": (300, 60),  # /results/ pages per IP address and minute (a crawler, not a reader)
    "open311_key": (600, 3600),  # Open311 API requests per key and hour (each key counted on its own)
}
# This process's counters, used while the shared cache does not answer.
_local = LocMemCache("liaison-ratelimit-fallback", {"OPTIONS": {"MAX_ENTRIES": 10000}})
# Seconds between two warnings of this process about the cache (one per request would flood).
WARN_EVERY = 60
_last_warning = [0.0]


def _warn(exc: Exception) -> None:
    now = time.monotonic()
    if now - _last_warning[0] >= WARN_EVERY or _last_warning[0] == 0.0:
        _last_warning[0] = now
        log.warning(
            "rate limits: the cache does not answer (%s: %s); counting in this process until it does",
            type(exc).__name__,
            exc,
        )


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window ends
    rule: str = ""


def _rule(name: str) -> tuple[int, int]:
    return getattr(settings, "RATE_LIMITS", {}).get(name, DEFAULTS[name])


def _key(name: str, subject: str, window_index: int) -> str:
    # Hashed: the cache holds no IP addresses or tracking codes, and keys stay short.
    digest = hashlib.sha256(subject.encode("utf-8", "replace")).hexdigest()[:32]
    return f"ratelimit:{name}:{digest}:{window_index}"


def _window(seconds: int, now: float | None) -> tuple[int, int]:
    now = time.time() if now is None else now
    index = int(now // seconds)
    return index, max(1, math.ceil((index + 1) * seconds - now))


def _count(store, key: str, seconds: int) -> int:
    # The counter lives a little longer than its window so that clocks a few seconds apart
    # between web processes still find it.
    backend = caches["default"] if isinstance(store, ConnectionProxy) else store  # ``cache`` is a proxy
    if isinstance(backend, RedisCache):
        store = backend
        # One round trip, not three (Django's add is SET NX, its incr EXISTS then INCR): a
        # flood's 429 costs little more than a bare request. The value is Django's own format
        # for an int (stored as is), so ``cache.get`` (``peek``) reads it.
        full = store.make_and_validate_key(key)
        pipe = store._cache.get_client(full, write=True).pipeline(transaction=False)
        pipe.set(full, 0, ex=seconds + 60, nx=True)
        pipe.incr(full)
        return int(pipe.execute()[1])
    store.add(key, 0, timeout=seconds + 60)
    try:
        return store.incr(key)
    except ValueError:  # expired between add and incr
        store.add(key, 1, timeout=seconds + 60)
        return 1


def hit(name: str, subject: str, *, now: float | None = None) -> Verdict:
    """Count one event for ``subject`` under rule ``name``; refused once over the limit."""
    limit, seconds = _rule(name)
    index, retry_after = _window(seconds, now)
    key = _key(name, subject, index)
    try:
        count = _count(cache, key, seconds)
    except Exception as exc:  # noqa: BLE001 - whatever the cache raises, the page must work
        _warn(exc)
        count = _count(_local, key, seconds)
    return Verdict(count <= limit, count, limit, retry_after, name)


def peek(name: str, subject: str, *, now: float | None = None) -> Verdict:
    """Say whether ``subject`` is already over the limit, without counting anything."""
    limit, seconds = _rule(name)
    index, retry_after = _window(seconds, now)
    key = _key(name, subject, index)
    try:
        count = cache.get(key) or 0
    except Exception as exc:  # noqa: BLE001 - as in hit()
        _warn(exc)
        count = _local.get(key) or 0
    return Verdict(count < limit, count, limit, retry_after, name)


def client_ip(request) -> str:
    """The client's address as rate limits count it: ``liaison.http.client_ip`` (which decides
    when X-Forwarded-For is believed: ``TRUSTED_PROXIES``), with IPv6 clients counted per /64,
    the block one household or phone is usually given."""
    address = http.client_ip(request) or ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


# Refusals of this process since its last log line: a flood from one address is one line a
# minute, not one per request.
_refused: Counter[str] = Counter()
_last_refusal_log = [0.0]


def _note_refusal(rule: str) -> None:
    _refused[rule] += 1
    now = time.monotonic()
    if now - _last_refusal_log[0] >= WARN_EVERY:
        _last_refusal_log[0] = now
        log.warning(
            "rate limits: refused %s in the last %d s",
            ", ".join(f"{n} {name}" for name, n in sorted(_refused.items())),
            WARN_EVERY,
        )
        _refused.clear()


_pages: dict[tuple[str | None, str, int], str] = {}


def too_many(request, verdict: Verdict):
    """The 429 page, saying when to try again: a small page of its own, rendered without the
    request (no navigation, session or database), and counted rather than logged one by one,
    so that answering a flood costs little more than refusing it."""
    _note_refusal(verdict.rule)
    retry_at = timezone.localtime() + datetime.timedelta(seconds=verdict.retry_after)
    minutes = max(1, math.ceil(verdict.retry_after / 60))
    # The page differs only by language, the minute shown and the minutes to wait: drawn once.
    key = (translation.get_language(), retry_at.strftime("%H:%M"), minutes)
    body = _pages.get(key)
    if body is None:
        if len(_pages) >= 256:
            _pages.clear()
        body = _pages[key] = render_to_string("429.html", {"retry_at": retry_at, "minutes": minutes})
    response = HttpResponse(body, status=429)
    response["Retry-After"] = str(verdict.retry_after)
    response._has_been_logged = True  # counted above; Django would log a warning per response
    return response

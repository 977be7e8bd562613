"""Fixed-window rate limits for the public pages, counted in Django's cache (Redis in production).

A window is a fixed stretch of time (e.g. the current hour). The counter for (rule, subject,
window) is created with ``cache.add`` and raised with ``cache.incr``; both are atomic in Redis,
so concurrent requests from many worker processes are counted exactly. A counter expires with
its window, so nothing needs sweeping.

Limits can be changed through ``settings.RATE_LIMITS`` ({rule: (count, seconds)}).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.utils import timezone

DEFAULTS: dict[str, tuple[int, int]] = {
    "intake": (10, 3600),  # intake form posts per IP address
    "track_ip": (20, 3600),  # wrong code/phone pairs per IP address
    "track_code": (5, 3600),  # wrong code/phone pairs per tracking code
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window ends


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


def hit(name: str, subject: str, *, now: float | None = None) -> Verdict:
    """Count one event for ``subject`` under rule ``name``; refused once over the limit."""
    limit, seconds = _rule(name)
    index, retry_after = _window(seconds, now)
    key = _key(name, subject, index)
    # The counter lives a little longer than its window so that clocks a few seconds apart
    # between web processes still find it.
    cache.add(key, 0, timeout=seconds + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=seconds + 60)
        count = 1
    return Verdict(count <= limit, count, limit, retry_after)


def peek(name: str, subject: str, *, now: float | None = None) -> Verdict:
    """Say whether ``subject`` is already over the limit, without counting anything."""
    limit, seconds = _rule(name)
    index, retry_after = _window(seconds, now)
    count = cache.get(_key(name, subject, index)) or 0
    return Verdict(count < limit, count, limit, retry_after)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind our proxy the address it forwarded.

    X-Forwarded-For is believed only when ``SECURE_PROXY_SSL_HEADER`` says we run behind our own
    proxy; its last entry is the one that proxy appended (earlier entries are the client's word).
    IPv6 clients are counted per /64, the block one household or phone is usually given.
    """
    address = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if forwarded:
            address = forwarded[-1]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def too_many(request, verdict: Verdict):
    """The friendly 429 page, saying when to try again."""
    retry_at = timezone.localtime() + datetime.timedelta(seconds=verdict.retry_after)
    response = render(
        request,
        "429.html",
        {"retry_at": retry_at, "minutes": max(1, math.ceil(verdict.retry_after / 60))},
        status=429,
    )
    response["Retry-After"] = str(verdict.retry_after)
    return response

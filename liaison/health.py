"""Reachability of the database, the cache and the Celery broker, for /healthz."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import connection


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    key = "liaison:healthz"
    value = str(time.monotonic())
    cache.set(key, value, timeout=30)
    if cache.get(key) != value:
        raise RuntimeError("cache did not return what was stored")


def check_broker() -> None:
    from liaison.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker}


def run_checks() -> dict[str, str]:
    """Return {"database": "ok", "cache": "error: ConnectionError", ...}."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure is a finding, not a crash
            results[name] = f"error: {type(exc).__name__}: {str(exc)[:200]}"
        else:
            results[name] = "ok"
    return results

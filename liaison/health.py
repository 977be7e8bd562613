"""Reachability of the database, the cache and the Celery broker, and the warnings that periodic
jobs leave for staff, for /healthz."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.utils import timezone

# Heartbeat rows (liaison.models.Heartbeat) of the ticket-event sweep: when it last ran, and the
# span of events it skipped because it had not run for longer than EVENT_CATCH_UP_DAYS.
EVENT_SWEEP = "ticket_events_sweep"
EVENTS_SKIPPED_FROM = "ticket_events_skipped_from"
EVENTS_SKIPPED_TO = "ticket_events_skipped_to"


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


def note_skipped_events(*, since, until) -> None:
    """Remember (for /healthz) that events after ``since`` up to ``until`` were never notified."""
    from liaison.models import Heartbeat

    Heartbeat.objects.update_or_create(name=EVENTS_SKIPPED_FROM, defaults={"seen_at": since})
    Heartbeat.objects.update_or_create(name=EVENTS_SKIPPED_TO, defaults={"seen_at": until})


def health_warnings() -> list[str]:
    """What staff should know although every service answers (shown on /healthz to them only).

    A warning stays until its heartbeat rows are deleted in the admin (under "heartbeats").
    """
    from liaison.models import Heartbeat

    try:
        seen = dict(
            Heartbeat.objects.filter(name__in=[EVENTS_SKIPPED_FROM, EVENTS_SKIPPED_TO]).values_list(
                "name", "seen_at"
            )
        )
    except DatabaseError:  # reachable but not migrated yet
        return []
    warnings = []
    if EVENTS_SKIPPED_FROM in seen and EVENTS_SKIPPED_TO in seen:
        since, until = (
            timezone.localtime(seen[n]).isoformat() for n in (EVENTS_SKIPPED_FROM, EVENTS_SKIPPED_TO)
        )
        warnings.append(
            f"ticket events after {since} up to {until} were not notified: the event sweep had not run "
            "for longer than EVENT_CATCH_UP_DAYS"
        )
    return warnings

"""Reachability of the database, the cache and the Celery broker, and the warnings that periodic
jobs leave for staff, for /healthz."""

from __future__ import annotations

import datetime
import time

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.utils import timezone

# Heartbeat rows (liaison.models.Heartbeat) of the ticket-event sweep: when it last ran, and the
# span of events it skipped because it had not run for longer than EVENT_CATCH_UP_DAYS.
EVENT_SWEEP = "ticket_events_sweep"
EVENTS_SKIPPED_FROM = "ticket_events_skipped_from"
EVENTS_SKIPPED_TO = "ticket_events_skipped_to"
# The heartbeat row written by ``liaison.tasks.heartbeat`` (beat sends it every minute and as it starts).
BEAT = "beat"
# Beat is reported stale when its heartbeat is older than this: five missed beats.
BEAT_STALE_AFTER = datetime.timedelta(minutes=5)


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


def queue_length() -> int | None:
    """Tasks waiting in the Celery queue (None when the broker cannot tell)."""
    from liaison.celery import app

    try:
        with app.connection_for_write() as conn:
            return conn.default_channel.queue_declare(queue=app.conf.task_default_queue).message_count
    except Exception:  # noqa: BLE001 - the broker check reports an unreachable broker
        return None


# What other apps add to ``operations()`` (proposals: the webhooks' ledger): functions of ``now``
# returning more fields, registered in their ``ready()``; liaison does not import them.
_OPERATIONS: list = []


def register_operations(figures) -> None:
    """Add ``figures(now) -> dict`` to what ``/healthz`` reports to operators."""
    if figures not in _OPERATIONS:
        _OPERATIONS.append(figures)


def operations(now: datetime.datetime | None = None) -> dict:
    """What an operator watches besides reachability: beat's last tick (and whether it is stale),
    the Celery queue's length, failed deliveries and the oldest one still waiting to be sent.
    Two indexed reads (``delivery_due_idx`` leads with the status), and what other apps register
    (``register_operations``)."""
    from django.db.models import Count, Min, Q

    from liaison.models import Delivery, Heartbeat

    now = now or timezone.now()
    try:
        beat = Heartbeat.objects.filter(name=BEAT).values_list("seen_at", flat=True).first()
        deliveries = Delivery.objects.filter(
            status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED]
        ).aggregate(
            failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
            oldest=Min("created_at", filter=Q(status=Delivery.Status.PENDING)),
        )
        more = {key: value for figures in _OPERATIONS for key, value in figures(now).items()}
    except DatabaseError:  # reachable but not migrated yet: reachability is what we report
        return {}
    return {
        **more,
        "beat_last_seen": timezone.localtime(beat).isoformat() if beat else None,
        "beat_stale": beat is None or now - beat > BEAT_STALE_AFTER,
        "queue_length": queue_length(),
        "deliveries_failed": deliveries["failed"],
        "oldest_undelivered": timezone.localtime(deliveries["oldest"]).isoformat()
        if deliveries["oldest"]
        else None,
    }


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


def details(now: datetime.datetime | None = None) -> dict:
    """``operations()`` and the warnings, a stale beat among them, for those who may read them."""
    found = operations(now)
    warnings = health_warnings()
    if found.get("beat_stale"):
        seen = found["beat_last_seen"] or "never"
        warnings.append(
            f"beat has not run the heartbeat for more than {BEAT_STALE_AFTER.seconds // 60} minutes "
            f"(last seen: {seen}): reminders and deadlines are not being sent"
        )
    return {**found, "warnings": warnings}

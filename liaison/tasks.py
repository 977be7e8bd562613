"""Foundation tasks: a round-trip probe, housekeeping, and sending notifications."""

import logging

from celery import shared_task
from django.core import management
from django.utils import timezone

from liaison import notify

log = logging.getLogger(__name__)


@shared_task
def ping() -> str:
    """Answer "pong": proves a message went through the broker, a worker and the result store."""
    return "pong"


@shared_task
def heartbeat() -> str:
    """Record that beat scheduled this and a worker ran it (shown by /healthz)."""
    from liaison.models import Heartbeat

    now = timezone.now()
    Heartbeat.objects.update_or_create(name="beat", defaults={"seen_at": now})
    log.info("heartbeat %s", now.isoformat())
    return now.isoformat()


@shared_task(acks_late=False)
def backup() -> str:
    """Write tonight's backup archive and keep the newest ``BACKUP_KEEP`` (``liaison.backup``).
    Not redelivered when a worker dies under it: a half-written archive is never left under its
    name, and the next night makes a whole one."""
    from pathlib import Path

    from django.conf import settings

    from liaison import backup as backups

    path = backups.create(Path(settings.BACKUP_DIR), keep=settings.BACKUP_KEEP)
    log.info("backup written: %s", path)
    return str(path)


@shared_task
def clear_sessions() -> None:
    management.call_command("clearsessions")


@shared_task
def purge_audit() -> int:
    """Delete the audit rows older than their county's retention (``liaison.audit.purge``)."""
    from liaison import audit

    return audit.purge()


# Retries of a delivery back off 1, 2, 4, 8, 16 minutes (with jitter). With acks_late a retry
# waits in the broker unacknowledged until its countdown ends; Redis hands a message to another
# worker after CELERY_VISIBILITY_TIMEOUT, so every countdown stays far below it (a test checks).
DELIVERY_RETRY_BACKOFF = notify.RETRY_BACKOFF
DELIVERY_RETRY_BACKOFF_MAX = notify.RETRY_BACKOFF_MAX
DELIVERY_MAX_RETRIES = notify.MAX_ATTEMPTS - 1


@shared_task(
    autoretry_for=(notify.RetryableDeliveryError,),
    retry_backoff=DELIVERY_RETRY_BACKOFF,
    retry_backoff_max=DELIVERY_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=DELIVERY_MAX_RETRIES,
    ignore_result=True,
)
def deliver(delivery_id: int) -> str:
    """Send one email or SMS (liaison.notify.delivery_send); safe to run twice."""
    return notify.delivery_send(delivery_id=delivery_id, now=timezone.now())


@shared_task(ignore_result=True)
def dispatch_deliveries() -> int:
    """Enqueue every due delivery (liaison.notify.deliveries_dispatch); safe to run twice."""
    return notify.deliveries_dispatch(now=timezone.now())


@shared_task(ignore_result=True)
def deliver_batch(delivery_ids: list[int]) -> dict[str, int]:
    """Send a batch of deliveries, one message per address and channel
    (liaison.notify.deliveries_send); safe to run twice. Its failures wait for their
    ``retry_delay`` and the next dispatch, not for a retry of this task."""
    return dict(notify.deliveries_send(delivery_ids=delivery_ids, now=timezone.now()))

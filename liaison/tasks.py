"""Foundation tasks: a round-trip probe and housekeeping."""

import logging

from celery import shared_task
from django.core import management
from django.core.cache import cache
from django.utils import timezone

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "liaison:beat:last"


@shared_task
def ping() -> str:
    """Answer "pong": proves a message went through the broker, a worker and the result store."""
    return "pong"


@shared_task
def heartbeat() -> str:
    """Record that beat and a worker are alive (shown by /healthz when the cache is shared)."""
    stamp = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, stamp, timeout=60 * 60)
    log.info("heartbeat %s", stamp)
    return stamp


@shared_task
def clear_sessions() -> None:
    management.call_command("clearsessions")

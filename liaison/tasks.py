"""Foundation tasks: a round-trip probe and housekeeping."""

import logging

from celery import shared_task
from django.core import management
from django.utils import timezone

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


@shared_task
def clear_sessions() -> None:
    management.call_command("clearsessions")

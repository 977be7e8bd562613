"""Ticket tasks: thin wrappers over the sweeps in ``proposals.reminders`` (beat runs them)."""

import datetime

from celery import shared_task
from django.utils import timezone

from proposals import anonymise, reminders, webhooks


def _moment(at: str | None) -> datetime.datetime:
    """Now, or the ISO time ``at`` an operator (or a test) runs a sweep for."""
    return datetime.datetime.fromisoformat(at) if at else timezone.now()


@shared_task
def send_ticket_reminders(at: str | None = None) -> dict[str, int]:
    """Send the deadline notices owed now (reminders.ticket_reminders_send_due); safe to run twice."""
    return reminders.ticket_reminders_send_due(now=_moment(at))


@shared_task(ignore_result=True)
def notify_ticket_events(at: str | None = None) -> dict[str, int]:
    """Notify the moves of the last days (reminders.ticket_events_notify); safe to run twice."""
    return reminders.ticket_events_notify(now=_moment(at))


@shared_task
def anonymise_closed() -> dict[str, int]:
    """Erase residents' names and phones from tickets closed long ago (proposals.anonymise)."""
    return anonymise.anonymise_closed_send_due()


@shared_task
def draft_bulletins() -> int:
    """Draft last month's bulletin for each county that has none (bulletins.bulletins_draft_due)."""
    from proposals.bulletins import bulletins_draft_due

    return bulletins_draft_due(now=timezone.now())


@shared_task(bind=True, ignore_result=True, max_retries=webhooks.MAX_ATTEMPTS)
def send_webhook(self, delivery_id: int) -> str:
    """POST one signed webhook delivery (webhooks.webhook_delivery_send); safe to run twice.

    A failure is retried after ``webhooks.retry_delay`` (exponential, at most 30 minutes, far
    below the Redis visibility timeout); the ledger counts the attempts and fails the delivery
    after ``webhooks.MAX_ATTEMPTS``, whatever Celery's count says.
    """
    try:
        return webhooks.webhook_delivery_send(delivery_id=delivery_id, now=timezone.now())
    except webhooks.RetryLater as later:
        raise self.retry(countdown=later.countdown) from later

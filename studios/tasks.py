"""Background work of studios: the daily report-reminder sweep."""

from celery import shared_task
from django.utils import timezone

from studios import reminders


# A sweep is a dozen set-based statements; a minute is generous even for a province.
@shared_task(ignore_result=True, soft_time_limit=4 * 60, time_limit=5 * 60)
def send_report_reminders() -> dict[str, int]:
    """Issue every report reminder owed now (studios.reminders.report_reminders_send_due).

    Safe to run twice, or in two workers at once: each reminder exists once per period.
    """
    return reminders.report_reminders_send_due(now=timezone.now())

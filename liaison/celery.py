"""The Celery application: configuration from Django settings, tasks from every app."""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import (
    beat_init,
    before_task_publish,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    task_success,
    worker_init,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liaison.settings")

app = Celery("liaison")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    timezone="Asia/Shanghai",
    enable_utc=True,
    # Acknowledge after the task ran, and hand a task back when its worker dies under it,
    # so that a killed worker loses nothing; tasks are written to be safe to run twice.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=5 * 60,
    task_time_limit=6 * 60,
    result_expires=24 * 60 * 60,
    broker_connection_retry_on_startup=True,
    # The worker logs through Django's LOGGING (text or JSON lines, with the request id).
    worker_hijack_root_logger=False,
)

app.conf.beat_schedule = {
    # Every minute: proves beat and a worker are alive (/healthz shows when it last ran).
    "heartbeat": {"task": "liaison.tasks.heartbeat", "schedule": 60},
    # Every 2 minutes: enqueues deliveries whose task was lost (a safety net: issuing and
    # retries enqueue their own; claimed rows are skipped for 10 minutes, so this is cheap).
    "dispatch-deliveries": {"task": "liaison.tasks.dispatch_deliveries", "schedule": 2 * 60},
    # Every 5 minutes: ticket deadline notices owed by the clock (due soon, overdue, escalations,
    # co-unit opinions, hand-ins, feedback, the 08:00 digest, the office told of its drafted bulletin).
    "send-ticket-reminders": {
        "task": "proposals.tasks.send_ticket_reminders",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    # Every 2 minutes: notifies ticket moves whose on-commit task was lost (a safety net), and
    # enqueues the webhook deliveries that are due (retries whose task was lost, new ones).
    "notify-ticket-events": {
        "task": "proposals.tasks.notify_ticket_events",
        "schedule": 2 * 60,
        "options": {"expires": 100},
    },
    # 08:00 every day (Asia/Shanghai): report reminders owed today (quarterly quota, register and
    # statistics, monthly "four ones", Monday's weekly list, December and annual-meeting reports,
    # duty eve); each once per period, so a missed day is caught up by the next run.
    "send-report-reminders": {
        "task": "studios.tasks.send_report_reminders",
        "schedule": crontab(hour=8, minute=0),
        "options": {"expires": 6 * 60 * 60},
    },
    # 06:30 on the 1st to the 7th (Asia/Shanghai): drafts last month's bulletin (定期通报) for each
    # county that has none yet; the next ticket sweep tells the office. Days 2-7 catch up.
    "draft-bulletins": {
        "task": "proposals.tasks.draft_bulletins",
        "schedule": crontab(hour=6, minute=30, day_of_month="1-7"),
        "options": {"expires": 6 * 60 * 60},
    },
    # 03:17 every night: removes expired sessions.
    "clear-sessions": {
        "task": "liaison.tasks.clear_sessions",
        "schedule": crontab(hour=3, minute=17),
    },
    # 03:41 every night: deletes the audit rows older than their county's retention (at least
    # 6 months, 网络安全法 第二十一条); the database refuses any other delete of them.
    "purge-audit": {
        "task": "liaison.tasks.purge_audit",
        "schedule": crontab(hour=3, minute=41),
    },
    # 03:53 every night: deletes uploaded import sheets whose job is over or was abandoned a day
    # ago (they hold people's names and phones; a finished job's own are deleted at once).
    "sweep-import-files": {
        "task": "reps.tasks.sweep_import_files",
        "schedule": crontab(hour=3, minute=53),
    },
    # 02:30 every night: one backup archive (database, uploaded files, manifest) into BACKUP_DIR,
    # keeping the newest BACKUP_KEEP (liaison.backup).
    "backup": {
        "task": "liaison.tasks.backup",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 6 * 60 * 60},
    },
    # 04:07 every night: erases residents' names and phones from tickets closed more than their
    # county's SecurityPolicy.anonymise_after_years ago (PIPL); statistics stay the same.
    "anonymise-closed": {
        "task": "proposals.tasks.anonymise_closed",
        "schedule": crontab(hour=4, minute=7),
    },
}

app.autodiscover_tasks()


@worker_init.connect
def _refuse_console_messages(**kwargs):
    """The worker sends the messages: with DEBUG off it does not start on the console email or
    SMS backend unless LIAISON_ALLOW_CONSOLE_MESSAGES says so (liaison.checks)."""
    from django.core.management.base import SystemCheckError

    from liaison.checks import refuse_to_start_on_errors

    try:
        refuse_to_start_on_errors()
    except SystemCheckError as exc:
        # Celery logs and ignores an exception from a signal handler: exit instead.
        raise SystemExit(f"{exc}") from None


@beat_init.connect
def _heartbeat_at_start(sender, **kwargs):
    """Beat's first heartbeat is sent as it starts, not a minute later (an interval entry first
    fires one interval after beat starts): /healthz shows it as soon as a worker runs it."""
    sender.app.send_task("liaison.tasks.heartbeat")


# Each task's outcome, for /metrics (liaison.metrics: counted in the cache by every worker).
@task_success.connect
def _count_success(sender=None, **kwargs):
    from liaison.metrics import count_task

    count_task(sender.name, "success")


@task_failure.connect
def _count_failure(sender=None, **kwargs):
    from liaison.metrics import count_task

    count_task(sender.name, "failure")


@task_retry.connect
def _count_retry(sender=None, **kwargs):
    from liaison.metrics import count_task

    count_task(sender.name, "retry")


# The request id (liaison.logs) travels from the request that enqueued a task into its log lines.
REQUEST_ID_HEADER = "liaison_request_id"


@before_task_publish.connect
def _send_request_id(headers=None, **kwargs):
    from liaison import logs

    if headers is not None and logs.current() != logs.NONE:
        headers[REQUEST_ID_HEADER] = logs.current()


@task_prerun.connect
def _take_request_id(task=None, **kwargs):
    from liaison import logs

    sent = getattr(task.request, REQUEST_ID_HEADER, None) if task is not None else None
    task.request._liaison_log_token = logs.request_id.set(sent or logs.NONE)


@task_postrun.connect
def _drop_request_id(task=None, **kwargs):
    from liaison import logs

    token = getattr(task.request, "_liaison_log_token", None) if task is not None else None
    if token is not None:
        logs.request_id.reset(token)

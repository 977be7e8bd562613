"""Background work of representatives: checking and importing uploaded sheets."""

import logging

from celery import shared_task
from django.db import OperationalError

from reps import importing

log = logging.getLogger(__name__)

# A sheet of 20,000 rows is read and checked in well under this; the broker's visibility
# timeout (CELERY_VISIBILITY_TIMEOUT, 2 hours) stays far above it.
LIMITS = {"soft_time_limit": 15 * 60, "time_limit": 16 * 60}


def _run(task, service, job_id: int):
    """Run ``service`` on the job; retry a lost database connection, record any other failure."""
    try:
        return service(job_id).status
    except OperationalError as exc:
        if task.request.retries < task.max_retries:
            raise task.retry(exc=exc, countdown=30 * (task.request.retries + 1)) from exc
        log.exception("import job %s failed", job_id)
        importing.import_fail(job_id)
        raise
    except Exception:
        log.exception("import job %s failed", job_id)
        importing.import_fail(job_id)
        raise


@shared_task(bind=True, max_retries=3, **LIMITS)
def import_check(self, job_id: int) -> str:
    """Check an uploaded sheet (reps.importing.import_check); safe to run twice."""
    return _run(self, importing.import_check, job_id)


@shared_task(bind=True, max_retries=3, **LIMITS)
def import_apply(self, job_id: int) -> str:
    """Import a checked sheet (reps.importing.import_apply); safe to run twice."""
    return _run(self, importing.import_apply, job_id)


@shared_task
def sweep_import_files() -> int:
    """Delete the sheets of finished and abandoned import jobs (reps.importing.sweep_files)."""
    return importing.sweep_files()

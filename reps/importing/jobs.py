"""An import job's lifecycle and progress: the services the pages call and the Celery tasks run.

A worker checks an uploaded sheet (``import_check``): nothing but the job is written; bad rows
are recorded. When the sheet is clean the uploader starts the import, and a worker writes every
row or none (``import_apply``).
"""

from __future__ import annotations

import datetime
import uuid

from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from liaison import audit
from liaison.models import Region
from reps.importing import checking
from reps.importing.checking import general_error
from reps.importing.specs import Kind, may_import, spec_for
from reps.models import ImportJob

Status = ImportJob.Status
# A job in one of these statuses is over: its sheet (residents' names and phones) is deleted.
FINISHED = frozenset({Status.DONE, Status.FAILED, Status.INVALID})
# A sheet checked but not imported (or stuck) this long is abandoned: the sweep ends its job.
ABANDONED_AFTER = datetime.timedelta(days=1)

MAX_STORED_ERRORS = 1_000
PROGRESS_EVERY = 100  # rows between two progress writes
LOCK_NAMESPACE = 7301  # the first key of the job locks, apart from any other advisory lock

# The lifecycle: which statuses each status may move to. A status may move to itself where a
# retried task runs the same step again.
ALLOWED = {
    Status.UPLOADED: {Status.CHECKING, Status.FAILED},
    Status.CHECKING: {Status.CHECKING, Status.READY, Status.INVALID, Status.FAILED},
    Status.READY: {Status.IMPORTING, Status.FAILED},
    Status.IMPORTING: {Status.IMPORTING, Status.DONE, Status.FAILED},
}


class Progress:
    """Write the job's processed rows every PROGRESS_EVERY rows, where the page's poll sees them.

    While an import writes its rows it is inside one transaction, whose writes no one sees
    before it commits; there the count goes through a second connection of its own (and the
    import leaves the job's row alone until its last statement, so the two never wait on each
    other). SQLite allows one writer at a time, and a caller's own transaction may hold the
    job's row: in both cases the count shows only when the import is done.
    """

    def __init__(self, job_id: int, *, in_transaction: bool = False):
        self.job_id, self.last = job_id, 0
        self.own_connection = None
        self.enabled = True
        if in_transaction:
            default = connections[DEFAULT_DB_ALIAS]
            if default.vendor == "postgresql" and not default.in_atomic_block:
                self.own_connection = connections.create_connection(DEFAULT_DB_ALIAS)
            else:
                self.enabled = False

    def start(self, total: int) -> None:
        if self.enabled and self.own_connection is None:
            ImportJob.objects.filter(pk=self.job_id).update(
                total_rows=total, processed_rows=0, updated_at=timezone.now()
            )

    def __call__(self, done: int) -> None:
        if not self.enabled or done - self.last < PROGRESS_EVERY:
            return
        self.last = done
        now = timezone.now()
        if self.own_connection is None:
            ImportJob.objects.filter(pk=self.job_id).update(processed_rows=done, updated_at=now)
            return
        table = self.own_connection.ops.quote_name(ImportJob._meta.db_table)
        with self.own_connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET processed_rows = %s, updated_at = %s WHERE id = %s",  # noqa: S608
                [done, now, self.job_id],
            )

    def close(self) -> None:
        if self.own_connection is not None:
            self.own_connection.close()


class Silent(Progress):
    def __init__(self):
        super().__init__(0)
        self.enabled = False


# --- the lifecycle ------------------------------------------------------------------------


def _move(job_id: int, *, to: str, only_from: str | None = None, **fields) -> bool:
    """Move the job to ``to`` if its status allows it (compare-and-set); False if it did not."""
    sources = [status for status, targets in ALLOWED.items() if to in targets]
    if only_from is not None:
        sources = [only_from] if only_from in sources else []
    moved = ImportJob.objects.filter(pk=job_id, status__in=sources).update(
        status=to, updated_at=timezone.now(), **fields
    )
    return bool(moved)


def _may_import(job: ImportJob) -> bool:
    return may_import(job.kind, job.created_by)


def _stored(errors: list[dict]) -> list[dict]:
    return errors[:MAX_STORED_ERRORS]


@transaction.atomic
def import_upload(*, actor, kind: str, region: Region, upload) -> ImportJob:
    """Store an uploaded sheet as a new job in ``region`` and have a worker check it."""
    from reps import tasks

    if not may_import(Kind(kind), actor):
        raise PermissionDenied
    if not Region.objects.visible_to(actor).filter(pk=region.pk).exists():
        raise PermissionDenied
    job = ImportJob(kind=kind, region=region, created_by=actor, file_name=str(upload.name)[:200])
    # Our own file name: the user's may be anything; the original is kept in file_name.
    job.file.save(f"{uuid.uuid4().hex}.xlsx", upload, save=False)
    job.save()
    audit.record(
        actor=actor, verb="import.uploaded", subject=job, region=region, kind=kind, file=job.file_name
    )
    transaction.on_commit(lambda: tasks.import_check.delay(job.pk), robust=True)
    return job


def import_check(job_id: int) -> ImportJob:
    """Check every row of the job's sheet; record the bad rows, or mark the job ready.

    Writes nothing but the job. Safe to run again (a retried task): it only reads.
    """
    if not _move(job_id, to=Status.CHECKING, processed_rows=0):
        return ImportJob.objects.get(pk=job_id)  # checked already, or moved on
    job = ImportJob.objects.select_related("created_by", "region").get(pk=job_id)
    if not _may_import(job):
        _move(
            job_id,
            to=Status.FAILED,
            errors=[general_error(gettext_noop("You may not import this kind of sheet."))],
        )
        return discard_file(job_id)
    progress = Progress(job_id)
    plan = checking.check(job, progress)
    _move(
        job_id,
        to=Status.INVALID if plan.errors else Status.READY,
        total_rows=plan.total,
        processed_rows=plan.total,
        errors=_stored(plan.errors),
        summary=plan.summary(),
    )
    return discard_file(job_id)


@transaction.atomic
def import_start(*, actor, job: ImportJob) -> bool:
    """Have a worker import a checked sheet; False if the job is not ready (or started already)."""
    from reps import tasks

    if job.created_by_id != actor.pk or not _may_import(job):
        raise PermissionDenied
    if not _move(job.pk, to=Status.IMPORTING, only_from=Status.READY, processed_rows=0):
        return False  # not ready, or a second click
    transaction.on_commit(lambda: tasks.import_apply.delay(job.pk), robust=True)
    return True


def import_apply(job_id: int) -> ImportJob:
    """Write every row of a checked sheet, or none.

    1. Claim the job (ready, or importing for a retried task); a finished job is left alone.
    2. In one transaction: take the job's lock (a duplicate delivery finds it taken and leaves
       the job to the first worker); check the sheet again as of now (the uploader's scope may
       have shrunk, someone may have added the same person meanwhile); write every row (the
       kind's ``write``), or on any error write nothing.
    3. Each kind matches its rows to what exists (people on name + phone, hotline work orders on
       their order number), so running this again writes nothing twice.
    """
    if not _move(job_id, to=Status.IMPORTING, processed_rows=0):
        return ImportJob.objects.get(pk=job_id)
    job = ImportJob.objects.select_related("created_by", "region").get(pk=job_id)
    if not _may_import(job):
        _move(
            job_id,
            to=Status.FAILED,
            errors=[general_error(gettext_noop("You may not import this kind of sheet."))],
        )
        return discard_file(job_id)
    progress = Progress(job_id, in_transaction=True)
    try:
        with transaction.atomic():
            if not _lock(job_id):
                return ImportJob.objects.get(pk=job_id)  # another worker is importing it now
            plan = checking.check(job, Silent())
            if plan.errors:
                refused = plan
            else:
                refused = None
                summary = plan.summary()
                spec_for(job.kind).write(plan, progress)
                counts = {key: value for key, value in summary.items() if not isinstance(value, list)}
                audit.record(
                    actor=job.created_by, verb="import.applied", subject=job, region=job.region, **counts
                )
                if not _move(
                    job_id,
                    to=Status.DONE,
                    processed_rows=plan.total,
                    total_rows=plan.total,
                    summary=summary,
                    errors=[],
                    finished_at=timezone.now(),
                ):
                    raise RuntimeError(f"import job {job_id} was moved while it was being imported")
    finally:
        progress.close()
    if refused is not None:
        _move(
            job_id,
            to=Status.FAILED,
            errors=_stored(refused.errors),
            summary=refused.summary(),
            finished_at=timezone.now(),
        )
    return discard_file(job_id)


def import_fail(job_id: int) -> None:
    """Record that a job stopped on an unexpected error (its transaction wrote nothing)."""
    _move(
        job_id,
        to=Status.FAILED,
        errors=[
            general_error(
                gettext_noop(
                    "The import stopped on an unexpected error; nothing was written. Upload the file again."
                )
            )
        ],
        finished_at=timezone.now(),
    )
    discard_file(job_id)


def discard_file(job_id: int) -> ImportJob:
    """Delete the job's uploaded sheet once the job is over (imported, refused or failed), and
    return the job. PIPL: the sheet holds people's names and phones, which are now either in
    the database or not wanted; the job keeps its counts and row errors, not the file."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status in FINISHED and job.file:
        name = job.file.name
        if ImportJob.objects.filter(pk=job_id, file=name).update(file=""):
            job.file.storage.delete(name)
        job.file = ""
    return job


def sweep_files(now: datetime.datetime | None = None) -> int:
    """End the jobs abandoned for a day (uploaded or checked, never imported) and delete the
    sheets of every finished job that still has one; return how many files were deleted.

    Safe to run twice at once: each job moves and each file goes once (compare-and-set)."""
    now = now or timezone.now()
    stale = ImportJob.objects.filter(
        status__in=[Status.UPLOADED, Status.CHECKING, Status.READY], updated_at__lt=now - ABANDONED_AFTER
    ).values_list("pk", flat=True)
    for job_id in list(stale):
        _move(
            job_id,
            to=Status.FAILED,
            errors=[
                general_error(
                    gettext_noop(
                        "The sheet was not imported within a day and has been deleted. Upload it again."
                    )
                )
            ],
            finished_at=now,
        )
    deleted = 0
    for job_id in list(
        ImportJob.objects.filter(status__in=FINISHED).exclude(file="").values_list("pk", flat=True)
    ):
        had = ImportJob.objects.filter(pk=job_id).exclude(file="").exists()
        if had and not discard_file(job_id).file:
            deleted += 1
    return deleted


def _lock(job_id: int) -> bool:
    """Take the job's lock for this transaction: False when another transaction holds it.

    PostgreSQL has advisory locks; SQLite lets one transaction write at a time anyway.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql":
        return True
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, job_id])
        return bool(cursor.fetchone()[0])

"""PIPL: an uploaded import sheet (names and phones) is deleted once its job is over, and a nightly
sweep ends the jobs abandoned for a day and deletes their sheets."""

import datetime
import pathlib

import pytest
from django.utils import timezone

from liaison.celery import app
from reps import importing
from reps.models import ImportJob, Representative
from tests.reps.test_import_export import REP_HEADER, REPS, new_job, rep_row, xlsx

Status = ImportJob.Status


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def stored(job) -> pathlib.Path:
    path = pathlib.Path(job.file.path)
    assert path.exists()
    return path


def test_the_sheet_is_deleted_when_the_import_is_applied(liaison_office, county, township_a):
    job = new_job(liaison_office, county, REPS, xlsx(REP_HEADER, [rep_row(1)]))
    path = stored(job)
    job = importing.import_check(job.pk)
    assert job.status == Status.READY and path.exists()  # the uploader has yet to start it
    assert importing.import_start(actor=liaison_office, job=job)
    job = importing.import_apply(job.pk)
    assert job.status == Status.DONE and Representative.objects.count() == 1
    assert not path.exists() and ImportJob.objects.get(pk=job.pk).file.name == ""
    assert job.summary["created"] == 1  # the job keeps its counts


def test_the_sheet_is_deleted_when_the_check_refuses_it(liaison_office, county, township_a):
    job = new_job(liaison_office, county, REPS, xlsx(REP_HEADER, [rep_row(1, {"电话": "12"})]))
    path = stored(job)
    job = importing.import_check(job.pk)
    assert job.status == Status.INVALID and job.errors  # the row errors stay, the file goes
    assert not path.exists() and ImportJob.objects.get(pk=job.pk).file.name == ""


def test_the_sweep_ends_jobs_abandoned_for_a_day_and_deletes_their_sheets(liaison_office, county, township_a):
    ready = importing.import_check(new_job(liaison_office, county, REPS, xlsx(REP_HEADER, [rep_row(1)])).pk)
    fresh = importing.import_check(new_job(liaison_office, county, REPS, xlsx(REP_HEADER, [rep_row(2)])).pk)
    old_path, fresh_path = stored(ready), stored(fresh)
    ImportJob.objects.filter(pk=ready.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=25))

    assert importing.sweep_files() == 1
    assert importing.sweep_files() == 0  # run again: nothing left to do

    ready.refresh_from_db()
    assert ready.status == Status.FAILED and not old_path.exists() and ready.file.name == ""
    assert "within a day" in str(ready.errors)
    assert fresh_path.exists() and ImportJob.objects.get(pk=fresh.pk).status == Status.READY
    assert not importing.import_start(actor=liaison_office, job=ready)  # it can no longer start


def test_the_sweep_is_scheduled_nightly():
    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == "reps.tasks.sweep_import_files"]
    assert len(entries) == 1

"""The ping task round-trips through a real worker on the test Redis; retries fit the broker."""

import os
import subprocess
import sys
import time
from datetime import datetime

import pytest
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from liaison.celery import app
from tests.helpers import ROOT, project_env, run_python


@pytest.mark.worker
def test_ping_round_trips_through_a_real_worker(worker):
    from liaison.tasks import ping

    assert ping.delay().get(timeout=20) == "pong"


@pytest.mark.worker
def test_beats_heartbeat_task_writes_through_a_real_worker(worker, admin_client):
    from liaison.models import Heartbeat
    from liaison.tasks import heartbeat

    stamp = heartbeat.delay().get(timeout=20)
    assert Heartbeat.objects.get(name="beat").seen_at.isoformat() == stamp  # UTC, as the task returns it
    shown = admin_client.get("/healthz").json()["beat_last_seen"]  # a detail for staff
    assert shown.endswith("+08:00") and datetime.fromisoformat(shown) == datetime.fromisoformat(stamp)


@pytest.mark.worker
def test_beat_sends_a_heartbeat_as_it_starts_not_a_minute_later(worker, tmp_path):
    """/healthz showed "beat_last_seen": null for the first minute of `make run`: an interval entry
    first fires one interval after beat starts. Beat now sends one heartbeat at start."""
    from django.db import connection

    from liaison.models import Heartbeat

    db = connection.settings_dict
    env = project_env(
        DEBUG="1",
        REDIS_URL=os.environ["REDIS_URL"],
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        LIAISON_VAR_DIR=str(tmp_path),
    )
    log_path = tmp_path / "beat.log"
    with open(log_path, "w") as log:
        beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "liaison",
                "beat",
                "--loglevel=INFO",
                "-s",
                str(tmp_path / "schedule"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started = time.monotonic()
        try:
            while not Heartbeat.objects.filter(name="beat").exists():
                assert beat.poll() is None, "beat exited:\n" + log_path.read_text()
                assert time.monotonic() - started < 40, "no heartbeat 40 s after beat started"
                time.sleep(0.5)
        finally:
            beat.terminate()
            beat.wait(timeout=30)
    # The interval entry alone would have fired after 60 s.
    assert time.monotonic() - started < 60


def test_the_beat_schedule_is_defined_in_code():
    assert {"heartbeat", "clear-sessions", "dispatch-deliveries", "backup"} <= set(app.conf.beat_schedule)
    assert app.conf.beat_schedule["dispatch-deliveries"]["schedule"] == 120
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.accept_content == ["json"]


def test_delivery_retries_wait_less_than_the_visibility_timeout():
    """With acks_late a retry waits unacknowledged in Redis for its countdown; past the
    visibility timeout Redis would hand it to a second worker while the first still holds it."""
    from liaison.tasks import DELIVERY_MAX_RETRIES, DELIVERY_RETRY_BACKOFF_MAX, deliver

    assert (deliver.max_retries, deliver.retry_backoff_max) == (
        DELIVERY_MAX_RETRIES,
        DELIVERY_RETRY_BACKOFF_MAX,
    )
    countdowns = [
        get_exponential_backoff_interval(
            deliver.retry_backoff, retries, deliver.retry_backoff_max, full_jitter=False
        )
        for retries in range(deliver.max_retries)
    ]
    assert countdowns == [60, 120, 240, 480, 960]
    # The longest wait plus the longest run of the task itself.
    assert DELIVERY_RETRY_BACKOFF_MAX + app.conf.task_time_limit < settings.CELERY_VISIBILITY_TIMEOUT


def test_the_celery_app_gives_broker_and_results_the_same_visibility_timeout():
    """tests/liaison/test_settings.py checks the settings; this checks what Celery reads."""
    result = run_python(
        "import django; django.setup(); from django.conf import settings as s; "
        "from liaison.celery import app; c = app.conf; "
        "print(c.broker_transport_options['visibility_timeout'], "
        "c.result_backend_transport_options['visibility_timeout'], s.CELERY_VISIBILITY_TIMEOUT)",
        DEBUG="1",
        REDIS_URL="redis://127.0.0.1:6379/0",
        CELERY_VISIBILITY_TIMEOUT="5400",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5400", "5400", "5400"]


@pytest.mark.worker
def test_the_worker_fixture_throws_away_a_task_left_in_the_queue(transactional_db, request):
    """A task that an earlier test queued but no worker ran must not run in the next test."""
    from liaison.models import Heartbeat
    from liaison.tasks import heartbeat, ping
    from tests.conftest import queued_tasks

    left_over = heartbeat.delay()  # no worker yet: it waits in the queue
    assert queued_tasks() == 1
    request.getfixturevalue("worker")
    # One queue, one solo worker, first in first out: had the heartbeat stayed queued, it ran before the ping.
    assert ping.delay().get(timeout=20) == "pong"
    assert not Heartbeat.objects.exists()
    assert left_over.state == "PENDING"

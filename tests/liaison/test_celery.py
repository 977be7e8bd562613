"""The ping task round-trips through a real worker on the test Redis."""

import os
import subprocess
import sys
import time

import pytest

from liaison.celery import app
from tests.helpers import ROOT, project_env


@pytest.fixture
def worker(tmp_path):
    """A real `celery worker` process on the test broker, stopped after the test."""
    env = project_env(
        DEBUG="1",
        REDIS_URL=os.environ["REDIS_URL"],
        DATABASE_URL=os.environ["DATABASE_URL"],
        LIAISON_VAR_DIR=str(tmp_path),
    )
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "liaison",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "-n",
            "test@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if app.control.ping(timeout=0.5):
                break
            assert proc.poll() is None, (tmp_path / "worker.log").read_text()
        else:
            pytest.fail("the Celery worker did not come up:\n" + (tmp_path / "worker.log").read_text())
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.mark.worker
def test_ping_round_trips_through_a_real_worker(worker):
    from liaison.tasks import ping

    assert ping.delay().get(timeout=20) == "pong"


def test_the_beat_schedule_is_defined_in_code():
    assert {"heartbeat", "clear-sessions"} <= set(app.conf.beat_schedule)
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.accept_content == ["json"]

"""The ping task round-trips through a real worker on the test Redis."""

from datetime import datetime

import pytest

from liaison.celery import app


@pytest.mark.worker
def test_ping_round_trips_through_a_real_worker(worker):
    from liaison.tasks import ping

    assert ping.delay().get(timeout=20) == "pong"


@pytest.mark.worker
def test_beats_heartbeat_task_writes_through_a_real_worker(worker, client):
    from liaison.models import Heartbeat
    from liaison.tasks import heartbeat

    stamp = heartbeat.delay().get(timeout=20)
    assert Heartbeat.objects.get(name="beat").seen_at.isoformat() == stamp  # UTC, as the task returns it
    shown = client.get("/healthz").json()["beat_last_seen"]
    assert shown.endswith("+08:00") and datetime.fromisoformat(shown) == datetime.fromisoformat(stamp)


def test_the_beat_schedule_is_defined_in_code():
    assert {"heartbeat", "clear-sessions"} <= set(app.conf.beat_schedule)
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.accept_content == ["json"]

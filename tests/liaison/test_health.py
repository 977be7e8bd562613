"""/healthz: 200 when database, cache and broker answer, 503 when one does not. The public reads
only ok / failing; which check failed and why is for the liaison office, superusers and a monitor
holding HEALTHZ_TOKEN (``Authorization: Bearer …`` or ``?token=``)."""

import datetime
import json
import os
import socket

import pytest

from liaison import health
from liaison.models import Delivery, Heartbeat, Notification, Reminder
from liaison.roles import Role
from tests.factories import UserFactory, user_with_role
from tests.helpers import run_python

TOKEN = "monitor-token-" + "x" * 20
HEALTHZ = (
    "import django; django.setup(); from django.test import Client; "
    "r = Client().get('/healthz', **{headers}); print(r.status_code); print(r.content.decode())"
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends


def healthz_in_subprocess(*, with_token: bool, **env):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"} if with_token else {}
    result = run_python(
        HEALTHZ.format(headers=headers), DEBUG="1", ALLOWED_HOSTS="testserver", HEALTHZ_TOKEN=TOKEN, **env
    )
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().split("\n", 1)
    return int(status), json.loads(body)


@pytest.fixture
def token(settings):
    settings.HEALTHZ_TOKEN = TOKEN
    return TOKEN


def test_the_public_reads_only_ok(client, db, token):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "ask",
    [
        {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"},
        {"QUERY_STRING": f"token={TOKEN}"},
    ],
    ids=["bearer", "query"],
)
def test_the_token_shows_every_check(client, db, token, ask):
    response = client.get("/healthz", **ask)
    assert response.status_code == 200
    body = response.json()
    assert body["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}
    assert body["beat_last_seen"] is None and body["beat_stale"] is True  # no beat in a test database
    assert [w.split(" (")[0] for w in body["warnings"]] == [
        "beat has not run the heartbeat for more than 5 minutes"
    ]


@pytest.mark.parametrize(
    "ask",
    [{"HTTP_AUTHORIZATION": "Bearer wrong"}, {"QUERY_STRING": "token="}, {"HTTP_AUTHORIZATION": TOKEN}],
    ids=["wrong", "empty", "no-bearer-prefix"],
)
def test_a_wrong_token_reads_only_ok(client, db, token, ask):
    assert client.get("/healthz", **ask).json() == {"status": "ok"}


def test_without_a_configured_token_an_empty_one_shows_nothing(client, db, settings):
    settings.HEALTHZ_TOKEN = ""
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "ok"}


def test_the_liaison_office_and_superusers_read_the_details(client, db, county, township_a):
    for user in (
        user_with_role(Role.LIAISON_OFFICE, region=county, username="office"),
        user_with_role(Role.TOWNSHIP_STAFF, region=township_a, username="clerk"),
    ):
        client.force_login(user)
        body = client.get("/healthz").json()
        assert ("checks" in body) == (user.username == "office"), user.username
    client.force_login(
        user_with_role(Role.TOWNSHIP_STAFF, region=township_a, username="root", is_superuser=True)
    )
    assert "checks" in client.get("/healthz").json()


def test_healthz_is_503_when_the_database_is_down(tmp_path):
    redis = {"REDIS_URL": os.environ["REDIS_URL"]} if os.environ.get("REDIS_URL") else {}
    env = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/liaison",
        "LIAISON_VAR_DIR": str(tmp_path),
        **redis,
    }
    status, public = healthz_in_subprocess(with_token=False, **env)
    assert status == 503 and public == {"status": "failing"}  # no internal error text
    status, body = healthz_in_subprocess(with_token=True, **env)
    assert status == 503
    assert body["status"] == "failing"
    assert body["checks"]["database"].startswith("error: OperationalError")
    assert body["checks"]["cache"] == "ok" and body["checks"]["broker"] == "ok"


def test_healthz_is_503_when_redis_is_down(tmp_path):
    env = {"REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0", "LIAISON_VAR_DIR": str(tmp_path)}
    status, public = healthz_in_subprocess(with_token=False, **env)
    assert status == 503 and public == {"status": "failing"}
    status, body = healthz_in_subprocess(with_token=True, **env)
    assert status == 503
    assert body["checks"]["cache"].startswith("error:") and body["checks"]["broker"].startswith("error:")


NOW = datetime.datetime(2026, 12, 5, 10, 0, tzinfo=datetime.UTC)


def test_beat_is_stale_five_minutes_after_its_last_heartbeat(db):
    Heartbeat.objects.create(name="beat", seen_at=NOW - datetime.timedelta(minutes=5))
    assert health.details(NOW)["beat_stale"] is False and health.details(NOW)["warnings"] == []
    late = NOW + datetime.timedelta(seconds=1)
    found = health.details(late)
    assert found["beat_stale"] is True and found["beat_last_seen"] == "2026-12-05T17:55:00+08:00"
    assert found["warnings"] == [
        "beat has not run the heartbeat for more than 5 minutes (last seen: 2026-12-05T17:55:00+08:00): "
        "reminders and deadlines are not being sent"
    ]


def test_the_details_count_failed_deliveries_and_date_the_oldest_waiting_one(client, db, token):
    user = UserFactory(username="ops")
    notice, other = (
        Notification.objects.create(
            user=user,
            reminder=Reminder.objects.create(kind="test", subject_type="test", subject_id=n),
            kind="test",
            subject_type="test",
            subject_id=n,
            batch="b",
        )
        for n in (1, 2)
    )
    at = [NOW - datetime.timedelta(hours=h) for h in (3, 2, 1)]
    Delivery.objects.create(
        notification=notice, channel="email", address="a@x", status="sent", created_at=at[0]
    )
    Delivery.objects.create(
        notification=notice, channel="sms", address="139", status="failed", created_at=at[0]
    )
    Delivery.objects.create(
        notification=other, channel="email", address="a@x", status="pending", created_at=at[1]
    )
    Delivery.objects.create(
        notification=other, channel="sms", address="139", status="pending", created_at=at[2]
    )
    from liaison.celery import app
    from liaison.tasks import ping

    app.control.purge()  # what earlier tests' on-commit dispatches left, with no worker to run them
    body = client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert body["deliveries_failed"] == 1
    assert body["oldest_undelivered"] == "2026-12-05T16:00:00+08:00"
    assert body["queue_length"] == 0
    ping.delay()  # no worker runs it: it waits in the queue
    assert client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {token}").json()["queue_length"] == 1
    app.control.purge()

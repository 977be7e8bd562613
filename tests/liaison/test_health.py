"""/healthz: 200 when database, cache and broker answer; 503 naming the one that does not."""

import json
import os
import socket

from tests.helpers import run_python

HEALTHZ = (
    "import django; django.setup(); from django.test import Client; "
    "r = Client().get('/healthz'); print(r.status_code); print(r.content.decode())"
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends


def healthz_in_subprocess(**env):
    result = run_python(HEALTHZ, DEBUG="1", ALLOWED_HOSTS="testserver", **env)
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().split("\n", 1)
    return int(status), json.loads(body)


def test_healthz_is_200_when_everything_answers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}


def test_healthz_is_503_when_the_database_is_down(tmp_path):
    redis = {"REDIS_URL": os.environ["REDIS_URL"]} if os.environ.get("REDIS_URL") else {}
    status, body = healthz_in_subprocess(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/liaison",
        LIAISON_VAR_DIR=str(tmp_path),
        **redis,
    )
    assert status == 503
    assert body["status"] == "error"
    assert body["checks"]["database"].startswith("error: OperationalError")
    assert body["checks"]["cache"] == "ok" and body["checks"]["broker"] == "ok"


def test_healthz_is_503_when_redis_is_down(tmp_path):
    status, body = healthz_in_subprocess(
        REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0", LIAISON_VAR_DIR=str(tmp_path)
    )
    assert status == 503
    assert body["checks"]["cache"].startswith("error:") and body["checks"]["broker"].startswith("error:")

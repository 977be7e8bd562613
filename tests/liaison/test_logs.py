"""Request ids in every log line, carried from a request into the tasks it enqueues; JSON lines."""

import json
import logging
import time

import pytest

from liaison import logs
from tests.helpers import run_python


def test_every_response_carries_its_request_id_and_a_proxys_sane_one_is_kept(client, db):
    fresh = client.get("/healthz")
    assert len(fresh["X-Request-ID"]) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="a1b2c3d4e5f6a7b8")["X-Request-ID"] == "a1b2c3d4e5f6a7b8"


@pytest.mark.parametrize("sent", ["short", "has space in it", "x" * 65, "新的请求编号一二三四"])
def test_a_request_id_that_no_proxy_would_send_is_replaced(client, db, sent):
    answered = client.get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]
    assert answered != sent and len(answered) == 32


def test_json_lines_carry_the_request_id_the_message_and_the_exception():
    token = logs.request_id.set("req-12345678")
    try:
        record = logging.LogRecord("liaison.test", logging.ERROR, __file__, 1, "办结 %s", ("失败",), None)
        logs.RequestIdFilter().filter(record)
        try:
            raise ValueError("坏了")
        except ValueError:
            import sys

            record.exc_info = sys.exc_info()
        line = json.loads(logs.JsonFormatter().format(record))
    finally:
        logs.request_id.reset(token)
    assert line["request_id"] == "req-12345678" and line["message"] == "办结 失败"
    assert line["level"] == "ERROR" and line["logger"] == "liaison.test"
    assert "ValueError: 坏了" in line["exception"]


def test_log_format_json_configures_the_console_for_json_lines():
    result = run_python(
        "import django, logging; django.setup(); logging.getLogger('liaison.x').warning('你好 %s', 1)",
        DEBUG="1",
        LOG_FORMAT="json",
    )
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(x) for x in result.stderr.splitlines() if x.startswith("{")]
    assert line["message"] == "你好 1" and line["request_id"] == "-" and line["level"] == "WARNING"


def test_an_unknown_log_format_stops_start_up():
    result = run_python("import django; django.setup()", DEBUG="1", LOG_FORMAT="xml")
    assert result.returncode != 0 and "LOG_FORMAT='xml' is not one of: plain, json" in result.stderr


@pytest.mark.worker
def test_a_task_logs_with_the_id_of_the_request_that_enqueued_it(worker, tmp_path):
    from liaison.tasks import heartbeat

    token = logs.request_id.set("smoke-request-0001")
    try:
        stamp = heartbeat.delay().get(timeout=20)
    finally:
        logs.request_id.reset(token)
    untraced = heartbeat.delay().get(timeout=20)  # enqueued outside any request: "-"
    log = tmp_path / "worker.log"
    deadline = time.monotonic() + 10
    while untraced not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    lines = log.read_text().splitlines()
    assert any("[smoke-request-0001]" in line and f"heartbeat {stamp}" in line for line in lines), lines[-20:]
    assert any("[-]" in line and f"heartbeat {untraced}" in line for line in lines)

"""Deliveries through a real Celery worker (prefork, one child) and a real HTTP SMS provider.

The kill test: the provider holds the first SMS request, the test kills the worker's pool
child in the middle of it (kill -9), and Celery (acks_late, reject_on_worker_lost) hands the
task back; the retried send carries the same request id, so the user gets the message once.
"""

import os
import signal
import time
from pathlib import Path

import pytest

from liaison import notify
from liaison.models import Delivery
from tests.factories import UserFactory
from tests.helpers import celery_worker, reload
from tests.liaison.fake_sms_provider import FakeSmsProvider

pytestmark = pytest.mark.worker

KIND = "test.worker_news"  # not registered in the worker: it renders the generic message


@pytest.fixture
def sms_provider():
    provider = FakeSmsProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def prefork_worker(transactional_db, tmp_path, sms_provider):
    """A `celery worker` with the prefork pool and one child, sending SMS to ``sms_provider``."""
    with celery_worker(
        tmp_path,
        name="prefork",
        pool="prefork",
        SMS_BACKEND="http",
        SMS_HTTP_URL=sms_provider.url,
        SMS_HTTP_TOKEN="worker-token",
    ) as proc:
        yield proc


def wait_for(condition, *, timeout: float, what: str, worker=None):
    """Poll ``condition`` every 50 ms until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            log = worker.log_path.read_text() if worker else ""
            pytest.fail(f"timed out after {timeout}s waiting for {what}\n{log}")
        time.sleep(0.05)


def pool_children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (the worker's pool processes), read from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may contain spaces, so split after the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def test_an_issued_notification_goes_out_by_email_and_sms_through_a_real_worker(prefork_worker, sms_provider):
    user = UserFactory(phone="13800138000")
    # notify() commits (transactional_db), and its on_commit asks the worker to dispatch.
    assert notify.notify(kind=KIND, subject=user, users=[user]) == 1
    email, sms = Delivery.objects.get(channel="email"), Delivery.objects.get(channel="sms")

    wait_for(
        lambda: set(Delivery.objects.values_list("status", flat=True)) == {"sent"},
        timeout=30,
        what="both deliveries to be sent",
        worker=prefork_worker,
    )
    assert sms_provider.request_ids() == [sms.idempotency_key]
    (request,) = sms_provider.requests
    assert (request["phone"], request["sign"], request["authorization"]) == (
        "13800138000",
        "党代表工作室",
        "Bearer worker-token",
    )
    # The worker's console email backend wrote the email, with the delivery's Message-ID.
    assert f"Message-ID: <{email.idempotency_key}@localhost>" in prefork_worker.log_path.read_text()
    assert list(Delivery.objects.values_list("attempts", flat=True)) == [1, 1]


def test_a_delivery_whose_worker_is_killed_mid_send_reaches_the_user_once(prefork_worker, sms_provider):
    sms_provider.hold_first = True
    user = UserFactory(phone="13800138001", notify_by_email=False)
    assert notify.notify(kind=KIND, subject=user, users=[user]) == 1
    delivery = Delivery.objects.get()

    assert sms_provider.first_received.wait(timeout=30), prefork_worker.log_path.read_text()
    (child,) = pool_children(prefork_worker.pid)
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: child not in pool_children(prefork_worker.pid), timeout=10, what="the child to die")
    sms_provider.release.set()  # the held request's answer now goes nowhere

    wait_for(
        lambda: reload(delivery).status == "sent",
        timeout=60,
        what="the redelivered task to send the SMS",
        worker=prefork_worker,
    )
    log = prefork_worker.log_path.read_text()
    assert "WorkerLostError" in log or "SIGKILL" in log  # the worker saw its child die
    # The provider was asked twice, with one request id: it delivers that message once.
    assert sms_provider.request_ids() == [delivery.idempotency_key] * 2
    delivery = reload(delivery)
    # The killed attempt was counted before its send, and the attempt that sent after it.
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    assert prefork_worker.poll() is None  # the worker itself lives on

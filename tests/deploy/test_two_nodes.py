"""More than one machine's worth of processes on one PostgreSQL and one Redis: two gunicorn
instances take the residents' matters, two prefork workers run the tasks, and the clock's sweeps of
a whole day are sent twice each, as two beats started by mistake would. Every reminder is issued
once, every notification written once per person, every SMS (a sweep's digest or an event's
notice) reaches the provider once.
(A worker killed mid-send is tests/liaison/test_deliveries_worker.py's.)
"""

from __future__ import annotations

import datetime
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from http.cookiejar import CookieJar

import pytest
from django.db.models import Count
from django.utils import timezone

from liaison.celery import app as celery_app
from liaison.models import Delivery, Notification, Reminder
from liaison.roles import Role
from proposals import services
from proposals.models import Ticket
from tests.conftest import queued_tasks
from tests.factories import user_with_role
from tests.helpers import ROOT, project_env
from tests.liaison.fake_sms_provider import FakeSmsProvider

pytestmark = [pytest.mark.worker, pytest.mark.deploy]

STEP = datetime.timedelta(minutes=30)
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sms_provider():
    provider = FakeSmsProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def nodes(transactional_db, tmp_path, sms_provider):
    """Two gunicorn instances and two prefork workers (two children each); their web ports."""
    from django.db import connection

    db = connection.settings_dict
    env = project_env(
        DEBUG="1",
        ALLOWED_HOSTS="127.0.0.1",
        LIAISON_TWO_FACTOR_ENFORCED="0",
        REDIS_URL=os.environ["REDIS_URL"],
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        LIAISON_VAR_DIR=str(tmp_path),
        SMS_BACKEND="http",
        SMS_HTTP_URL=sms_provider.url,
        SMS_HTTP_TOKEN="two-nodes",
    )
    celery_app.control.purge()
    ports = [free_port(), free_port()]
    commands = [
        *(
            (f"web{i}", [GUNICORN, "liaison.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"])
            for i, port in enumerate(ports, 1)
        ),
        *(
            (
                f"worker{i}",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "liaison",
                    "worker",
                    "--pool=prefork",
                    "--concurrency=2",
                    "--loglevel=INFO",
                    "-n",
                    f"node{i}-{os.getpid()}@%h",
                ],
            )
            for i in (1, 2)
        ),
    ]
    processes = []
    for name, command in commands:
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        processes.append(
            (name, subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        )

    def logs() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(tmp_path.glob("*.log")))

    try:
        deadline = time.monotonic() + 60
        while len(celery_app.control.ping(timeout=0.5)) < 2 or not all(answers(port) for port in ports):
            for name, proc in processes:
                assert proc.poll() is None, f"{name} exited:\n{logs()}"
            assert time.monotonic() < deadline, "the nodes did not come up:\n" + logs()
            time.sleep(0.3)
        yield ports, logs, tmp_path
    finally:
        for _name, proc in processes:
            proc.terminate()
        for _name, proc in processes:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def file_a_matter(port: int, township, category, title: str, phone: str) -> None:
    """What a resident's browser sends: the intake form, its CSRF cookie and its one-time token."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    base = f"http://127.0.0.1:{port}"
    with opener.open(base + "/intake/", timeout=30) as response:
        html = response.read().decode()

    def hidden(name: str) -> str:
        return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)

    form = {
        "csrfmiddlewaretoken": hidden("csrfmiddlewaretoken"),
        "token": hidden("token"),
        "township": township.pk,
        "category": category.pk,
        "title": title,
        "content": "东街社区村口三盏路灯坏了一个月",
        "name": "张大爷",
        "phone": phone,
        "sms_consent": "on",
        "privacy_consent": "on",
        "homepage": "",
    }
    request = urllib.request.Request(  # noqa: S310 - http on loopback, ours
        base + "/intake/", data=urllib.parse.urlencode(form).encode(), headers={"Referer": base + "/intake/"}
    )
    with opener.open(request, timeout=30) as response:
        assert response.status == 200 and "receipt-code" in response.read().decode()


def test_two_web_nodes_and_two_workers_with_beat_started_twice_send_everything_once(
    nodes, sms_provider, township_a, category, clerk_a, unit_a
):
    unit_a_staff = user_with_role(
        Role.HANDLING_UNIT, unit=unit_a, username="unit_a_staff", phone="13900009999"
    )
    ports, logs, logs_dir = nodes
    # Residents file through both web nodes.
    for i in range(6):
        file_a_matter(ports[i % 2], township_a, category, f"路灯不亮{i}", f"1381234{i:04d}")
    tickets = list(Ticket.objects.order_by("pk"))
    assert len(tickets) == 6
    # The township assigns them to a unit, which signs. The day of sweeps is the last 24 hours
    # (what they issue is due to be sent at once): half the tickets fell due at its 12th hour,
    # half an hour before it began.
    start = timezone.now() - datetime.timedelta(days=1)
    for i, ticket in enumerate(tickets):
        services.ticket_assign(actor=clerk_a, ticket=ticket, lead_unit=unit_a)
        services.ticket_sign(actor=unit_a_staff, ticket=Ticket.objects.get(pk=ticket.pk))
        due = start + datetime.timedelta(hours=12) if i % 2 else start - datetime.timedelta(hours=1)
        Ticket.objects.filter(pk=ticket.pk).update(due_at=due)

    # A day of the clock's sweeps, every 30 minutes, each sent twice (two beats).
    from proposals.tasks import notify_ticket_events, send_ticket_reminders

    at = start
    while at <= timezone.now():
        for _beat in range(2):
            send_ticket_reminders.delay(at=at.isoformat())
            notify_ticket_events.delay(at=at.isoformat())
        at += STEP

    def settled() -> bool:
        return queued_tasks() == 0 and not Delivery.objects.filter(status=Delivery.Status.PENDING).exists()

    deadline = time.monotonic() + 240
    while not settled():
        assert time.monotonic() < deadline, (
            f"not settled in 240 s: {queued_tasks()} tasks queued, pending deliveries "
            f"{list(Delivery.objects.filter(status='pending').values_list('channel', 'attempts', 'last_error', 'next_attempt_at'))}"
        )
        time.sleep(0.5)
    time.sleep(1)  # a send in flight when the last row turned "sent" has answered
    assert settled()

    kinds = Counter(Notification.objects.values_list("kind", flat=True))
    assert kinds["proposer.receipt"] == 6  # one receipt per matter, from either web node
    assert any(k.startswith("ticket.") and ("overdue" in k or "due" in k) for k in kinds), kinds
    # Each reminder once (its unique key), each person told once per reminder or event.
    assert (
        not Reminder.objects.values("subject_type", "subject_id", "kind", "period")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .exists()
    )
    assert (
        not Notification.objects.values("reminder", "user", "address")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .exists()
    )
    # Every delivery sent, each SMS handed to the provider exactly once.
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}
    sent_sms = Delivery.objects.filter(channel=Delivery.Channel.SMS).count()
    received = sms_provider.request_ids()
    # Each SMS once: no request id twice (a retry would repeat its id). A sweep's notices to one
    # person go out as one digest, so there are fewer messages than SMS deliveries.
    assert len(received) == len(set(received)) and 6 < len(received) <= sent_sms
    # Both workers took part, and both web nodes took matters.
    for name in ("worker1", "worker2"):
        assert "send_ticket_reminders" in (logs_dir / f"{name}.log").read_text(), name

"""/metrics: Prometheus' text format, for the bearer of HEALTHZ_TOKEN only; request timings by URL
name, Celery task outcomes counted by the workers, open/overdue/due-soon tickets and deliveries."""

import datetime
import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from liaison.metrics import count_task
from liaison.models import Delivery, Notification, Reminder
from proposals import services
from proposals.models import Ticket

TOKEN = "metrics-token-" + "m" * 20


@pytest.fixture
def token(settings):
    settings.HEALTHZ_TOKEN = TOKEN
    cache.clear()
    return TOKEN


def scrape(client) -> dict[str, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    samples = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


@pytest.mark.parametrize("header", [None, "Bearer wrong", TOKEN], ids=["none", "wrong", "no-bearer-prefix"])
def test_without_the_token_there_is_nothing_to_find(client, db, token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    assert client.get("/metrics", **extra).status_code == 404


def test_without_a_configured_token_nobody_reads_them(client, db, settings):
    settings.HEALTHZ_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_requests_are_timed_by_url_name_not_by_path(client, db, token):
    before = scrape(client).get(
        'liaison_http_request_duration_seconds_count{method="GET",status="2xx",view="healthz"}', 0
    )
    client.get("/healthz")
    client.get("/healthz")
    client.get("/reps/999999/")  # a 404 with an id in its path
    samples = scrape(client)
    assert (
        samples['liaison_http_request_duration_seconds_count{method="GET",status="2xx",view="healthz"}']
        == before + 2
    )
    assert not any("999999" in name for name in samples)


def test_tickets_and_deliveries_are_counted_in_a_constant_two_queries(
    client, db, token, township_a, category, clerk_a, django_assert_num_queries
):
    def register(title):
        return services.ticket_register(
            actor=clerk_a,
            township=township_a,
            title=title,
            content="内容",
            category=category,
            source="reception",
            proposers=[("张大爷", "13812345678")],
        )

    now = timezone.now()
    overdue, soon, later, _registered = (register(f"事项{i}") for i in range(4))
    Ticket.objects.filter(pk=overdue.pk).update(status="signed", due_at=now - datetime.timedelta(hours=1))
    Ticket.objects.filter(pk=soon.pk).update(status="signed", due_at=now + datetime.timedelta(days=2))
    Ticket.objects.filter(pk=later.pk).update(status="signed", due_at=now + datetime.timedelta(days=9))
    Delivery.objects.all().delete()
    notice = Notification.objects.create(
        user=clerk_a,
        reminder=Reminder.objects.create(kind="t", subject_type="t", subject_id=1),
        kind="t",
        subject_type="t",
        subject_id=1,
        batch="b",
    )
    Delivery.objects.create(notification=notice, channel="sms", address="139", status="failed")
    Delivery.objects.create(notification=notice, channel="email", address="a@x", status="pending")

    with django_assert_num_queries(2):
        samples = scrape(client)
    assert samples['liaison_tickets{state="open"}'] == 4
    assert samples['liaison_tickets{state="overdue"}'] == 1
    assert samples['liaison_tickets{state="due_soon"}'] == 1
    assert samples['liaison_deliveries{channel="sms",status="failed"}'] == 1
    assert samples['liaison_deliveries{channel="email",status="pending"}'] == 1
    assert samples['liaison_deliveries{channel="sms",status="pending"}'] == 0


def test_task_outcomes_add_up(client, db, token):
    count_task("liaison.tasks.ping", "success")
    count_task("liaison.tasks.ping", "success")
    count_task("liaison.tasks.ping", "failure")
    samples = scrape(client)
    assert samples['liaison_celery_tasks_total{outcome="success",task="liaison.tasks.ping"}'] == 2
    assert samples['liaison_celery_tasks_total{outcome="failure",task="liaison.tasks.ping"}'] == 1
    assert samples['liaison_celery_tasks_total{outcome="retry",task="liaison.tasks.ping"}'] == 0


@pytest.mark.worker
def test_a_real_worker_counts_what_it_ran(client, worker, token):
    from liaison.tasks import ping

    assert ping.delay().get(timeout=20) == "pong"
    key = 'liaison_celery_tasks_total{outcome="success",task="liaison.tasks.ping"}'
    deadline = time.monotonic() + 10  # the worker counts after it stored the result
    while scrape(client)[key] == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert scrape(client)[key] == 1

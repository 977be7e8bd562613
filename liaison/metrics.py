"""``/metrics`` in Prometheus' text format, for a monitor holding ``HEALTHZ_TOKEN``.

- ``liaison_http_request_duration_seconds{method, view, status}``: a histogram of every request
  (its count is the request rate), labelled by the URL's name, never the raw path. With several
  gunicorn workers set ``PROMETHEUS_MULTIPROC_DIR`` (deploy/systemd/liaison-web.service) so that
  each scrape sums them all.
- ``liaison_celery_tasks_total{task, outcome}``: tasks that succeeded, failed or were retried,
  counted in the cache (Redis) by every worker on every machine.
- ``liaison_tickets{state}``: open tickets, overdue and due within three days, read at scrape time
  in one query over the open tickets.
- ``liaison_deliveries{channel, status}``: notifications waiting to be sent and failed for good.
"""

from __future__ import annotations

import datetime
import hmac
import os
import time

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

REQUESTS = Histogram(
    "liaison_http_request_duration_seconds",
    "Time to answer a request, by method, URL name and status class.",
    ["method", "view", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

TASK_OUTCOMES = ("success", "failure", "retry")
TASK_KEY = "metrics:task:{task}:{outcome}"
# Tickets whose reply is due within this many days count as "due soon" (the first reminder's).
DUE_SOON = datetime.timedelta(days=3)


class MetricsMiddleware:
    """Times each request; first in MIDDLEWARE, so the time includes every other middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else "") or "unmatched"
        REQUESTS.labels(request.method, view, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response


def count_task(task: str, outcome: str) -> None:
    """Add one to a task's outcome (called from Celery's signals in every worker)."""
    key = TASK_KEY.format(task=task, outcome=outcome)
    try:
        cache.incr(key)
    except ValueError:  # the first one: incr needs the key to exist
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)


_task_names: list[str] | None = None


class _Figures:
    """The figures read at scrape time (a collector, registered on a scrape's own registry)."""

    def collect(self):
        from liaison.celery import app
        from liaison.models import Delivery
        from proposals.models import Ticket
        from proposals.transitions import OPEN, WITH_UNIT

        global _task_names
        if _task_names is None:  # the apps' tasks modules, autodiscovered: imported once per process
            app.loader.import_default_modules()
            _task_names = sorted(name for name in app.tasks if not name.startswith("celery."))
        names = _task_names
        keys = [TASK_KEY.format(task=n, outcome=o) for n in names for o in TASK_OUTCOMES]
        counted = cache.get_many(keys)
        tasks = CounterMetricFamily(
            "liaison_celery_tasks",
            "Celery tasks by outcome, counted by every worker since the cache was last emptied.",
            labels=["task", "outcome"],
        )
        for name in names:
            for outcome in TASK_OUTCOMES:
                tasks.add_metric([name, outcome], counted.get(TASK_KEY.format(task=name, outcome=outcome), 0))
        yield tasks

        now = timezone.now()
        with_unit = Q(status__in=WITH_UNIT)
        figures = Ticket.objects.filter(status__in=OPEN).aggregate(
            open=Count("pk"),
            overdue=Count("pk", filter=with_unit & Q(due_at__lt=now)),
            due_soon=Count("pk", filter=with_unit & Q(due_at__gte=now, due_at__lt=now + DUE_SOON)),
        )
        tickets = GaugeMetricFamily(
            "liaison_tickets", "Open tickets, overdue, and due within 3 days.", labels=["state"]
        )
        for state, value in figures.items():
            tickets.add_metric([state], value)
        yield tickets

        deliveries = GaugeMetricFamily(
            "liaison_deliveries",
            "Notifications waiting to be sent, and failed for good.",
            labels=["channel", "status"],
        )
        waiting = (
            Delivery.objects.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED])
            .values_list("channel", "status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        found = {(channel, status): n for channel, status, n in waiting}
        for channel in Delivery.Channel.values:
            for status in (Delivery.Status.PENDING, Delivery.Status.FAILED):
                deliveries.add_metric([channel, str(status)], found.get((channel, status), 0))
        yield deliveries


def metrics(request):
    """The metrics, for the bearer of HEALTHZ_TOKEN only (404 to anyone else: nothing to find)."""
    token = settings.HEALTHZ_TOKEN
    header = request.headers.get("Authorization", "")
    sent = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
    if not token or not hmac.compare_digest(sent.encode(), token.encode()):
        raise Http404
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        requests = CollectorRegistry()
        MultiProcessCollector(requests)
    else:
        requests = REGISTRY
    figures = CollectorRegistry()
    figures.register(_Figures())
    return HttpResponse(
        generate_latest(requests) + generate_latest(figures), content_type=CONTENT_TYPE_LATEST
    )

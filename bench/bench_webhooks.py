"""Webhooks out (issue 16): the ledger insert, the dispatch and the send, on PostgreSQL.

A county of 15 townships; an API key per township and one for the county, each subscribed to all
three kinds (16 subscriptions). 200,000 tickets, half filed through the API (readable by the
keys), half at receptions (not), each with an ``assign`` event ten days old (outside the sweep's
window). Then N = 1,000, 10,000 and 50,000 tickets assigned an hour ago (the window's events; in
a savepoint each, rolled back after). Everything in one transaction rolled back at the end.

Measured:
- ``webhooks.webhook_deliveries_issue`` over the sweep's window (as ``ticket_events_notify``
  calls it): the first run (every pair owed: the township's key and the county's key for each
  readable event, so N rows), the second (nothing new). Baseline: a bare INSERT ... SELECT of
  the same N rows (each window event and one subscription, no kinds, scope or readability).
- ``webhooks.webhook_deliveries_dispatch``: claiming the first 500 due.
- ``webhooks.webhook_delivery_send`` of 200 deliveries to a receiver on 127.0.0.1 that answers
  204 at once: time per delivery (two transactions, the row locks, the body, the signature, the
  POST). Baseline: the same 200 POSTs, signed, by urllib alone.
"""

from __future__ import annotations

import datetime
import statistics
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.db import connection, transaction
from django.utils import timezone

TOWNSHIPS = 15
TICKETS = 200_000
WINDOW_SIZES = (1_000, 10_000, 50_000)
SENDS = 200


def run(report) -> None:
    if connection.vendor != "postgresql":
        report("bench_webhooks needs PostgreSQL (make bench): skipped")
        return
    server = _receiver()
    try:
        with transaction.atomic():
            started = time.perf_counter()
            url = f"http://127.0.0.1:{server.server_address[1]}/hook"
            townships = _load(url)
            report(
                f"webhooks: {TICKETS:,} tickets with an old event, 16 subscriptions: loaded in "
                f"{time.perf_counter() - started:.1f} s"
            )
            for n in WINDOW_SIZES:
                with transaction.atomic():
                    _measure_issue(report, n, townships)
                    transaction.set_rollback(True)
            with transaction.atomic():
                _measure_send(report, townships, url)
                transaction.set_rollback(True)
            transaction.set_rollback(True)
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format, *args):
        pass


def _receiver() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _load(url: str) -> list[int]:
    from liaison.models import Category, Region
    from proposals.api_keys import api_key_create
    from proposals.webhooks import webhook_subscription_create

    county = Region.objects.create(name="基准县", level=Region.Level.COUNTY, path="")
    county.path = f"/{county.pk}/"
    county.save(update_fields=["path"])
    townships = []
    for t in range(TOWNSHIPS):
        township = Region.objects.create(
            name=f"基准镇{t}", level=Region.Level.TOWNSHIP, parent=county, path=""
        )
        township.path = f"{county.path}{township.pk}/"
        township.save(update_fields=["path"])
        townships.append(township)
    created = timezone.now() - datetime.timedelta(days=30)
    for region in [county, *townships]:
        key = api_key_create(actor=None, name=f"基准{region.pk}", region=region)[0]
        subscription = webhook_subscription_create(
            actor=None, api_key=key, url=url, on_assigned=True, on_replied=True, on_closed=True
        )
        type(subscription).objects.filter(pk=subscription.pk).update(created_at=created)
    category = Category.objects.get_or_create(name="交通出行")[0]
    old = timezone.now() - datetime.timedelta(days=10)
    _insert_tickets(category.pk, [t.pk for t in townships], TICKETS, old)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return [t.pk for t in townships]


def _insert_tickets(category: int, townships: list[int], n: int, at: datetime.datetime) -> None:
    """``n`` assigned tickets (every other one filed through the API) and their assign events."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH new AS (
                INSERT INTO proposals_ticket (
                    kind, title, content, category_id, place, source, township_id, is_public_interest,
                    tracking_code, status, resolution, assigned_by, round, extension_reason,
                    due_year_unknown, reply, reply_summary, created_at, updated_at, adopted_by, external_ref)
                SELECT 'suggestion', '基准事项', '基准', %(category)s, '',
                    CASE WHEN g %% 2 = 0 THEN 'api' ELSE 'reception' END,
                    (%(townships)s::int[])[1 + g %% %(n_townships)s], false,
                    'W' || lpad((g + %(offset)s)::text, 11, '0'), 'assigned', '', 'township', 1, '', false,
                    '', '', %(at)s, %(at)s, '', ''
                FROM generate_series(1, %(n)s) g
                RETURNING id
            )
            INSERT INTO proposals_ticketevent
                (ticket_id, at, actor_label, move, from_status, to_status, note, data, is_public)
            SELECT id, %(at)s, '', 'assign', 'registered', 'assigned', '', '{}', true FROM new
            """,
            {
                "category": category,
                "townships": townships,
                "n_townships": len(townships),
                "n": n,
                "at": at,
                "offset": _insert_tickets.offset,  # type: ignore[attr-defined]
            },
        )
    _insert_tickets.offset += n  # type: ignore[attr-defined]


_insert_tickets.offset = 0  # type: ignore[attr-defined]


def _timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return (time.perf_counter() - started) * 1000, result


def _measure_issue(report, n: int, townships: list[int]) -> None:
    from proposals import reminders, webhooks
    from proposals.models import Category, TicketEvent, WebhookDelivery, WebhookSubscription

    now = timezone.now()
    category = Category.objects.get(name="交通出行").pk
    _insert_tickets(category, townships, n, now - datetime.timedelta(hours=1))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE proposals_ticket, proposals_ticketevent")
    window = TicketEvent.objects.filter(at__gt=now - reminders.EVENT_WINDOW, at__lte=now)

    # Baseline: the same number of rows, without deciding who is owed what.
    one = WebhookSubscription.objects.values_list("pk", flat=True).first()
    with transaction.atomic():
        sql = (
            "INSERT INTO proposals_webhookdelivery (event_id, subscription_id, kind, status, attempts, "
            "last_error, next_attempt_at, created_at) SELECT e.id, %s, 'assigned', 'pending', 0, '', %s, %s "
            "FROM proposals_ticketevent e WHERE e.at > %s AND e.at <= %s LIMIT %s ON CONFLICT DO NOTHING"
        )
        with connection.cursor() as cursor:
            bare_ms, _ = _timed(
                lambda: cursor.execute(sql, (one, now, now, now - reminders.EVENT_WINDOW, now, n))
            )
        transaction.set_rollback(True)

    first_ms, issued = _timed(lambda: webhooks.webhook_deliveries_issue(events=window, now=now))
    second_ms, again = _timed(lambda: webhooks.webhook_deliveries_issue(events=window, now=now))
    dispatch_ms, claimed = _timed(lambda: webhooks.webhook_deliveries_dispatch(now=now))
    assert WebhookDelivery.objects.count() == issued == n and again == 0, (issued, again)
    report(
        f"webhooks, {n:,} events in the window ({n // 2:,} readable, x2 keys): issue {first_ms:.0f} ms "
        f"({issued:,} rows; bare INSERT of as many {bare_ms:.0f} ms, {first_ms / bare_ms:.2f}x), "
        f"again {second_ms:.0f} ms (0 rows); dispatch of {claimed} {dispatch_ms:.0f} ms"
    )


def _measure_send(report, townships: list[int], url: str) -> None:
    import json

    from proposals import webhooks
    from proposals.models import Category, TicketEvent, WebhookDelivery

    now = timezone.now()
    category = Category.objects.get(name="交通出行").pk
    _insert_tickets(category, townships, SENDS, now - datetime.timedelta(minutes=5))
    recent = TicketEvent.objects.filter(at__gt=now - datetime.timedelta(hours=1))
    webhooks.webhook_deliveries_issue(events=recent, now=now)
    ids = list(WebhookDelivery.objects.order_by("id").values_list("pk", flat=True)[:SENDS])
    per_send = []
    for pk in ids:
        ms, status = _timed(lambda pk=pk: webhooks.webhook_delivery_send(delivery_id=pk, now=now))
        assert status == "delivered", status
        per_send.append(ms)

    event = TicketEvent.objects.select_related("ticket").order_by("-id").first()
    body = json.dumps(webhooks.body_of(event, "assigned"), ensure_ascii=False, separators=(",", ":")).encode()
    bare = []
    for _ in range(len(ids)):
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - the bench's own receiver
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Liaison-Event-Id": str(event.pk),
                "X-Liaison-Timestamp": timestamp,
                "X-Liaison-Signature": webhooks.signature("whsec_bench", timestamp, body),
            },
        )
        ms, _ = _timed(lambda request=request: urllib.request.urlopen(request, timeout=10).close())  # noqa: S310
        bare.append(ms)
    ours, theirs = statistics.median(per_send), statistics.median(bare)
    report(
        f"webhooks, send: {len(ids)} deliveries to a receiver on 127.0.0.1, median {ours:.2f} ms each "
        f"(p90 {statistics.quantiles(per_send, n=10)[-1]:.2f} ms); the bare signed POST {theirs:.2f} ms "
        f"({ours / theirs:.2f}x)"
    )

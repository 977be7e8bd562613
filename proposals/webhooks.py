"""Signed webhooks out: integrating systems hear of the ticket events in their key's region.

An integrating system (an ``ApiKey``) subscribes (``WebhookSubscription``) to some of three
event kinds, each read from the ``TicketEvent`` outbox by what the move did:

- ``assigned``: the ``assign`` move (a unit now holds the matter);
- ``replied``: the ``reply`` move (the unit replied in writing; ``to_status`` replied);
- ``closed``: any move into ``closed`` from an open status (answered on the spot, explained,
  merged, concluded by the ratings, closed with an explanation).

Scope: the tickets in the key's region that the key may read through the API
(``open311_views._readable``): those integrating systems filed there, and the published ones. A
webhook never names a ticket that ``GET requests/<id>`` with the same key would answer 404 for.

How each event reaches each subscriber once (``WebhookDelivery`` is the ledger):
1. ``webhook_deliveries_issue`` runs inside the outbox sweep (``reminders.ticket_events_notify``,
   on commit of every move and by beat): one ``INSERT ... SELECT`` of every (event,
   subscription) pair owed, ``ON CONFLICT DO NOTHING`` on the unique pair, whatever the number
   of events. A second sweep, or two at once, insert nothing.
2. ``webhook_deliveries_dispatch`` claims the due pending rows (``SKIP LOCKED``, then their
   ``next_attempt_at`` pushed forward by ``CLAIM_LEASE``) and enqueues one
   ``proposals.tasks.send_webhook`` per row after commit. A lost task is claimed again when
   its lease ends.
3. ``webhook_delivery_send`` counts the attempt and commits it before anything leaves, then
   sends under the row lock, re-checking that its attempt is still the latest (compare-and-set):
   two workers never send the same delivery at once, and a delivered row is never sent again.
   2xx is delivered; anything else is due again after ``retry_delay`` (the task retries with
   that countdown), failed after ``MAX_ATTEMPTS``.

What "exactly once" means on the wire: a worker killed after the receiver got the POST but
before the outcome was committed leaves the row pending with its attempt counted, and the
attempt after it sends the same event again. Delivery is therefore at least once on the wire,
exactly once in the ledger: every POST carries ``X-Liaison-Event-Id`` (the same on every
attempt), by which a receiver drops a repeat.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.utils import timezone

from liaison import audit
from liaison.models import Region
from liaison.notify import count_attempt
from proposals.models import ApiKey, Ticket, TicketEvent, WebhookDelivery, WebhookSubscription
from proposals.querysets import published_q
from proposals.transitions import CLOSED, OPEN, Status

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
# A delivery is tried this many times (the first send and its retries) before it is failed.
MAX_ATTEMPTS = 8
# Retries wait settings.WEBHOOK_RETRY_BACKOFF * 2**(n-1) seconds after the n-th failed attempt,
# at most this long (1, 2, 4, 8, 16, 30, 30 minutes by default): far below the Redis
# visibility timeout, since a retry waits in the broker unacknowledged (acks_late).
RETRY_BACKOFF_MAX = 30 * 60
# How long a claimed delivery is left to its task before a dispatch claims it again: far longer
# than a send takes (TIMEOUT), so a second dispatch only re-enqueues deliveries whose task was lost.
CLAIM_LEASE = datetime.timedelta(minutes=10)
# Seconds a receiver has to answer; the row stays locked meanwhile.
TIMEOUT = 10
# Rows claimed per dispatch (the rest wait for the next one).
DISPATCH_LIMIT = 500
USER_AGENT = "Liaison-Webhooks/1"

# Each event kind: the subscription's column, and which outbox events are of that kind.
KINDS: dict[str, tuple[str, Q]] = {
    "assigned": ("on_assigned", Q(move="assign")),
    "replied": ("on_replied", Q(move="reply")),
    "closed": ("on_closed", Q(to_status=Status.CLOSED, from_status__in=sorted(OPEN))),
}


class RetryLater(Exception):
    """The delivery failed and is due again in ``countdown`` seconds (the task retries it)."""

    def __init__(self, message: str, countdown: int):
        super().__init__(message)
        self.countdown = countdown


# --- subscriptions ---------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def webhook_subscription_create(
    *, actor, api_key: ApiKey, url: str, on_assigned: bool, on_replied: bool, on_closed: bool
) -> WebhookSubscription:
    """Subscribe ``api_key``'s system to the chosen event kinds at ``url`` (already validated);
    the new secret is on the returned row, to be shown once."""
    subscription = WebhookSubscription.objects.create(
        api_key=api_key,
        url=url,
        secret=new_secret(),
        on_assigned=on_assigned,
        on_replied=on_replied,
        on_closed=on_closed,
    )
    audit.record(actor=actor, verb="webhook.created", subject=subscription, region=api_key.region, url=url)
    return subscription


@transaction.atomic
def webhook_secret_rotate(*, actor, subscription: WebhookSubscription) -> str:
    """Give ``subscription`` a new signing secret (a leaked one, or a routine change) and return it,
    to be shown once. Deliveries sent from now on are signed with it; the old one stops working at
    once, so the integrating system must take the new one before the next event."""
    subscription = (
        WebhookSubscription.objects.select_for_update()
        .select_related("api_key__region")
        .get(pk=subscription.pk)
    )
    subscription.secret = new_secret()
    subscription.save(update_fields=["secret"])
    audit.record(
        actor=actor, verb="webhook.secret_rotated", subject=subscription, region=subscription.api_key.region
    )
    return subscription.secret


# --- 1. what is owed -------------------------------------------------------------------------


def _kind_of_event() -> Case:
    return Case(
        *(When(condition, then=Value(kind)) for kind, (_column, condition) in KINDS.items()),
        default=Value(""),
        output_field=CharField(),
    )


def _readable_by_keys(events: QuerySet) -> QuerySet:
    """The events of tickets some key may read: filed through the API, or published (the one
    rule, ``published_q``, on the event's ticket: a join, not a subquery)."""
    return events.filter(Q(ticket__source=Ticket.Source.API) | published_q("ticket__"))


def webhook_deliveries_issue(*, events: QuerySet, now: datetime.datetime) -> int:
    """Record a delivery for every (event, subscription) pair owed among ``events``; return how
    many are new. One INSERT ... SELECT whatever the number of events and subscriptions.

    ``events`` is a ``TicketEvent`` queryset (the sweep's recent slice of the outbox). A pair is
    owed when the event is of a kind the subscription chose, happened after the subscription was
    made (a new subscriber gets no backlog), the subscription is active, its key is not revoked,
    and the event's ticket lies in the key's region (the key's region path is a prefix of the
    ticket's township path) and may be read by that key. A subscription switched off and on again
    gets the events of the sweep's window it missed meanwhile (``reminders.EVENT_WINDOW``).
    """
    typed = (
        _readable_by_keys(events)
        .filter(Q(*(condition for _column, condition in KINDS.values()), _connector=Q.OR))
        .values(event_id=F("pk"), kind=_kind_of_event(), township_id=F("ticket__township_id"), moment=F("at"))
    )
    active = WebhookSubscription.objects.filter(is_active=True, api_key__revoked_at__isnull=True)
    chosen = [
        active.filter(**{column: True}).values(
            subscription_id=F("pk"),
            kind=Value(kind, output_field=CharField()),
            path=F("api_key__region__path"),
            since=F("created_at"),
        )
        for kind, (column, _condition) in KINDS.items()
    ]
    subscriptions = chosen[0].order_by().union(*(qs.order_by() for qs in chosen[1:]), all=True)
    events_sql, events_params = typed.order_by().query.sql_with_params()
    subs_sql, subs_params = subscriptions.query.sql_with_params()
    qn = connection.ops.quote_name
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        # The subscriptions are first spread over the townships their key's region covers (a few
        # rows each), the window's events read with their tickets once, and the two joined on
        # (township, kind): one hash join. Both MATERIALIZED: PostgreSQL misjudges the kinds'
        # CASE and otherwise paired every event with every subscription first, then looked up a
        # ticket per pair (30x the rows, 3x the time at 1,000 events; bench_webhooks).
        # (The WITH inside the INSERT: Python's sqlite3 counts no rows of a statement that does
        # not start with INSERT.)
        cursor.execute(
            f"INSERT INTO {qn(WebhookDelivery._meta.db_table)} "  # noqa: S608 - names from the model
            "(event_id, subscription_id, kind, status, attempts, last_error, next_attempt_at, created_at) "
            "WITH st AS MATERIALIZED (SELECT s.subscription_id, s.kind, s.since, t.id AS township_id "
            f"FROM ({subs_sql}) s JOIN {qn(Region._meta.db_table)} t "
            "ON t.level = %s AND substr(t.path, 1, length(s.path)) = s.path), "
            f"e AS MATERIALIZED ({events_sql}) "
            "SELECT e.event_id, st.subscription_id, e.kind, %s, 0, '', %s, %s FROM e "
            "JOIN st ON st.township_id = e.township_id AND st.kind = e.kind "
            # (Also SQLite's: it needs a WHERE before ON CONFLICT.)
            "WHERE e.moment >= st.since ON CONFLICT DO NOTHING",
            (
                *subs_params,
                str(Region.Level.TOWNSHIP),
                *events_params,
                str(WebhookDelivery.Status.PENDING),
                stamp,
                stamp,
            ),
        )
        issued = cursor.rowcount
    if issued:
        log.info("webhooks: %d deliveries issued", issued)
    return issued


# --- 2. claiming -----------------------------------------------------------------------------


def webhook_deliveries_dispatch(*, now: datetime.datetime, limit: int = DISPATCH_LIMIT) -> int:
    """Claim the due pending deliveries and enqueue a send of each after commit; return how many.

    Claiming pushes ``next_attempt_at`` forward by ``CLAIM_LEASE``: a second dispatch (the next
    sweep, a second worker) skips them, and rows a send holds locked are skipped outright.
    """
    from proposals.tasks import send_webhook

    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + CLAIM_LEASE)
            transaction.on_commit(lambda: [send_webhook.delay(pk) for pk in ids], robust=True)
    return len(ids)


# --- 3. sending ------------------------------------------------------------------------------


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    return min(RETRY_BACKOFF_MAX, settings.WEBHOOK_RETRY_BACKOFF * 2 ** max(attempts - 1, 0))


def body_of(event: TicketEvent, kind: str) -> dict:
    """What a receiver is told of ``event``: what the Open311 API shows of its ticket, no more.

    No name, phone, tracking code, content or place; ``status_notes`` is the published reply
    summary, empty until the ticket is published (as ``open311_views._rows``).
    """
    ticket = event.ticket
    published = ticket.is_published
    return {
        "id": event.pk,
        "kind": kind,
        "at": timezone.localtime(event.at).isoformat(timespec="seconds"),
        "service_request_id": str(ticket.pk),
        "status": "closed" if event.to_status in CLOSED else "open",
        "status_notes": ticket.reply_summary if published else "",
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body`` with the secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str  # empty when delivered


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer that is not 2xx: the event is not delivered to a moved address."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, secret: str, event_id: int, body: bytes) -> Outcome:
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked by validate_webhook_url
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Liaison-Event-Id": str(event_id),
            "X-Liaison-Timestamp": timestamp,
            "X-Liaison-Signature": signature(secret, timestamp, body),
        },
    )
    try:
        with _opener.open(request, timeout=TIMEOUT) as response:
            return Outcome(response.status, "" if 200 <= response.status < 300 else f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        return Outcome(exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome(None, f"{type(exc).__name__}: {reason}"[:2000])


def webhook_delivery_send(*, delivery_id: int, now: datetime.datetime) -> str:
    """Send one delivery if it is still pending; return its status afterwards. Raises
    ``RetryLater`` when it failed and is due again.

    1. Lock the row, count the attempt and commit before anything leaves
       (``liaison.notify.count_attempt``, as every delivery): a worker killed
       mid-send leaves its attempt counted, so a send that keeps killing its worker ends failed
       after ``MAX_ATTEMPTS`` instead of being redelivered for ever.
    2. Lock it again and check that it is pending and that the attempt counted is still ours
       (compare-and-set: a later attempt counted since means another worker took over, and it
       sends); POST under the lock; record the outcome in the same transaction.
    The locks wait rather than skip (on PostgreSQL): a second worker on the same delivery waits
    at most one send (``TIMEOUT``), then finds it delivered; and a worker killed mid-send loses
    its lock with its connection, so the redelivered task goes on at once.
    """
    attempt, status = count_attempt(WebhookDelivery, delivery_id, MAX_ATTEMPTS)
    if attempt is None:
        return status

    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("subscription__api_key", "event__ticket")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "missing"
        if delivery.status != WebhookDelivery.Status.PENDING or delivery.attempts != attempt:
            return delivery.status
        subscription = delivery.subscription
        if not subscription.is_active or subscription.api_key.revoked_at is not None:
            # Switched off or revoked since the event: the system is told nothing more.
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.last_error = "the subscription is inactive or its API key revoked"
            delivery.save(update_fields=["status", "last_error"])
            return delivery.status
        payload = body_of(delivery.event, delivery.kind)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        outcome = _post(subscription.url, subscription.secret, delivery.event_id, body)
        delivery.status_code = outcome.status_code
        if not outcome.error:
            delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, now
            delivery.save(update_fields=["status", "status_code", "delivered_at"])
            return delivery.status
        delivery.last_error = outcome.error
        countdown = retry_delay(delivery.attempts)
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
        else:
            # Past the task's own retry, so that a dispatch only picks it up if that was lost.
            delivery.next_attempt_at = now + datetime.timedelta(seconds=countdown) + CLAIM_LEASE
        delivery.save(update_fields=["status", "status_code", "last_error", "next_attempt_at"])
    log.warning("webhook delivery %s failed (attempt %d): %s", delivery.pk, delivery.attempts, outcome.error)
    if delivery.status == WebhookDelivery.Status.PENDING:
        raise RetryLater(f"webhook delivery {delivery.pk}: {outcome.error}", countdown)
    return delivery.status


@transaction.atomic
def webhook_delivery_resend(*, actor, delivery: WebhookDelivery) -> bool:
    """Put a failed delivery back in the queue with fresh attempts (a staff action)."""
    from proposals.tasks import send_webhook

    moved = WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.FAILED).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now() + CLAIM_LEASE
    )
    if not moved:
        return False
    audit.record(
        actor=actor,
        verb="webhook.resent",
        subject=delivery,
        attempts=delivery.attempts,
        last_error=delivery.last_error,
    )
    transaction.on_commit(lambda: send_webhook.delay(delivery.pk), robust=True)
    return True


def health(now: datetime.datetime) -> dict:
    """For ``/healthz`` (``liaison.health.register_operations``): webhook deliveries that failed for
    good, and the oldest one still waiting to be delivered. One aggregate over the rows not
    delivered, read from the partial index ``webhook_delivery_undelivered``."""
    from django.db.models import Count, Min

    undelivered = [WebhookDelivery.Status.FAILED, WebhookDelivery.Status.PENDING]
    found = WebhookDelivery.objects.filter(status__in=undelivered).aggregate(
        failed=Count("pk", filter=Q(status=WebhookDelivery.Status.FAILED)),
        oldest=Min("created_at", filter=Q(status=WebhookDelivery.Status.PENDING)),
    )
    oldest = found["oldest"]
    return {
        "webhooks_failed": found["failed"],
        "oldest_webhook_undelivered": timezone.localtime(oldest).isoformat() if oldest else None,
    }

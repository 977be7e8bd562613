"""Notifications: record what is owed once, tell the right users, deliver by email and SMS.

Three append-only tables (``liaison.models``):
- ``Reminder``: a ``kind`` notice about one subject is owed for one period. Its unique key
  (subject_type, subject_id, kind, period) is what makes every sweep exactly-once: a sweep
  re-run, a retried task or two workers at once insert nothing the second time.
- ``Notification``: one user told about one reminder, their inbox entry; or one address (the
  phone of a resident, who has no account and no inbox) told about it.
- ``Delivery``: one notification sent by email or SMS, with attempts and the last error.

Apps that own subjects register a ``Kind`` (how to render a batch of notifications about their
records, which channels to use) in their ``AppConfig.ready()``, and call ``issue()`` from a
periodic sweep or ``notify()`` for a single event, and ``issue_to_addresses()`` for people
without an account (by one channel, their consent checked by the caller). Sending happens
after commit, in Celery: ``deliveries_dispatch`` claims due deliveries and enqueues
``liaison.tasks.deliver_batch`` for each batch of up to ``SEND_BATCH``, which calls
``deliveries_send``: one message per recipient and channel (a digest of everything the batch
owes that address), one mail connection and one status UPDATE per batch. ``delivery_send``
sends a single delivery (the admin's resend).

A sweep issues under ``held_dispatch(now)``: its deliveries wait until the sweep is done, so
that a recipient owed several notices by one sweep gets them in one message.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, F, QuerySet, Value
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from liaison import audit, channels
from liaison.models import Delivery, Notification, Reminder, User

log = logging.getLogger(__name__)

# A delivery is tried this many times (the first send and its retries) before it is failed.
MAX_ATTEMPTS = 6
# Retries wait RETRY_BACKOFF * 2**(n-1) seconds after the n-th failed attempt, at most
# RETRY_BACKOFF_MAX: 1, 2, 4, 8, 16 minutes. ``liaison.tasks.deliver`` retries on this scale.
RETRY_BACKOFF = 60
RETRY_BACKOFF_MAX = 30 * 60
# How long a claimed delivery is left to its task before a sweep claims it again: far longer
# than a send takes, so a second sweep only re-enqueues deliveries whose message was lost.
CLAIM_LEASE = timedelta(minutes=10)

# Deliveries sent per task: one mail connection and one status UPDATE each.
SEND_BATCH = 100
# An SMS digest lists this many notices, then says how many more wait in the inbox (an email
# lists them all): a county office owed twenty tickets gets a text, not a pamphlet.
SMS_DIGEST_ITEMS = 3

# Where each channel finds the user's address and their preference for it.
CHANNEL_COLUMNS: dict[str, tuple[str, str]] = {
    Delivery.Channel.EMAIL: ("email", "notify_by_email"),
    Delivery.Channel.SMS: ("phone", "notify_by_sms"),
}


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    url: str  # site-relative path, e.g. "/tickets/12/"


@dataclass(frozen=True)
class Kind:
    code: str  # "ticket.due_soon"
    # Renders a batch of notifications (same order) in a constant number of queries: load the
    # subjects with one ``filter(pk__in=[n.subject_id for n in notifications])``.
    render: Callable[[list[Notification]], list[Message]]
    channels: tuple[str, ...] = (Delivery.Channel.EMAIL, Delivery.Channel.SMS)
    # Kinds this one makes redundant for the same recipient and subject when both go out in
    # one message (an escalation says all an overdue notice would): those are left out of it.
    supersedes: tuple[str, ...] = ()


class RetryableDeliveryError(Exception):
    """A delivery failed and is due again later (``liaison.tasks.deliver`` retries it)."""


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    """Make ``kind`` known: call from the owning app's ``AppConfig.ready()``."""
    unknown = set(kind.channels) - set(CHANNEL_COLUMNS)
    if unknown:
        raise ValueError(f"{kind.code}: unknown channels {sorted(unknown)}")
    _KINDS[kind.code] = kind


def kind(code: str) -> Kind:
    """Return the registered kind, or a generic one that points to the inbox."""
    return _KINDS.get(code) or Kind(code=code, render=_render_generic)


def _render_generic(notifications: list[Notification]) -> list[Message]:
    message = Message(
        title=_("New notification"), body=_("There is news for you in Liaison."), url=reverse("inbox")
    )
    return [message] * len(notifications)


def render_messages(notifications: Sequence[Notification]) -> list[Message]:
    """Render notifications in order, calling each kind's ``render`` once for all of its rows."""
    positions: dict[str, list[int]] = defaultdict(list)
    for position, notification in enumerate(notifications):
        positions[notification.kind].append(position)
    messages: list[Message | None] = [None] * len(notifications)
    for code, indexes in positions.items():
        rendered = kind(code).render([notifications[i] for i in indexes])
        for i, message in zip(indexes, rendered, strict=True):
            messages[i] = message
    return messages  # type: ignore[return-value]


# --- Holding a sweep's deliveries ------------------------------------------------------------

_held: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("notify_held", default=None)


@contextlib.contextmanager
def held_dispatch(now: datetime) -> Iterator[None]:
    """Issue everything inside as one sweep: its deliveries wait until the block ends.

    Deliveries issued inside are written due at ``now + CLAIM_LEASE`` (as if claimed) and no
    dispatch is asked for; at the end one UPDATE makes them due at ``now`` and one dispatch
    is enqueued, so a recipient owed several notices hears of them in one message per
    channel. A sweep that dies inside leaves them due when the lease would have ended: late,
    never lost.
    """
    token = _held.set(now)
    try:
        yield
    finally:
        _held.reset(token)
    released = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at=now + CLAIM_LEASE, attempts=0, created_at=now
    ).update(next_attempt_at=now)
    if released:
        transaction.on_commit(_enqueue_dispatch, robust=True)


# --- Recording what is owed ------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    reminders: int
    notifications: int
    deliveries: int


def issue(*, kind: str, subject_type: str, subjects: QuerySet, recipients: QuerySet, now: datetime) -> int:
    """Record what is owed, once, and who is told: set-based, a constant number of queries.

    ``subjects`` is a ``.values()`` queryset of exactly ``subject_id`` and ``period``: the
    (subject, period) pairs for which a ``kind`` reminder is owed now. ``recipients`` is a
    ``.values()`` queryset of exactly ``subject_id`` and ``user_id``: who is told about each
    subject. Returns the number of new reminders; a second call (or a concurrent one) returns 0.
    """
    issued = _issue(
        code=kind,
        subject_type=subject_type,
        subjects=_values_sql(subjects, {"subject_id", "period"}),
        recipients=_values_sql(recipients, {"subject_id", "user_id"}),
        now=now,
    )
    return issued.reminders


def issue_to_addresses(
    *, kind: str, subject_type: str, subjects: QuerySet, recipients: QuerySet, channel: str, now: datetime
) -> Issued:
    """``issue()`` for recipients without an account: each address gets one ``channel`` delivery.

    ``recipients`` is a ``.values()`` queryset of exactly ``subject_id`` and ``address`` (a phone
    number for SMS); empty addresses are skipped, and one address is told once per reminder
    however often it occurs. These notifications have no user, so no inbox shows them, and only
    staff who see everything see them in the admin. The caller chooses who may be written to
    (their consent): nothing here has a preference to read. Exactly-once as ``issue()``.
    """
    if channel not in _channels_of(kind):
        raise ValueError(f"{kind}: not sent by {channel}")
    return _issue(
        code=kind,
        subject_type=subject_type,
        subjects=_values_sql(subjects, {"subject_id", "period"}),
        recipients=_values_sql(recipients, {"subject_id", "address"}),
        now=now,
        address_channel=channel,
    )


def _channels_of(code: str) -> tuple[str, ...]:
    return kind(code).channels


def notify(*, kind: str, subject, users, period: str = "", now: datetime | None = None) -> int:
    """Tell ``users`` about ``subject`` once per (subject, kind, period): the event-driven ``issue``.

    ``users`` is a queryset or an iterable of users. Returns the number of notifications
    created: 0 when this reminder already existed.
    """
    user_ids = users.values("pk") if isinstance(users, QuerySet) else [user.pk for user in users]
    recipients = User.objects.filter(pk__in=user_ids).values(
        user_id=F("pk"), subject_id=Value(subject.pk, output_field=BigIntegerField())
    )
    issued = _issue(
        code=kind,
        subject_type=subject._meta.label_lower,
        # A constant row rather than a query on the subject's table, whose own fields could
        # clash with the column names.
        subjects=lambda: ("SELECT %s AS subject_id, %s AS period", (subject.pk, period)),
        recipients=_values_sql(recipients, {"subject_id", "user_id"}),
        now=now or timezone.now(),
    )
    return issued.notifications


def _values_sql(queryset: QuerySet, columns: set[str]) -> Callable[[], tuple[str, tuple]]:
    """Check that ``queryset`` is a ``.values()`` queryset of exactly ``columns``, and return what
    writes its SQL, to embed as a table. Written when needed: the recipients only when a new
    reminder is owed, which most sweeps do not owe (compiling a query here costs more than running
    it: a sweep issues about twenty kinds, most of them nothing)."""
    fields = getattr(queryset, "_fields", None)
    if fields is None or set(fields) != columns:
        raise TypeError(f"expected a .values() queryset of exactly {sorted(columns)}, got {fields!r}")

    def sql() -> tuple[str, tuple]:
        sql, params = queryset.order_by().query.sql_with_params()
        return sql, tuple(params)

    return sql


@transaction.atomic
def _issue(
    *,
    code: str,
    subject_type: str,
    subjects: Callable[[], tuple[str, tuple]],
    recipients: Callable[[], tuple[str, tuple]],
    now: datetime,
    address_channel: str | None = None,
) -> Issued:
    """Insert reminders, then notifications and deliveries for the new reminders only.

    Recipients are users, or with ``address_channel`` addresses (people without an account).

    1. Reminders from the subjects, ``ON CONFLICT DO NOTHING`` on the unique key, stamped with
       a fresh batch id. On PostgreSQL a concurrent insert of the same key waits for the other
       transaction and then skips the row, so each reminder lands in exactly one batch.
    2. Notifications: this batch's reminders joined to the recipients (active users only, or
       non-empty addresses).
    3. Deliveries: one per notification of this batch and channel of the kind that the user
       wants and has an address for (an address: one, by ``address_channel``).
    4. After commit, ask a worker to send them.
    (Each INSERT ... SELECT has a WHERE clause: SQLite needs one before ON CONFLICT.)
    """
    qn = connection.ops.quote_name
    reminder_t, notification_t = qn(Reminder._meta.db_table), qn(Notification._meta.db_table)
    delivery_t, user_t = qn(Delivery._meta.db_table), qn(User._meta.db_table)
    batch = uuid.uuid4().hex
    # As the ORM would store it (SQLite keeps naive UTC text).
    stamp = connection.ops.adapt_datetimefield_value(now)
    held = _held.get()
    # Due now, or, inside held_dispatch, when the sweep releases them.
    due = connection.ops.adapt_datetimefield_value(held + CLAIM_LEASE) if held is not None else stamp
    subjects_sql, subjects_params = subjects()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {reminder_t} (subject_type, subject_id, kind, period, created_at, batch) "  # noqa: S608
            f"SELECT DISTINCT %s, s.subject_id, %s, s.period, %s, %s FROM ({subjects_sql}) s "
            "WHERE true ON CONFLICT DO NOTHING",
            (subject_type, code, stamp, batch, *subjects_params),
        )
        reminders = cursor.rowcount
        if not reminders:
            return Issued(0, 0, 0)
        recipients_sql, recipients_params = recipients()
        if address_channel is not None:
            notifications, deliveries = _issue_to_addresses(
                cursor,
                batch,
                stamp,
                due,
                (recipients_sql, recipients_params),
                address_channel,
                reminder_t,
                notification_t,
                delivery_t,
            )
            return _issued(code, batch, Issued(reminders, notifications, deliveries))
        cursor.execute(
            f"INSERT INTO {notification_t} "  # noqa: S608
            "(user_id, address, reminder_id, kind, subject_type, subject_id, created_at, batch) "
            "SELECT DISTINCT r.user_id, '', m.id, m.kind, m.subject_type, m.subject_id, %s, %s "
            f"FROM {reminder_t} m JOIN ({recipients_sql}) r ON r.subject_id = m.subject_id "
            f"JOIN {user_t} u ON u.id = r.user_id "
            "WHERE m.batch = %s AND u.is_active = %s ON CONFLICT DO NOTHING",
            (stamp, batch, *recipients_params, batch, True),
        )
        notifications = cursor.rowcount
        deliveries = 0
        wanted = [CHANNEL_COLUMNS[channel] + (channel,) for channel in kind(code).channels]
        if notifications and wanted:
            selects: list[str] = []
            params: list[Any] = []
            for address, preference, channel in wanted:
                selects.append(
                    f"SELECT n.id, %s, u.{qn(address)}, %s, 0, '', %s, %s, %s "  # noqa: S608
                    f"FROM {notification_t} n JOIN {user_t} u ON u.id = n.user_id "
                    f"WHERE n.batch = %s AND u.{qn(preference)} = %s AND u.{qn(address)} <> ''"
                )
                params += [str(channel), str(Delivery.Status.PENDING), due, stamp, batch, batch, True]
            cursor.execute(
                f"INSERT INTO {delivery_t} (notification_id, channel, address, status, attempts, "
                "last_error, next_attempt_at, created_at, batch) "
                + " UNION ALL ".join(selects)
                + " ON CONFLICT DO NOTHING",
                params,
            )
            deliveries = cursor.rowcount
    return _issued(code, batch, Issued(reminders, notifications, deliveries))


def _issue_to_addresses(
    cursor, batch: str, stamp, due, recipients: tuple[str, tuple], channel: str, *tables: str
) -> tuple[int, int]:
    """Steps 2 and 3 of ``_issue`` for addresses: a notification per (reminder, address), no user."""
    reminder_t, notification_t, delivery_t = tables
    recipients_sql, recipients_params = recipients
    cursor.execute(
        f"INSERT INTO {notification_t} "  # noqa: S608
        # user_id is left out, so NULL (a bare NULL in a SELECT DISTINCT is text to PostgreSQL).
        "(address, reminder_id, kind, subject_type, subject_id, created_at, batch) "
        "SELECT DISTINCT r.address, m.id, m.kind, m.subject_type, m.subject_id, %s, %s "
        f"FROM {reminder_t} m JOIN ({recipients_sql}) r ON r.subject_id = m.subject_id "
        "WHERE m.batch = %s AND r.address <> '' ON CONFLICT DO NOTHING",
        (stamp, batch, *recipients_params, batch),
    )
    notifications = cursor.rowcount
    if not notifications:
        return 0, 0
    cursor.execute(
        f"INSERT INTO {delivery_t} (notification_id, channel, address, status, attempts, "  # noqa: S608
        "last_error, next_attempt_at, created_at, batch) "
        f"SELECT n.id, %s, n.address, %s, 0, '', %s, %s, %s FROM {notification_t} n "
        "WHERE n.batch = %s AND n.user_id IS NULL ON CONFLICT DO NOTHING",
        (str(channel), str(Delivery.Status.PENDING), due, stamp, batch, batch),
    )
    return notifications, cursor.rowcount


def _issued(code: str, batch: str, issued: Issued) -> Issued:
    if issued.deliveries and _held.get() is None:
        # robust: a broker that is down must not fail the caller's request; the beat entry
        # "dispatch-deliveries" sends them within minutes anyway.
        transaction.on_commit(_enqueue_dispatch, robust=True)
    log.info(
        "issued %s: %d reminders, %d notifications, %d deliveries (batch %s)",
        code,
        issued.reminders,
        issued.notifications,
        issued.deliveries,
        batch,
    )
    return issued


def _enqueue_dispatch() -> None:
    from liaison.tasks import dispatch_deliveries

    dispatch_deliveries.delay()


# --- Sending ---------------------------------------------------------------------------------


def deliveries_dispatch(*, now: datetime, limit: int = 500) -> int:
    """Claim due deliveries and enqueue ``liaison.tasks.deliver_batch`` for each batch of up to
    ``SEND_BATCH``; return how many deliveries.

    Claiming pushes ``next_attempt_at`` forward by ``CLAIM_LEASE``, so a second dispatch (a
    duplicate beat, a second worker) skips them; rows locked by a send in progress are skipped.
    The deliveries to one address by one channel stay in one batch (one message).
    """
    from liaison.tasks import deliver_batch

    with transaction.atomic():
        batches = _batches(_claim_due(now=now, limit=limit))
        transaction.on_commit(lambda: [deliver_batch.delay(ids) for ids in batches], robust=True)
    return sum(len(ids) for ids in batches)


def deliveries_send_now(*, now: datetime, limit: int = 500) -> Counter:
    """Claim due deliveries and send them here, batch by batch: the operator's ``send_deliveries``.

    Returns how many ended in each status ("retry": pending, due again later). One failing
    delivery never stops the others.
    """
    outcomes: Counter = Counter()
    for ids in _batches(_claim_due(now=now, limit=limit)):
        try:
            outcomes.update(deliveries_send(delivery_ids=ids, now=now))
        except Exception:
            log.exception("deliveries %s could not be sent", ids)
            outcomes["error"] += len(ids)
    return outcomes


@transaction.atomic
def _claim_due(*, now: datetime, limit: int) -> list[tuple[int, str, str]]:
    """Claim up to ``limit`` due deliveries: (id, channel, address), an address's together.

    Ordered so that what one address is owed by one channel is contiguous; when the claim is
    full and the last address is owed more beyond it, that address's deliveries are left for
    the next claim (unless they are all of it), so that no address is told in two messages
    what it is owed at once.
    """
    # SKIP LOCKED: two dispatchers at once on PostgreSQL each take different rows. SQLite
    # has no row locks (and ignores this); it serialises writers instead.
    due = (
        Delivery.objects.due(now)
        .order_by("next_attempt_at", "channel", "address", "id")
        .select_for_update(skip_locked=True)
        .values_list("pk", "channel", "address")
    )
    rows = list(due[: limit + 1])  # one more: does the last address go on past the limit?
    if len(rows) > limit:
        rows, beyond = rows[:limit], rows[limit]
        if rows and rows[-1][1:] == beyond[1:]:
            rows = [row for row in rows if row[1:] != beyond[1:]] or rows
    if rows:
        Delivery.objects.filter(pk__in=[row[0] for row in rows]).update(next_attempt_at=now + CLAIM_LEASE)
    return rows


def _batches(rows: list[tuple[int, str, str]]) -> list[list[int]]:
    """Split claimed rows into batches of about ``SEND_BATCH``, never splitting an address."""
    batches: list[list[int]] = []
    current: list[int] = []
    previous = None
    for pk, channel, address in rows:
        if len(current) >= SEND_BATCH and (channel, address) != previous:
            batches.append(current)
            current = []
        current.append(pk)
        previous = (channel, address)
    if current:
        batches.append(current)
    return batches


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (as the task's backoff does)."""
    return timedelta(seconds=min(RETRY_BACKOFF_MAX, RETRY_BACKOFF * 2 ** max(attempts - 1, 0)))


def count_attempt(model, pk: int, max_attempts: int) -> tuple[int | None, str]:
    """Step 1 of every send from a ledger (a ``Delivery`` here, a webhook's in proposals): lock the
    row, count the attempt and commit it before anything leaves. Return the attempt's number and
    "pending", or None and the status that says why nothing is to be sent: "missing", a status
    other than pending, or failed when the ``max_attempts``-th attempt was counted but never
    recorded an outcome (its worker was lost).

    ``model`` has ``status`` (with ``Status.PENDING`` and ``Status.FAILED``), ``attempts`` and
    ``last_error``. The caller sends in a second transaction, under the row lock, and only if the
    attempt counted is still its own (a later one counted since means another worker took over)."""
    with transaction.atomic():
        row = model.objects.select_for_update().filter(pk=pk).first()
        if row is None:
            return None, "missing"
        if row.status != model.Status.PENDING:
            return None, row.status
        if row.attempts >= max_attempts:
            row.status = model.Status.FAILED
            row.last_error = f"attempt {row.attempts} ended without an outcome (its worker was lost)"
            row.save(update_fields=["status", "last_error"])
            return None, row.status
        row.attempts += 1
        row.save(update_fields=["attempts"])
    return row.attempts, model.Status.PENDING


def delivery_send(*, delivery_id: int, now: datetime) -> str:
    """Send one delivery if it is still pending; return its status afterwards.

    1. Count the attempt and commit it before anything leaves: a worker killed mid-send (its
       transaction dies with it) still leaves the attempt in ``attempts``, so a send that keeps
       killing its worker ends failed after ``MAX_ATTEMPTS`` instead of being redelivered for ever.
    2. Send under the row lock (on PostgreSQL), so two workers never send the same delivery at
       once: the second waits, then finds it sent. The attempt number is the claim: a worker that
       finds a later attempt counted since its own stands down and leaves the send to that one.
       A worker killed mid-send loses its lock with its connection, and the redelivered task sends
       again with the same idempotency key (the SMS request id, the email's Message-ID), which the
       provider recognises.

    On failure it records the reason; a permanent failure (a bad address) or the
    ``MAX_ATTEMPTS``-th attempt marks it failed, any other raises ``RetryableDeliveryError``.
    """
    attempt, status = count_attempt(Delivery, delivery_id, MAX_ATTEMPTS)
    if attempt is None:
        return status

    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification__user")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "missing"
        if delivery.status != Delivery.Status.PENDING or delivery.attempts != attempt:
            return delivery.status
        error = _send(delivery)
        if error is None:
            delivery.status, delivery.sent_at = Delivery.Status.SENT, now
            delivery.save(update_fields=["status", "sent_at"])
            return delivery.status
        delivery.last_error = str(error)[:2000]
        if error.permanent or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = Delivery.Status.FAILED
        else:
            # Past the task's own retry, so that a sweep only picks it up if that was lost.
            delivery.next_attempt_at = now + retry_delay(delivery.attempts) + CLAIM_LEASE
        delivery.save(update_fields=["status", "last_error", "next_attempt_at"])
    log.warning("delivery %s failed (attempt %d): %s", delivery.pk, delivery.attempts, error)
    if delivery.status == Delivery.Status.PENDING:
        raise RetryableDeliveryError(f"delivery {delivery.pk}: {error}")
    return delivery.status


def _send(delivery: Delivery) -> channels.ChannelError | None:
    """Render and send; return the failure instead of raising it."""
    try:
        # Users have no language of their own: messages go out in the site's language.
        with translation.override(settings.LANGUAGE_CODE):
            message = render_messages([delivery.notification])[0]
            if delivery.channel == Delivery.Channel.EMAIL:
                body = message.body
                if settings.SITE_URL:
                    body += "\n\n" + settings.SITE_URL.rstrip("/") + message.url
                channels.send_email(
                    address=delivery.address, subject=message.title, body=body, key=delivery.idempotency_key
                )
            else:
                text = _("%(title)s: %(body)s") % {"title": message.title, "body": message.body}
                channels.send_sms(address=delivery.address, text=text, key=delivery.idempotency_key)
    except channels.ChannelError as exc:
        return exc
    except Exception as exc:
        # A bug in a kind's render (or a backend) fails this delivery, visibly, not the queue.
        log.exception("delivery %s", delivery.pk)
        return channels.ChannelError(f"{type(exc).__name__}: {exc}")
    return None


def deliveries_send(*, delivery_ids: Sequence[int], now: datetime) -> Counter:
    """Send a batch of deliveries: one message per address and channel; return the outcomes.

    As ``delivery_send``, for many at once, in a constant number of queries:
    1. Lock the batch's pending rows, fail those whose last counted attempt never ended (its
       worker was lost ``MAX_ATTEMPTS`` times), count an attempt on the rest in one UPDATE, and
       commit before anything leaves.
    2. Lock them again (a worker that finds a later attempt counted since its own stands
       down), render every notification (one call per kind), merge each address's into one
       message (``digest``), send every email over one mail connection and each SMS, then
       write the outcomes: one UPDATE of every row sent, one per distinct failure (its reason;
       failed if permanent or the last attempt, else due again after ``retry_delay``).
       A worker killed mid-batch leaves its rows pending with the attempt counted; after
       ``CLAIM_LEASE`` a dispatch claims them again, and the repeat carries the same
       idempotency key (the message's lowest delivery id), which the provider recognises.

    Returns how many ended sent, failed, or pending ("retry").
    """
    outcomes: Counter = Counter()
    # Both locks read the batch by primary key alone, in id order, and leave out what is no longer
    # pending here: with status in the WHERE clause, PostgreSQL may walk every pending row of
    # delivery_due_idx (all a sweep just issued, which its statistics have not seen yet) to find
    # the batch's hundred (10-12 ms a lock at 24,596 pending, against 0.6 ms by the primary key).
    with transaction.atomic():
        rows = [
            (pk, attempts)
            for pk, attempts, status in Delivery.objects.select_for_update()
            .filter(pk__in=list(delivery_ids))
            .order_by("pk")
            .values_list("pk", "attempts", "status")
            if status == Delivery.Status.PENDING
        ]
        lost = [pk for pk, attempts in rows if attempts >= MAX_ATTEMPTS]
        if lost:
            Delivery.objects.filter(pk__in=lost).update(
                status=Delivery.Status.FAILED,
                last_error=f"attempt {MAX_ATTEMPTS} ended without an outcome (its worker was lost)",
            )
            outcomes[Delivery.Status.FAILED] += len(lost)
        claimed = {pk: attempts + 1 for pk, attempts in rows if attempts < MAX_ATTEMPTS}
        if claimed:
            Delivery.objects.filter(pk__in=list(claimed)).update(attempts=F("attempts") + 1)
    if not claimed:
        return outcomes

    with transaction.atomic():
        batch = [
            delivery
            for delivery in Delivery.objects.select_for_update(of=("self",))
            .select_related("notification")
            .filter(pk__in=list(claimed))
            .order_by("id")
            if delivery.status == Delivery.Status.PENDING and delivery.attempts == claimed[delivery.pk]
        ]
        if not batch:
            return outcomes
        errors = _send_batch(batch)
        # Rows that end alike are written alike: one UPDATE of every row sent, one per distinct
        # failure (usually none; a mail server that is down fails the batch with one reason).
        # Not bulk_update: its CASE per row and field costs far more Python than the send.
        outcome_rows: dict[tuple, list[int]] = defaultdict(list)
        for delivery in batch:
            error = errors.get(delivery.pk)
            if error is None:
                outcome_rows[(Delivery.Status.SENT, None, None)].append(delivery.pk)
                outcomes[Delivery.Status.SENT] += 1
                continue
            log.warning("delivery %s failed (attempt %d): %s", delivery.pk, delivery.attempts, error)
            if error.permanent or delivery.attempts >= MAX_ATTEMPTS:
                outcome_rows[(Delivery.Status.FAILED, str(error)[:2000], None)].append(delivery.pk)
                outcomes[Delivery.Status.FAILED] += 1
            else:
                retry_at = now + retry_delay(delivery.attempts)
                outcome_rows[(Delivery.Status.PENDING, str(error)[:2000], retry_at)].append(delivery.pk)
                outcomes["retry"] += 1
        for (status, error_text, retry_at), pks in outcome_rows.items():
            if status == Delivery.Status.SENT:
                changes: dict[str, Any] = {"status": status, "sent_at": now}
            elif retry_at is None:
                changes = {"status": status, "last_error": error_text}
            else:
                changes = {"last_error": error_text, "next_attempt_at": retry_at}
            Delivery.objects.filter(pk__in=pks).update(**changes)
    return outcomes


def digest(
    deliveries: Sequence[Delivery], messages: Sequence[Message]
) -> list[tuple[list[Delivery], list[Message]]]:
    """Merge what each address is owed by each channel: one message each.

    ``messages`` are the deliveries' rendered notifications, in the same order. A notice that
    another one to the same address about the same subject supersedes (``Kind.supersedes``:
    an escalation, an overdue notice) is left out of the message but counts as sent with it.
    Returns (the deliveries one message covers, the notices it lists), per address and channel.
    """
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for position, delivery in enumerate(deliveries):
        groups[(delivery.channel, delivery.address)].append(position)
    superseded_by: dict[str, list[str]] = defaultdict(list)
    for code, other in _KINDS.items():
        for weaker in other.supersedes:
            superseded_by[weaker].append(code)
    merged = []
    for positions in groups.values():
        notifications = [deliveries[i].notification for i in positions]
        told = {(n.subject_type, n.subject_id, n.kind) for n in notifications}
        shown = [
            messages[i]
            for i, n in zip(positions, notifications, strict=True)
            if not any((n.subject_type, n.subject_id, code) in told for code in superseded_by.get(n.kind, ()))
        ]
        merged.append(([deliveries[i] for i in positions], shown))
    return merged


def _link(message: Message) -> str:
    return settings.SITE_URL.rstrip("/") + message.url if settings.SITE_URL else message.url


def _email_text(items: list[Message]) -> tuple[str, str]:
    """(subject, body): one notice as it is; several listed, each with its link."""
    if len(items) == 1:
        (message,) = items
        body = message.body
        if settings.SITE_URL:
            body += "\n\n" + _link(message)
        return message.title, body
    subject = ngettext("%(count)d new notification", "%(count)d new notifications", len(items)) % {
        "count": len(items)
    }
    body = "\n\n".join(f"{m.title}: {m.body}\n{_link(m)}" for m in items)
    return subject, body


def _sms_text(items: list[Message]) -> str:
    """One notice as it was; several: the first SMS_DIGEST_ITEMS, how many more, the inbox."""
    if len(items) == 1:
        return _("%(title)s: %(body)s") % {"title": items[0].title, "body": items[0].body}
    listed = [_("%(title)s: %(body)s") % {"title": m.title, "body": m.body} for m in items[:SMS_DIGEST_ITEMS]]
    more = len(items) - len(listed)
    if more:
        listed.append(ngettext("and %(more)d more", "and %(more)d more", more) % {"more": more})
    return _("%(count)s new notifications: %(list)s (details in your inbox: %(link)s)") % {
        "count": len(items),
        "list": "; ".join(listed),
        "link": _link(Message(title="", body="", url=reverse("inbox"))),
    }


def _send_batch(batch: list[Delivery]) -> dict[int, channels.ChannelError]:
    """Render and send a batch (``digest``); return the failure of each delivery that failed."""
    errors: dict[int, channels.ChannelError] = {}
    # Users have no language of their own: messages go out in the site's language.
    with translation.override(settings.LANGUAGE_CODE):
        try:
            # A notification goes by email and by SMS: render each once.
            unique = list({d.notification_id: d.notification for d in batch}.values())
            rendered = dict(zip((n.pk for n in unique), render_messages(unique), strict=True))
            merged = digest(batch, [rendered[d.notification_id] for d in batch])
        except Exception as exc:
            # A bug in a kind's render fails these deliveries, visibly, not the queue.
            log.exception("deliveries %s", [d.pk for d in batch])
            error = channels.ChannelError(f"{type(exc).__name__}: {exc}")
            return dict.fromkeys((d.pk for d in batch), error)
        with channels.mail_connection() as mail:
            for covered, items in merged:
                first = covered[0]
                try:
                    if first.channel == Delivery.Channel.EMAIL:
                        subject, body = _email_text(items)
                        channels.send_email(
                            address=first.address,
                            subject=subject,
                            body=body,
                            key=first.idempotency_key,
                            connection=mail,
                        )
                    else:
                        channels.send_sms(
                            address=first.address, text=_sms_text(items), key=first.idempotency_key
                        )
                except channels.ChannelError as exc:
                    errors.update(dict.fromkeys((d.pk for d in covered), exc))
                except Exception as exc:
                    log.exception("deliveries %s", [d.pk for d in covered])
                    error = channels.ChannelError(f"{type(exc).__name__}: {exc}")
                    errors.update(dict.fromkeys((d.pk for d in covered), error))
    return errors


@transaction.atomic
def delivery_resend(*, actor: User, delivery: Delivery) -> None:
    """Put a failed delivery back in the queue with fresh attempts (a staff action)."""
    from liaison.tasks import deliver

    moved = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now() + CLAIM_LEASE
    )
    if not moved:
        return
    audit.record(
        actor=actor,
        verb="delivery.resent",
        subject=delivery,
        attempts=delivery.attempts,
        last_error=delivery.last_error,
    )
    delivery.status, delivery.attempts = Delivery.Status.PENDING, 0
    transaction.on_commit(lambda: deliver.delay(delivery.pk), robust=True)


# --- The inbox -------------------------------------------------------------------------------


def inbox(user) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    return Notification.objects.for_user(user).order_by("-created_at", "-id")


def unread_count(user) -> int:
    return Notification.objects.for_user(user).unread().count()


def mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    """Mark the user's unread notifications read (only ``ids``, if given); return how many."""
    unread = Notification.objects.for_user(user).unread()
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


def preferences_update(*, user, email: bool, sms: bool) -> None:
    """Set which channels besides the inbox reach ``user``."""
    user.notify_by_email, user.notify_by_sms = email, sms
    user.save(update_fields=["notify_by_email", "notify_by_sms"])

"""Sending in batches: one mail connection and one status UPDATE per batch, each delivery's
failure recorded on its own, the same queries for 10 and 100 deliveries, and a worker lost
mid-batch neither losing nor doubling a message."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from liaison import channels, notify
from liaison.models import Delivery, User
from tests.helpers import explain, reload
from tests.liaison.fake_sms_provider import FakeSmsProvider
from tests.liaison.test_notifications import issue_news, people

NOW = timezone.now().replace(microsecond=0)


class CountingBackend(EmailBackend):
    """locmem, counting the connections made."""

    made = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        CountingBackend.made += 1


@pytest.fixture
def sms_provider():
    provider = FakeSmsProvider().start()
    with override_settings(SMS_BACKEND="http", SMS_HTTP_URL=provider.url, SMS_HTTP_TOKEN="t0ken"):
        yield provider
    provider.stop()


def ids() -> list[int]:
    return list(Delivery.objects.order_by("id").values_list("pk", flat=True))


@override_settings(EMAIL_BACKEND="tests.liaison.test_delivery_batches.CountingBackend")
def test_a_batch_sends_every_email_over_one_connection(db):
    issue_news(people(5))
    CountingBackend.made = 0
    assert notify.deliveries_send(delivery_ids=ids(), now=NOW) == {"sent": 10}
    assert CountingBackend.made == 1 and len(mail.outbox) == 5


def test_one_failing_address_is_recorded_and_the_rest_are_sent(db, sms_provider):
    good, bad_email, bad_phone = people(3)
    User.objects.filter(pk=bad_email.pk).update(email="not-an-address")
    sms_provider.fail(bad_phone.phone, error="账户余额不足")
    issue_news([good, bad_email, bad_phone])

    assert notify.deliveries_send(delivery_ids=ids(), now=NOW) == {"sent": 4, "failed": 1, "retry": 1}

    assert sorted(m.to[0] for m in mail.outbox) == sorted([good.email, bad_phone.email])
    assert sorted(r["phone"] for r in sms_provider.requests) == sorted(
        [good.phone, bad_email.phone, bad_phone.phone]
    )
    failed = Delivery.objects.get(address="not-an-address")
    assert (failed.status, failed.attempts) == ("failed", 1) and "invalid email address" in failed.last_error
    later = Delivery.objects.get(address=bad_phone.phone)
    assert (later.status, later.attempts, later.last_error) == (
        "pending",
        1,
        "SMS provider error: 账户余额不足",
    )
    assert later.next_attempt_at == NOW + notify.retry_delay(1)  # retried by the next dispatch
    assert set(Delivery.objects.exclude(pk__in=[failed.pk, later.pk]).values_list("status", flat=True)) == {
        "sent"
    }
    # A failed delivery is resent from the admin as before (delivery_resend).
    assert reload(failed).attempts == 1


@pytest.mark.parametrize("size", [10, 100])
def test_a_batch_of_10_or_100_takes_the_same_queries(db, django_assert_num_queries, size):
    # Each user has one email and one SMS: 5 or 50 people.
    issue_news(people(size // 2))
    batch = ids()
    # Lock and count the attempt (SAVEPOINT, SELECT ... FOR UPDATE, UPDATE, RELEASE); lock
    # again with the notifications and users, render (one query for the kind's subjects),
    # one UPDATE of every row sent (SAVEPOINT, SELECT, render, UPDATE, RELEASE).
    with django_assert_num_queries(9):
        assert notify.deliveries_send(delivery_ids=batch, now=NOW) == {"sent": size}
    assert len(mail.outbox) == size // 2
    assert Delivery.objects.filter(status="sent", attempts=1, sent_at=NOW).count() == size


def test_a_worker_lost_mid_batch_leaves_it_to_be_sent_once_later(db, monkeypatch):
    (user,) = people(1)
    issue_news([user])

    def killed(batch):
        raise KeyboardInterrupt  # the worker dies between counting the attempt and sending

    monkeypatch.setattr(notify, "_send_batch", killed)
    assert notify.deliveries_dispatch(now=NOW) == 2  # claimed: leased for CLAIM_LEASE
    with pytest.raises(KeyboardInterrupt):
        notify.deliveries_send(delivery_ids=ids(), now=NOW)
    assert set(Delivery.objects.values_list("status", "attempts")) == {("pending", 1)}
    assert notify.deliveries_dispatch(now=NOW + timedelta(minutes=1)) == 0  # still leased
    monkeypatch.undo()

    later = NOW + notify.CLAIM_LEASE
    assert notify.deliveries_send_now(now=later) == {"sent": 2}
    email = Delivery.objects.get(channel="email")
    # Sent once, with the key a repeat of the lost attempt would have carried.
    (message,) = mail.outbox
    assert message.extra_headers["Message-ID"] == f"<{email.idempotency_key}@localhost>"
    assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 2)}
    assert notify.deliveries_send_now(now=later + notify.CLAIM_LEASE) == {}


def test_a_mail_server_error_fails_that_message_and_the_batch_goes_on(db, monkeypatch):
    first, second = people(2)
    issue_news([first, second])
    calls = []
    real = channels.send_email

    def flaky(**kwargs):
        calls.append(kwargs["address"])
        if len(calls) == 1:
            raise channels.ChannelError("mail server error: 421 try later")
        return real(**kwargs)

    monkeypatch.setattr(channels, "send_email", flaky)
    outcomes = notify.deliveries_send(delivery_ids=ids(), now=NOW)
    assert outcomes == {"sent": 3, "retry": 1}
    assert len(mail.outbox) == 1


@pytest.mark.postgres
def test_a_batch_is_locked_by_its_primary_key_whatever_the_statistics_say(db):
    """Both locks of ``deliveries_send`` read the batch by primary key. The statistics here were
    taken when every delivery was sent (as after a sweep: the thousands it just issued are not in
    them yet); a lock that filtered on ``status = 'pending'`` was planned on delivery_due_idx and
    walked every pending row to find the batch's (10-12 ms a lock at 24,596 pending)."""
    if connection.vendor != "postgresql":
        pytest.fail("query plans are checked on PostgreSQL: run it with `make test`")
    issue_news(people(300))
    Delivery.objects.update(status=Delivery.Status.SENT)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE liaison_delivery")
    Delivery.objects.update(status=Delivery.Status.PENDING)
    batch = ids()[:100]

    with CaptureQueriesContext(connection) as queries:
        assert notify.deliveries_send(delivery_ids=batch, now=NOW) == {"sent": 100}

    locks = [query["sql"] for query in queries.captured_queries if " FOR UPDATE" in query["sql"]]
    assert len(locks) == 2
    for sql in locks:
        explained = explain(sql)
        assert "delivery_due_idx" not in explained, explained
        assert "liaison_delivery_pkey" in explained, explained

"""Notification edges that mutation testing (`make mutate`) found untested: registering kinds, the
generic message, the retry schedule, what the dispatcher enqueues (and that a broker outage does not
fail it), the order and limit of claims, the operator's tally of outcomes, the email's link, a long
error, the inbox order, and a staff resend."""

import logging
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from liaison import channels, notify, tasks
from liaison.models import AuditEvent, Delivery, Notification
from liaison.notify import Kind
from tests.helpers import reload
from tests.liaison.test_notifications import SMS_ONLY, issue_news, people, render_user_news

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def kinds(monkeypatch):
    monkeypatch.setattr(notify, "_KINDS", dict(notify._KINDS))


def test_a_registered_kind_is_found_and_an_unknown_channel_refused(kinds):
    news = Kind("test.registered", render_user_news, channels=("email",))
    notify.register(news)
    assert notify.kind("test.registered") is news
    with pytest.raises(ValueError, match=r"^test\.fax: unknown channels \['fax'\]$"):
        notify.register(Kind("test.fax", render_user_news, channels=("email", "fax")))
    assert notify.kind("test.fax").render is not render_user_news  # not registered: the generic one


def test_the_generic_message_points_to_the_inbox(db):
    (user,) = people(1)
    issue_news([user], kind="test.nobody_registered_this")
    with translation.override("en"):
        (message,) = notify.render_messages(list(Notification.objects.all()))
    assert message == notify.Message(
        "New notification", "There is news for you in Liaison.", reverse("inbox")
    )


@pytest.mark.parametrize(("attempts", "minutes"), [(0, 1), (1, 1), (2, 2), (3, 4), (5, 16), (6, 30), (9, 30)])
def test_retries_back_off_by_doubling_up_to_half_an_hour(attempts, minutes):
    assert notify.retry_delay(attempts) == timedelta(minutes=minutes)


def due(n: int) -> list[Delivery]:
    issue_news(people(n), kind=SMS_ONLY)
    return list(Delivery.objects.order_by("pk"))


def test_dispatch_enqueues_each_claimed_batch(db, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(notify, "SEND_BATCH", 2)
    monkeypatch.setattr(tasks.deliver_batch, "delay", sent.append)
    rows = due(3)
    with django_capture_on_commit_callbacks(execute=True):
        assert notify.deliveries_dispatch(now=NOW) == 3
    assert sorted(sent) == [[rows[0].pk, rows[1].pk], [rows[2].pk]]


def test_a_broker_outage_does_not_fail_the_dispatch(db, monkeypatch, django_capture_on_commit_callbacks):
    def down(delivery_ids):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.deliver_batch, "delay", down)
    due(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert notify.deliveries_dispatch(now=NOW) == 1


def test_the_longest_waiting_delivery_is_claimed_first_and_only_up_to_the_limit(db, monkeypatch):
    first, second = due(2)
    Delivery.objects.filter(pk=second.pk).update(next_attempt_at=NOW - timedelta(hours=1))
    tried = []
    monkeypatch.setattr(
        notify,
        "deliveries_send",
        lambda *, delivery_ids, now: tried.append(list(delivery_ids)) or Counter(sent=len(delivery_ids)),
    )
    assert notify.deliveries_send_now(now=NOW, limit=1) == {"sent": 1}
    assert tried == [[second.pk]]


def test_the_operator_run_tallies_every_retry_and_error(db, monkeypatch, caplog):
    rows = due(4)
    monkeypatch.setattr(notify, "SEND_BATCH", 2)
    real = notify.deliveries_send
    monkeypatch.setattr(
        channels, "send_sms", lambda **kwargs: (_ for _ in ()).throw(channels.ChannelError("later"))
    )
    calls = iter([real, None])

    def send(*, delivery_ids, now):
        function = next(calls)
        if function is None:
            raise RuntimeError("bug")
        return function(delivery_ids=delivery_ids, now=now)

    monkeypatch.setattr(notify, "deliveries_send", send)
    with caplog.at_level(logging.ERROR, logger="liaison.notify"):
        assert notify.deliveries_send_now(now=NOW) == {"retry": 2, "error": 2}
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged == [f"deliveries {[rows[2].pk, rows[3].pk]} could not be sent"]


def test_an_email_ends_with_the_link_to_its_page(db, mailoutbox):
    (user,) = people(1)
    issue_news([user])
    email = Delivery.objects.get(channel="email")
    with override_settings(SITE_URL="https://liaison.example.cn/"):
        assert notify.delivery_send(delivery_id=email.pk, now=NOW) == "sent"
    assert mailoutbox[0].body == f"subject {user.pk}\n\nhttps://liaison.example.cn/reps/?about={user.pk}"


def test_a_long_error_is_kept_to_2000_characters(db, monkeypatch):
    (user,) = people(1)
    issue_news([user], kind=SMS_ONLY)
    sms = Delivery.objects.get()

    def refuse(**kwargs):
        raise channels.ChannelError("x" * 2500, permanent=True)

    monkeypatch.setattr(notify.channels, "send_sms", refuse)
    assert notify.delivery_send(delivery_id=sms.pk, now=NOW) == "failed"
    assert reload(sms).last_error == "x" * 2000


def test_a_delivery_that_is_gone_is_missing(db):
    assert notify.delivery_send(delivery_id=987654321, now=NOW) == "missing"


def test_issuing_with_nothing_to_deliver_asks_no_worker(db, django_capture_on_commit_callbacks):
    (user,) = people(1, is_active=False)
    with django_capture_on_commit_callbacks() as callbacks:
        assert issue_news([user]) == 1
    assert callbacks == []


def test_a_broker_outage_does_not_fail_the_issuing(db, monkeypatch, django_capture_on_commit_callbacks):
    def down():
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.dispatch_deliveries, "delay", down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert issue_news(people(1)) == 1
    assert len(callbacks) == 1


def test_an_unregistered_kind_keeps_its_code_and_a_render_must_answer_each_row(db, kinds):
    assert notify.kind("test.unheard_of").code == "test.unheard_of"
    notify.register(Kind("test.short", lambda notifications: []))
    issue_news(people(1), kind="test.short")
    with pytest.raises(ValueError, match="zip"):
        notify.render_messages(list(Notification.objects.all()))


def test_issue_wants_values_querysets(db):
    with pytest.raises(TypeError, match="expected a .values"):
        notify.issue(kind=SMS_ONLY, subject_type="liaison.user", subjects=[], recipients=[], now=NOW)


def test_the_inbox_is_newest_first_by_time(db):
    (user,) = people(1)
    issue_news([user], period="a")
    issue_news([user], period="b")
    older, newer = Notification.objects.order_by("pk")
    Notification.objects.filter(pk=newer.pk).update(created_at=older.created_at - timedelta(days=1))
    assert list(notify.inbox(user)) == [older, newer]


@pytest.fixture
def failed(db):
    (user,) = people(1)
    issue_news([user], kind=SMS_ONLY)
    Delivery.objects.update(status="failed", attempts=6, last_error="blocked")
    return Delivery.objects.get()


def test_staff_resend_a_failed_delivery_now(failed, clerk_a, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(tasks.deliver, "delay", sent.append)
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        notify.delivery_resend(actor=clerk_a, delivery=failed)
    assert (failed.status, failed.attempts) == ("pending", 0)
    row = reload(failed)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, NOW + notify.CLAIM_LEASE)
    assert sent == [failed.pk]
    event = AuditEvent.objects.get(verb="delivery.resent")
    assert event.data == {"attempts": 6, "last_error": "blocked"}


def test_a_resend_survives_a_broker_outage(failed, clerk_a, monkeypatch, django_capture_on_commit_callbacks):
    def down(delivery_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.deliver, "delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        notify.delivery_resend(actor=clerk_a, delivery=failed)
    assert reload(failed).status == "pending"


def test_only_a_failed_delivery_is_resent(failed, clerk_a):
    Delivery.objects.update(status="sent")
    notify.delivery_resend(actor=clerk_a, delivery=reload(failed))
    assert reload(failed).status == "sent" and not AuditEvent.objects.filter(verb="delivery.resent").exists()

"""Notification edges that mutation testing (`make mutate`) found untested: registering kinds, the
generic message, the retry schedule, what the dispatcher enqueues (and that a broker outage does not
fail it), the order and limit of claims, and the operator's tally of outcomes."""

import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from liaison import notify, tasks
from liaison.models import Delivery, Notification
from liaison.notify import Kind
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


def test_dispatch_enqueues_each_claimed_delivery(db, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(tasks.deliver, "delay", sent.append)
    rows = due(2)
    with django_capture_on_commit_callbacks(execute=True):
        assert notify.deliveries_dispatch(now=NOW) == 2
    assert sorted(sent) == [d.pk for d in rows]


def test_a_broker_outage_does_not_fail_the_dispatch(db, monkeypatch, django_capture_on_commit_callbacks):
    def down(delivery_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.deliver, "delay", down)
    due(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert notify.deliveries_dispatch(now=NOW) == 1


def test_the_longest_waiting_delivery_is_claimed_first_and_only_up_to_the_limit(db, monkeypatch):
    first, second = due(2)
    Delivery.objects.filter(pk=second.pk).update(next_attempt_at=NOW - timedelta(hours=1))
    tried = []
    monkeypatch.setattr(
        notify, "delivery_send", lambda *, delivery_id, now: tried.append(delivery_id) or "sent"
    )
    assert notify.deliveries_send_now(now=NOW, limit=1) == {"sent": 1}
    assert tried == [second.pk]


def test_the_operator_run_tallies_every_retry_and_error(db, monkeypatch, caplog):
    rows = due(4)
    outcomes = iter([notify.RetryableDeliveryError("later"), RuntimeError("bug")] * 2)

    def send(*, delivery_id, now):
        raise next(outcomes)

    monkeypatch.setattr(notify, "delivery_send", send)
    with caplog.at_level(logging.ERROR, logger="liaison.notify"):
        assert notify.deliveries_send_now(now=NOW) == {"retry": 2, "error": 2}
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged == [f"delivery {rows[1].pk} could not be sent", f"delivery {rows[3].pk} could not be sent"]

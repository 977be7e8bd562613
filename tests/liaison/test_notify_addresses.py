"""Notifications to people without an account (a resident's phone): owed once, sent once, no inbox."""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import CharField, F, Value
from django.test import override_settings
from django.utils import timezone

from liaison import notify
from liaison.models import Delivery, Notification, Reminder, User
from liaison.notify import Kind, Message
from tests.factories import UserFactory
from tests.liaison.fake_sms_provider import FakeSmsProvider

NOW = timezone.now().replace(microsecond=0)
TEXT = "test.address_text"
EMAIL_KIND = "test.address_email_only"


def render_text(notifications):
    return [Message(title="回执", body=f"subject {n.subject_id}", url="/track/") for n in notifications]


notify.register(Kind(TEXT, render_text, channels=("sms",)))
notify.register(Kind(EMAIL_KIND, render_text, channels=("email",)))


def issue(users, *, kind=TEXT, channel="sms"):
    """The users as subjects, each told at their phone, as if they had no account."""
    chosen = User.objects.filter(pk__in=[u.pk for u in users])
    subjects = chosen.values(subject_id=F("pk"), period=Value("", output_field=CharField()))
    recipients = chosen.values(subject_id=F("pk"), address=F("phone"))
    return notify.issue_to_addresses(
        kind=kind,
        subject_type="test.subject",
        subjects=subjects,
        recipients=recipients,
        channel=channel,
        now=NOW,
    )


@pytest.fixture
def sms_provider():
    provider = FakeSmsProvider().start()
    with override_settings(SMS_BACKEND="http", SMS_HTTP_URL=provider.url, SMS_HTTP_TOKEN="t0ken"):
        yield provider
    provider.stop()


def test_each_address_gets_one_sms_and_no_inbox_entry(db):
    a, b = UserFactory(phone="13800000001"), UserFactory(phone="13800000002")
    issued = issue([a, b])
    assert (issued.reminders, issued.notifications, issued.deliveries) == (2, 2, 2)
    rows = sorted(Notification.objects.values_list("user_id", "address", "subject_id"))
    assert rows == sorted([(None, "13800000001", a.pk), (None, "13800000002", b.pk)])
    assert sorted(Delivery.objects.values_list("channel", "address", "status")) == [
        ("sms", "13800000001", "pending"),
        ("sms", "13800000002", "pending"),
    ]
    # Nobody's inbox: the subjects are users here, yet the notifications are not theirs.
    assert notify.unread_count(a) == 0 and list(notify.inbox(b)) == []


def test_a_second_issue_of_the_same_reminders_sends_nothing(db):
    person = UserFactory(phone="13800000001")
    assert issue([person]).deliveries == 1
    assert issue([person]) == notify.Issued(0, 0, 0)
    assert (Reminder.objects.count(), Notification.objects.count(), Delivery.objects.count()) == (1, 1, 1)


def test_one_address_given_twice_is_told_once_and_an_empty_one_not_at_all(db):
    twice, empty = UserFactory(phone="13800000001"), UserFactory(phone="")
    subjects = User.objects.filter(pk=twice.pk).values(
        subject_id=F("pk"), period=Value("", output_field=CharField())
    )
    both = User.objects.filter(pk__in=[twice.pk, empty.pk])
    # Every recipient row names the first subject: the same phone twice, and an empty one.
    recipients = (
        both.order_by()
        .values(subject_id=Value(twice.pk), address=F("phone"))
        .union(
            User.objects.filter(pk=twice.pk)
            .order_by()
            .values(subject_id=Value(twice.pk), address=F("phone")),
            all=True,
        )
    )
    issued = notify.issue_to_addresses(
        kind=TEXT,
        subject_type="test.subject",
        subjects=subjects,
        recipients=recipients,
        channel="sms",
        now=NOW,
    )
    assert (issued.notifications, issued.deliveries) == (1, 1)
    assert list(Delivery.objects.values_list("address", flat=True)) == ["13800000001"]


def test_a_channel_the_kind_does_not_use_is_refused(db):
    person = UserFactory(phone="13800000001")
    with pytest.raises(ValueError, match="not sent by sms"):
        issue([person], kind=EMAIL_KIND)
    assert not Reminder.objects.exists()


def test_a_notification_needs_a_user_or_an_address_never_both_or_neither(db):
    person = UserFactory()
    reminder = Reminder.objects.create(subject_type="t", subject_id=1, kind=TEXT, batch="b")
    fields = {"reminder": reminder, "kind": TEXT, "subject_type": "t", "subject_id": 1, "batch": "b"}
    for bad in ({}, {"user": person, "address": "13800000001"}):
        with pytest.raises(IntegrityError, match="notification_user_or_address|CHECK"), transaction.atomic():
            Notification.objects.create(**fields, **bad)
    Notification.objects.create(**fields, address="13800000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(**fields, address="13800000001")  # once per address


def test_the_sms_goes_out_once_with_its_idempotency_key_even_if_sent_twice(db, sms_provider):
    person = UserFactory(phone="13800000001")
    issue([person])
    delivery = Delivery.objects.get()
    assert notify.delivery_send(delivery_id=delivery.pk, now=NOW) == "sent"
    assert notify.delivery_send(delivery_id=delivery.pk, now=NOW) == "sent"  # a retried task
    assert sms_provider.request_ids("13800000001") == [f"liaison-delivery-{delivery.pk}"]
    assert f"subject {person.pk}" in sms_provider.requests[0]["text"]


def test_only_staff_who_see_everything_see_an_address_notification(db, clerk_a):
    superuser = UserFactory(is_superuser=True)
    issue([UserFactory(phone="13800000001")])
    assert Notification.objects.visible_to(superuser).count() == 1
    assert Delivery.objects.visible_to(superuser).count() == 1
    assert not Notification.objects.visible_to(clerk_a).exists()
    assert not Delivery.objects.visible_to(clerk_a).exists()


@pytest.mark.parametrize("size", [10, 1000])
def test_issuing_to_addresses_takes_the_same_queries_for_10_and_1000(db, size, django_assert_num_queries):
    users = User.objects.bulk_create(
        User(username=f"r{i}", name=f"居民{i}", phone=f"139{i:08d}") for i in range(size)
    )
    # SAVEPOINT, INSERT reminders, INSERT notifications, INSERT deliveries, RELEASE.
    with django_assert_num_queries(5):
        issued = issue(users)
    assert (issued.reminders, issued.notifications, issued.deliveries) == (size, size, size)

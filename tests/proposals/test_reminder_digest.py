"""One sweep, one message per person and channel: a digest of what they are owed, an escalation
standing for the overdue notice of the same ticket, and nothing again from the next sweep."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from liaison import notify
from liaison.models import Delivery, Notification, User
from proposals import reminders
from proposals.models import Ticket
from proposals.transitions import Status
from tests.liaison.fake_sms_provider import FakeSmsProvider
from tests.proposals.ticket_rows import ticket_row

TZ = timezone.get_default_timezone()
NOW = datetime.datetime(2026, 3, 13, 10, 0, tzinfo=TZ)  # after the digest hour, mid-month


@pytest.fixture
def sms_provider():
    provider = FakeSmsProvider().start()
    with override_settings(SMS_BACKEND="http", SMS_HTTP_URL=provider.url, SMS_HTTP_TOKEN="t0ken"):
        yield provider
    provider.stop()


def sweep_and_send(now):
    with time_machine.travel(now, tick=False):
        sent = reminders.ticket_reminders_send_due(now=now)
        outcomes = notify.deliveries_send_now(now=now)
    return sent, outcomes


def overdue_tickets(n, *, township, unit, late=datetime.timedelta(hours=2)):
    return Ticket.objects.bulk_create(
        ticket_row(township=township, now=NOW, lead_unit=unit, status=Status.SIGNED, due_at=NOW - late)
        for _ in range(n)
    )


def sms_to(provider, phone):
    return [r["text"] for r in provider.requests if r["phone"] == phone]


def test_one_person_owed_three_tickets_gets_one_email_and_one_sms_listing_all_three(
    township_a, unit_a, unit_a_staff, clerk_a, sms_provider
):
    User.objects.filter(pk=unit_a_staff.pk).update(phone="13900000001")
    tickets = overdue_tickets(3, township=township_a, unit=unit_a)

    sent, outcomes = sweep_and_send(NOW)

    assert sent["overdue"] == 3
    # The inbox keeps one entry per ticket (each opens its ticket and is read on its own).
    assert Notification.objects.filter(user=unit_a_staff, kind="ticket.overdue").count() == 3
    (email,) = [m for m in mail.outbox if m.to == [unit_a_staff.email]]
    with translation.override(settings.LANGUAGE_CODE):
        assert email.subject == ngettext("%(count)d new notification", "%(count)d new notifications", 3) % {
            "count": 3
        }
        for ticket in tickets:
            assert gettext("Reply overdue: %(title)s") % {"title": ticket.title} in email.body
            assert f"/tickets/{ticket.pk}/" in email.body
    (text,) = sms_to(sms_provider, "13900000001")
    assert all(ticket.title in text for ticket in tickets)
    # Six deliveries (3 tickets × 2 channels) went out as two messages, and all are sent.
    assert set(Delivery.objects.filter(notification__user=unit_a_staff).values_list("status", flat=True)) == {
        "sent"
    }
    assert outcomes["sent"] == Delivery.objects.count()


def test_an_escalation_supersedes_the_overdue_notice_of_the_same_ticket(
    township_a, unit_a, clerk_a, liaison_office, sms_provider
):
    User.objects.filter(pk=clerk_a.pk).update(phone="13900000002")
    (ticket,) = overdue_tickets(1, township=township_a, unit=unit_a, late=datetime.timedelta(days=4))

    sent, _outcomes = sweep_and_send(NOW)

    assert sent["overdue"] == 1 and sent["escalated"] == 1
    kinds = set(Notification.objects.filter(user=clerk_a).values_list("kind", flat=True))
    assert {"ticket.overdue", "ticket.escalated"} <= kinds  # the inbox shows both
    (email,) = [m for m in mail.outbox if m.to == [clerk_a.email]]
    (text,) = sms_to(sms_provider, "13900000002")
    with translation.override(settings.LANGUAGE_CODE):
        overdue = gettext("Reply overdue: %(title)s") % {"title": ticket.title}
        escalated = ngettext(
            "Overdue by %(days)d day: %(title)s", "Overdue by %(days)d days: %(title)s", 3
        ) % {
            "days": 3,
            "title": ticket.title,
        }
    assert escalated in email.body and overdue not in email.body
    assert escalated in text and overdue not in text
    # The superseded delivery went out with the escalation: sent, not left pending.
    assert set(Delivery.objects.filter(notification__user=clerk_a).values_list("status", flat=True)) == {
        "sent"
    }


def test_a_second_sweep_sends_nothing_new(township_a, unit_a, unit_a_staff, clerk_a, sms_provider):
    User.objects.filter(pk=unit_a_staff.pk).update(phone="13900000003")
    overdue_tickets(3, township=township_a, unit=unit_a)
    sweep_and_send(NOW)
    mails, texts = len(mail.outbox), len(sms_provider.requests)
    assert mails and texts

    later = NOW + datetime.timedelta(minutes=5)
    sent, outcomes = sweep_and_send(later)

    assert sum(sent.values()) == 0 and sum(outcomes.values()) == 0
    assert (len(mail.outbox), len(sms_provider.requests)) == (mails, texts)


def test_the_sweeps_deliveries_wait_until_it_is_done(township_a, unit_a, unit_a_staff, clerk_a, monkeypatch):
    """Held while the sweep runs (no dispatch mid-sweep can split a person's message), then
    released in one UPDATE with one dispatch after commit."""
    overdue_tickets(2, township=township_a, unit=unit_a)
    seen = []
    overdue_digest = reminders._overdue_digest

    def digest_then_look(now):
        seen.append(Delivery.objects.due(now).count())
        return overdue_digest(now)

    monkeypatch.setattr(reminders, "_overdue_digest", digest_then_look)
    with time_machine.travel(NOW, tick=False):
        reminders.ticket_reminders_send_due(now=NOW)
    assert seen == [0]  # nothing was due while the sweep ran
    assert Delivery.objects.due(NOW).count() == Delivery.objects.count() > 0


def test_an_sms_digest_lists_three_notices_and_counts_the_rest(
    township_a, unit_a, unit_a_staff, clerk_a, sms_provider
):
    User.objects.filter(pk=unit_a_staff.pk).update(phone="13900000004")
    tickets = overdue_tickets(5, township=township_a, unit=unit_a)

    sweep_and_send(NOW)

    (text,) = sms_to(sms_provider, "13900000004")
    assert sum(ticket.title in text for ticket in tickets) == notify.SMS_DIGEST_ITEMS == 3
    with translation.override(settings.LANGUAGE_CODE):
        assert ngettext("and %(more)d more", "and %(more)d more", 2) % {"more": 2} in text
    (email,) = [m for m in mail.outbox if m.to == [unit_a_staff.email]]
    assert all(ticket.title in email.body for ticket in tickets)  # the email lists them all

"""Residents kept in the loop by SMS, with their consent: the receipt, the reply to rate, a re-handling.

Each message is owed once per event (the ``Reminder`` ledger) and goes only to the proposers who
ticked "send me SMS" on the intake form; a retried task or a second sweep sends nothing more.
"""

import re
import threading
import time

import pytest
from django.db import connection, connections
from django.test import override_settings
from django.urls import reverse
from django.utils import formats, timezone, translation

from liaison import notify
from liaison.models import Delivery, Notification
from proposals import reminders, services, tasks
from proposals.models import Proposer, Ticket
from tests.helpers import refusal, reload
from tests.liaison.fake_sms_provider import FakeSmsProvider
from tests.proposals.public_helpers import form_token, visitor, walk_to_forwarded

SITE = "https://liaison.example.cn"
INTAKE, TRACK = "/intake/", "/track/"
CONSENTING, SILENT = "13812345678", "13900001111"


@pytest.fixture(autouse=True)
def _site(settings, tmp_path):
    settings.SITE_URL = SITE
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def sms_provider():
    provider = FakeSmsProvider().start()
    with override_settings(SMS_BACKEND="http", SMS_HTTP_URL=provider.url, SMS_HTTP_TOKEN="t0ken"):
        yield provider
    provider.stop()


def sweep() -> dict[str, int]:
    return reminders.ticket_events_notify(now=timezone.now())


def texts() -> list[tuple[str, str]]:
    """Every SMS owed to a resident, as (kind, phone), in order."""
    return list(
        Delivery.objects.filter(notification__user__isnull=True)
        .order_by("id")
        .values_list("notification__kind", "address")
    )


def sent_text(delivery: Delivery, provider: FakeSmsProvider) -> str:
    assert notify.delivery_send(delivery_id=delivery.pk, now=timezone.now()) == "sent"
    return [r["text"] for r in provider.requests if r["request_id"] == delivery.idempotency_key][-1]


def file_matter(client, township, category, **fields):
    data = {
        "township": township.pk,
        "category": category.pk,
        "title": "村口路灯不亮",
        "content": "东街社区村口三盏路灯坏了一个月。",
        "name": "张大爷",
        "phone": "138 1234 5678",
        "privacy_consent": "on",
        "token": form_token(client),
        **fields,
    }
    return client.post(INTAKE, data)


@pytest.fixture
def two_proposers(make_ticket):
    """A ticket whose first proposer ticked SMS and whose second did not."""
    return make_ticket(proposers=[("张大爷", CONSENTING, True), ("李四", SILENT)])


def rate_dissatisfied_and_rehandle(ticket, *, rep_user, clerk):
    services.ticket_rate(ticket=reload(ticket), actor=rep_user, score="dissatisfied")
    services.ticket_conclude(ticket=reload(ticket))
    services.ticket_rehandle(actor=clerk, ticket=reload(ticket), note="重新办理")
    return reload(ticket)


# --- consent ------------------------------------------------------------------------------------


def test_the_intake_form_offers_the_sms_tick_unticked(db, township_a, category):
    html = visitor().get(INTAKE).content.decode()
    assert 'name="sms_consent"' in html
    assert re.search(r'<input[^>]*name="sms_consent"[^>]*>', html).group(0).count("checked") == 0


def test_without_the_tick_the_matter_is_filed_and_no_sms_is_ever_sent(
    township_a, category, clerk_a, unit_a, unit_a_staff
):
    client = visitor()
    response = file_matter(client, township_a, category)
    assert response.status_code == 302 and response["Location"] == reverse("public:receipt")
    ticket = Ticket.objects.get()
    assert list(ticket.proposers.values_list("phone", "sms_consent")) == [(CONSENTING, False)]
    assert 'id="receipt-sms"' not in client.get(response["Location"]).content.decode()
    walk_to_forwarded(ticket, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
    sweep()
    assert texts() == []
    assert not Notification.objects.filter(user__isnull=True).exists()


def test_the_tick_is_stored_for_the_proposer_and_the_receipt_says_an_sms_follows(township_a, category):
    client = visitor()
    response = file_matter(client, township_a, category, sms_consent="on")
    assert response.status_code == 302
    assert list(Proposer.objects.values_list("phone", "sms_consent")) == [(CONSENTING, True)]
    assert 'id="receipt-sms"' in client.get(response["Location"]).content.decode()


def test_the_tick_with_a_landline_is_refused_on_the_tick(township_a, category):
    response = file_matter(visitor(), township_a, category, phone="0513-88123456", sms_consent="on")
    assert response.status_code == 200
    with translation.override("en"):
        assert list(response.context["form"].errors) == ["sms_consent"]
    assert not Ticket.objects.exists()
    # The same matter without the tick goes through: a landline can be tracked, not texted.
    assert file_matter(visitor(), township_a, category, phone="0513-88123456").status_code == 302


def test_the_service_refuses_consent_for_a_landline(make_ticket):
    with pytest.raises(Exception) as caught, translation.override("en"):
        make_ticket(proposers=[("张大爷", "0513-88123456", True)])
    assert "mobile" in str(refusal(caught.value)["proposers"])
    assert not Ticket.objects.exists()


# --- the three messages ------------------------------------------------------------------------


def test_the_receipt_goes_once_to_the_consenting_proposer_only(two_proposers):
    assert sweep()["sms_receipt"] == 1
    assert texts() == [("proposer.receipt", CONSENTING)]
    assert sweep()["sms_receipt"] == 0  # the beat's safety net, a second worker: nothing new
    assert texts() == [("proposer.receipt", CONSENTING)]


def test_the_receipt_is_asked_for_on_commit_only_when_someone_consented(
    make_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as silent:
        make_ticket()
    with django_capture_on_commit_callbacks() as consenting:
        make_ticket(proposers=[("张大爷", CONSENTING, True)])
    assert [c.__name__ for c in silent] == []
    assert [c.__name__ for c in consenting] == ["_notify_ticket_events"]


def test_the_receipt_carries_the_code_and_a_link_with_the_code_not_the_phone(two_proposers, sms_provider):
    sweep()
    text = sent_text(Delivery.objects.get(), sms_provider)
    ticket = reload(two_proposers)
    link = f"{SITE}/track/?code={ticket.tracking_code}"
    assert ticket.display_code in text and link in text
    without_code = text.replace(ticket.tracking_code, "").replace(ticket.display_code, "")
    assert CONSENTING not in text and "5678" not in without_code
    assert "张大爷" not in text  # nothing the message does not need
    assert len(text) <= 140, text  # two SMS segments at most with a long title


def test_without_a_site_url_the_receipt_gives_the_code_alone(two_proposers, sms_provider, settings):
    settings.SITE_URL = ""
    sweep()
    text = sent_text(Delivery.objects.get(), sms_provider)
    assert reload(two_proposers).display_code in text and "http" not in text and "/track/" not in text


def test_the_reply_ready_sms_goes_once_when_the_reply_reaches_the_proposers(
    two_proposers, clerk_a, unit_a, unit_a_staff, sms_provider
):
    sweep()
    walk_to_forwarded(two_proposers, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
    sent = sweep()
    assert (sent["sms_receipt"], sent["sms_reply_ready"], sent["sms_rehandled"]) == (0, 1, 0)
    assert texts() == [("proposer.receipt", CONSENTING), ("proposer.reply_ready", CONSENTING)]
    assert sweep()["sms_reply_ready"] == 0
    text = sent_text(Delivery.objects.get(notification__kind="proposer.reply_ready"), sms_provider)
    assert f"{SITE}/track/?code={two_proposers.tracking_code}" in text


def test_the_rehandling_notice_goes_once_with_the_new_due_date(
    two_proposers, clerk_a, unit_a, unit_a_staff, rep_a, sms_provider
):
    ticket = walk_to_forwarded(two_proposers, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
    ticket = rate_dissatisfied_and_rehandle(ticket, rep_user=rep_a, clerk=clerk_a)
    assert ticket.round == 2
    sent = sweep()
    assert (sent["sms_receipt"], sent["sms_reply_ready"], sent["sms_rehandled"]) == (1, 1, 1)
    assert [kind for kind, _phone in texts()] == [
        "proposer.receipt",
        "proposer.reply_ready",
        "proposer.rehandled",
    ]
    assert {phone for _kind, phone in texts()} == {CONSENTING}
    assert sum(sweep().values()) == 0
    text = sent_text(Delivery.objects.get(notification__kind="proposer.rehandled"), sms_provider)
    with translation.override("zh-hans"):
        due = formats.date_format(timezone.localdate(ticket.due_at), "DATE_FORMAT")
    assert due in text


def test_the_reply_ready_sms_of_the_second_round_is_a_new_one(
    two_proposers, clerk_a, unit_a, unit_a_staff, rep_a
):
    """Each forwarded reply is its own event: the re-handled reply is announced again, once."""
    ticket = walk_to_forwarded(two_proposers, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
    ticket = rate_dissatisfied_and_rehandle(ticket, rep_user=rep_a, clerk=clerk_a)
    services.ticket_contact(actor=unit_a_staff, ticket=ticket, how="电话", contacted_on=timezone.localdate())
    services.ticket_plan(actor=unit_a_staff, ticket=reload(ticket), plan="再修", rep_consulted=True)
    services.ticket_reply(actor=unit_a_staff, ticket=reload(ticket), text="已再次更换")
    services.ticket_forward(actor=clerk_a, ticket=reload(ticket))
    sweep()
    sweep()
    kinds = [kind for kind, _phone in texts()]
    assert kinds.count("proposer.reply_ready") == 2 and kinds.count("proposer.receipt") == 1


def test_staff_news_of_the_same_events_is_unchanged(two_proposers, clerk_a, unit_a, unit_a_staff):
    walk_to_forwarded(two_proposers, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
    sweep()
    staff = set(Notification.objects.filter(user__isnull=False).values_list("kind", flat=True))
    assert {"ticket.assigned", "ticket.replied", "ticket.forwarded"} <= staff
    assert not staff & {"proposer.receipt", "proposer.reply_ready", "proposer.rehandled"}


# --- retried tasks -------------------------------------------------------------------------------


def test_a_retried_task_and_a_resent_delivery_text_the_resident_once(two_proposers, sms_provider):
    """The task runs twice (a retry, a duplicate beat), then each delivery is sent twice."""
    first = tasks.notify_ticket_events.apply().get()
    second = tasks.notify_ticket_events.apply().get()
    assert (first["sms_receipt"], second["sms_receipt"]) == (1, 0)
    delivery = Delivery.objects.get()
    for _attempt in range(2):
        assert notify.delivery_send(delivery_id=delivery.pk, now=timezone.now()) == "sent"
    assert sms_provider.request_ids(CONSENTING) == [delivery.idempotency_key]
    assert sms_provider.request_ids(SILENT) == []


# --- the tracking link -------------------------------------------------------------------------


def test_the_link_opens_the_tracking_page_with_the_code_filled_in(two_proposers):
    ticket = reload(two_proposers)
    client = visitor()
    html = client.get(f"{TRACK}?code={ticket.tracking_code}").content.decode()
    code_input = re.search(r'<input[^>]*name="code"[^>]*>', html).group(0)
    digits_input = re.search(r'<input[^>]*name="phone_last4"[^>]*>', html).group(0)
    assert f'value="{ticket.display_code}"' in code_input
    assert "value=" not in digits_input and "autofocus" in digits_input
    # The resident types only the four digits; the code comes back with the form.
    response = client.post(TRACK, {"code": ticket.display_code, "phone_last4": "5678"})
    assert response.status_code == 302 and response["Location"] == "/track/ticket/"


def test_a_link_with_an_unknown_code_shows_it_all_the_same(db):
    html = visitor().get(f"{TRACK}?code=bk7m q2xd 9t").content.decode()
    assert 'value="BK7M-Q2XD-9T"' in html  # shown, never looked up: nothing to learn from it


def test_the_tracking_page_without_a_code_is_empty(db):
    html = visitor().get(TRACK).content.decode()
    code_input = re.search(r'<input[^>]*name="code"[^>]*>', html).group(0)
    assert "value=" not in code_input and "autofocus" not in html


def test_the_receipts_track_button_fills_in_the_code(township_a, category):
    client = visitor()
    receipt = client.get(file_matter(client, township_a, category)["Location"]).content.decode()
    ticket = Ticket.objects.get()
    button = re.search(r'<a[^>]*id="receipt-track"[^>]*>', receipt).group(0)
    assert f'href="/track/?code={ticket.tracking_code}"' in button
    assert "5678" not in button.replace(ticket.tracking_code, "")
    html = client.get(f"/track/?code={ticket.tracking_code}").content.decode()
    assert f'value="{ticket.display_code}"' in html


@pytest.mark.worker
def test_a_worker_texts_the_receipt_once_however_often_the_task_runs(worker, make_ticket):
    """No beat: the registration's on-commit task alone brings the receipt, through a real worker;
    the task run again, and the delivery's task run again, send nothing more."""
    from liaison.tasks import deliver, ping

    make_ticket(proposers=[("张大爷", CONSENTING, True), ("李四", SILENT)])
    deadline = time.monotonic() + 60
    while not Delivery.objects.filter(status=Delivery.Status.SENT).exists():
        assert time.monotonic() < deadline, "the worker never sent the receipt"
        time.sleep(0.2)
    delivery = Delivery.objects.get()
    # The same tasks again on the worker (they keep no result): a retry, a duplicate beat. The
    # solo worker runs its queue in order, so once the ping answers they have run.
    tasks.notify_ticket_events.delay()
    deliver.delay(delivery.pk)
    assert ping.delay().get(timeout=60) == "pong"
    delivery.refresh_from_db()
    assert (delivery.address, delivery.status, delivery.attempts) == (CONSENTING, "sent", 1)
    assert texts() == [("proposer.receipt", CONSENTING)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_text_each_resident_once(make_ticket):
    """Two workers run the outbox sweep at the same moment: each receipt is owed, and sent, once."""
    if connection.vendor != "postgresql":
        pytest.fail("this race is checked on PostgreSQL: run it with `make test`")
    for i in range(20):
        make_ticket(proposers=[("张大爷", f"1381234{i:04d}", True), ("李四", SILENT)])
    barrier, results, errors = threading.Barrier(2), [], []

    def run():
        try:
            barrier.wait(timeout=20)
            results.append(sweep()["sms_receipt"])
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(timeout=60) for t in threads]
    assert errors == [] and sum(results) == 20
    phones = [phone for _kind, phone in texts()]
    assert len(phones) == 20 and len(set(phones)) == 20 and SILENT not in phones


def test_a_reply_sent_straight_to_the_proposers_is_announced_too(make_ticket, clerk_a, unit_a, unit_a_staff):
    """No responsible rep: the office sends the reply to the proposers (``to_proposers``)."""
    ticket = make_ticket(representative=None, proposers=[("张大爷", CONSENTING, True)])
    services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a)
    services.ticket_sign(actor=unit_a_staff, ticket=reload(ticket))
    services.ticket_contact(
        actor=unit_a_staff, ticket=reload(ticket), how="电话", contacted_on=timezone.localdate()
    )
    services.ticket_plan(actor=unit_a_staff, ticket=reload(ticket), plan="更换灯具")
    services.ticket_reply(actor=unit_a_staff, ticket=reload(ticket), text="已更换")
    services.ticket_to_proposers(actor=clerk_a, ticket=reload(ticket))
    assert sweep()["sms_reply_ready"] == 1
    assert texts() == [("proposer.receipt", CONSENTING), ("proposer.reply_ready", CONSENTING)]

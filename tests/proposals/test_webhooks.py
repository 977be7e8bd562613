"""Signed webhooks out (issue 16): integrating systems hear of the ticket events in their scope.

Every send goes to a real HTTP receiver on 127.0.0.1 (``webhook_receiver``); the worker tests run
a real Celery worker (prefork, one child) on the test Redis and database, the kill test kills its
child with SIGKILL in the middle of a POST.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import signal
import time

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone, translation

from liaison.celery import app as celery_app
from liaison.models import AuditEvent
from liaison.roles import Role
from proposals import reminders, services, webhooks
from proposals.api_keys import api_key_create, api_key_revoke
from proposals.models import Ticket, TicketEvent, WebhookDelivery, WebhookSubscription, validate_webhook_url
from proposals.transitions import Status
from tests.factories import CountyFactory, user_with_role
from tests.helpers import celery_worker, reload
from tests.liaison.test_deliveries_worker import pool_children, wait_for
from tests.proposals.ticket_rows import ticket_row
from tests.proposals.webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def key_a(township_a):
    return api_key_create(actor=None, name="12345 热线", region=township_a)[0]


@pytest.fixture
def clerks(township_a, township_b):
    return (
        user_with_role(Role.TOWNSHIP_STAFF, region=township_a, username="clerk_a"),
        user_with_role(Role.TOWNSHIP_STAFF, region=township_b, username="clerk_b"),
    )


def subscribe(key, url, *, assigned=True, replied=True, closed=True) -> WebhookSubscription:
    return webhooks.webhook_subscription_create(
        actor=None, api_key=key, url=url, on_assigned=assigned, on_replied=replied, on_closed=closed
    )


def api_ticket(township, **fields) -> Ticket:
    """A registered ticket an integrating system filed in ``township``, with a proposer's name
    and phone in its content and place (what must never leave)."""
    row = ticket_row(
        township=township,
        now=timezone.now(),
        status=Status.REGISTERED,
        source=Ticket.Source.API,
        content="张大爷（13812345678）反映村口路灯不亮",
        place="东街12号张大爷家",
        **fields,
    )
    row.save()
    return row


def assign(ticket, clerk, unit) -> TicketEvent:
    services.ticket_assign(actor=clerk, ticket=reload(ticket), lead_unit=unit)
    return TicketEvent.objects.filter(ticket=ticket, move="assign").get()


def sweep() -> dict[str, int]:
    return reminders.ticket_events_notify(now=timezone.now())


def send(delivery: WebhookDelivery) -> str:
    return webhooks.webhook_delivery_send(delivery_id=delivery.pk, now=timezone.now())


# --- signing and the body --------------------------------------------------------------------


def test_a_subscriber_gets_the_event_signed_with_its_secret(
    receiver, key_a, township_a, clerks, unit_a, django_capture_on_commit_callbacks
):
    subscription = subscribe(key_a, receiver.url)
    ticket = api_ticket(township_a)
    event = assign(ticket, clerks[0], unit_a)
    with django_capture_on_commit_callbacks() as callbacks:
        assert sweep()["webhooks"] == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event_id, delivery.subscription_id, delivery.kind) == (
        event.pk,
        subscription.pk,
        "assigned",
    )
    assert len(callbacks) == 1  # the dispatch's enqueue of the send, after commit

    before = int(time.time())
    assert send(delivery) == "delivered"
    (receipt,) = receiver.receipts
    timestamp = receipt.headers["X-Liaison-Timestamp"]
    assert before <= int(timestamp) <= int(time.time())
    expected = hmac.new(subscription.secret.encode(), f"{timestamp}.".encode() + receipt.body, hashlib.sha256)
    assert receipt.headers["X-Liaison-Signature"] == "sha256=" + expected.hexdigest()
    # Verified with the docs' own snippet too, and refused with another secret.
    assert (
        webhooks.signature(subscription.secret, timestamp, receipt.body)
        == receipt.headers["X-Liaison-Signature"]
    )
    assert (
        webhooks.signature("whsec_other", timestamp, receipt.body) != receipt.headers["X-Liaison-Signature"]
    )
    assert receipt.headers["X-Liaison-Event-Id"] == str(event.pk)
    assert receipt.headers["Content-Type"] == "application/json; charset=utf-8"
    assert receipt.json == {
        "id": event.pk,
        "kind": "assigned",
        "at": timezone.localtime(event.at).isoformat(timespec="seconds"),
        "service_request_id": str(ticket.pk),
        "status": "open",
        "status_notes": "",
    }
    delivery = reload(delivery)
    assert (delivery.status, delivery.attempts, delivery.status_code, delivery.last_error) == (
        "delivered",
        1,
        200,
        "",
    )
    assert send(delivery) == "delivered"  # a second task for it sends nothing
    assert len(receiver.receipts) == 1


def test_the_body_carries_no_personal_data_and_the_reply_summary_only_once_published(
    receiver, key_a, township_a, clerks
):
    subscribe(key_a, receiver.url)
    private = api_ticket(township_a, reply_summary="已联系张大爷 13812345678")
    published = api_ticket(township_a, is_public_interest=True, reply_summary="已更换路灯")
    for ticket in (private, published):
        services.ticket_answer_on_spot(actor=clerks[0], ticket=reload(ticket), note="已当场答复")
    sweep()
    for delivery in WebhookDelivery.objects.order_by("id"):
        assert send(delivery) == "delivered"
    bodies = {r.json["service_request_id"]: r for r in receiver.receipts}
    assert [bodies[str(t.pk)].json["status_notes"] for t in (private, published)] == ["", "已更换路灯"]
    assert bodies[str(published.pk)].json["status"] == "closed"
    for receipt in receiver.receipts:
        assert set(receipt.json) == {"id", "kind", "at", "service_request_id", "status", "status_notes"}
        raw = receipt.body.decode()
        for secret in ("张大爷", "13812345678", "东街", private.tracking_code, published.tracking_code):
            assert secret not in raw


# --- scope and kinds -------------------------------------------------------------------------


def test_a_key_of_township_a_hears_nothing_of_township_b(
    receiver, key_a, county, township_a, township_b, clerks, unit_a, unit_b
):
    ours = subscribe(key_a, receiver.url)
    county_wide = subscribe(api_key_create(actor=None, name="县12345", region=county)[0], receiver.url)
    in_a = assign(api_ticket(township_a), clerks[0], unit_a)
    in_b = assign(api_ticket(township_b), clerks[1], unit_b)
    assert sweep()["webhooks"] == 3
    assert sorted(WebhookDelivery.objects.values_list("subscription_id", "event_id")) == sorted(
        [(ours.pk, in_a.pk), (county_wide.pk, in_a.pk), (county_wide.pk, in_b.pk)]
    )


def test_a_subscription_to_closed_gets_no_assignment_and_each_kind_maps_to_its_moves(
    receiver, key_a, township_a, clerks, unit_a
):
    closed_only = subscribe(key_a, receiver.url, assigned=False, replied=False)
    everything = subscribe(key_a, receiver.url + "/all")  # one subscription per key and address
    assign(api_ticket(township_a), clerks[0], unit_a)
    answered = api_ticket(township_a)
    services.ticket_answer_on_spot(actor=clerks[0], ticket=reload(answered), note="已当场答复")
    sweep()
    assert sorted(WebhookDelivery.objects.values_list("subscription_id", "kind")) == sorted(
        [(closed_only.pk, "closed"), (everything.pk, "assigned"), (everything.pk, "closed")]
    )


def test_the_unit_s_reply_is_the_replied_event(receiver, key_a, township_a, clerks, unit_a):
    subscribe(key_a, receiver.url, assigned=False, closed=False)
    staff = user_with_role(Role.HANDLING_UNIT, unit=unit_a, username="unit_a_staff")
    ticket = api_ticket(township_a)
    assign(ticket, clerks[0], unit_a)
    services.ticket_sign(actor=staff, ticket=reload(ticket))
    services.ticket_contact(actor=staff, ticket=reload(ticket), how="电话", contacted_on=timezone.localdate())
    services.ticket_plan(actor=staff, ticket=reload(ticket), plan="更换灯具", rep_consulted=True)
    services.ticket_reply(actor=staff, ticket=reload(ticket), text="已更换")
    sweep()
    (delivery,) = WebhookDelivery.objects.all()
    assert (delivery.kind, delivery.event.move) == ("replied", "reply")


def test_tickets_the_key_may_not_read_are_not_told(receiver, key_a, township_a, clerks, unit_a):
    """A matter filed at a reception (not through the API, not published) stays inside: the API
    would answer 404 for it, so no webhook names it either."""
    subscribe(key_a, receiver.url)
    reception = ticket_row(township=township_a, now=timezone.now(), status=Status.REGISTERED)
    reception.save()
    assign(reception, clerks[0], unit_a)
    assert sweep()["webhooks"] == 0


def test_an_inactive_subscription_or_a_revoked_key_is_told_nothing(
    receiver, key_a, township_a, clerks, unit_a
):
    subscription = subscribe(key_a, receiver.url)
    ticket = api_ticket(township_a)
    assign(ticket, clerks[0], unit_a)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
    assert sweep()["webhooks"] == 0
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=True)
    assert sweep()["webhooks"] == 1  # owed still, within the sweep's window
    api_key_revoke(actor=None, key=key_a)
    delivery = WebhookDelivery.objects.get()
    assert send(delivery) == "failed"  # revoked between the sweep and the send
    assert receiver.receipts == []
    assert reload(delivery).last_error == "the subscription is inactive or its API key revoked"


# --- the ledger ------------------------------------------------------------------------------


def test_sweeping_twice_records_each_delivery_once(receiver, key_a, township_a, clerks, unit_a):
    subscribe(key_a, receiver.url)
    assign(api_ticket(township_a), clerks[0], unit_a)
    assert sweep()["webhooks"] == 1
    assert sweep()["webhooks"] == 0
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("size", [10, 1000])
def test_the_ledger_insert_is_one_query_whatever_the_number_of_events(
    size, django_assert_num_queries, receiver, key_a, county, township_a
):
    subscribe(key_a, receiver.url)
    subscribe(api_key_create(actor=None, name="县12345", region=county)[0], receiver.url, replied=False)
    tickets = Ticket.objects.bulk_create(
        [ticket_row(township=township_a, now=timezone.now(), source=Ticket.Source.API) for _ in range(size)]
    )
    now = timezone.now()
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(ticket=t, at=now, move="assign", from_status="registered", to_status="assigned")
            for t in tickets
        ]
    )
    with django_assert_num_queries(1):
        issued = webhooks.webhook_deliveries_issue(events=TicketEvent.objects.all(), now=now)
    assert issued == 2 * size
    with django_assert_num_queries(1):
        assert webhooks.webhook_deliveries_issue(events=TicketEvent.objects.all(), now=now) == 0
    # The dispatch: SAVEPOINT, the claim (SELECT ... FOR UPDATE SKIP LOCKED), its UPDATE, RELEASE.
    with django_assert_num_queries(4):
        assert webhooks.webhook_deliveries_dispatch(now=now) == min(2 * size, webhooks.DISPATCH_LIMIT)


def test_the_dispatch_claims_due_deliveries_once_until_their_lease_ends(
    receiver, key_a, township_a, clerks, unit_a, django_capture_on_commit_callbacks
):
    subscribe(key_a, receiver.url)
    assign(api_ticket(township_a), clerks[0], unit_a)
    now = timezone.now()
    webhooks.webhook_deliveries_issue(events=TicketEvent.objects.all(), now=now)
    with django_capture_on_commit_callbacks() as callbacks:
        assert webhooks.webhook_deliveries_dispatch(now=now) == 1
        assert webhooks.webhook_deliveries_dispatch(now=now) == 0  # claimed: not again
        assert webhooks.webhook_deliveries_dispatch(now=now + webhooks.CLAIM_LEASE) == 1  # its task was lost
    assert len(callbacks) == 2


@override_settings(WEBHOOK_RETRY_BACKOFF=60)
def test_a_failing_receiver_is_retried_with_backoff_then_the_delivery_fails(
    receiver, key_a, township_a, clerks, unit_a
):
    receiver.statuses = [500] * webhooks.MAX_ATTEMPTS
    subscribe(key_a, receiver.url)
    assign(api_ticket(township_a), clerks[0], unit_a)
    sweep()
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    countdowns = []
    for _attempt in range(webhooks.MAX_ATTEMPTS - 1):
        with pytest.raises(webhooks.RetryLater) as later:
            webhooks.webhook_delivery_send(delivery_id=delivery.pk, now=now)
        countdowns.append(later.value.countdown)
    assert countdowns == [60, 120, 240, 480, 960, 1800, 1800]
    row = reload(delivery)
    assert (row.status, row.attempts, row.status_code, row.last_error) == ("pending", 7, 500, "HTTP 500")
    assert row.next_attempt_at == now + datetime.timedelta(seconds=1800) + webhooks.CLAIM_LEASE
    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, now=now) == "failed"
    assert reload(delivery).attempts == webhooks.MAX_ATTEMPTS
    assert len(receiver.receipts) == webhooks.MAX_ATTEMPTS
    assert len(set(receiver.event_ids())) == 1  # the same event id on every attempt


def test_an_unreachable_receiver_or_a_redirect_is_not_delivered(key_a, township_a, clerks, unit_a, receiver):
    receiver.statuses = [302]
    subscribe(key_a, receiver.url)
    subscribe(key_a, "http://127.0.0.1:9/nobody-listens")
    assign(api_ticket(township_a), clerks[0], unit_a)
    sweep()
    outcomes = []
    for delivery in WebhookDelivery.objects.order_by("subscription_id"):
        with pytest.raises(webhooks.RetryLater):
            send(delivery)
        delivery = reload(delivery)
        outcomes.append((delivery.status_code, delivery.last_error.split(":")[0]))
    assert outcomes == [(302, "HTTP 302"), (None, "URLError")]


def test_the_retry_countdown_stays_below_the_redis_visibility_timeout():
    from django.conf import settings

    assert webhooks.RETRY_BACKOFF_MAX + celery_app.conf.task_time_limit < settings.CELERY_VISIBILITY_TIMEOUT


# --- the target address ----------------------------------------------------------------------


@override_settings(DEBUG=False)
def test_an_address_must_be_https_except_on_this_machine():
    for url in (
        "https://12345.example.cn/hook",
        "http://127.0.0.1:8080/hook",
        "http://[::1]/h",
        "http://localhost/h",
    ):
        validate_webhook_url(url)
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        validate_webhook_url("http://12345.example.cn/hook")
    assert refused.value.code == "insecure_url"
    assert refused.value.messages == [
        "地址必须以 https:// 开头。仅本机（127.0.0.1、::1、localhost）或开发环境（DEBUG）可使用 http://。"
    ]


@override_settings(DEBUG=True)
def test_in_development_any_http_address_is_accepted():
    validate_webhook_url("http://receiver.local:8000/hook")


# --- the admin -------------------------------------------------------------------------------


def test_the_admin_shows_the_secret_once_and_resends_a_failed_delivery(
    client, django_user_model, receiver, key_a, township_a, clerks, unit_a, django_capture_on_commit_callbacks
):
    client.force_login(django_user_model.objects.create_superuser("root", password="x-long-pass-1"))
    response = client.post(
        "/admin/proposals/webhooksubscription/add/",
        {"api_key": key_a.pk, "url": receiver.url, "on_closed": "on", "is_active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret.startswith("whsec_") and subscription.secret in response.content.decode()
    assert (subscription.on_assigned, subscription.on_replied, subscription.on_closed) == (False, False, True)
    assert (
        subscription.secret
        not in client.get(f"/admin/proposals/webhooksubscription/{subscription.pk}/change/").content.decode()
    )
    assert AuditEvent.objects.filter(verb="webhook.created", subject_id=str(subscription.pk)).exists()

    refused = client.post(
        "/admin/proposals/webhooksubscription/add/",
        {"api_key": key_a.pk, "url": "http://12345.example.cn/hook", "on_closed": "on", "is_active": "on"},
    )
    assert "url" in refused.context["adminform"].form.errors

    answered = api_ticket(township_a)
    services.ticket_answer_on_spot(actor=clerks[0], ticket=reload(answered), note="已当场答复")
    sweep()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="failed", attempts=webhooks.MAX_ATTEMPTS, last_error="HTTP 500"
    )
    listing = client.get("/admin/proposals/webhookdelivery/").content.decode()
    assert "HTTP 500" in listing and f">{webhooks.MAX_ATTEMPTS}<" in listing
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(
            "/admin/proposals/webhookdelivery/",
            {"action": "resend_failed", "_selected_action": [delivery.pk]},
        )
    delivery = reload(delivery)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert len(callbacks) == 1
    assert AuditEvent.objects.filter(verb="webhook.resent", subject_id=str(delivery.pk)).exists()
    assert send(delivery) == "delivered"
    assert receiver.answered() == [200]


# --- a real worker ---------------------------------------------------------------------------


@pytest.fixture
def webhook_worker(transactional_db, tmp_path):
    """A `celery worker` with the prefork pool and one child; retries back off from 1 second."""
    with celery_worker(tmp_path, name="webhooks", pool="prefork", WEBHOOK_RETRY_BACKOFF="1") as proc:
        yield proc


@pytest.mark.worker
def test_a_receiver_that_fails_twice_gets_the_event_once_through_a_real_worker(
    webhook_worker, receiver, key_a, township_a, unit_a
):
    """No beat, no direct call: the move's on-commit sweep, the dispatch and the task's retries."""
    receiver.statuses = [500, 500]
    subscription = subscribe(key_a, receiver.url)
    clerk = user_with_role(Role.TOWNSHIP_STAFF, region=township_a, username="clerk_a")
    event = assign(api_ticket(township_a), clerk, unit_a)

    wait_for(
        lambda: WebhookDelivery.objects.filter(status="delivered").exists(),
        timeout=60,
        what="the delivery to succeed on its third attempt",
        worker=webhook_worker,
    )
    assert receiver.answered() == [500, 500, 200]
    assert receiver.answered().count(200) == 1
    assert receiver.event_ids() == [str(event.pk)] * 3
    for receipt in receiver.receipts:
        timestamp = receipt.headers["X-Liaison-Timestamp"]
        assert receipt.headers["X-Liaison-Signature"] == webhooks.signature(
            subscription.secret, timestamp, receipt.body
        )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.status_code, delivery.last_error) == (
        "delivered",
        3,
        200,
        "HTTP 500",  # the last failure stays visible
    )
    time.sleep(2)  # nothing more comes: no retry after the success
    assert len(receiver.receipts) == 3


@pytest.mark.worker
def test_a_worker_killed_mid_send_does_not_deliver_twice(webhook_worker, receiver, key_a, township_a, unit_a):
    """The receiver holds the first POST; the test kills the worker's child (kill -9) in the middle
    of it. Celery hands the task back; the attempt after it sends the same event id again (the
    first answer went nowhere), and the ledger records one delivery with both attempts counted.
    Sweeps and sends after that send nothing."""
    receiver.hold_first = True
    subscribe(key_a, receiver.url)
    clerk = user_with_role(Role.TOWNSHIP_STAFF, region=township_a, username="clerk_a")
    event = assign(api_ticket(township_a), clerk, unit_a)

    assert receiver.first_received.wait(timeout=30), webhook_worker.log_path.read_text()
    (child,) = pool_children(webhook_worker.pid)
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: child not in pool_children(webhook_worker.pid), timeout=10, what="the child to die")
    receiver.release.set()  # the held request's answer now goes nowhere
    delivery = WebhookDelivery.objects.get()
    wait_for(
        lambda: reload(delivery).status == "delivered",
        timeout=60,
        what="the redelivered task to send the event",
        worker=webhook_worker,
    )
    log = webhook_worker.log_path.read_text()
    assert "WorkerLostError" in log or "SIGKILL" in log
    delivery = reload(delivery)
    # The killed attempt was counted before its send and recorded nothing; the next one delivered.
    assert (delivery.status, delivery.attempts, delivery.status_code, delivery.last_error) == (
        "delivered",
        2,
        200,
        "",
    )
    assert receiver.event_ids() == [str(event.pk)] * 2  # at least once on the wire, one event id

    # Once delivered, never again: another sweep, a late dispatch, a duplicate task.
    now = timezone.now()
    assert reminders.ticket_events_notify(now=now)["webhooks"] == 0
    assert webhooks.webhook_deliveries_dispatch(now=now + webhooks.CLAIM_LEASE) == 0
    assert send(delivery) == "delivered"
    time.sleep(1)
    assert len(receiver.receipts) == 2
    assert json.loads(receiver.receipts[1].body)["id"] == event.pk


def test_the_liaison_office_manages_the_webhooks_of_its_county_only(
    client, liaison_office, receiver, key_a, township_a, clerks, unit_a
):
    from tests.factories import CountyFactory, TownshipFactory

    elsewhere = TownshipFactory(name="太平镇", parent=CountyFactory(name="太平县"))
    their_key = api_key_create(actor=None, name="太平镇小程序", region=elsewhere)[0]
    ours, theirs = subscribe(key_a, receiver.url), subscribe(their_key, receiver.url)
    answered = api_ticket(township_a)
    services.ticket_answer_on_spot(actor=clerks[0], ticket=reload(answered), note="已当场答复")
    sweep()
    (delivery,) = WebhookDelivery.objects.all()
    theirs_delivered = WebhookDelivery.objects.create(
        event=delivery.event,
        subscription=theirs,
        kind="closed",
        status="failed",
        next_attempt_at=timezone.now(),
    )

    client.force_login(liaison_office)
    listing = client.get("/admin/proposals/webhooksubscription/")
    assert list(listing.context["cl"].result_list) == [ours]
    assert client.get(f"/admin/proposals/webhooksubscription/{theirs.pk}/change/").status_code == 404
    add = client.get("/admin/proposals/webhooksubscription/add/")
    assert list(add.context["adminform"].form.fields["api_key"].queryset) == [key_a]
    refused = client.post(
        "/admin/proposals/webhooksubscription/add/",
        {"api_key": their_key.pk, "url": receiver.url, "on_closed": "on", "is_active": "on"},
    )
    assert list(refused.context["adminform"].form.errors) == ["api_key"]
    assert list(client.get("/admin/proposals/webhookdelivery/").context["cl"].result_list) == [delivery]
    client.post(
        "/admin/proposals/webhookdelivery/",
        {"action": "resend_failed", "_selected_action": [theirs_delivered.pk]},
    )
    assert reload(theirs_delivered).status == "failed"  # another county's id resends nothing

    client.force_login(clerks[0])  # township staff
    assert client.get("/admin/proposals/webhooksubscription/").status_code == 403
    assert client.get("/admin/proposals/webhookdelivery/").status_code == 403


def test_a_new_subscriber_gets_no_backlog(receiver, key_a, township_a, clerks, unit_a):
    assign(api_ticket(township_a), clerks[0], unit_a)
    later = subscribe(key_a, receiver.url)
    WebhookSubscription.objects.filter(pk=later.pk).update(
        created_at=timezone.now() + datetime.timedelta(seconds=1)
    )
    assert sweep()["webhooks"] == 0


def test_healthz_counts_failed_webhooks_and_dates_the_oldest_waiting_one(
    receiver, key_a, township_a, clerks, unit_a
):
    """The operator's /healthz figures (liaison.health, registered by proposals): deliveries that
    failed for good, and the oldest one still waiting; delivered ones count in neither."""
    from liaison import health

    subscribe(key_a, receiver.url)
    for _n in range(3):
        assign(api_ticket(township_a), clerks[0], unit_a)
    sweep()
    first, second, third = WebhookDelivery.objects.order_by("pk")
    at = datetime.datetime(2026, 12, 5, 2, 0, tzinfo=datetime.UTC)
    WebhookDelivery.objects.filter(pk=first.pk).update(status=WebhookDelivery.Status.FAILED, created_at=at)
    WebhookDelivery.objects.filter(pk=second.pk).update(
        status=WebhookDelivery.Status.DELIVERED, created_at=at
    )
    WebhookDelivery.objects.filter(pk=third.pk).update(created_at=at + datetime.timedelta(hours=1))
    found = health.operations(timezone.now())
    assert found["webhooks_failed"] == 1
    assert found["oldest_webhook_undelivered"] == "2026-12-05T11:00:00+08:00"
    WebhookDelivery.objects.filter(pk=third.pk).update(status=WebhookDelivery.Status.DELIVERED)
    assert health.operations(timezone.now())["oldest_webhook_undelivered"] is None


def test_the_admin_replaces_a_secret_shows_it_once_and_signs_with_it(
    client, receiver, key_a, township_a, clerks, unit_a, county
):
    """A leaked secret is replaced from the admin: shown once in the message, audited, and the
    next delivery is signed with the new one (the old one no longer verifies). The liaison office
    of another county cannot replace it (its ids are outside the admin's scoped queryset)."""
    subscription = subscribe(key_a, receiver.url)
    old = subscription.secret
    other = user_with_role(Role.LIAISON_OFFICE, region=CountyFactory(name="另一县"), username="other_office")
    client.force_login(other)
    client.post(
        "/admin/proposals/webhooksubscription/",
        {"action": "rotate_secret", "_selected_action": [subscription.pk]},
    )
    assert reload(subscription).secret == old

    office = user_with_role(Role.LIAISON_OFFICE, region=county, username="office_here")
    client.force_login(office)
    response = client.post(
        "/admin/proposals/webhooksubscription/",
        {"action": "rotate_secret", "_selected_action": [subscription.pk]},
        follow=True,
    )
    new = reload(subscription).secret
    assert new != old and new.startswith("whsec_")
    assert new in response.content.decode() and old not in response.content.decode()
    assert (
        AuditEvent.objects.filter(verb="webhook.secret_rotated", subject_id=str(subscription.pk)).count() == 1
    )

    assign(api_ticket(township_a), clerks[0], unit_a)
    sweep()
    assert send(WebhookDelivery.objects.get()) == "delivered"
    (receipt,) = receiver.receipts
    timestamp = receipt.headers["X-Liaison-Timestamp"]
    assert receipt.headers["X-Liaison-Signature"] == webhooks.signature(new, timestamp, receipt.body)
    assert receipt.headers["X-Liaison-Signature"] != webhooks.signature(old, timestamp, receipt.body)


def test_the_add_form_sent_twice_subscribes_once(client, django_user_model, receiver, key_a):
    """A double tap on 保存 would have every event delivered twice to one receiver: the second
    post is refused on the key and address, and nothing is added."""
    client.force_login(django_user_model.objects.create_superuser("root2", password="x-long-pass-1"))
    form = {"api_key": key_a.pk, "url": receiver.url, "on_closed": "on", "is_active": "on"}
    first = client.post("/admin/proposals/webhooksubscription/add/", form)
    assert first.status_code == 302
    again = client.post("/admin/proposals/webhooksubscription/add/", form)
    assert again.status_code == 200
    assert again.context["adminform"].form.non_field_errors()
    assert WebhookSubscription.objects.filter(api_key=key_a).count() == 1

"""Notifications: owed once, told to the right people, delivered by email and SMS, read in the inbox."""

import io
import itertools
import re
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import F, Value
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from liaison import notify
from liaison.models import AuditEvent, Delivery, Notification, Reminder, RoleAssignment, User
from liaison.notify import Kind, Message
from tests.factories import UserFactory
from tests.helpers import reload
from tests.liaison.fake_sms_provider import FakeSmsProvider

NOW = timezone.now().replace(microsecond=0)


def render_user_news(notifications):
    """Render news about users, loading every subject with one query."""
    people = User.objects.in_bulk([n.subject_id for n in notifications])
    return [
        Message(
            title=f"News about {people[n.subject_id].name}" if n.subject_id in people else "News",
            body=f"subject {n.subject_id}",
            url=f"/reps/?about={n.subject_id}",
        )
        for n in notifications
    ]


NEWS = "test.user_news"
SMS_ONLY = "test.sms_only"
notify.register(Kind(NEWS, render_user_news))
notify.register(Kind(SMS_ONLY, render_user_news, channels=("sms",)))


def people(n: int, prefix: str = "p", **fields) -> list[User]:
    """Create ``n`` users with an email address and a mobile number, in one INSERT."""
    return User.objects.bulk_create(
        User(
            username=f"{prefix}{i}",
            name=f"{prefix}人{i}",
            email=f"{prefix}{i}@example.com",
            phone=f"139{i:08d}",
            **fields,
        )
        for i in range(n)
    )


def issue_news(users, *, period="2026-Q4", kind=NEWS, now=NOW) -> int:
    """Each user is the subject of a reminder and is told about it themself."""
    ids = [u.pk for u in users]
    return notify.issue(
        kind=kind,
        subject_type="liaison.user",
        subjects=User.objects.filter(pk__in=ids).values(subject_id=F("pk"), period=Value(period)),
        recipients=User.objects.filter(pk__in=ids).values(subject_id=F("pk"), user_id=F("pk")),
        now=now,
    )


def deliveries() -> set[tuple[str, str]]:
    return set(Delivery.objects.values_list("channel", "address"))


# --- issue() ---------------------------------------------------------------------------------


def test_it_issues_a_reminder_once_per_subject_kind_and_period(db, django_capture_on_commit_callbacks):
    users = people(3)
    with django_capture_on_commit_callbacks() as callbacks:
        assert issue_news(users) == 3
    assert len(callbacks) == 1  # one dispatch for the whole batch, after commit
    assert (Reminder.objects.count(), Notification.objects.count(), Delivery.objects.count()) == (3, 3, 6)

    with django_capture_on_commit_callbacks() as callbacks:
        assert issue_news(users, now=NOW + timedelta(hours=1)) == 0
    assert callbacks == []
    assert (Reminder.objects.count(), Notification.objects.count(), Delivery.objects.count()) == (3, 3, 6)

    assert issue_news(users, period="2027-Q1") == 3  # a new period is owed anew
    assert Reminder.objects.filter(period="2027-Q1", created_at=NOW).count() == 3


@pytest.mark.parametrize("size", [10, 1000])
def test_it_issues_in_a_constant_number_of_queries(db, django_assert_num_queries, size):
    users = people(size)
    # SAVEPOINT, three INSERT ... SELECT (reminders, notifications, deliveries), RELEASE.
    with django_assert_num_queries(5):
        assert issue_news(users) == size
    assert Notification.objects.count() == size and Delivery.objects.count() == 2 * size
    with django_assert_num_queries(3):  # nothing new: the other two INSERTs are skipped
        assert issue_news(users) == 0


def test_it_tells_each_subjects_own_recipients(db, township_a, township_b, clerk_a, clerk_b, rep_a):
    """Subjects of any model; recipients through any relation (here: who holds a role there)."""
    issued = notify.issue(
        kind=NEWS,
        subject_type="liaison.region",
        subjects=type(township_a)
        .objects.filter(pk__in=[township_a.pk, township_b.pk])
        .values(subject_id=F("pk"), period=Value("")),
        recipients=RoleAssignment.objects.values("user_id", subject_id=F("region_id")),
        now=NOW,
    )
    assert issued == 2
    told = set(Notification.objects.values_list("subject_id", "user__username"))
    assert told == {(township_a.pk, "clerk_a"), (township_a.pk, "daibiao"), (township_b.pk, "clerk_b")}


def test_it_refuses_querysets_that_do_not_yield_the_agreed_columns(db):
    with pytest.raises(TypeError, match="subject_id"):
        notify.issue(
            kind=NEWS,
            subject_type="liaison.user",
            subjects=User.objects.values("pk"),
            recipients=User.objects.values(subject_id=F("pk"), user_id=F("pk")),
            now=NOW,
        )


def test_it_delivers_only_on_channels_the_user_wants_and_has_an_address_for(db):
    everything, no_email, no_sms, no_phone, no_address = people(5)
    User.objects.filter(pk=no_email.pk).update(notify_by_email=False)
    User.objects.filter(pk=no_sms.pk).update(notify_by_sms=False)
    User.objects.filter(pk=no_phone.pk).update(phone="")
    User.objects.filter(pk=no_address.pk).update(phone="", email="")

    issue_news([everything, no_email, no_sms, no_phone, no_address])

    assert Notification.objects.count() == 5  # everyone has the inbox
    assert deliveries() == {
        ("email", everything.email),
        ("sms", everything.phone),
        ("sms", no_email.phone),
        ("email", no_sms.email),
        ("email", no_phone.email),
    }


def test_it_tells_no_inactive_user(db):
    active, inactive = people(2)
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    issue_news([active, inactive])
    assert list(Notification.objects.values_list("user_id", flat=True)) == [active.pk]
    assert Reminder.objects.count() == 2  # still owed once: it is not owed again later


def test_a_kind_delivers_only_on_its_own_channels(db):
    issue_news(people(2), kind=SMS_ONLY)
    assert set(Delivery.objects.values_list("channel", flat=True)) == {"sms"}


def test_notify_tells_users_about_one_subject_once(db, township_a):
    a, b, c = people(3)
    assert notify.notify(kind=NEWS, subject=township_a, users=[a, b], now=NOW) == 2
    assert notify.notify(kind=NEWS, subject=township_a, users=User.objects.all(), now=NOW) == 0
    assert notify.notify(kind=NEWS, subject=township_a, users=User.objects.filter(pk=c.pk), period="2d") == 1
    reminder = Reminder.objects.get(period="")
    assert (reminder.subject_type, reminder.subject_id, reminder.kind) == (
        "liaison.region",
        township_a.pk,
        NEWS,
    )
    assert Delivery.objects.count() == 6


@pytest.mark.postgres
def test_two_concurrent_issues_record_each_reminder_once(transactional_db):
    """The second issue() waits on the first one's uncommitted reminders, then skips them."""
    users = people(50)
    first_inserted, let_first_commit = threading.Event(), threading.Event()
    results, errors = {}, []

    def first():
        try:
            with transaction.atomic():
                results["first"] = issue_news(users)
                first_inserted.set()
                let_first_commit.wait(timeout=20)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            first_inserted.set()
            connection.close()

    def second():
        try:
            results["second"] = issue_news(users)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert first_inserted.wait(timeout=20)
    threads[1].start()
    try:
        deadline = time.monotonic() + 20
        while not _a_backend_waits_on_a_lock():
            assert time.monotonic() < deadline, "the second issue() never waited for the first"
            time.sleep(0.02)
    finally:
        let_first_commit.set()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    assert results == {"first": 50, "second": 0}
    assert (Reminder.objects.count(), Notification.objects.count(), Delivery.objects.count()) == (50, 50, 100)


def _a_backend_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


# --- Dispatching and sending -----------------------------------------------------------------


@pytest.mark.parametrize("size", [10, 1000])
def test_dispatch_claims_due_deliveries_once_in_constant_queries(
    db, django_assert_num_queries, django_capture_on_commit_callbacks, size
):
    issue_news(people(size))
    # SELECT ... FOR UPDATE SKIP LOCKED, UPDATE the lease, and two SAVEPOINT/RELEASE pairs
    # (the dispatch and its claim, each atomic).
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(6):
        assert notify.deliveries_dispatch(now=NOW, limit=5000) == 2 * size
    assert len(callbacks) == 1
    leased = set(Delivery.objects.values_list("next_attempt_at", flat=True))
    assert leased == {NOW + notify.CLAIM_LEASE}
    assert notify.deliveries_dispatch(now=NOW + timedelta(minutes=2)) == 0  # a second sweep
    assert notify.deliveries_dispatch(now=NOW + notify.CLAIM_LEASE, limit=7) == 7  # lease over


def test_it_sends_email_with_a_message_id_from_the_delivery(db, mailoutbox):
    (user,) = people(1)
    issue_news([user])
    email = Delivery.objects.get(channel="email")
    assert notify.delivery_send(delivery_id=email.pk, now=NOW) == "sent"
    (message,) = mailoutbox
    assert message.to == [user.email] and message.subject == f"News about {user.name}"
    assert message.extra_headers["Message-ID"] == f"<liaison-delivery-{email.pk}@localhost>"
    email.refresh_from_db()
    assert (email.status, email.attempts, email.sent_at, email.last_error) == ("sent", 1, NOW, "")

    assert notify.delivery_send(delivery_id=email.pk, now=NOW) == "sent"  # a repeat sends nothing
    assert len(mailoutbox) == 1


def test_a_bad_email_address_fails_that_delivery_only(db, mailoutbox):
    good, bad = people(2)
    User.objects.filter(pk=bad.pk).update(email="not-an-address")
    issue_news([good, bad])
    results = {d.address: notify.delivery_send(delivery_id=d.pk, now=NOW) for d in Delivery.objects.all()}
    assert results == {
        good.email: "sent",
        good.phone: "sent",
        "not-an-address": "failed",  # permanent: no retry
        bad.phone: "sent",
    }
    failed = Delivery.objects.get(address="not-an-address")
    assert failed.attempts == 1 and "invalid email address" in failed.last_error
    assert [m.to for m in mailoutbox] == [[good.email]]


@pytest.fixture
def sms_provider():
    provider = FakeSmsProvider().start()
    with override_settings(SMS_BACKEND="http", SMS_HTTP_URL=provider.url, SMS_HTTP_TOKEN="t0ken"):
        yield provider
    provider.stop()


def test_an_sms_provider_error_is_retried_then_fails_that_delivery_only(db, sms_provider):
    good, bad = people(2)
    sms_provider.fail(bad.phone, error="账户余额不足")
    issue_news([good, bad], kind=SMS_ONLY)
    bad_sms, good_sms = Delivery.objects.get(address=bad.phone), Delivery.objects.get(address=good.phone)

    now = NOW
    for attempt in range(1, notify.MAX_ATTEMPTS):
        with pytest.raises(notify.RetryableDeliveryError, match="账户余额不足"):
            notify.delivery_send(delivery_id=bad_sms.pk, now=now)
        bad_sms.refresh_from_db()
        assert (bad_sms.status, bad_sms.attempts) == ("pending", attempt)
        assert bad_sms.last_error == "SMS provider error: 账户余额不足"
        assert bad_sms.next_attempt_at == now + notify.retry_delay(attempt) + notify.CLAIM_LEASE
        now = bad_sms.next_attempt_at
    assert notify.delivery_send(delivery_id=bad_sms.pk, now=now) == "failed"
    bad_sms.refresh_from_db()
    assert (bad_sms.status, bad_sms.attempts) == ("failed", notify.MAX_ATTEMPTS)

    assert notify.delivery_send(delivery_id=good_sms.pk, now=NOW) == "sent"
    assert sms_provider.request_ids(good.phone) == [f"liaison-delivery-{good_sms.pk}"]
    assert sms_provider.request_ids(bad.phone) == [f"liaison-delivery-{bad_sms.pk}"] * notify.MAX_ATTEMPTS
    request = sms_provider.requests[-1]
    assert request["authorization"] == "Bearer t0ken" and request["sign"] == "党代表工作室"
    with translation.override(settings.LANGUAGE_CODE):  # messages go out in the site's language
        expected = gettext("%(title)s: %(body)s") % {
            "title": f"News about {good.name}",
            "body": f"subject {good.pk}",
        }
    assert request["text"] == expected


def test_an_sms_provider_http_error_is_recorded_with_its_text(db, sms_provider):
    (user,) = people(1)
    sms_provider.fail(user.phone, status=503, error="maintenance")
    issue_news([user], kind=SMS_ONLY)
    sms = Delivery.objects.get()
    with pytest.raises(notify.RetryableDeliveryError):
        notify.delivery_send(delivery_id=sms.pk, now=NOW)
    sms.refresh_from_db()
    assert sms.last_error == "SMS provider answered HTTP 503: maintenance" and sms.status == "pending"

    sms_provider.fail(user.phone, status=400, error="bad phone")  # the provider refuses it for good
    Delivery.objects.filter(pk=sms.pk).update(next_attempt_at=NOW)
    assert notify.delivery_send(delivery_id=sms.pk, now=NOW) == "failed"


def test_an_unreachable_sms_provider_is_a_retryable_failure(db):
    (user,) = people(1)
    issue_news([user], kind=SMS_ONLY)
    provider = FakeSmsProvider()
    url = provider.url
    provider.stop()  # nothing listens there any more
    with (
        override_settings(SMS_BACKEND="http", SMS_HTTP_URL=url),
        pytest.raises(notify.RetryableDeliveryError, match="unreachable"),
    ):
        notify.delivery_send(delivery_id=Delivery.objects.get().pk, now=NOW)


def test_an_attempt_is_counted_before_the_send_so_a_lost_worker_shows(db, monkeypatch):
    """A worker killed mid-send runs no more Python: SystemExit stands in for it here."""
    (user,) = people(1)
    issue_news([user], kind=SMS_ONLY)
    sms = Delivery.objects.get()

    def killed(**kwargs):
        raise SystemExit("killed mid-send")

    monkeypatch.setattr(notify.channels, "send_sms", killed)
    for lost in range(1, notify.MAX_ATTEMPTS + 1):
        with pytest.raises(SystemExit):
            notify.delivery_send(delivery_id=sms.pk, now=NOW)
        sms = reload(sms)
        assert (sms.status, sms.attempts, sms.last_error) == ("pending", lost, "")
    # Every attempt was lost: the next run gives up instead of sending for ever.
    assert notify.delivery_send(delivery_id=sms.pk, now=NOW) == "failed"
    sms = reload(sms)
    assert (sms.status, sms.attempts) == ("failed", notify.MAX_ATTEMPTS)
    assert sms.last_error == f"attempt {notify.MAX_ATTEMPTS} ended without an outcome (its worker was lost)"


@pytest.mark.postgres
def test_the_attempt_is_committed_before_the_channel_is_called(transactional_db, monkeypatch):
    (user,) = people(1)
    issue_news([user], kind=SMS_ONLY)
    sms = Delivery.objects.get()
    seen_by_others = []

    def send_sms(**kwargs):
        def look():  # another connection sees only what was committed
            try:
                seen_by_others.append(Delivery.objects.values_list("attempts", flat=True).get(pk=sms.pk))
            finally:
                connection.close()

        thread = threading.Thread(target=look)
        thread.start()
        thread.join(timeout=20)

    monkeypatch.setattr(notify.channels, "send_sms", send_sms)
    assert notify.delivery_send(delivery_id=sms.pk, now=NOW) == "sent"
    assert seen_by_others == [1]
    assert reload(sms).attempts == 1


def test_the_send_deliveries_command_sends_what_is_due_and_reports_failures(db, mailoutbox, sms_provider):
    good, bad = people(2)
    sms_provider.fail(bad.phone, error="blocked number")
    issue_news([good, bad])
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=1))

    call_command("send_deliveries", stdout=(out := io.StringIO()))

    assert out.getvalue().strip() == "4 deliveries tried (retry: 1, sent: 3)"
    assert len(mailoutbox) == 2 and len(sms_provider.requests) == 2
    assert Delivery.objects.get(address=bad.phone).last_error == "SMS provider error: blocked number"
    call_command("send_deliveries", stdout=(out := io.StringIO()))
    assert out.getvalue().strip() == "0 deliveries tried (nothing due)"


def test_an_unknown_kind_renders_a_generic_message(db):
    (user,) = people(1)
    issue_news([user], kind="test.nobody_registered_this")
    (message,) = notify.render_messages(list(Notification.objects.all()))
    assert message.url == reverse("inbox") and message.title
    email = Delivery.objects.get(channel="email")
    assert notify.delivery_send(delivery_id=email.pk, now=NOW) == "sent"
    assert mail.outbox[0].subject == message.title


# --- Inbox -----------------------------------------------------------------------------------


_batches = itertools.count()


def news_for(viewer: User, count: int, kind=NEWS) -> None:
    """Tell ``viewer`` about ``count`` new subjects."""
    subjects = people(count, prefix=f"s{next(_batches)}x")
    ids = [s.pk for s in subjects]
    notify.issue(
        kind=kind,
        subject_type="liaison.user",
        subjects=User.objects.filter(pk__in=ids).values(subject_id=F("pk"), period=Value("")),
        recipients=User.objects.filter(pk__in=ids).values(subject_id=F("pk"), user_id=Value(viewer.pk)),
        now=NOW,
    )


def test_the_inbox_shows_only_the_users_own_notifications(client, db):
    me, other = UserFactory(name="我"), UserFactory(name="别人")
    news_for(me, 2)
    news_for(other, 1)
    client.force_login(me)
    page = client.get(reverse("inbox")).content.decode()
    mine = Notification.objects.filter(user=me)
    for n in mine:
        assert reverse("inbox_open", args=[n.pk]) in page
    theirs = Notification.objects.get(user=other)
    assert reverse("inbox_open", args=[theirs.pk]) not in page
    assert client.get(reverse("inbox_open", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(client, db):
    me = UserFactory()
    news_for(me, 2)
    first, second = Notification.objects.order_by("id")
    client.force_login(me)
    response = client.get(reverse("inbox_open", args=[first.pk]))
    assert response.status_code == 302 and response["Location"] == f"/reps/?about={first.subject_id}"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None


def test_the_header_badge_counts_unread_and_mark_all_read_clears_it(client, db):
    me, other = UserFactory(), UserFactory()
    news_for(me, 3)
    news_for(other, 2)
    client.force_login(me)
    assert notify.unread_count(me) == 3
    page = client.get(reverse("home")).content.decode()
    assert page.count('text-bg-warning">3<') == 2  # in the bar, and beside the menu button on phones
    assert 'id="unread-phone"' in page

    response = client.post(reverse("inbox_mark_read"), follow=True)
    assert notify.unread_count(me) == 0 and notify.unread_count(other) == 2
    assert 'text-bg-warning">' not in response.content.decode()
    assert client.get(reverse("inbox_mark_read")).status_code == 405


def test_mark_read_marks_only_the_given_notifications_of_that_user(db):
    me, other = UserFactory(), UserFactory()
    news_for(me, 3)
    news_for(other, 1)
    mine = list(Notification.objects.filter(user=me).values_list("pk", flat=True))
    theirs = Notification.objects.get(user=other).pk
    assert notify.mark_read(user=me, ids=[mine[0], theirs]) == 1
    assert notify.unread_count(me) == 2 and notify.unread_count(other) == 1


def test_anonymous_visitors_get_no_badge_query_and_no_inbox(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert reverse("inbox") not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("inbox"))["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("count", [10, 100])
def test_the_inbox_page_takes_the_same_queries_for_10_and_100_notifications(
    client, db, django_assert_num_queries, count
):
    me = UserFactory()
    news_for(me, count - 5)
    news_for(me, 5, kind=SMS_ONLY)  # the newest: two kinds on the first page, two renders
    client.force_login(me)
    # session, user, the user's roles (navigation), page count, page rows, one render per
    # kind, unread badge.
    with django_assert_num_queries(8):
        response = client.get(reverse("inbox"))
    assert response.status_code == 200
    assert len(re.findall(r'href="/inbox/\d+/"', response.content.decode())) == min(count, 25)


def test_users_choose_their_channels(client, db):
    me = UserFactory(phone="13800138000")
    client.force_login(me)
    page = client.get(reverse("notification_settings")).content.decode()
    assert "13800138000" in page and me.email in page
    response = client.post(reverse("notification_settings"), {"notify_by_email": "on"})
    assert response.status_code == 302
    me.refresh_from_db()
    assert me.notify_by_email and not me.notify_by_sms
    issue_news([me])
    assert deliveries() == {("email", me.email)}


# --- Admin -----------------------------------------------------------------------------------


@pytest.fixture
def deliveries_in_two_townships(rep_a, clerk_b):
    """News for a representative of township A and a clerk of township B."""
    User.objects.filter(pk=rep_a.pk).update(phone="13800000001")
    User.objects.filter(pk=clerk_b.pk).update(phone="13800000002")
    issue_news([rep_a, clerk_b])
    ours = Delivery.objects.filter(notification__user=rep_a)
    theirs = Delivery.objects.filter(notification__user=clerk_b)
    return ours, theirs


def test_a_township_clerk_sees_only_deliveries_to_people_of_their_township(
    client, clerk_a, rep_a, deliveries_in_two_townships
):
    ours, theirs = deliveries_in_two_townships
    client.force_login(clerk_a)
    page = client.get(reverse("admin:liaison_delivery_changelist")).content.decode()
    assert "13800000001" in page and "13800000002" not in page
    assert client.get(reverse("admin:liaison_delivery_change", args=[theirs[0].pk])).status_code == 404
    assert client.get(reverse("admin:liaison_delivery_change", args=[ours[0].pk])).status_code == 200
    response = client.get(reverse("admin:liaison_notification_changelist"))
    assert [n.user for n in response.context["cl"].result_list] == [rep_a]
    assert "杨帆" not in response.content.decode()
    assert client.get(reverse("admin:liaison_reminder_changelist")).context["cl"].result_count == 1


def test_nobody_edits_the_notification_ledger_in_the_admin(
    client, liaison_office, deliveries_in_two_townships
):
    ours, _theirs = deliveries_in_two_townships
    client.force_login(liaison_office)
    for model in ("delivery", "notification", "reminder"):
        assert client.get(reverse(f"admin:liaison_{model}_add")).status_code == 403
    delivery = ours[0]
    assert client.get(reverse("admin:liaison_delivery_delete", args=[delivery.pk])).status_code == 403
    response = client.post(reverse("admin:liaison_delivery_change", args=[delivery.pk]), {"status": "sent"})
    assert response.status_code == 403


def test_staff_resend_failed_deliveries_from_the_admin(
    client, liaison_office, deliveries_in_two_townships, django_capture_on_commit_callbacks
):
    ours, theirs = deliveries_in_two_townships
    Delivery.objects.update(status="failed", attempts=notify.MAX_ATTEMPTS, last_error="provider down")
    sent = theirs.get(channel="email")
    Delivery.objects.filter(pk=sent.pk).update(status="sent")
    client.force_login(liaison_office)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("admin:liaison_delivery_changelist"),
            {"action": "resend_failed", "_selected_action": [d.pk for d in Delivery.objects.all()]},
            follow=True,
        )
    assert response.status_code == 200
    assert len(callbacks) == 3  # one deliver task per resent delivery, after commit
    assert set(Delivery.objects.values_list("status", "attempts")) == {
        ("pending", 0),
        ("sent", notify.MAX_ATTEMPTS),
    }
    assert reload(sent).status == "sent"
    assert AuditEvent.objects.filter(verb="delivery.resent", actor=liaison_office).count() == 3

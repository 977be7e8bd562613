"""Failed sign-ins lock the username (by its county's policy) and refuse a failing IP (settings)."""

import datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY, authenticate
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from liaison import lockout
from liaison.models import AuditEvent, LoginThrottle, SecurityPolicy, User
from liaison.roles import Role
from tests.factories import UserFactory, user_with_role

PASSWORD = "pw-for-tests"
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def sign_in(client, username, password, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def form_errors(response) -> list[str]:
    return response.context["form"].non_field_errors() if response.context else []


@pytest.fixture
def policy(county):
    return SecurityPolicy.objects.create(county=county, lockout_failures=3, lockout_minutes=10)


@time_machine.travel(START, tick=False)
def test_the_policys_number_of_failures_locks_the_account(client, policy, clerk_a):
    for _ in range(2):
        assert "locked" not in " ".join(form_errors(sign_in(client, "clerk_a", "wrong")))
    with translation.override("en"):
        response = sign_in(client, "clerk_a", "wrong")
    [message] = form_errors(response)
    assert "已被锁定" in message and "联络办公室" in message  # the page speaks zh-hans
    assert "2026" in message  # until when: 10 minutes from now, local time
    row = LoginThrottle.objects.get(kind="username", key="clerk_a")
    assert row.user == clerk_a and row.failures == 3
    assert row.locked_until == START + datetime.timedelta(minutes=10)
    assert not signed_in(client)


@time_machine.travel(START, tick=False)
def test_the_right_password_is_refused_while_locked(client, clerk_a):
    for _ in range(30):  # no policy row: the defaults, 5 failures for 15 minutes
        sign_in(client, "clerk_a", "wrong")
    with translation.override("en"):
        response = sign_in(client, "clerk_a", PASSWORD)
    assert response.status_code == 200 and not signed_in(client)
    assert "已被锁定" in form_errors(response)[0]
    # Tries during the lock neither extend it nor pile up.
    row = LoginThrottle.objects.get(kind="username", key="clerk_a")
    assert row.failures == 5 and row.locked_until == START + datetime.timedelta(minutes=15)
    # Any other way in that authenticates refuses too (the backend itself).
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.9")
    assert authenticate(request, username="clerk_a", password=PASSWORD) is None


def test_the_lock_ends_after_the_policys_minutes(client, policy, clerk_a):
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(3):
            sign_in(client, "clerk_a", "wrong")
        traveller.shift(datetime.timedelta(minutes=9, seconds=59))
        sign_in(client, "clerk_a", PASSWORD)
        assert not signed_in(client)
        traveller.shift(datetime.timedelta(seconds=2))
        response = sign_in(client, "clerk_a", PASSWORD)
        assert response.status_code == 302 and signed_in(client)
    assert not LoginThrottle.objects.filter(kind="username", key="clerk_a").exists()  # count cleared


def test_failures_spread_beyond_the_window_do_not_lock(client, policy, clerk_a):
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(5):
            sign_in(client, "clerk_a", "wrong")
            traveller.shift(datetime.timedelta(minutes=6))
        assert not LoginThrottle.objects.locked(timezone.now()).exists()
        assert sign_in(client, "clerk_a", PASSWORD).status_code == 302


def test_a_success_starts_the_count_again(client, policy, clerk_a):
    for _ in range(2):
        sign_in(client, "clerk_a", "wrong")
    assert sign_in(client, "clerk_a", PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        sign_in(client, "clerk_a", "wrong")
    assert sign_in(client, "clerk_a", PASSWORD).status_code == 302


def test_an_unknown_username_locks_like_an_account_does(client, db):
    # Same message for a name with no account: the lock does not tell whether it exists.
    for _ in range(5):
        response = sign_in(client, "nobody", "wrong")
    with translation.override("en"):
        assert "已被锁定" in form_errors(sign_in(client, "nobody", "wrong"))[0]
    row = LoginThrottle.objects.get(kind="username", key="nobody")
    assert row.user is None and row.is_locked()
    assert response.status_code == 200


@override_settings(LOGIN_IP_FAILURE_LIMIT=4, LOGIN_IP_LOCKOUT_MINUTES=20)
def test_an_ip_failing_across_usernames_is_refused_even_for_a_right_password(client, clerk_a):
    with time_machine.travel(START, tick=False) as traveller:
        for name in ["a", "b", "c", "d"]:
            sign_in(client, name, "wrong", ip="203.0.113.7")
        with translation.override("en"):
            response = sign_in(client, "clerk_a", PASSWORD, ip="203.0.113.7")
        assert not signed_in(client)
        assert "您所在网络地址" in form_errors(response)[0]
        # Another address is not affected, nor is the account itself locked.
        assert sign_in(client, "clerk_a", PASSWORD, ip="203.0.113.8").status_code == 302
        client.logout()
        traveller.shift(datetime.timedelta(minutes=21))
        assert sign_in(client, "clerk_a", PASSWORD, ip="203.0.113.7").status_code == 302


def test_the_default_ip_limit_is_twenty(settings):
    assert (settings.LOGIN_IP_FAILURE_LIMIT, settings.LOGIN_IP_LOCKOUT_MINUTES) == (20, 15)


def test_the_admin_login_is_the_guarded_one(client, policy, liaison_office):
    for _ in range(3):
        sign_in(client, "lianban", "wrong")
    # The admin's own login page signs nobody in: it sends everyone to the site's login.
    response = client.post(reverse("admin:login"), {"username": "lianban", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not signed_in(client)
    assert client.get(reverse("admin:index")).status_code == 302
    assert not signed_in(client)


def test_the_liaison_office_unlocks_an_account_in_the_admin(
    client, policy, liaison_office, clerk_a, clerk_b, rep_a
):
    for name in ("clerk_a", "clerk_b"):
        for _ in range(3):
            sign_in(client, name, "wrong")
    outsider = LoginThrottle.objects.create(kind="username", key="elsewhere", user=UserFactory())
    sign_in(client, "daibiao", "wrong")  # a count that locks nothing
    client.force_login(liaison_office)
    listing = client.get(reverse("admin:liaison_loginthrottle_changelist"))  # opens on the locked
    rows = list(listing.context["cl"].result_list)
    assert {row.key for row in rows} == {"clerk_a", "clerk_b"}  # not a user of another county
    assert outsider not in rows
    everything = client.get(reverse("admin:liaison_loginthrottle_changelist") + "?locked=all")
    assert {row.key for row in everything.context["cl"].result_list} == {"clerk_a", "clerk_b", "daibiao"}
    row_a = LoginThrottle.objects.get(key="clerk_a")
    response = client.post(
        reverse("admin:liaison_loginthrottle_changelist"),
        {"action": "unlock", "_selected_action": [row_a.pk]},
    )
    assert response.status_code == 302
    row_a.refresh_from_db()
    assert not row_a.is_locked() and row_a.failures == 0
    assert LoginThrottle.objects.get(key="clerk_b").is_locked()
    unlocked = AuditEvent.objects.get(verb="auth.unlocked")
    assert (unlocked.actor, unlocked.subject_id) == (liaison_office, str(clerk_a.pk))
    client.logout()
    assert sign_in(client, "clerk_a", PASSWORD).status_code == 302


def test_township_staff_may_not_unlock(client, policy, clerk_a, clerk_b):
    for _ in range(3):
        sign_in(client, "clerk_b", "wrong")
    client.force_login(clerk_a)
    assert client.get(reverse("admin:liaison_loginthrottle_changelist")).status_code == 403


def test_a_superuser_sees_and_unlocks_ip_addresses(client, db):
    row = LoginThrottle.objects.create(
        kind="ip",
        key="198.51.100.1",
        failures=20,
        locked_until=timezone.now() + datetime.timedelta(minutes=5),
    )
    admin = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(admin)
    listing = client.get(reverse("admin:liaison_loginthrottle_changelist"))
    assert row in listing.context["cl"].result_list
    client.post(
        reverse("admin:liaison_loginthrottle_changelist"), {"action": "unlock", "_selected_action": [row.pk]}
    )
    row.refresh_from_db()
    assert not row.is_locked()
    assert AuditEvent.objects.filter(verb="auth.unlocked", subject_type="liaison.loginthrottle").count() == 1


@time_machine.travel(START, tick=False)
def test_sign_ins_failures_and_locks_are_audited_with_the_ip(client, policy, clerk_a, township_a):
    for _ in range(3):
        sign_in(client, "clerk_a", "wrong", ip="192.0.2.5")
    sign_in(client, "clerk_a", PASSWORD, ip="192.0.2.5")  # refused: locked
    sign_in(client, "ghost", "wrong", ip="192.0.2.6")
    events = list(AuditEvent.objects.order_by("id"))
    verbs = [e.verb for e in events]
    assert verbs == ["auth.login_failed"] * 3 + ["auth.locked", "auth.login_failed", "auth.login_failed"]
    failed = events[0]
    assert failed.actor is None and failed.subject_id == str(clerk_a.pk)
    assert failed.data["username"] == "clerk_a" and failed.data["reason"] == "password"
    assert events[4].data["reason"] == "locked"
    assert events[3].data["failures"] == 3
    ghost = events[5]  # no such account: the audit names the username's count
    assert ghost.subject_type == "liaison.loginthrottle" and ghost.subject_label == "ghost"
    assert all(_ip(e) in ("192.0.2.5", "192.0.2.6") for e in events)
    # The clerk's rows are filed under the clerk's township, so their offices read them in /audit/;
    # a username with no account is read by superusers only.
    assert [e.region for e in events] == [township_a] * 5 + [None]

    LoginThrottle.objects.all().delete()
    sign_in(client, "clerk_a", PASSWORD, ip="192.0.2.5")
    login = AuditEvent.objects.get(verb="auth.login")
    assert (login.actor, login.subject_id, _ip(login)) == (clerk_a, str(clerk_a.pk), "192.0.2.5")
    assert login.region == township_a


def _ip(event) -> str | None:
    # The audit log's ip column (its own helper adds it), or the data of an older record().
    return getattr(event, "ip", None) or event.data.get("ip")


def test_a_representative_is_locked_by_the_policy_of_their_county(client, county, township_a):
    SecurityPolicy.objects.create(county=county, lockout_failures=2)
    user_with_role(Role.REPRESENTATIVE, region=township_a, username="rep")
    for _ in range(2):
        sign_in(client, "rep", "wrong")
    assert lockout.lock_for("rep", None) is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(LOGIN_IP_FAILURE_LIMIT=6)
def test_failures_at_the_same_moment_are_all_counted_and_lock_once(county, clerk_a):
    """Six wrong passwords at once, one thread each, with both limits at six: no count is lost
    (the rows are locked while counted), and the account and the address are each locked once."""
    import threading

    from django.db import connection

    SecurityPolicy.objects.create(county=county, lockout_failures=6)
    barrier, errors = threading.Barrier(6), []

    def attempt():
        try:
            barrier.wait(timeout=10)
            lockout.note_failure("clerk_a", "10.9.9.9")
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    account = LoginThrottle.objects.get(kind="username", key="clerk_a")
    address = LoginThrottle.objects.get(kind="ip", key="10.9.9.9")
    assert (account.failures, address.failures) == (6, 6)
    assert account.is_locked() and address.is_locked()
    assert AuditEvent.objects.filter(verb="auth.locked").count() == 2
    assert AuditEvent.objects.filter(verb="auth.login_failed").count() == 6


def test_a_new_lock_clears_the_counts_that_ended_over_a_day_ago(client, policy, clerk_a):
    with time_machine.travel(START, tick=False) as traveller:
        for name in ("old_a", "old_b"):
            sign_in(client, name, "wrong")
        for _ in range(3):
            sign_in(client, "long_lock", "wrong")
        traveller.shift(datetime.timedelta(days=1, minutes=1))
        LoginThrottle.objects.filter(key="long_lock").update(
            locked_until=timezone.now() + datetime.timedelta(hours=1)
        )
        for _ in range(3):
            sign_in(client, "clerk_a", "wrong", ip="10.0.0.2")
    keys = set(LoginThrottle.objects.values_list("key", flat=True))
    assert keys == {"long_lock", "clerk_a", "10.0.0.2"}  # 10.0.0.1's count and the old names: gone


@override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there: Redis is down
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
)
def test_with_redis_down_signing_in_and_locking_still_work(client, policy, clerk_a):
    assert sign_in(client, "clerk_a", PASSWORD).status_code == 302
    client.logout()
    for _ in range(3):
        assert sign_in(client, "clerk_a", "wrong").status_code == 200
    assert LoginThrottle.objects.get(key="clerk_a").is_locked()
    assert sign_in(client, "clerk_a", PASSWORD).status_code == 200 and not signed_in(client)


def test_a_remote_address_that_is_not_an_ip_still_counts_and_never_fails_the_sign_in(client, policy, clerk_a):
    for _ in range(3):
        assert sign_in(client, "clerk_a", "wrong", ip="unix:/run/gunicorn.sock").status_code == 200
    row = LoginThrottle.objects.get(kind="username", key="clerk_a")
    assert row.is_locked() and row.last_ip is None

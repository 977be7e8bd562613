"""How long a sign-in lasts: idle timeout, browser-close expiry for staff, one session per user."""

import datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import translation

from liaison import session_policy
from liaison.models import AuditEvent, SecurityPolicy

PASSWORD = "pw-for-tests"
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def sign_in(client, username):
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.context["form"].errors
    return response


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def test_an_idle_user_is_signed_out_after_the_policys_minutes(client, county, clerk_a):
    SecurityPolicy.objects.create(county=county, idle_timeout_minutes=10)
    with time_machine.travel(START, tick=False) as traveller:
        sign_in(client, "clerk_a")
        traveller.shift(datetime.timedelta(minutes=9))
        assert client.get(reverse("inbox")).status_code == 200  # active again: the clock restarts
        traveller.shift(datetime.timedelta(minutes=9))
        assert client.get(reverse("inbox")).status_code == 200
        assert signed_in(client)
        traveller.shift(datetime.timedelta(minutes=10, seconds=1))
        with translation.override("en"):
            response = client.get(reverse("inbox"), follow=True)
    assert not signed_in(client)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "您已连续 10 分钟无操作" in response.content.decode()
    signed_out = AuditEvent.objects.get(verb="auth.idle_timeout")
    assert signed_out.actor == clerk_a and signed_out.data == {"idle_minutes": 10}


def test_the_default_idle_timeout_is_thirty_minutes(client, clerk_a):
    with time_machine.travel(START, tick=False) as traveller:
        sign_in(client, "clerk_a")
        traveller.shift(datetime.timedelta(minutes=29))
        client.get(reverse("inbox"))
        assert signed_in(client)
        traveller.shift(datetime.timedelta(minutes=31))
        client.get(reverse("inbox"))
        assert not signed_in(client)


def test_the_last_request_is_written_to_the_session_at_most_once_a_minute(client, clerk_a):
    with time_machine.travel(START, tick=False) as traveller:
        sign_in(client, "clerk_a")
        first = client.session[session_policy.LAST_SEEN]
        traveller.shift(datetime.timedelta(seconds=30))
        client.get(reverse("inbox"))
        assert client.session[session_policy.LAST_SEEN] == first
        traveller.shift(datetime.timedelta(seconds=31))
        client.get(reverse("inbox"))
        assert client.session[session_policy.LAST_SEEN] == first + 61


def test_a_policy_change_reaches_an_open_session_within_a_minute(client, county, clerk_a):
    with time_machine.travel(START, tick=False) as traveller:
        sign_in(client, "clerk_a")
        SecurityPolicy.objects.create(county=county, idle_timeout_minutes=5)
        traveller.shift(datetime.timedelta(minutes=1))
        client.get(reverse("inbox"))
        traveller.shift(datetime.timedelta(minutes=5, seconds=1))
        client.get(reverse("inbox"))
        assert not signed_in(client)


@pytest.mark.parametrize("user", ["clerk_a", "liaison_office", "unit_staff"])
def test_staff_sessions_end_when_the_browser_closes(client, user, request):
    username = request.getfixturevalue(user).username
    sign_in(client, username)
    assert client.session.get_expire_at_browser_close()
    assert client.cookies["sessionid"]["expires"] == ""  # a session cookie: gone with the browser


def test_a_representatives_session_survives_the_browser(client, rep_a, settings):
    sign_in(client, "daibiao")
    assert not client.session.get_expire_at_browser_close()
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert client.cookies["sessionid"]["expires"]


def test_the_policy_may_keep_staff_sessions_across_browser_restarts(client, county, clerk_a):
    SecurityPolicy.objects.create(county=county, staff_sessions_end_at_browser_close=False)
    sign_in(client, "clerk_a")
    assert not client.session.get_expire_at_browser_close()


def test_a_browser_close_session_still_ends_at_the_absolute_cap(client, clerk_a, settings):
    sign_in(client, "clerk_a")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_one_session_per_user_ends_the_older_one(county, clerk_a):
    SecurityPolicy.objects.create(county=county, single_session=True)
    first, second = Client(), Client()
    sign_in(first, "clerk_a")
    assert first.get(reverse("inbox")).status_code == 200
    sign_in(second, "clerk_a")
    with translation.override("en"):
        response = first.get(reverse("inbox"), follow=True)
    assert not signed_in(first)
    assert "已在其他浏览器或设备上登录" in response.content.decode()
    assert AuditEvent.objects.get(verb="auth.superseded").actor == clerk_a
    assert second.get(reverse("inbox")).status_code == 200 and signed_in(second)


def test_without_the_policy_two_sessions_live_side_by_side(clerk_a):
    first, second = Client(), Client()
    sign_in(first, "clerk_a")
    sign_in(second, "clerk_a")
    assert first.get(reverse("inbox")).status_code == 200
    assert second.get(reverse("inbox")).status_code == 200
    assert signed_in(first) and signed_in(second)


def test_a_password_change_keeps_the_session_under_the_one_session_policy(client, county, clerk_a):
    SecurityPolicy.objects.create(county=county, single_session=True)
    sign_in(client, "clerk_a")
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "Another-pw-2026", "new_password2": "Another-pw-2026"},
    )
    assert response.status_code == 302
    assert client.get(reverse("inbox")).status_code == 200 and signed_in(client)


def test_signing_in_leaves_no_policy_cached_on_the_user_object(client, county, clerk_a):
    from liaison.security import policy_for

    client.force_login(clerk_a)
    SecurityPolicy.objects.create(county=county, idle_timeout_minutes=7)
    assert policy_for(clerk_a).idle_timeout_minutes == 7

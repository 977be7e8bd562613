"""The second factor (liaison/twofa.py): who is asked, setting it up, confirming a sign-in with
the app's code or a recovery code, wrong codes, the admin, and the liaison office's reset."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from liaison import twofa
from liaison.models import AuditEvent, SecurityPolicy, User
from liaison.roles import Role
from tests.factories import CountyFactory, TownshipFactory, user_with_role

NOW = datetime.datetime(2026, 12, 4, 9, 0, 0, tzinfo=datetime.UTC)
SETUP, VERIFY, CODES = "/accounts/2fa/setup/", "/accounts/2fa/verify/", "/accounts/2fa/recovery-codes/"


@pytest.fixture
def two_factor(settings):
    """Ask for the second factor as a deployment does (the suite's settings leave it off)."""
    settings.LIAISON_TWO_FACTOR_ENFORCED = True


@pytest.fixture
def en(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def code_of(device: TOTPDevice) -> str:
    """What the user's authenticator app shows now (RFC 6238, computed from the device's key)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    """Give ``user`` a confirmed authenticator and recovery codes, as the setup page does."""
    device = TOTPDevice.objects.create(user=user, name=twofa.TOTP_NAME, confirmed=True)
    return device, twofa.new_recovery_codes(user)


def audited(verb: str, user) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(verb=verb, subject_type="liaison.user", subject_id=str(user.pk)))


def form_errors(response) -> dict:
    return response.context["form"].errors


# --- Who is asked ----------------------------------------------------------------------------


def test_a_representative_is_not_asked(two_factor, client, rep_a):
    client.force_login(rep_a)
    assert client.get("/").status_code == 200
    assert not twofa.required(User.objects.get(pk=rep_a.pk))


def test_a_township_clerk_without_a_device_is_sent_to_set_one_up(two_factor, client, clerk_a):
    client.force_login(clerk_a)
    response = client.get("/tickets/?queue=todo")
    assert response.status_code == 302
    assert response["Location"] == f"{SETUP}?next=%2Ftickets%2F%3Fqueue%3Dtodo"


def test_a_township_clerk_with_a_device_is_asked_for_a_code(two_factor, client, clerk_a):
    enrol(clerk_a)
    client.force_login(clerk_a)
    response = client.get("/tickets/")
    assert response.status_code == 302 and response["Location"] == f"{VERIFY}?next=%2Ftickets%2F"
    # Setting up a second app is no way round it.
    assert client.get(SETUP)["Location"].startswith(VERIFY)


@pytest.mark.parametrize("role", [Role.LIAISON_OFFICE, Role.STUDIO_OFFICER, Role.HANDLING_UNIT])
def test_every_staff_role_is_asked_by_the_default_policy(two_factor, county, township_a, county_unit, role):
    anchor = {"unit": county_unit} if role == Role.HANDLING_UNIT else {"region": county}
    if role == Role.STUDIO_OFFICER:
        anchor = {"region": township_a}
    assert twofa.required(user_with_role(role, **anchor))


def test_with_the_policy_off_nobody_is_asked(two_factor, client, county, clerk_a, liaison_office):
    SecurityPolicy.objects.create(county=county, two_factor_roles=[], two_factor_superusers=False)
    admin = User.objects.create_superuser("root", "root@example.com", "pw-for-tests")
    for user in (clerk_a, liaison_office, admin):
        client.force_login(user)
        assert client.get("/tickets/").status_code == 200, user
        assert client.get("/admin/").status_code == 200, user


def test_a_policy_may_ask_representatives_too(two_factor, client, county, rep_a, clerk_a):
    SecurityPolicy.objects.create(county=county, two_factor_roles=[Role.REPRESENTATIVE])
    client.force_login(rep_a)
    assert client.get("/reps/me/")["Location"].startswith(SETUP)
    client.force_login(clerk_a)
    assert client.get("/tickets/").status_code == 200  # township staff no longer listed


def test_superusers_are_asked_when_the_policy_says_so(two_factor, client, county):
    admin = User.objects.create_superuser("root", "root@example.com", "pw-for-tests")
    client.force_login(admin)
    assert client.get("/admin/")["Location"].startswith(SETUP)  # no policy row: the defaults
    SecurityPolicy.objects.create(county=county, two_factor_superusers=False)
    admin = User.objects.get(pk=admin.pk)
    assert not twofa.required(admin)
    # The strictest of all counties' policies applies to a superuser with no county.
    SecurityPolicy.objects.create(county=CountyFactory(), two_factor_superusers=True)
    assert twofa.required(User.objects.get(pk=admin.pk))


def test_the_demo_stays_one_password_away(two_factor, client, db):
    from django.core.management import call_command

    call_command("seed_demo", "--i-know-this-is-not-production", stdout=open("/dev/null", "w"))  # noqa: SIM115
    for username in ("lianban", "chengguan", "lianluoyuan", "minzheng", "daibiao", "admin"):
        assert client.login(username=username, password="demo-2026"), username
        assert client.get("/").status_code == 200, username
        assert "/accounts/2fa/" not in client.get("/admin/").get("Location", ""), username


def test_logout_and_public_pages_stay_open(two_factor, client, clerk_a):
    client.force_login(clerk_a)
    for path in ("/intake/", "/track/", "/results/", "/reps/", "/schedule/", "/healthz", SETUP):
        assert client.get(path).status_code == 200, path
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_the_admin_requires_it(two_factor, clock, client, liaison_office):
    # The whole visit happens at one instant: the idle timeout counts from the last request.
    client.force_login(liaison_office)
    response = client.get("/admin/liaison/user/")
    assert (
        response.status_code == 302 and response["Location"] == f"{SETUP}?next=%2Fadmin%2Fliaison%2Fuser%2F"
    )
    device, _codes = enrol(liaison_office)
    client.post(VERIFY, {"code": code_of(device), "next": "/admin/"})
    assert client.get("/admin/liaison/user/").status_code == 200


def test_the_admin_site_itself_refuses_an_unconfirmed_session(two_factor, rf, liaison_office):
    from django.contrib import admin

    request = rf.get("/admin/")
    request.user = User.objects.get(pk=liaison_office.pk)
    request.user.otp_device = None  # as OTPMiddleware leaves a session that confirmed nothing
    assert not admin.site.has_permission(request)
    request.user.otp_device, _codes = enrol(liaison_office)
    assert admin.site.has_permission(request)


# --- Setting it up ---------------------------------------------------------------------------


def test_enrolment_with_a_real_totp_code_shows_ten_recovery_codes_once(two_factor, clock, en, clerk_a):
    en.force_login(clerk_a)
    page = en.get(f"{SETUP}?next=/tickets/")
    assert page.status_code == 200 and b"<svg" in page.content  # the QR code, drawn here
    device = TOTPDevice.objects.get(user=clerk_a, confirmed=False)
    assert device.config_url.startswith("otpauth://totp/")
    assert twofa.secret_for_typing(device).replace(" ", "") in page.content.decode().replace(" ", "")

    response = en.post(SETUP, {"code": code_of(device), "next": "/tickets/"})
    assert response.status_code == 302 and response["Location"] == CODES
    device.refresh_from_db()
    assert device.confirmed
    shown = en.get(CODES)
    codes = shown.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert set(StaticToken.objects.filter(device__user=clerk_a).values_list("token", flat=True)) == set(codes)
    assert shown.context["next"] == "/tickets/" and b"data-print" in shown.content
    again = en.get(CODES)  # shown once only
    assert "codes" not in again.context or not again.context["codes"]
    assert codes[0] not in again.content.decode()
    assert en.get("/tickets/").status_code == 200  # this session is verified
    assert CODES.encode() in en.get("/").content  # "Two-step sign-in" in the user menu
    assert len(audited("auth.2fa_enrolled", clerk_a)) == 1


def test_a_wrong_code_at_setup_is_refused_and_the_qr_code_stays(two_factor, clock, en, clerk_a):
    en.force_login(clerk_a)
    en.get(SETUP)
    device = TOTPDevice.objects.get(user=clerk_a)
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"
    response = en.post(SETUP, {"code": wrong})
    assert response.status_code == 200
    assert form_errors(response)["code"] == [str(twofa.WRONG_APP_CODE)]
    assert TOTPDevice.objects.get(user=clerk_a, confirmed=False).key == device.key  # nothing to rescan
    [failure] = audited("auth.2fa_failed", clerk_a)
    assert failure.outcome == AuditEvent.Outcome.REFUSED and failure.actor == clerk_a
    clock.shift(2)  # the throttle's wait after one wrong code is 1 s
    assert en.post(SETUP, {"code": code_of(device)}).status_code == 302


# --- Confirming a sign-in --------------------------------------------------------------------


def test_verify_with_the_apps_code(two_factor, clock, en, clerk_a):
    device, _codes = enrol(clerk_a)
    en.force_login(clerk_a)
    assert en.get("/tickets/")["Location"].startswith(VERIFY)
    response = en.post(VERIFY, {"code": code_of(device), "next": "/tickets/"})
    assert response.status_code == 302 and response["Location"] == "/tickets/"
    assert en.get("/tickets/").status_code == 200


def test_an_apps_code_works_once(two_factor, clock, en, clerk_a):
    device, _codes = enrol(clerk_a)
    code = code_of(device)
    en.force_login(clerk_a)
    assert en.post(VERIFY, {"code": code}).status_code == 302
    other = Client()
    other.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    other.force_login(clerk_a)
    response = other.post(VERIFY, {"code": code})
    assert form_errors(response)["code"] == [str(twofa.WRONG_CODE)]


def test_verify_with_a_recovery_code_and_the_same_code_twice_is_refused(two_factor, clock, en, clerk_a):
    _device, codes = enrol(clerk_a)
    en.force_login(clerk_a)
    typed = f" {codes[3][:4].upper()}-{codes[3][4:]} "  # spaces, a dash and capitals are forgiven
    response = en.post(VERIFY, {"code": typed, "next": "/tickets/"})
    assert response.status_code == 302 and response["Location"] == "/tickets/"
    page = en.get("/tickets/")
    assert page.status_code == 200
    assert "You used a recovery code; 9 are left." in page.content.decode()
    assert twofa.recovery_codes_left(clerk_a) == 9

    again = Client()
    again.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    again.force_login(clerk_a)
    clock.shift(60)
    refused = again.post(VERIFY, {"code": codes[3]})
    assert refused.status_code == 200
    assert form_errors(refused)["code"] == [str(twofa.WRONG_CODE)]
    assert again.get("/tickets/")["Location"].startswith(VERIFY)
    assert [e.data.get("kind") for e in audited("auth.2fa_failed", clerk_a)] == ["recovery"]


def test_a_wrong_code_is_refused_with_its_message_and_then_throttled(two_factor, clock, en, clerk_a):
    device, _codes = enrol(clerk_a)
    en.force_login(clerk_a)
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"
    response = en.post(VERIFY, {"code": wrong, "next": "/tickets/"})
    assert response.status_code == 200
    assert form_errors(response)["code"] == [str(twofa.WRONG_CODE)]
    assert response.context["next"] == "/tickets/"  # where the user was going is kept
    # After a second wrong code django-otp's throttle (2 s after two failures) refuses even the
    # right code until the wait is over, and says so.
    clock.shift(1.5)
    en.post(VERIFY, {"code": wrong})
    refused = en.post(VERIFY, {"code": code_of(device)})
    [message] = form_errors(refused)["code"]
    assert re.fullmatch(r"Too many wrong codes\. Wait \d+ seconds, then try again\.", message)
    assert TOTPDevice.objects.get(pk=device.pk).throttling_failure_count == 2
    clock.shift(2.5)
    assert en.post(VERIFY, {"code": code_of(device)}).status_code == 302
    assert TOTPDevice.objects.get(pk=device.pk).throttling_failure_count == 0
    assert len(audited("auth.2fa_failed", clerk_a)) == 3


# --- New recovery codes ----------------------------------------------------------------------


def test_new_recovery_codes_after_re_verifying(two_factor, clock, en, clerk_a):
    device, old = enrol(clerk_a)
    en.force_login(clerk_a)
    en.post(VERIFY, {"code": code_of(device)})
    page = en.get(CODES)
    assert page.context["left"] == 10
    # The code that just verified the sign-in cannot be used again: the next one is asked.
    refused = en.post(CODES, {"code": code_of(device)})
    assert form_errors(refused)["code"] == [str(twofa.WRONG_APP_CODE)]
    assert en.post(CODES, {"code": old[0]}).context["form"].errors  # a recovery code is not enough
    clock.shift(30 + 4)
    response = en.post(CODES, {"code": code_of(device)})
    assert response.status_code == 302
    new = en.get(CODES).context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert not StaticToken.objects.filter(token__in=old).exists()
    assert len(audited("auth.2fa_recovery_codes", clerk_a)) == 1


# --- Reset by the liaison office -------------------------------------------------------------


def _reset_action(client, users):
    return client.post(
        "/admin/liaison/user/",
        {"action": "reset_two_factor", "_selected_action": [u.pk for u in users]},
    )


def test_the_liaison_office_resets_a_clerks_second_factor(
    two_factor, clock, client, county, liaison_office, clerk_a
):
    SecurityPolicy.objects.create(county=county, two_factor_roles=[Role.TOWNSHIP_STAFF])
    enrol(clerk_a)
    outsider = user_with_role(Role.TOWNSHIP_STAFF, region=TownshipFactory(), username="outsider")
    enrol(outsider)
    client.force_login(liaison_office)
    response = _reset_action(client, [clerk_a, outsider])
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=clerk_a).exists()
    assert not StaticDevice.objects.filter(user=clerk_a).exists()
    assert TOTPDevice.objects.filter(user=outsider).exists()  # out of the office's county
    [reset] = audited("auth.2fa_reset", clerk_a)
    assert reset.actor == liaison_office
    assert not audited("auth.2fa_reset", outsider)
    # At the next sign-in the clerk sets up a new app.
    client.force_login(clerk_a)
    assert client.get("/tickets/")["Location"].startswith(SETUP)


def test_township_staff_cannot_reset_a_second_factor(client, clerk_a, township_a):
    colleague = user_with_role(Role.REPRESENTATIVE, region=township_a, username="colleague")
    enrol(colleague)
    client.force_login(clerk_a)
    page = client.get("/admin/liaison/user/")
    action_form = page.context["action_form"]  # None: no action at all for township staff
    assert action_form is None or "reset_two_factor" not in dict(action_form.fields["action"].choices)
    _reset_action(client, [colleague])
    assert TOTPDevice.objects.filter(user=colleague).exists()
    assert not audited("auth.2fa_reset", colleague)

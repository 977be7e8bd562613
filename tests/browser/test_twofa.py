"""The second factor on a 390-px phone: a township clerk sets up an authenticator app by its QR
code, keeps the ten recovery codes, and at the next sign-in confirms with one of them."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def two_factor(settings):
    settings.LIAISON_TWO_FACTOR_ENFORCED = True


def submit_code(page, code: str) -> None:
    page.locator("input[name=code]").fill(code)
    page.locator("form:has(input[name=code]) button[type=submit]").click()


def test_enrol_keep_the_recovery_codes_and_sign_in_with_one(two_factor, new_page, clerk_a):
    phone = new_page(phone=True)
    log_in(phone, "clerk_a")
    phone.wait_for_url("**/accounts/2fa/setup/**")
    qr = phone.locator("figure.twofa-qr svg")
    assert qr.is_visible() and qr.bounding_box()["width"] <= 390
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "twofa-setup-phone")

    device = TOTPDevice.objects.get(user=clerk_a, confirmed=False)
    # What the authenticator app shows now (the device accepts the previous 30-s step too).
    submit_code(phone, f"{totp(device.bin_key):06d}")
    phone.wait_for_url("**/accounts/2fa/recovery-codes/")
    codes = phone.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    assert phone.locator("[data-print]").is_visible()
    screenshot(phone, "twofa-recovery-codes-phone")
    phone.locator("a.btn-liaison").click()  # "I have kept them: continue"
    phone.wait_for_url(lambda url: "/accounts/2fa/" not in url)

    # The next sign-in, on another phone: the code is asked; a recovery code stands in.
    other = new_page(phone=True)
    log_in(other, "clerk_a")
    other.wait_for_url("**/accounts/2fa/verify/**")
    screenshot(other, "twofa-verify-phone")
    submit_code(other, codes[0])
    other.wait_for_url(lambda url: "/accounts/2fa/" not in url)
    assert other.locator(".alert-warning").is_visible()  # one recovery code used, 9 left

"""The second factor: who must use one, the devices, and the middleware that asks for it.

A user must confirm each sign-in with a code from an authenticator app (TOTP, RFC 6238, any app
that scans an ``otpauth://`` QR code) when their county's security policy says so
(``liaison.security.policy_for``): they hold a role listed in ``two_factor_roles``, or they are
a superuser and ``two_factor_superusers`` is on. Ten single-use recovery codes stand in for the
phone when it is lost. django-otp keeps the devices (``TOTPDevice``, ``StaticDevice``), throttles
wrong codes per device (each failure doubles the wait) and remembers in the session which device
verified the user (``OTPMiddleware`` sets ``request.user.otp_device``).

``TwoFactorMiddleware`` sends a user who must use a second factor and has not yet confirmed this
session to ``/accounts/2fa/verify/``, or to ``/accounts/2fa/setup/`` when they have no device
yet, before any page but the public ones, logging out and those two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from liaison import audit
from liaison.models import AuditEvent
from liaison.security import policy_for

RECOVERY_CODE_COUNT = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"

# The pages a user who still owes a second factor may open (URL names), besides public pages.
EXEMPT_VIEWS = frozenset(
    {
        "login",
        "logout",
        "set_language",
        "healthz",
        "twofa_setup",
        "twofa_verify",
        "admin:logout",
        "admin:jsi18n",
    }
)


# --- Who must use it -------------------------------------------------------------------------


def _roles(user) -> set[str]:
    if user.is_superuser:  # a superuser's scope holds every role; read the ones really granted
        return set(user.roles.values_list("role", flat=True))
    return set(user.scope.roles)


def required(user) -> bool:
    """Whether ``user`` must confirm their sign-in with a second factor, by their policy."""
    if not settings.LIAISON_TWO_FACTOR_ENFORCED or not getattr(user, "is_authenticated", False):
        return False
    policy = policy_for(user)
    if user.is_superuser and policy.two_factor_superusers:
        return True
    return bool(_roles(user) & set(policy.two_factor_roles))


def is_verified(user) -> bool:
    """Whether ``user`` confirmed a second factor in this session (set by ``OTPMiddleware``)."""
    return getattr(user, "otp_device", None) is not None


def satisfied(user) -> bool:
    """Whether ``user`` may go on: no second factor asked of them, or it is confirmed."""
    return is_verified(user) or not required(user)


def authenticator(user) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if they have set one up."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def recovery_device(user) -> StaticDevice | None:
    return StaticDevice.objects.devices_for_user(user, confirmed=True).first()


def recovery_codes_left(user) -> int:
    device = recovery_device(user)
    return device.token_set.count() if device else 0


# --- Enrolment -------------------------------------------------------------------------------


def pending_authenticator(user) -> TOTPDevice:
    """The unconfirmed authenticator device being set up: the same one until it is confirmed,
    so a wrong code or a reload shows the same QR code and nothing needs scanning again."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def secret_for_typing(device: TOTPDevice) -> str:
    """The key in base32 in groups of four, for an app that cannot scan (typed by hand)."""
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@dataclass
class Outcome:
    device: Any = None  # the django-otp device that accepted the code
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.device is not None

    @property
    def used_recovery_code(self) -> bool:
        return isinstance(self.device, StaticDevice)


def _throttled_message(info: dict | None) -> str:
    until = (info or {}).get("locked_until")
    seconds = max(1, int((until - timezone.now()).total_seconds()) + 1) if until else 1
    return _("Too many wrong codes. Wait %(seconds)d seconds, then try again.") % {"seconds": seconds}


WRONG_CODE = gettext_lazy(
    "That code is not right, or it was already used. Type the 6 digits your app shows now, "
    "or one of your recovery codes."
)
WRONG_APP_CODE = gettext_lazy(
    "That code is not right, or it was already used. Type the 6 digits your app shows now."
)


def _check(device, token: str) -> Outcome:
    """Verify ``token`` on ``device`` under a row lock (django-otp's throttling needs it)."""
    with transaction.atomic():
        device = type(device).objects.select_for_update().get(pk=device.pk)
        allowed, info = device.verify_is_allowed()
        if not allowed:
            return Outcome(error=_throttled_message(info))
        if device.verify_token(token):
            return Outcome(device=device)
    return Outcome()


def confirm_enrolment(request, token: str) -> tuple[Outcome, list[str]]:
    """Confirm the pending authenticator with a code it shows; on success make the recovery
    codes, mark this session verified and return the codes (shown once)."""
    user = request.user
    token = normalise(token)
    outcome = _check(pending_authenticator(user), token)
    if not outcome.ok:
        audit.record(
            actor=user, verb="auth.2fa_failed", subject=user, outcome=AuditEvent.Outcome.REFUSED, step="setup"
        )
        return Outcome(error=outcome.error or str(WRONG_APP_CODE)), []
    with transaction.atomic():
        device = outcome.device
        # One authenticator per user: a new one replaces any older one.
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = new_recovery_codes(user)
        audit.record(actor=user, verb="auth.2fa_enrolled", subject=user)
    _login(request, device)
    return Outcome(device=device), codes


def regenerate_recovery_codes(user) -> list[str]:
    """New recovery codes asked for by the user (after typing the app's code); audited."""
    with transaction.atomic():
        codes = new_recovery_codes(user)
        audit.record(actor=user, verb="auth.2fa_recovery_codes", subject=user)
    return codes


def new_recovery_codes(user) -> list[str]:
    """Replace the user's recovery codes with ten new ones and return them (stored as typed)."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


# --- Verification ----------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s-]+")


def normalise(token: str) -> str:
    """What the user typed, without spaces or dashes, in lower case (recovery codes are)."""
    return _SEPARATORS.sub("", token or "").lower()


def check_code(user, token: str, *, recovery: bool = True) -> Outcome:
    """Check a code the user typed: 6 digits go to the authenticator, anything else to the
    recovery codes (each works once). A wrong code counts against that device's throttle and
    is audited as ``auth.2fa_failed``."""
    token = normalise(token)
    if token.isdigit() and len(token) == 6:
        device, kind = authenticator(user), "totp"
    elif recovery:
        device, kind = recovery_device(user), "recovery"
    else:
        device, kind = None, "totp"
    outcome = _check(device, token) if device is not None else Outcome()
    if not outcome.ok:
        audit.record(
            actor=user, verb="auth.2fa_failed", subject=user, outcome=AuditEvent.Outcome.REFUSED, kind=kind
        )
        if not outcome.error:
            outcome.error = str(WRONG_CODE) if recovery else str(WRONG_APP_CODE)
    return outcome


def verify(request, token: str) -> Outcome:
    """Check a code for the signed-in user and, when right, mark this session verified."""
    outcome = check_code(request.user, token)
    if outcome.ok:
        _login(request, outcome.device)
    return outcome


def _login(request, device) -> None:
    request.session.cycle_key()  # a new session id once the sign-in is complete
    django_otp.login(request, device)


# --- Reset by staff --------------------------------------------------------------------------


def reset(*, actor, user) -> None:
    """Remove ``user``'s authenticator and recovery codes: they set up a new one at next sign-in."""
    with transaction.atomic():
        for model in (TOTPDevice, StaticDevice):
            model.objects.filter(user=user).delete()
        audit.record(actor=actor, verb="auth.2fa_reset", subject=user)


# --- Enforcement -----------------------------------------------------------------------------


def _is_exempt(request, view_func) -> bool:
    match = request.resolver_match
    if match is not None and match.view_name in EXEMPT_VIEWS:
        return True
    path = request.path_info.lstrip("/")
    if path.startswith((settings.STATIC_URL.lstrip("/"), settings.MEDIA_URL.lstrip("/"))):
        return True
    # The pages residents use without signing in (intake, tracking, the directory, the schedule).
    module = getattr(view_func, "__module__", "") or ""
    return module.endswith(".public_views")


class TwoFactorMiddleware:
    """Send a signed-in user who owes a second factor to verify it (or to set one up) first.

    Installed after ``AuthenticationMiddleware`` and django-otp's ``OTPMiddleware``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or _is_exempt(request, view_func) or satisfied(user):
            return None
        target = "twofa_verify" if authenticator(user) else "twofa_setup"
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")

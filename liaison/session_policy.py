"""How long a sign-in lasts, by the user's security policy (``liaison.security.policy_for``).

- Idle timeout: ``SessionPolicyMiddleware`` signs out a user who sent no request for
  ``idle_timeout_minutes``. The time of the last request is kept in the session, written at
  most once a minute (so a busy user does not write their session on every request); the
  timeout may therefore strike up to a minute early, never late.
- Staff sessions end when the browser closes (``staff_sessions_end_at_browser_close``): their
  session cookie is set without an expiry date at sign-in. Representatives and committee
  members keep theirs until it expires. ``SESSION_COOKIE_AGE`` stays the absolute cap of every
  session (the server forgets a session that old whatever its cookie says).
- One session per user (``single_session``): each sign-in gets a new token, kept in the session
  and as the user's ``LoginSession``; a request whose session carries an older token is signed
  out. The policy is read again at each once-a-minute refresh, so a change reaches sessions
  already open within a minute.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison.models import LoginSession
from liaison.roles import Role
from liaison.security import forget, policy_for

LAST_SEEN = "liaison_last_seen"  # epoch seconds of the last refresh
IDLE_MINUTES = "liaison_idle_minutes"
SINGLE = "liaison_single_session"
TOKEN = "liaison_login_token"  # noqa: S105 - a session key's name, not a secret
REFRESH_SECONDS = 60

# The roles whose sessions end with the browser when the policy says so (and superusers).
SESSION_STAFF_ROLES = frozenset(
    {Role.LIAISON_OFFICE, Role.TOWNSHIP_STAFF, Role.STUDIO_OFFICER, Role.HANDLING_UNIT}
)


def _now() -> int:
    return int(timezone.now().timestamp())


def is_session_staff(user) -> bool:
    return user.is_superuser or bool(user.scope.roles & SESSION_STAFF_ROLES)


def _remember_policy(session, user) -> None:
    policy = policy_for(user)
    session[IDLE_MINUTES] = policy.idle_timeout_minutes
    session[SINGLE] = policy.single_session
    session[LAST_SEEN] = _now()


@receiver(user_logged_in, dispatch_uid="liaison.session_policy.logged_in")
def start(sender, request, user, **kwargs) -> None:
    """At sign-in: the browser-close expiry for staff, a new sign-in token, the policy's timeout."""
    session = getattr(request, "session", None)
    if session is None:
        return
    policy = policy_for(user)
    if policy.staff_sessions_end_at_browser_close and is_session_staff(user):
        session.set_expiry(0)
    token = secrets.token_urlsafe(32)
    LoginSession.objects.update_or_create(
        user=user, defaults={"token": token, "signed_in_at": timezone.now()}
    )
    session[TOKEN] = token
    _remember_policy(session, user)
    # The user object may outlive this sign-in (a test's fixture after force_login): do not leave
    # it carrying a policy that a later change would not reach.
    forget(user)


def _signed_out(user, verb: str, **data) -> None:
    """The policy signed ``user`` out: audited like a sign-in (the address comes from the request)."""
    from liaison import audit

    audit.record(actor=user, verb=verb, subject=user, region=audit.region_of(user, user), **data)


def _superseded(session, user) -> bool:
    current = LoginSession.objects.filter(user=user).values_list("token", flat=True).first()
    return current is not None and current != session.get(TOKEN)


class SessionPolicyMiddleware:
    """Sign out an idle user, and a session superseded by a newer sign-in (one-session policy).

    Runs after the authentication and message middleware. The signed-out request goes on as an
    anonymous one: a page that needs a sign-in sends the user to the login page, with a message
    saying why.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self._check(request, user)
        return self.get_response(request)

    def _check(self, request, user) -> None:
        session = request.session
        now = _now()
        last = session.get(LAST_SEEN)
        if last is None:  # a session from before this policy: start counting now
            _remember_policy(session, user)
            return
        idle = session.get(IDLE_MINUTES) or 30
        if now - last > idle * 60:
            _signed_out(user, "auth.idle_timeout", idle_minutes=idle)
            logout(request)
            messages.info(
                request,
                _("You were signed out after %(minutes)s minutes without activity. Please sign in again.")
                % {"minutes": idle},
            )
            return
        if session.get(SINGLE) and _superseded(session, user):
            _signed_out(user, "auth.superseded")
            logout(request)
            messages.warning(
                request,
                _(
                    "You were signed out because your account signed in on another browser or device. "
                    "If that was not you, change your password."
                ),
            )
            return
        if now - last >= REFRESH_SECONDS:
            _remember_policy(session, user)

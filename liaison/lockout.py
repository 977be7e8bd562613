"""Failed sign-ins: lock a username after too many, and refuse an IP that fails across many.

Every sign-in goes through ``django.contrib.auth.authenticate`` (the site's login page; the
admin's login page sends everyone there), so this module hooks in at two places:

- ``LockoutBackend`` (in ``AUTHENTICATION_BACKENDS`` instead of Django's ``ModelBackend``)
  refuses a locked username or IP before it even checks the password: the right password during
  a lockout does not sign in;
- the ``user_login_failed`` signal counts each failure (``note_failure``), and
  ``user_logged_in`` clears the username's count (``note_success``).

A username is locked after ``lockout_failures`` failures within ``lockout_minutes`` (the user's
``SecurityPolicy``; for a username with no account, the strictest policy, so that a lock does not
tell whether an account exists) for ``lockout_minutes``. An IP is refused for
``LOGIN_IP_LOCKOUT_MINUTES`` after ``LOGIN_IP_FAILURE_LIMIT`` failures within as many minutes,
whatever the usernames. The counts live in the database (``LoginThrottle``): no Redis, so a
Redis outage never stops anyone signing in. ``LoginForm`` tells a refused user why and until when.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from liaison import audit
from liaison.http import client_ip
from liaison.models import LoginThrottle
from liaison.security import policy_for

Kind = LoginThrottle.Kind


@dataclass(frozen=True)
class Lock:
    kind: str
    key: str
    until: datetime.datetime


def _user(username: str):
    return get_user_model()._default_manager.filter(username=username).first() if username else None


def _username_limits(user) -> tuple[int, int]:
    """(failures, minutes) for a username: its user's policy, or the strictest for no account."""
    policy = policy_for(user if user is not None else AnonymousUser())
    return policy.lockout_failures, policy.lockout_minutes


def _ip_limits() -> tuple[int, int]:
    return settings.LOGIN_IP_FAILURE_LIMIT, settings.LOGIN_IP_LOCKOUT_MINUTES


def lock_for(username: str | None, ip: str | None, now=None) -> Lock | None:
    """The lock that refuses a sign-in as ``username`` from ``ip`` now, if any (the IP's first)."""
    now = now or timezone.now()
    wanted = Q(pk__in=[])
    if ip:
        wanted |= Q(kind=Kind.IP, key=ip)
    if username:
        wanted |= Q(kind=Kind.USERNAME, key=username[:150])
    rows = {row.kind: row for row in LoginThrottle.objects.locked(now).filter(wanted)}
    row = rows.get(Kind.IP) or rows.get(Kind.USERNAME)
    return Lock(row.kind, row.key, row.locked_until) if row else None


def _valid_ip(ip: str | None) -> str | None:
    """``ip`` if it is an address (the column's type on PostgreSQL), else None: a proxy or a
    socket may hand over something else in REMOTE_ADDR, and that must not fail a sign-in."""
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


def _count(kind: str, key: str, *, limit: int, minutes: int, now, ip, user=None) -> LoginThrottle | None:
    """Add a failure to ``key``'s count; return the row if this failure locked it."""
    window = datetime.timedelta(minutes=minutes)
    with transaction.atomic():
        row, _created = LoginThrottle.objects.select_for_update().get_or_create(kind=kind, key=key)
        if row.is_locked(now):
            return None  # tries during a lock neither extend it nor count towards the next
        if row.first_failure_at is None or row.first_failure_at <= now - window or row.locked_until:
            row.failures, row.first_failure_at, row.locked_until = 0, now, None
        row.failures += 1
        row.last_failure_at, row.last_ip = now, _valid_ip(ip)
        if user is not None:
            row.user = user
        locked = row.failures >= limit
        if locked:
            row.locked_until = now + window
        row.save()
    return row if locked else None


def note_failure(username: str | None, ip: str | None, *, reason: str = "password") -> Lock | None:
    """Record a failed sign-in as ``username`` from ``ip`` (and audit it); return a new lock."""
    now = timezone.now()
    username = (username or "")[:150]
    user = _user(username)
    current = lock_for(username, ip, now)
    subject = user or _throttle_row(username, ip)
    audit.record(
        actor=None,
        verb="auth.login_failed",
        subject=subject,
        region=_region(user),
        ip=ip,
        outcome="refused",
        username=username,
        reason="locked" if current else reason,
    )
    if current:
        return None
    new_lock = None
    if ip:
        limit, minutes = _ip_limits()
        row = _count(Kind.IP, ip, limit=limit, minutes=minutes, now=now, ip=ip)
        if row is not None:
            new_lock = Lock(Kind.IP, ip, row.locked_until)
            _audit_lock(row, subject, ip)
    if username:
        limit, minutes = _username_limits(user)
        row = _count(Kind.USERNAME, username, limit=limit, minutes=minutes, now=now, ip=ip, user=user)
        if row is not None:
            new_lock = Lock(Kind.USERNAME, username, row.locked_until)
            _audit_lock(row, subject, ip)
    if new_lock is not None:
        purge_stale(now)
    return new_lock


STALE_AFTER = datetime.timedelta(days=1)


def purge_stale(now=None) -> int:
    """Delete the counts that ended over a day ago (run at each new lock, so that a spray of
    unknown usernames does not grow the table for ever); their audit rows stay."""
    now = now or timezone.now()
    stale = LoginThrottle.objects.filter(last_failure_at__lt=now - STALE_AFTER).exclude(locked_until__gt=now)
    return stale.delete()[0]


def _throttle_row(username: str, ip: str | None) -> LoginThrottle:
    """What the audit row of a failure names when the username has no account: its count."""
    if username:
        return LoginThrottle.objects.get_or_create(kind=Kind.USERNAME, key=username)[0]
    return LoginThrottle.objects.get_or_create(kind=Kind.IP, key=ip or "-")[0]


def _region(user):
    """Where a sign-in row is read in the audit log: the user's own region (their office sees
    it); None for a username with no account (superusers only)."""
    return audit.region_of(user, user) if user is not None else None


def _audit_lock(row: LoginThrottle, subject, ip) -> None:
    audit.record(
        actor=None,
        verb="auth.locked",
        subject=row.user or (subject if row.kind == Kind.USERNAME else row),
        region=_region(row.user),
        ip=ip,
        kind=row.kind,
        key=row.key,
        failures=row.failures,
        until=row.locked_until.isoformat(),
    )


def note_success(user, ip: str | None) -> None:
    """A sign-in succeeded: its username's count starts again; audit it."""
    LoginThrottle.objects.filter(kind=Kind.USERNAME, key=user.get_username()).delete()
    audit.record(actor=user, verb="auth.login", subject=user, region=_region(user), ip=ip)


def unlock(rows, *, actor, ip: str | None = None) -> int:
    """Lift the locks of ``rows`` (LoginThrottle) now, and audit each; return how many were locked."""
    now = timezone.now()
    count = 0
    for row in rows:
        was_locked = row.is_locked(now)
        LoginThrottle.objects.filter(pk=row.pk).update(failures=0, first_failure_at=None, locked_until=None)
        if was_locked:
            count += 1
            audit.record(
                actor=actor,
                verb="auth.unlocked",
                subject=row.user or row,
                region=_region(row.user),
                ip=ip,
                kind=row.kind,
                key=row.key,
            )
    return count


def refusal_message(lock: Lock) -> str:
    until = date_format(timezone.localtime(lock.until), "DATETIME_FORMAT")
    if lock.kind == Kind.IP:
        return _(
            "Too many failed sign-ins from your network address: signing in from it is refused "
            "until %(until)s. If this is a mistake, ask the county liaison office or the system "
            "administrator."
        ) % {"until": until}
    return _(
        "This account is locked after too many wrong passwords, until %(until)s. The county "
        "liaison office or the system administrator can unlock it sooner."
    ) % {"until": until}


class LockoutBackend(ModelBackend):
    """Django's username-and-password backend, refusing a locked username or IP outright."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is not None and lock_for(username, client_ip(request) if request else None):
            # PermissionDenied stops authenticate() here (no other backend is asked) and sends
            # user_login_failed, which audits the try without counting it.
            raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)


class LoginForm(AuthenticationForm):
    """The login form, which says so when the account or the address is locked."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": "",  # the text is refusal_message()
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        ip = client_ip(self.request) if self.request else None
        if username and self.cleaned_data.get("password"):
            lock = lock_for(username, ip)
            if lock is None:
                try:
                    return super().clean()
                except forms.ValidationError:
                    lock = lock_for(username, ip)  # did this very failure lock it?
                    if lock is None:
                        raise
            else:
                note_failure(username, ip, reason="locked")
            raise forms.ValidationError(refusal_message(lock), code="locked")
        return super().clean()


@receiver(user_login_failed, dispatch_uid="liaison.lockout.failed")
def _on_failure(sender, credentials, request=None, **kwargs):
    note_failure(credentials.get("username"), client_ip(request) if request else None)


@receiver(user_logged_in, dispatch_uid="liaison.lockout.logged_in")
def _on_login(sender, request, user, **kwargs):
    note_success(user, client_ip(request) if request is not None else None)

"""How a notification leaves the building: email through Django's mail, SMS through a provider.

Each send carries an idempotency key that stays the same across attempts (the SMS provider's
request id, the email's Message-ID), so a repeat after a lost answer is recognisable as one.
Failures raise ``ChannelError`` with a reason worth showing staff; ``permanent`` ones (a bad
address, a request the provider refuses as malformed) are not worth retrying.
"""

from __future__ import annotations

import contextlib
import json
import logging
import smtplib
import urllib.error
import urllib.request
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email

from liaison.validators import MOBILE_RE, normalize_phone

log = logging.getLogger(__name__)

# Seconds to wait for the SMS provider. A delivery's row stays locked while it is sent, so
# this also bounds how long a second worker may wait for the same delivery.
SMS_HTTP_TIMEOUT = 10


class ChannelError(Exception):
    """A send failed; ``str(error)`` says why."""

    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.permanent = permanent


@contextlib.contextmanager
def mail_connection():
    """One connection to the mail server for a batch of ``send_email`` calls, opened on the
    first send (a batch of SMS only opens none) and closed at the end."""
    connection = get_connection(fail_silently=False)
    try:
        yield connection
    finally:
        try:
            connection.close()
        except (smtplib.SMTPException, OSError):
            log.warning("the mail connection did not close cleanly", exc_info=True)


def send_email(*, address: str, subject: str, body: str, key: str, connection=None) -> None:
    """Send one email with a Message-ID derived from ``key`` (over ``connection`` if given)."""
    try:
        validate_email(address)
    except ValidationError:
        raise ChannelError(f"invalid email address: {address!r}", permanent=True) from None
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage(
        subject=" ".join(subject.split()),  # a header: no line breaks
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers={"Message-ID": f"<{key}@{domain}>"},
        connection=connection,
    )
    try:
        if connection is not None:
            # Opened once and kept open for the batch (send_messages closes only what it opened).
            connection.open()
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise ChannelError(f"the mail server refused {address}: {exc.recipients}", permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        if connection is not None:
            _reset(connection)  # the next send of the batch opens a fresh one
        raise ChannelError(f"mail server error: {exc}") from exc


def _reset(connection) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        connection.close()
    if hasattr(connection, "connection"):
        connection.connection = None


def send_sms(*, address: str, text: str, key: str) -> None:
    """Send one SMS to a mainland mobile number through the configured backend."""
    try:
        phone = normalize_phone(address)
    except ValidationError:
        phone = ""
    if not MOBILE_RE.match(phone):
        raise ChannelError(f"not a mobile number: {address!r}", permanent=True)
    get_sms_backend().send(phone=phone, text=text, request_id=key)


class ConsoleSmsBackend:
    """Write each message to the log (development, demos)."""

    def send(self, *, phone: str, text: str, request_id: str) -> None:
        log.info("SMS to %s [%s] %s: %s", phone, request_id, settings.SMS_SIGN_NAME, text)


class HttpSmsBackend:
    """POST each message as JSON to the provider adapter at ``SMS_HTTP_URL``.

    The request is ``{"phone", "sign", "text", "request_id"}`` with ``Authorization: Bearer
    SMS_HTTP_TOKEN``; the provider drops a repeated ``request_id``. A non-2xx answer or
    ``{"ok": false, "error": "..."}`` is a failure with the provider's error text.
    """

    def __init__(self, url: str, token: str, sign: str, timeout: float = SMS_HTTP_TIMEOUT):
        if not url.startswith(("http://", "https://")):
            raise ChannelError(f"SMS_HTTP_URL must be an http(s) URL, not {url!r}")
        self.url, self.token, self.sign, self.timeout = url, token, sign, timeout

    def send(self, *, phone: str, text: str, request_id: str) -> None:
        body = {"phone": phone, "sign": self.sign, "text": text, "request_id": request_id}
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = response.read()
        except urllib.error.HTTPError as exc:
            # 4xx means the provider will never take this request as it is, except for
            # "too many requests" and "timeout", which may pass later.
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise ChannelError(
                f"SMS provider answered HTTP {exc.code}: {_error_text(exc.read()) or exc.reason}",
                permanent=permanent,
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ChannelError(f"SMS provider unreachable: {reason}") from exc
        try:
            payload = json.loads(answer) if answer.strip() else {}
        except ValueError:
            payload = {}
        if isinstance(payload, dict) and payload.get("ok") is False:
            raise ChannelError(f"SMS provider error: {payload.get('error') or 'no reason given'}")


def _error_text(raw: bytes) -> str:
    try:
        payload = json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace").strip()[:500]
    if isinstance(payload, dict) and payload.get("error"):
        return str(payload["error"])
    return json.dumps(payload, ensure_ascii=False)[:500]


def get_sms_backend() -> ConsoleSmsBackend | HttpSmsBackend:
    """Return the backend that ``settings.SMS_BACKEND`` names, read at call time."""
    if settings.SMS_BACKEND == "http":
        return HttpSmsBackend(settings.SMS_HTTP_URL, settings.SMS_HTTP_TOKEN, settings.SMS_SIGN_NAME)
    return ConsoleSmsBackend()

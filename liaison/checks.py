"""System checks of the configuration that Django's own checks do not know about.

``liaison.E001``/``E002``: with DEBUG off, the console email or SMS backend only writes messages
to the log, while the deliveries are recorded as sent. That stops start-up (``manage.py check``,
``migrate``, ``runserver``, and the WSGI application and the Celery worker, which run these
checks when they load) unless ``LIAISON_ALLOW_CONSOLE_MESSAGES`` says it is meant (a demo).
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.management.base import SystemCheckError

TAG = "liaison_messages"
CONSOLE_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


@checks.register(TAG)
def console_messages(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.DEBUG or getattr(settings, "LIAISON_ALLOW_CONSOLE_MESSAGES", False):
        return []
    errors = []
    if settings.EMAIL_BACKEND in CONSOLE_EMAIL_BACKENDS:
        errors.append(
            checks.Error(
                f"EMAIL_BACKEND is {settings.EMAIL_BACKEND} with DEBUG off: notification emails would "
                "only be written to the log, and recorded as sent.",
                hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST, or "
                "LIAISON_ALLOW_CONSOLE_MESSAGES=1 on a demo deployment that sends nothing.",
                id="liaison.E001",
            )
        )
    if settings.SMS_BACKEND == "console":
        errors.append(
            checks.Error(
                "SMS_BACKEND is console with DEBUG off: text messages would only be written to the log, "
                "and recorded as sent.",
                hint="Set SMS_BACKEND=http with SMS_HTTP_URL and SMS_HTTP_TOKEN, or "
                "LIAISON_ALLOW_CONSOLE_MESSAGES=1 on a demo deployment that sends nothing.",
                id="liaison.E002",
            )
        )
    return errors


def refuse_to_start_on_errors() -> None:
    """Raise ``SystemCheckError`` listing the errors of these checks (gunicorn and the worker
    run no system checks of their own)."""
    errors = [e for e in checks.run_checks(tags=[TAG]) if e.is_serious()]
    if errors:
        raise SystemCheckError("\n".join(str(error) for error in errors))

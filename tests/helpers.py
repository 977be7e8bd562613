"""Run the project in a subprocess with a chosen environment: settings are read at import."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_VARS = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "DEBUG",
    "ALLOWED_HOSTS",
    "LANGUAGE_CODE",
    "HTTPS",
    "SMS_BACKEND",
    "SMS_HTTP_URL",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests for their own process only
    "EMAIL_PORT",
    "CSRF_TRUSTED_ORIGINS",
    "EMAIL_BACKEND",
    "SMS_HTTP_TOKEN",
    "LIAISON_ALLOW_CONSOLE_MESSAGES",
    "TRUSTED_PROXIES",
    "HEALTHZ_TOKEN",
}


def project_env(**overrides: str) -> dict[str, str]:
    """The current environment without any project variable, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env["DJANGO_SETTINGS_MODULE"] = "liaison.settings"
    env.update(overrides)
    return env


def run_python(code: str, *, timeout: int = 60, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=project_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_manage(*args: str, timeout: int = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=project_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def reload(obj):
    """The row of ``obj`` as a new request would load it: a new instance, fresh from the database.

    Unlike ``refresh_from_db()``, nothing cached on the old instance survives (relations,
    ``cached_property`` values). A ticket comes with what its ``parties()`` reads, as the views load it.
    """
    from proposals.models import Ticket

    queryset = type(obj)._default_manager.all()
    if isinstance(obj, Ticket):
        queryset = queryset.select_related("township", "representative", "lead_unit").prefetch_related(
            "assignments__unit"
        )
    return queryset.get(pk=obj.pk)


def refusal(error) -> dict[str, list[str]] | list[str]:
    """What a ``ValidationError`` said, read in English: ``{field: [messages]}``, or ``[messages]``
    when it names no field. Raise it under ``translation.override("en")`` too: a message may be
    translated when it is raised, or only when it is read."""
    from django.utils import translation

    with translation.override("en"):
        return error.message_dict if hasattr(error, "error_dict") else error.messages

"""Run the project in a subprocess with a chosen environment: settings are read at import."""

import contextlib
import os
import subprocess
import sys
import time
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


@contextlib.contextmanager
def celery_worker(tmp_path: Path, *, name: str, pool: str = "solo", **env: str):
    """A real `celery worker` process on the test Redis and the test database (the caller's test
    is transactional: the worker sees committed data only), with ``env`` added to its settings.
    The queue is purged first (tasks earlier tests left behind would run against this test's
    data); the worker's log is at ``proc.log_path`` and shown if it does not come up in 30 s."""
    import pytest
    from django.db import connection

    from liaison.celery import app

    db = connection.settings_dict
    worker_env = project_env(
        DEBUG="1",
        REDIS_URL=os.environ["REDIS_URL"],
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        LIAISON_VAR_DIR=str(tmp_path),
        **env,
    )
    app.control.purge()
    pool_args = ["--pool=solo"] if pool == "solo" else [f"--pool={pool}", "--concurrency=1"]
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "liaison", "worker", *pool_args, "--loglevel=INFO",
             "-n", f"{name}-{os.getpid()}@%h"],
            cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        proc.log_path = log_path  # type: ignore[attr-defined]
        try:
            deadline = time.monotonic() + 30
            while not app.control.ping(timeout=0.5):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the Celery worker did not come up:\n" + log_path.read_text())
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def explain(sql: str) -> str:
    """PostgreSQL's plan of ``sql`` with sequential scans priced out, so that a test sees which
    index the query can use whatever the few rows of a test make the planner prefer."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())

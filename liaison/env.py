"""Read configuration from environment variables, failing loudly and by name.

Every setting that differs between a laptop and production comes through here, so
that a bad value stops start-up with a message naming the variable instead of a
traceback deep inside a database driver an hour later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class Env:
    """A typed view over a mapping of environment variables (``os.environ`` by default)."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self.environ = os.environ if environ is None else environ

    def str(self, name: str, default: str | None = None) -> str | None:
        """Return ``name``, or the contents of the file named by ``name_FILE``, or ``default``."""
        if name in self.environ:
            return self.environ[name]
        path = self.environ.get(f"{name}_FILE")
        if path:
            try:
                return Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from exc
        return default

    def bool(self, name: str, default: bool = False) -> bool:
        raw = self.str(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in TRUE:
            return True
        if value in FALSE:
            return False
        raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")

    def int(self, name: str, default: int) -> int:
        raw = self.str(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None

    def list(self, name: str, default: list[str] | None = None) -> list[str]:
        raw = self.str(name)
        if raw is None:
            return list(default or [])
        return [item.strip() for item in raw.split(",") if item.strip()]

    def choice(self, name: str, choices: list[str], default: str) -> str:
        raw = self.str(name, default)
        if raw not in choices:
            raise ImproperlyConfigured(f"{name}={raw!r} is not one of: {', '.join(choices)}.")
        return raw

    def database(self, name: str, default: str, *, conn_max_age: int = 0) -> dict:
        """Parse a database URL (postgres://… or sqlite:///…) into a Django DATABASES entry."""
        import dj_database_url

        url = self.str(name) or default
        scheme = urlsplit(url).scheme
        if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
            raise ImproperlyConfigured(
                f"{name}={_redact(url)!r} is not a PostgreSQL or SQLite URL "
                "(expected postgres://user:password@host:port/name or sqlite:///path)."
            )
        try:
            config = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
        except (ValueError, KeyError) as exc:
            raise ImproperlyConfigured(f"{name}={_redact(url)!r} is malformed: {exc}") from exc
        if config["ENGINE"].endswith("postgresql") and not config.get("NAME"):
            raise ImproperlyConfigured(f"{name}={_redact(url)!r} names no database.")
        if config["ENGINE"].endswith("sqlite3"):
            # Web, worker and beat share one file on a laptop. SQLite has one writer: take the
            # write lock when a transaction starts (a read upgraded to a write fails at once
            # instead of waiting) and wait up to 20 s for it rather than failing.
            config.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
        return config

    def redis_url(self, name: str) -> str | None:
        url = self.str(name)
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
            raise ImproperlyConfigured(
                f"{name}={_redact(url)!r} is not a Redis URL (expected redis://host:port/db)."
            )
        try:
            parts.port  # noqa: B018 - a bad port raises ValueError here
        except ValueError:
            raise ImproperlyConfigured(f"{name}={_redact(url)!r} has an invalid port.") from None
        return url


def _redact(url: str) -> str:
    """Hide the password of a URL so that it never lands in a log or on a screen."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url

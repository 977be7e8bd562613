"""Root pytest configuration: insist on the real services, and say which ones ran."""

import os
from urllib.parse import urlsplit

import pytest

LITE = os.environ.get("LIAISON_TEST_LITE") == "1"


def _service_versions() -> tuple[str, str]:
    """Return the PostgreSQL and Redis versions, connecting to each directly."""
    import psycopg2
    import redis

    db_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if urlsplit(db_url).scheme not in {"postgres", "postgresql"} or not redis_url:
        raise RuntimeError(
            "the suite needs a real PostgreSQL and Redis: run it with `make test`, which starts "
            "both (or set DATABASE_URL=postgres://… and REDIS_URL=redis://…; "
            "`make test-lite` runs on SQLite)."
        )
    parts = urlsplit(db_url)
    try:
        with (
            psycopg2.connect(
                host=parts.hostname,
                port=parts.port,
                user=parts.username,
                password=parts.password,
                dbname="postgres",
                connect_timeout=5,
            ) as conn,
            conn.cursor() as cursor,
        ):
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
    except psycopg2.Error as exc:
        raise RuntimeError(f"PostgreSQL at {parts.hostname}:{parts.port} is not reachable: {exc}") from exc
    try:
        redis_version = redis.Redis.from_url(redis_url, socket_connect_timeout=5).info("server")[
            "redis_version"
        ]
    except redis.RedisError as exc:
        raise RuntimeError(f"Redis at {redis_url} is not reachable: {exc}") from exc
    return pg_version, redis_version


def pytest_configure(config):
    if LITE:
        config._liaison_services = "database: SQLite (test-lite), Redis: none (test-lite)"
        return
    try:
        pg, rd = _service_versions()
    except RuntimeError as exc:
        pytest.exit(f"ERROR: {exc}", returncode=3)
    config._liaison_services = f"database: PostgreSQL {pg}, Redis {rd}"


def pytest_report_header(config):
    return config._liaison_services


def pytest_terminal_summary(terminalreporter, config):
    terminalreporter.write_line(f"ran on {config._liaison_services}")


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end any session that still holds it.

    The live server's request threads and Playwright's event loop (during which Django keeps
    connections per context, not per thread) can leave an idle connection behind that no
    test owns; PostgreSQL then refuses to drop the database. Requesting django_db_setup
    makes this teardown run first.
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

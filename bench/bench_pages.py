"""The staff pages, the admin's ticket list and the public results over 1,000,000 tickets, served by
gunicorn (2 sync workers, DEBUG=0), against ``/healthz`` in the same run.

The province of ``bench_sweep`` (its own loader: 100 counties, 1,500 townships, 1,000,000 tickets,
60 % closed), loaded into a database of its own (``<name>_pages``, dropped at the end) and committed,
so that gunicorn's workers see it; then the tickets get spread registration times (over a year) and
one closed ticket in ten is of general concern (published: 60,000 results).

Measured, in alternating rounds (one request of each page per round), from one client:
``/healthz`` (the baseline), ``/tickets/`` and ``/admin/proposals/ticket/`` as one liaison office
(10,000 tickets of its county) and as a superuser (all of them), and ``/results/`` anonymous (the
first request of a round reads the database, the others the cache; its first, uncached, time is
reported too). p50 and p95 in milliseconds and p95 as a multiple of ``/healthz``'s p95.

Then each page once more in-process (Django's test client on the same database): its queries, and
the slowest of them, timed by running it again on its own (``/results/`` uncached).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_PAGES_ROUNDS", "30"))
GOALS = {"tickets": 5, "admin": 5, "results": 3}
PAGES = [
    ("healthz", "/healthz", None),
    ("tickets office", "/tickets/", "office"),
    ("tickets superuser", "/tickets/", "superuser"),
    ("admin office", "/admin/proposals/ticket/", "office"),
    ("admin superuser", "/admin/proposals/ticket/", "superuser"),
    ("results anonymous", "/results/", None),
]


def run(report) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        report("bench_pages needs PostgreSQL (make bench): skipped")
        return
    import psycopg2

    settings = connection.settings_dict
    name = f"{settings['NAME']}_pages"
    params = {k: settings[k] for k in ("HOST", "PORT", "USER", "PASSWORD")}

    def admin_sql(sql: str) -> None:
        conn = psycopg2.connect(
            host=params["HOST"], port=params["PORT"], user=params["USER"], password=params["PASSWORD"],
            dbname="postgres",
        )  # fmt: skip
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(sql)
        conn.close()

    admin_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin_sql(f'CREATE DATABASE "{name}"')
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{params['USER']}{password}@{params['HOST']}:{params['PORT']}/{name}",
        "DJANGO_SETTINGS_MODULE": "liaison.settings",
        "DEBUG": "0",
        "HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LIAISON_ALLOW_CONSOLE_MESSAGES": "1",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-pages-throwaway-key-" + "x" * 40,
        "PYTHONPATH": str(ROOT),
    }
    try:
        inner = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--inner"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert inner.stdout is not None
        for line in inner.stdout:
            if line.startswith("REPORT "):
                report(line[len("REPORT ") :].rstrip("\n"))
        if inner.wait() != 0:
            report(f"bench_pages: the inner run failed ({inner.returncode})")
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}"')


def say(line: str) -> None:
    print(f"REPORT {line}", flush=True)


# --- inside the bench's own database ------------------------------------------------------------


def _inner() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench import bench_sweep

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # DEBUG=0 serves the hashed names
    # A smaller province for a try-out of the bench itself (the figures are for the default).
    bench_sweep.TICKETS = int(os.environ.get("BENCH_PAGES_TICKETS", bench_sweep.TICKETS))
    started = time.perf_counter()
    with transaction.atomic():
        bench_sweep._load()
    with connection.cursor() as cursor:
        # Spread registration over the year before the sweep's "now", and publish one closed
        # ticket in ten (the loader makes none of general concern).
        cursor.execute(
            """UPDATE proposals_ticket SET
                 created_at = %s - (abs(hashint4(id::int)) %% (365 * 86400)) * interval '1 second',
                 is_public_interest = (status = 'closed' AND id %% 10 = 0)""",
            [bench_sweep.NOW],
        )
    connection.close()
    _vacuum()
    loaded = time.perf_counter() - started
    say(f"{bench_sweep.TICKETS:,} tickets loaded, spread and analysed in {loaded:.0f} s")
    sessions = _sessions()
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "liaison.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=os.environ.copy(),
    )  # fmt: skip
    try:
        _wait(port)
        _measure_http(port, sessions)
    finally:
        server.terminate()
        server.wait(timeout=30)
    _measure_queries()


def _vacuum() -> None:
    from django.db import connection

    connection.ensure_connection()
    connection.connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()


def _users():
    from liaison.models import User
    from liaison.roles import Role

    office = User.objects.filter(roles__role=Role.LIAISON_OFFICE).order_by("pk").first()
    superuser = User.objects.create_superuser("bench_root", "root@example.com", "!", name="基准管理员")
    return {"office": office, "superuser": superuser}


def _client(user):
    """A test client signed in as ``user``, its second factor confirmed in the session."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _sessions() -> dict[str, str]:
    from django.conf import settings

    return {who: _client(user).cookies[settings.SESSION_COOKIE_NAME].value for who, user in _users().items()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()  # noqa: S310
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer")


def _get(port: int, path: str, session: str | None) -> tuple[float, int]:
    from django.conf import settings

    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")  # noqa: S310
    if session:
        request.add_header("Cookie", f"{settings.SESSION_COOKIE_NAME}={session}")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return time.perf_counter() - started, status


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _measure_http(port: int, sessions: dict[str, str]) -> None:
    times: dict[str, list[float]] = {label: [] for label, _path, _who in PAGES}
    statuses: dict[str, set[int]] = {label: set() for label, _path, _who in PAGES}
    first_results, _status = _get(port, "/results/", None)
    for _label, path, who in PAGES:  # warm both workers up
        for _ in range(2):
            _get(port, path, sessions.get(who) if who else None)
    for _ in range(ROUNDS):
        for label, path, who in PAGES:
            seconds, status = _get(port, path, sessions.get(who) if who else None)
            times[label].append(seconds)
            statuses[label].add(status)
    base = _p(times["healthz"], 0.95)
    say(f"gunicorn 2 sync workers, DEBUG=0, {ROUNDS} alternating rounds, one client")
    say("| page | status | p50 ms | p95 ms | p95 / healthz p95 | goal | met |")
    say("|---|---|---|---|---|---|---|")
    for label, _path, _who in PAGES:
        p50, p95 = 1000 * _p(times[label], 0.5), 1000 * _p(times[label], 0.95)
        kind = label.split()[0]
        goal = GOALS.get(kind)
        ratio = p95 / (1000 * base)
        met = "" if goal is None else ("met" if ratio <= goal else "NOT met")
        say(
            f"| {label} | {','.join(map(str, sorted(statuses[label])))} | {p50:.1f} | {p95:.1f} | "
            f"{ratio:.1f}x | {f'<= {goal}x' if goal else 'baseline'} | {met} |"
        )
    say(f"/results/ first request (nothing cached): {1000 * first_results:.0f} ms")


def _measure_queries() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from liaison.models import User
    from liaison.roles import Role
    from proposals import results_cache

    office = User.objects.filter(roles__role=Role.LIAISON_OFFICE).order_by("pk").first()
    clients = {"office": _client(office), "superuser": _client(User.objects.get(username="bench_root"))}
    say("| page (in-process) | queries | slowest query ms | slowest query |")
    say("|---|---|---|---|")
    for label, path, who in PAGES[1:]:
        from django.test import Client

        client = clients[who] if who else Client(HTTP_HOST="127.0.0.1")
        results_cache.bump_now()
        client.get(path)  # warm up what is loaded once per process
        results_cache.bump_now()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        slowest, slowest_sql = 0.0, ""
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute(sql)
                cursor.fetchall()
                seconds = time.perf_counter() - started
            if seconds > slowest:
                slowest, slowest_sql = seconds, sql
        short = " ".join(slowest_sql.split())[:160].replace("|", "\\|")
        say(
            f"| {label} ({response.status_code}) | {len(captured.captured_queries)} | "
            f"{1000 * slowest:.1f} | `{short}…` |"
        )


if __name__ == "__main__" and sys.argv[1:] == ["--inner"]:
    sys.path.insert(0, str(ROOT))
    try:
        _inner()
    except Exception as exc:
        print(json.dumps({"error": repr(exc)}), file=sys.stderr)
        raise

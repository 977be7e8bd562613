"""The migrations of the ticket table at 1,000,000 tickets: how long each takes, and how long a
write to a ticket waits while it runs (what an upgrade costs the people using the site).

bench_sweep's province (1,000,000 tickets) is loaded and committed; ``proposals`` is migrated back
to ``FROM`` (before the figures each ticket keeps, 0015-0016) and then forward one migration at a
time. While each runs, a second connection updates one ticket every 50 ms (autocommit, like a
user's move) and the longest wait is kept. Baseline, in the same run: one ``SELECT count(*)`` of
the ticket table (a full read). At the end every loaded row is removed again (TRUNCATE), so the
next benchmark starts from an empty database.

Measured 2026-12-05 on PostgreSQL 15 (2 cores shared with other work): load 73 s; the scan 170 ms.
0015 (nine kept-figure columns with constant defaults) 1.84 s, a ticket write waited at most 1.57 s:
the columns themselves are metadata only, but each PositiveSmallIntegerField brings a CHECK (>= 0)
that PostgreSQL validates by reading the whole table under the ALTER's lock. 0016 (the backfill,
5,000 tickets a transaction) 71 s, writes waited at most 297 ms. 0017 (new tables) 0.32 s, 7 ms.
A second run with 0018 (three indexes, built without CONCURRENTLY): 0015 3.1 s / 2.3 s, 0016 54 s /
0.37 s, 0017 0.56 s / 20 ms, 0018 2.1 s / 1.8 s (time / longest write wait).
A future migration that adds a checked column to a big table should add the constraint NOT VALID
and validate it in a second step (validation takes no write lock).
"""

from __future__ import annotations

import threading
import time

from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader

FROM = "0014_ticket_adoption"


class WriteProbe:
    """Updates one ticket every 50 ms on its own connection; keeps the longest wait."""

    def __init__(self, ticket_id: int):
        import psycopg2

        db = connection.settings_dict
        self.conn = psycopg2.connect(
            dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"]
        )
        self.conn.autocommit = True
        self.ticket_id = ticket_id
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.conn.cursor() as cursor:
            while not self._stop.is_set():
                started = time.perf_counter()
                cursor.execute("UPDATE proposals_ticket SET title = title WHERE id = %s", [self.ticket_id])
                self.longest = max(self.longest, time.perf_counter() - started)
                self._stop.wait(0.05)

    def __enter__(self) -> WriteProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.conn.close()


def run(report) -> None:
    if connection.vendor != "postgresql":
        report("bench_migrations needs PostgreSQL (make bench): skipped")
        return
    from bench import bench_sweep

    started = time.perf_counter()
    with transaction.atomic():
        bench_sweep._load()
    report(f"{bench_sweep.TICKETS:,} tickets loaded and committed in {time.perf_counter() - started:.1f} s")
    try:
        _measure(report)
    finally:
        call_command("migrate", verbosity=0)  # what the backward step took from other apps too
        tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
        with connection.cursor() as cursor:
            quoted = ", ".join(connection.ops.quote_name(t) for t in tables)
            cursor.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
        report("loaded rows removed (TRUNCATE)")


def _forward_from(start: str) -> list[str]:
    """The proposals migrations after ``start``, in order."""
    graph = MigrationLoader(connection).graph
    (leaf,) = graph.leaf_nodes("proposals")
    plan = [key[1] for key in graph.forwards_plan(leaf) if key[0] == "proposals"]
    return plan[plan.index(start) + 1 :]


def _measure(report) -> None:
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("SELECT count(*) FROM proposals_ticket")
        cursor.fetchone()
        scan = time.perf_counter() - started
        cursor.execute("SELECT min(id) FROM proposals_ticket")
        ticket_id = cursor.fetchone()[0]
    report(f"baseline: SELECT count(*) of the ticket table {scan * 1e3:.0f} ms")

    forward = _forward_from(FROM)
    started = time.perf_counter()
    call_command("migrate", "proposals", FROM, verbosity=0)
    report(f"proposals migrated back to {FROM} in {time.perf_counter() - started:.1f} s")
    for migration in forward:
        with WriteProbe(ticket_id) as probe:
            started = time.perf_counter()
            call_command("migrate", "proposals", migration, verbosity=0)
            took = time.perf_counter() - started
        report(
            f"  {migration}: {took:.2f} s ({took / scan:.1f}x the scan); longest wait of a ticket write "
            f"meanwhile {probe.longest * 1e3:.0f} ms"
        )

"""Sweep the ticket deadlines of a province: 1,000,000 tickets, every rule owed at once.

A province of 100 counties with 15 townships each (1,500 townships), 20 county bureaus per
county and 3 offices per township (6,500 units), one staff login per unit, two per township
and per county office, one representative login per township. A million tickets spread over
them (per mille): 25 due within a day, 25 within three, 30 overdue (by hours, two days, five
days), 5 with the feedback window ended, 5 past the grace (to be concluded), 310 in handling
on time, 600 closed; co-unit opinions overdue on ~800 tickets, 1,000 matters not handed in.
All loaded with INSERT ... SELECT over generate_series, in one transaction rolled back at the end.

Measured: ``proposals.reminders.ticket_reminders_send_due`` at 10:00 on the 1st of a month,
so that every rule runs (digest, bulletin). First sweep: everything owed at once, the worst
case (the beat runs it every five minutes, when little is new). Second sweep: nothing new.

End to end (the sweep and sending every delivery it caused), at N = 2,000 and 10,000 overdue
tickets with nothing else owed (the other owed tickets are moved out of every rule's reach in a
savepoint, rolled back after): the sweep, then its deliveries sent through Django's locmem email
backend and the console SMS backend (its log line silenced), (a) as before, one by one through
``notify.delivery_send`` (one message per delivery; still the admin's resend), timed on the
first OLD_PATH_SAMPLE deliveries and scaled to all of them when there are more, and (b) as now,
``notify.deliveries_send_now`` claiming and sending in batches (one message per person and
channel, one mail connection and one status UPDATE per batch).

Against django-helpdesk 2.6.1's ``escalate_tickets`` at the same N (issue 14: Liaison end to end
≥ 10× faster), in the same run, before the province is loaded: ``helpdesk_escalate.py`` in
helpdesk's own virtualenv (installed once by ``helpdesk_venv``), on the same PostgreSQL server
(a database of its own, made and dropped by the script): N tickets due for escalation, the
command timed as a whole with the e-mails it sends through the locmem backend (three per
ticket: the submitter, the queue's CC, the owner). Compared in wall time (each side's Python and
its database's work) and in the CPU of its own process. ``BENCH_SWEEP_HELPDESK=0`` skips it.

Baselines, in the same run: for the first sweep, a bare INSERT ... SELECT of exactly as many
reminder, notification and delivery rows (the writes no sweep can avoid, without deciding who
is owed what); for the second, one ``SELECT count(*)`` of the tickets the rules read (open
tickets a unit holds or awaiting feedback): the read no sweep can avoid.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import time
import tracemalloc
from urllib.parse import quote

from django.db import connection, transaction
from django.utils import timezone

COUNTIES, TOWNSHIPS_PER_COUNTY = 100, 15
COUNTY_UNITS, TOWNSHIP_UNITS = 20, 3
TICKETS = 1_000_000
RECEPTION_MATTERS = 1_000
END_TO_END = (2_000, 10_000)
OLD_PATH_SAMPLE = 5_000
GOAL_VS_HELPDESK = 10.0
NOW = datetime.datetime(2026, 6, 1, 10, 0, tzinfo=timezone.get_default_timezone())


def run(report) -> None:
    if connection.vendor != "postgresql":
        report("bench_sweep needs PostgreSQL (make bench): skipped")
        return
    helpdesk = _helpdesk(report)
    with transaction.atomic():
        started = time.perf_counter()
        people = _load()
        report(
            f"{TICKETS:,} tickets, {COUNTIES * TOWNSHIPS_PER_COUNTY:,} townships in {COUNTIES} counties, "
            f"{people:,} staff and representative logins: loaded in {time.perf_counter() - started:.1f} s"
        )
        for n in END_TO_END:
            _end_to_end(report, n, helpdesk.get(f"escalate-{n}"))
        _measure(report)
        transaction.set_rollback(True)


# --- loading -------------------------------------------------------------------------------------


def _load() -> int:
    from liaison.models import HandlingUnit, Region, RoleAssignment, User
    from liaison.roles import Role
    from proposals.models import Category
    from reps.models import Representative

    counties = Region.objects.bulk_create(
        Region(name=f"基准县{c}", level=Region.Level.COUNTY, path="") for c in range(COUNTIES)
    )
    for county in counties:
        county.path = f"/{county.pk}/"
    Region.objects.bulk_update(counties, ["path"])
    townships = Region.objects.bulk_create(
        Region(name=f"基准镇{t}", level=Region.Level.TOWNSHIP, parent=county, path="")
        for county in counties
        for t in range(TOWNSHIPS_PER_COUNTY)
    )
    for township in townships:
        township.path = f"{township.parent.path}{township.pk}/"
    Region.objects.bulk_update(townships, ["path"], batch_size=2000)
    county_units = HandlingUnit.objects.bulk_create(
        HandlingUnit(name=f"县局{u}", region=county) for county in counties for u in range(COUNTY_UNITS)
    )
    township_units = HandlingUnit.objects.bulk_create(
        HandlingUnit(name=f"镇办{u}", region=township)
        for township in townships
        for u in range(TOWNSHIP_UNITS)
    )

    roles: list[tuple[str, Region | None, HandlingUnit | None]] = [
        *((Role.HANDLING_UNIT, unit.region, unit) for unit in county_units + township_units),
        *((Role.TOWNSHIP_STAFF, township, None) for township in townships for _ in range(2)),
        *((Role.LIAISON_OFFICE, county, None) for county in counties for _ in range(2)),
        *((Role.REPRESENTATIVE, township, None) for township in townships),
    ]
    users = User.objects.bulk_create(
        (
            User(
                username=f"bench{i}",
                password="!",  # noqa: S106 - an unusable password: nobody signs in
                name=f"基准{i}",
                email=f"b{i}@example.com",
                phone=f"139{i:08d}",
            )
            for i in range(len(roles))
        ),
        batch_size=5000,
    )
    RoleAssignment.objects.bulk_create(
        (
            RoleAssignment(user=user, role=role, region=region, unit=unit)
            for user, (role, region, unit) in zip(users, roles, strict=True)
        ),
        batch_size=5000,
    )
    rep_users = [
        user for user, (role, *_rest) in zip(users, roles, strict=True) if role == Role.REPRESENTATIVE
    ]
    reps = Representative.objects.bulk_create(
        Representative(user=user, name=user.name, name_initials="jz", region=township)
        for user, township in zip(rep_users, townships, strict=True)
    )
    category = Category.objects.get_or_create(name="交通出行")[0]
    _insert_tickets(
        category=category.pk,
        townships=[t.pk for t in townships],
        county_units=[u.pk for u in county_units],
        township_units=[u.pk for u in township_units],
        reps=[r.pk for r in reps],
    )
    _insert_co_units_and_matters(recorder=users[0].pk)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return len(users)


def _insert_tickets(*, category: int, townships, county_units, township_units, reps) -> None:
    """One INSERT ... SELECT: ticket g has the state g % 1000 says, in a township drawn from g."""
    day, hour = datetime.timedelta(days=1), datetime.timedelta(hours=1)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO proposals_ticket (
                kind, title, content, category_id, place, source, township_id, representative_id,
                is_public_interest, tracking_code, status, resolution, assigned_by, lead_unit_id,
                round, assigned_at, due_at, extension_reason, due_year_unknown, reply, reply_summary,
                forwarded_at, feedback_due_at, closed_at, created_at, updated_at, adopted_by, external_ref)
            SELECT 'suggestion', '基准事项', '基准', %(category)s, '', 'phone', s.township, s.rep,
                false, 'B' || lpad(s.g::text, 10, '0'),
                CASE WHEN s.b < 80 OR (s.b >= 90 AND s.b < 400) THEN 'signed'
                     WHEN s.b < 90 THEN 'forwarded' ELSE 'closed' END,
                CASE WHEN s.b >= 400 THEN 'satisfied' ELSE '' END,
                CASE WHEN s.by_county THEN 'county' ELSE 'township' END,
                CASE WHEN s.by_county THEN (%(county_units)s::int[])[1 + s.county * %(cu)s + s.g %% %(cu)s]
                     ELSE (%(township_units)s::int[])[1 + s.t * %(tu)s + s.g %% %(tu)s] END,
                1, %(assigned)s,
                CASE WHEN s.b < 25 THEN %(now)s + 12 * %(hour)s
                     WHEN s.b < 50 THEN %(now)s + 60 * %(hour)s
                     WHEN s.b < 60 THEN %(now)s - 2 * %(hour)s
                     WHEN s.b < 70 THEN %(now)s - 2 * %(day)s
                     WHEN s.b < 80 THEN %(now)s - 5 * %(day)s
                     ELSE %(now)s + 8 * %(day)s END,
                '', false, '', '',
                CASE WHEN s.b >= 80 AND s.b < 90 THEN %(now)s - 10 * %(day)s END,
                CASE WHEN s.b >= 80 AND s.b < 85 THEN %(now)s - %(day)s
                     WHEN s.b >= 85 AND s.b < 90 THEN %(now)s - 4 * %(day)s END,
                CASE WHEN s.b >= 400 THEN %(now)s - 3 * %(day)s END,
                %(created)s, %(created)s, '', ''
            FROM (
                SELECT g, b, t, t / %(per_county)s AS county, g %% 3 = 0 AS by_county,
                       (%(townships)s::int[])[1 + t] AS township, (%(reps)s::int[])[1 + t] AS rep
                FROM (
                    -- The township from a hash of g, so that it does not follow the state (g %% 1000).
                    SELECT g, g %% 1000 AS b, abs(hashint4(g)) %% %(n_townships)s AS t
                    FROM generate_series(1, %(n)s) g
                ) numbered
            ) s
            """,
            {
                "category": category,
                "townships": townships,
                "county_units": county_units,
                "township_units": township_units,
                "reps": reps,
                "cu": COUNTY_UNITS,
                "tu": TOWNSHIP_UNITS,
                "n_townships": len(townships),
                "per_county": TOWNSHIPS_PER_COUNTY,
                "n": TICKETS,
                "now": NOW,
                "day": day,
                "hour": hour,
                "assigned": NOW - 10 * day,
                "created": NOW - 11 * day,
            },
        )


def _insert_co_units_and_matters(*, recorder: int) -> None:
    """Co-units late with their opinion (a county bureau, or the township's office when the
    county assigned it), and reception matters marked for a ticket that were never handed in."""
    day = datetime.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO proposals_assignment (ticket_id, unit_id, role, assigned_at, opinion_due_at, opinion)
            SELECT t.id,
                   (SELECT min(u.id) FROM liaison_handlingunit u
                    WHERE u.region_id = CASE WHEN t.assigned_by = 'county' THEN t.township_id
                                             ELSE r.parent_id END
                      AND u.id <> t.lead_unit_id),
                   'co', t.assigned_at, %(now)s - %(day)s, ''
            FROM proposals_ticket t JOIN liaison_region r ON r.id = t.township_id
            WHERE t.status = 'signed' AND t.id %% 500 = 1 AND t.tracking_code LIKE 'B%%'
            """,
            {"now": NOW, "day": day},
        )
        cursor.execute(
            """
            WITH received AS (
                INSERT INTO studios_reception (township_id, kind, starts_at, place, people_received, notes,
                                               recorded_by_id, created_at, withdrawn_reason)
                SELECT r.id, 'regular', %(then)s, '', 3, '', %(recorder)s, %(then)s, ''
                FROM liaison_region r WHERE r.level = 'township' AND r.name LIKE '基准镇%%'
                ORDER BY r.id LIMIT %(n)s
                RETURNING id, township_id
            ), present AS (
                INSERT INTO studios_reception_representatives (reception_id, representative_id)
                SELECT received.id, rep.id FROM received JOIN reps_representative rep
                  ON rep.region_id = received.township_id
            )
            INSERT INTO studios_receptionmatter (reception_id, content, answered_on_spot, answer, for_ticket)
            SELECT id, '路灯不亮', false, '', true FROM received
            """,
            {"then": NOW - 4 * day, "recorder": recorder, "n": RECEPTION_MATTERS},
        )


# --- measuring ------------------------------------------------------------------------------------


def _timed(function, *, memory: bool = True):
    """Run ``function``: (its result, seconds, queries, peak Python memory in MiB, or 0 when
    ``memory`` is off: tracing allocations slows Python code several times)."""
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    if memory:
        tracemalloc.start()
    # A counter, not CaptureQueriesContext: that keeps at most 9,000 queries.
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        result = function()
        seconds = time.perf_counter() - started
    peak = 0.0
    if memory:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result, seconds, queries, peak


def _written() -> tuple[int, int, int]:
    from liaison.models import Delivery, Notification, Reminder

    return (
        Reminder.objects.filter(created_at=NOW).count(),
        Notification.objects.filter(created_at=NOW).count(),
        Delivery.objects.filter(created_at=NOW).count(),
    )


def _measure(report) -> None:
    from proposals.reminders import ticket_reminders_send_due

    first, seconds, queries, peak = _timed(lambda: ticket_reminders_send_due(now=NOW))
    reminders, notifications, deliveries = _written()
    baseline = _bare_insert(reminders, notifications, deliveries)
    report(
        f"first sweep (everything owed): {reminders:,} reminders, {notifications:,} notifications, "
        f"{deliveries:,} deliveries, {first['concluded']:,} tickets concluded: {seconds:.2f} s in "
        f"{queries} queries, peak Python memory {peak:.1f} MiB; baseline (bare INSERT ... SELECT of "
        f"the same rows) {baseline:.2f} s; ratio {seconds / baseline:.2f}x"
    )
    report("  by rule: " + ", ".join(f"{rule} {n:,}" for rule, n in first.items()))

    later = NOW + datetime.timedelta(minutes=5)
    second, seconds, queries, peak = _timed(lambda: ticket_reminders_send_due(now=later))
    baseline = _count_open()
    report(
        f"second sweep (nothing new: {sum(second.values())} sent): {seconds:.2f} s in {queries} queries, "
        f"peak Python memory {peak:.2f} MiB; baseline (SELECT count(*) of the open tickets the rules "
        f"read) {baseline:.2f} s; ratio {seconds / baseline:.2f}x"
    )


def _only_overdue(n: int) -> None:
    """Leave exactly ``n`` overdue tickets owed anything: move every other ticket, co-unit
    opinion and matter a rule would read out of its reach."""
    later = NOW + datetime.timedelta(days=8)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_kept ON COMMIT DROP AS SELECT id FROM proposals_ticket "
            "WHERE status = 'signed' AND due_at <= %s ORDER BY id LIMIT %s",
            [NOW, n],
        )
        cursor.execute(
            "UPDATE proposals_ticket SET due_at = %s WHERE status = 'signed' AND due_at <= %s "
            "AND id NOT IN (SELECT id FROM bench_kept)",
            [later, NOW + datetime.timedelta(days=4)],
        )
        cursor.execute("UPDATE proposals_ticket SET feedback_due_at = %s WHERE status = 'forwarded'", [later])
        cursor.execute("UPDATE proposals_assignment SET opinion_due_at = %s WHERE role = 'co'", [later])
        cursor.execute("UPDATE studios_reception SET starts_at = %s", [NOW])
        cursor.execute("DROP TABLE bench_kept")
        cursor.execute("ANALYZE proposals_ticket")


def _end_to_end(report, n: int, helpdesk: list[float] | None) -> None:
    import logging

    from django.core import mail
    from django.test.utils import override_settings

    from liaison import notify
    from liaison.models import Delivery
    from proposals.reminders import ticket_reminders_send_due

    quiet = logging.getLogger("liaison")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # the console SMS backend logs each message at INFO
    try:
        with (
            transaction.atomic(),
            override_settings(
                EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", SMS_BACKEND="console"
            ),
        ):
            _only_overdue(n)
            cpu = time.process_time()
            sent, sweep_s, sweep_q, _peak = _timed(lambda: ticket_reminders_send_due(now=NOW), memory=False)
            sweep_cpu = time.process_time() - cpu
            ids = list(Delivery.objects.filter(created_at=NOW).order_by("id").values_list("pk", flat=True))

            # (a) before: one by one, one message each (in a savepoint, undone after).
            sample = ids[:OLD_PATH_SAMPLE]
            mail.outbox = []
            with transaction.atomic():
                _r, old_s, old_q, _p = _timed(
                    lambda: [notify.delivery_send(delivery_id=i, now=NOW) for i in sample], memory=False
                )
                old_sent = Delivery.objects.filter(pk__in=sample, status="sent").count()
                transaction.set_rollback(True)
            old_mails = len(mail.outbox)
            scale = len(ids) / len(sample)

            # (b) now: claimed and sent in batches, one message per person and channel.
            mail.outbox = []

            def batches():
                outcomes: dict[str, int] = {}
                while True:
                    done = notify.deliveries_send_now(now=NOW, limit=5000)
                    if not done:
                        return outcomes
                    for key, value in done.items():
                        outcomes[key] = outcomes.get(key, 0) + value

            cpu = time.process_time()
            outcomes, new_s, new_q, _p = _timed(batches, memory=False)
            new_cpu = time.process_time() - cpu
            mails = len(mail.outbox)
            messages_sms = (
                Delivery.objects.filter(pk__in=ids, channel="sms").values("address").distinct().count()
            )
            transaction.set_rollback(True)
    finally:
        quiet.setLevel(level)
    mail.outbox = []
    old_total = sweep_s + old_s * scale
    new_total = sweep_s + new_s
    how = "all" if scale == 1 else f"timed on the first {len(sample):,}, scaled {scale:.1f}x"
    report(
        f"end to end, N = {n:,} overdue: sweep {sweep_s:.2f} s in {sweep_q} queries "
        f"({sent['overdue']:,} overdue, {sent['escalated']:,} escalated, {sent['overdue_digest']:,} "
        f"office digests), {len(ids):,} deliveries"
    )
    report(
        f"  before, one by one: {old_s * scale:.1f} s for the deliveries ({how}: "
        f"{old_s / len(sample) * 1000:.2f} ms and {old_q / len(sample):.1f} queries each, "
        f"{old_sent:,} sent, {old_mails:,} emails); end to end {old_total:.1f} s"
    )
    report(
        f"  now, in batches: {new_s:.2f} s in {new_q} queries ({outcomes}; {mails:,} emails and "
        f"{messages_sms:,} SMS for {len(ids):,} deliveries); end to end {new_total:.2f} s: "
        f"{old_total / new_total:.1f}x faster than before"
    )
    if helpdesk:
        cpu, wall, queries, emails, escalated, duplicates = helpdesk
        new_cpu += sweep_cpu
        met = "met" if wall / new_total >= GOAL_VS_HELPDESK else "NOT met"
        report(
            f"  django-helpdesk 2.6.1 escalate_tickets, {escalated:,.0f} tickets (own process, same "
            f"PostgreSQL): {wall:.2f} s in {queries:,.0f} queries, {emails:,.0f} emails "
            f"({duplicates:.0f} twice to one address about one ticket), CPU {cpu:.2f} s; Liaison end to "
            f"end {new_total:.2f} s, CPU {new_cpu:.2f} s: helpdesk / Liaison {wall / new_total:.2f}x in "
            f"time, {cpu / new_cpu:.2f}x in CPU (goal >= {GOAL_VS_HELPDESK:.0f}x: {met})"
        )


def _helpdesk(report) -> dict[str, list[float]]:
    """django-helpdesk's ``escalate_tickets`` at each N of ``END_TO_END``, on this PostgreSQL
    server: ``{"escalate-<N>": [cpu, wall, queries, emails, escalated, duplicates]}``, or ``{}``."""
    from bench.helpdesk_venv import helpdesk_run

    if os.environ.get("BENCH_SWEEP_HELPDESK") == "0":
        report("django-helpdesk 2.6.1: skipped (BENCH_SWEEP_HELPDESK=0)")
        return {}
    db = connection.settings_dict
    url = (
        f"postgres://{quote(db['USER'] or '', safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
        f"@{db['HOST']}:{db['PORT']}/{db['NAME']}_helpdesk"
    )
    started = time.perf_counter()
    try:
        figures = helpdesk_run(
            "helpdesk_escalate.py", *map(str, END_TO_END), env={**os.environ, "HELPDESK_DATABASE_URL": url}
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        stderr = getattr(exc, "stderr", "") or ""
        report(f"django-helpdesk 2.6.1: not measured ({type(exc).__name__}: {exc} {stderr[-2000:]})")
        return {}
    report(
        f"django-helpdesk 2.6.1 escalate_tickets at N = {', '.join(map(str, END_TO_END))}: "
        f"its script ran in {time.perf_counter() - started:.0f} s"
    )
    return figures


def _bare_insert(reminders: int, notifications: int, deliveries: int) -> float:
    """Write as many reminder, notification and delivery rows, without deciding anything."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(id ORDER BY id) FROM liaison_user WHERE username LIKE 'bench%%'")
        users = cursor.fetchone()[0]
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO liaison_reminder (subject_type, subject_id, kind, period, created_at, batch) "
            "SELECT 'bench', g, 'bench.baseline', '', %s, 'baseline' FROM generate_series(1, %s) g",
            [NOW, reminders],
        )
        cursor.execute(
            """
            INSERT INTO liaison_notification (user_id, address, reminder_id, kind, subject_type,
                                              subject_id, created_at, batch)
            SELECT (%(users)s::int[])[1 + g / %(r)s], '', m.id, m.kind, m.subject_type, m.subject_id,
                   %(now)s, 'baseline'
            FROM generate_series(0, %(n)s - 1) g
            JOIN liaison_reminder m ON m.batch = 'baseline' AND m.subject_id = 1 + g %% %(r)s
            """,
            {"users": users, "r": reminders, "n": notifications, "now": NOW},
        )
        cursor.execute(
            """
            INSERT INTO liaison_delivery (notification_id, channel, address, status, attempts, last_error,
                                          next_attempt_at, created_at, batch)
            SELECT n.id, c.channel, 'bench@example.com', 'pending', 0, '', %(now)s, %(now)s, 'baseline'
            FROM liaison_notification n CROSS JOIN (VALUES ('email'), ('sms')) c(channel)
            WHERE n.batch = 'baseline' LIMIT %(d)s
            """,
            {"now": NOW, "d": deliveries},
        )
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds


def _count_open() -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM proposals_ticket "
            "WHERE status IN ('assigned', 'signed', 'contacted', 'planned', 'forwarded')"
        )
        cursor.fetchone()
    return time.perf_counter() - started

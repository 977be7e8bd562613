"""The figures pages over 1,000,000 tickets: the suggestion statistics (and the overview, once written).

The province of ``bench_sweep`` (1,000,000 tickets in 1,500 townships of 100 counties, loaded with
INSERT ... SELECT over generate_series), plus what the statistics read, drawn per ticket from a
hash of its id (per mille): 800 with a lead-unit assignment (and assign and sign events), 700
replied (85 % of them on time), 50 asked for an extension (80 % granted), 20 re-handled (a second
round, replied again, round-1 ratings superseded), 10 returned, 600 rated by the representative;
half the tickets have a proposer, who rated when the representative did. All in one transaction,
rolled back at the end.

Then the figures each ticket keeps (``proposals.facts``: in the product every move sets them) are
derived from those rows, as migration 0015's backfill does.

Measured, for a user who sees all (a superuser) and for one county's liaison office (1/100 of
the tickets), over the year 2026 (every ticket): each function of ``FIGURES`` (number of queries,
p95 of ``RUNS`` runs after one warm-up) and each page of ``PAGES`` through the test client, against
the bare ``SELECT township_id, count(*) ... GROUP BY township_id`` of the same tickets (the period
and the user's scope, through ``period_tickets``), measured the same way in the same run. Then the
statistics by township are checked against the same figures computed from the records in plain
SQL (``_joined``): equal, or the run fails. The plans (EXPLAIN ANALYZE, BUFFERS) go to
``bench/results/figures-plans.txt``.

Measured 2026-12-04 on PostgreSQL 15 (scripts/with-test-services defaults, 2 cores shared with a
test run in each of these three runs, so the ratios moved between runs; the ranges are theirs).
Load 90-117 s, deriving the kept figures 98-116 s (one UPDATE over a million tickets).
- sees all, 1,000,000 tickets (baseline 440-690 ms): statistics by township 1 query, 2.5-3.3x; by
  unit 1 query, 3.0-4.3x; the overview 16-17 queries, 5.8-12.9x (12.9x before its tickets were
  counted once, 5.8-6.8x after); the statistics page 6.0-7.6x (it renders 1,500 townships x 20
  linked cells); the overview page 4.9-6.4x.
- one county's office, 10,009 tickets (baseline 730-2,200 ms while the scope OR'd the own-rep and
  co-signer clauses into every user's filter, which read every ticket): statistics 1 query,
  0.5-1.3x; the overview 16-17 queries, 1.1-2.5x; its page 1.1-2.8x; the statistics page 0.5-1.2x.
  Re-measured 2026-12-05 after those clauses were kept to representatives (same loader, a
  persistent database, 2 cores shared with other work): baseline 16 ms; statistics by township 23 ms
  (1.4x), by unit 25 ms (1.6x); the overview 105 ms (6.5x: 17 queries, three of them reading the
  county's tickets - the tally, the trend, the overdue by unit - about 18 ms each, the rest Python),
  its page 120 ms (7.5x); the statistics page 40 ms (2.5x). Every figure is faster in time; the
  ratios grew because the baseline itself became 25 times cheaper.
Re-measured 2026-12-05 after the overview counted its tickets in one scan (GROUPING SETS for a
county; set by set for the whole table), the overdue-by-unit count moved to an index-only scan
(``ticket_unit_running``) and the statistics page encoded its links once per row; this bench, one
run on a quiet machine (its tickets read inside the loading transaction, so the bare query costs
more than on a committed table): the county's office, baseline 65 ms: statistics 1.09x / 1.13x,
the overview 15 queries 1.77x, its page 2.05x, the statistics page 1.62x (all within 3x); the
province, baseline 208 ms: statistics 3.09x / 3.70x, the overview 6.03x, its page 5.91x, the
statistics page 5.67x (not within 3x: the overview reads the table twice, once with its twenty
aggregates, and the statistics page draws 1,500 x 13 links). On the persistent, vacuumed database
above (baseline 12.6 ms), the county's overview is 51 ms, 4.1x.
Re-measured the evening of 2026-12-05 after the overview counted only the figures it reads and
put tickets in months by a CASE, the statistics read group names apart, and the statistics page
wrote its cells in Python (one run, machine shared with a mutation run, load 2-3): province
(baseline 338 ms): statistics 1.52x / 2.06x, the statistics page 2.52x, the overview 4.09x (16
queries), its page 4.38x; the county's office (baseline 79.5 ms): 1.10x / 1.18x, page 0.94x, the
overview 1.62x, its page 1.71x.
Re-measured the night of 2026-12-05 (issue 12) after, for a user who sees all, the overview read
the table once: the trend's monthly counts from the indexes on created_at and closed_at
(``ticket_closed``, migration 0026), the overdue units as one more aggregate of the tally, the
tally's rows without Django's integer converters, the units ranked without a full sort (11 queries,
was 13). Not this bench (the machine was never calm; note that its tickets, read inside the loading
transaction, have no page all-visible, so an index-only scan here still reads the table's pages):
in-process on the persistent, vacuumed 1M database, the code before and after run alternately,
medians of 9-11. Load 2.5-4 (uptime): the province's overview 1,090-1,160 -> 610-730 ms, 4.5-4.8x
-> 2.7-3.1x its bare query (230-240 ms); its page 4.5-4.6x -> 3.1-3.3x. Load 6.5-8: 4.6-5.2x ->
2.8-3.5x, the page 4.4-5.2x -> 3.1-3.8x; the county's office 4.2-4.8x -> 3.5-4.1x (noise). About
3x, not clearly within: the tally alone is 1.7x the bare query serially, 2.3x in parallel (13,600
groups finalised by one process), the trend 0.35-0.4x, the rest 0.3-0.4x.
This bench, two runs at load 0.5-1.7 (5 December, late evening, at 4e7a768): province (baseline
222-241 ms): statistics 1.35-1.58x / 2.02-2.23x, page 2.48-2.92x, the overview 3.29-3.62x (11
queries), its page 3.73-3.93x (not within 3x); county (baseline 70-82 ms): statistics 0.95-1.12x,
page 0.95-1.15x, the overview 1.42-2.82x (p95 of 7), its page 1.65-1.91x.
Before the kept figures (the statistics read events, extensions, assignments and ratings: 2.5
million related rows looked up ticket by ticket), the same statistics measured 86-104x for the
province and 11-15x for the county.
"""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bench import bench_sweep

RUNS = 7
YEAR = 2026
START, END = datetime.date(YEAR, 1, 1), datetime.date(YEAR, 12, 31)
PLANS = Path(__file__).resolve().parent / "results" / "figures-plans.txt"


def _statistics(by: str) -> Callable:
    def figures(user):
        from proposals.statistics import suggestion_statistics

        return suggestion_statistics(user, start=START, end=END, by=by)

    return figures


def _overview(user):
    from proposals.overview import county_overview
    from proposals.stats_views import period_from

    return county_overview(user, period_from({"period": "year", "year": str(YEAR)}))


# Each figures page's function of the user, measured the same way against the same baseline.
FIGURES: list[tuple[str, Callable]] = [
    ("statistics by township", _statistics("township")),
    ("statistics by unit", _statistics("unit")),
    ("overview (the year: headlines with 同比, six charts)", _overview),
]
PAGES = [f"/tickets/statistics/?period=year&year={YEAR}&by=township", f"/overview/?period=year&year={YEAR}"]


def run(report) -> None:
    if connection.vendor != "postgresql":
        report("bench_figures needs PostgreSQL (make bench): skipped")
        return
    with transaction.atomic():
        started = time.perf_counter()
        bench_sweep._load()
        swept = time.perf_counter() - started
        rows = _load_figures()
        report(
            f"{bench_sweep.TICKETS:,} tickets ({swept:.1f} s, bench_sweep's loader) and their "
            + ", ".join(f"{n:,} {what}" for what, n in rows.items())
            + f": loaded in {time.perf_counter() - started:.1f} s"
        )
        # Loaded straight into the tables: the figures each ticket keeps (proposals.facts) are
        # derived from them as the migration's backfill does (the moves keep them in the product).
        from proposals import facts
        from proposals.models import Ticket

        started = time.perf_counter()
        facts.recompute(Ticket.objects.all())
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE proposals_ticket")
        report(f"figures kept per ticket derived from the records in {time.perf_counter() - started:.1f} s")
        plans = []
        for label, user in _users():
            _measure(report, label, user, plans)
        PLANS.parent.mkdir(exist_ok=True)
        PLANS.write_text("\n".join(plans) + "\n", encoding="utf-8")
        report(f"plans: {PLANS.relative_to(PLANS.parent.parent.parent)}")
        transaction.set_rollback(True)


# --- loading -------------------------------------------------------------------------------------

# Per ticket: h (per mille) decides what happened to it, k (percent) how it went, p (percent)
# whether it has a proposer; from hashes of the id (offset: bench_sweep draws the township from
# hashint4 of the id itself), so that none follows another, the township nor the state.
DRAWN = """
    SELECT t.id, t.lead_unit_id, t.representative_id, t.created_at, t.round,
           abs(hashint4(t.id::int + 1000003)) %% 1000 AS h,
           abs(hashint4(t.id::int + 2000003)) %% 100 AS k,
           abs(hashint4(t.id::int + 3000017)) %% 100 AS p
    FROM proposals_ticket t
"""


def _load_figures() -> dict[str, int]:
    day, hour = datetime.timedelta(days=1), datetime.timedelta(hours=1)
    args = {"day": day, "hour": hour}
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE proposals_ticket t SET round = 2 FROM ({DRAWN}) d WHERE d.id = t.id AND d.h < 20", args
        )
        cursor.execute(
            f"""
            INSERT INTO proposals_assignment (ticket_id, unit_id, role, assigned_at, opinion)
            SELECT id, lead_unit_id, 'lead', created_at + %(hour)s, '' FROM ({DRAWN}) d WHERE h < 800
            """,
            args,
        )
        cursor.execute(
            f"""
            INSERT INTO proposals_ticketevent (ticket_id, at, actor_label, move, from_status, to_status,
                                               note, data, is_public)
            SELECT d.id, d.created_at + e.after, '', e.move, e.from_status, e.to_status, '',
                   CASE WHEN e.move = 'reply' THEN jsonb_build_object('on_time', e.on_time OR d.k < 85)
                        ELSE '{{}}'::jsonb END,
                   e.move <> 'assign'
            FROM ({DRAWN}) d
            JOIN (VALUES ('register', 0, 1001, '', 'registered', interval '0', false),
                         ('return', 700, 710, 'registered', 'registered', interval '2 hours', false),
                         ('assign', 0, 800, 'registered', 'assigned', interval '1 hour', false),
                         ('sign', 0, 800, 'assigned', 'signed', interval '1 day', false),
                         ('reply', 0, 700, 'signed', 'replied', interval '5 days', false),
                         ('rehandle', 0, 20, 'forwarded', 'signed', interval '8 days', false),
                         ('reply', 0, 20, 'signed', 'replied', interval '9 days', true),
                         ('rate', 0, 600, 'forwarded', 'closed', interval '10 days', false))
                 e(move, low, high, from_status, to_status, after, on_time)
              ON d.h >= e.low AND d.h < e.high
            """,
            args,
        )
        cursor.execute(
            f"""
            INSERT INTO proposals_extension (ticket_id, requested_at, requested_until, reason, decision,
                                             granted_until, decided_at)
            SELECT id, created_at + 3 * %(day)s, created_at + 30 * %(day)s, '基准',
                   CASE WHEN p < 80 THEN 'approved' ELSE 'refused' END,
                   CASE WHEN p < 80 THEN created_at + 30 * %(day)s END, created_at + 4 * %(day)s
            FROM ({DRAWN}) d WHERE h < 50
            """,
            args,
        )
        cursor.execute(
            f"""
            INSERT INTO proposals_proposer (ticket_id, name, phone, sms_consent)
            SELECT id, '基准', '', false FROM ({DRAWN}) d WHERE p < 50
            """,
            args,
        )
        # The last round's ratings (satisfied 70 %, basically 20 %, dissatisfied 10 %), and for the
        # re-handled tickets the first round's dissatisfaction, superseded.
        score = "CASE WHEN k < 70 THEN 'satisfied' WHEN k < 90 THEN 'basically' ELSE 'dissatisfied' END"
        cursor.execute(
            f"""
            INSERT INTO proposals_rating (ticket_id, round, proposer_id, representative_id, score, via,
                                          comment, rated_at)
            SELECT d.id, d.round, NULL, d.representative_id, {score}, 'online', '',
                   d.created_at + 10 * %(day)s
            FROM ({DRAWN}) d WHERE h < 600
            UNION ALL
            SELECT d.id, d.round, pr.id, NULL, {score.replace("k <", "(k + p) %% 100 <")}, 'online', '',
                   d.created_at + 10 * %(day)s
            FROM ({DRAWN}) d JOIN proposals_proposer pr ON pr.ticket_id = d.id WHERE h < 600
            UNION ALL
            SELECT d.id, 1, NULL, d.representative_id, 'dissatisfied', 'online', '',
                   d.created_at + 7 * %(day)s
            FROM ({DRAWN}) d WHERE h < 20
            """,
            args,
        )
        cursor.execute("ANALYZE")
        counts = {}
        for what, table in (
            ("lead assignments", "proposals_assignment WHERE role = 'lead'"),
            ("ticket events", "proposals_ticketevent"),
            ("of them replies", "proposals_ticketevent WHERE move = 'reply'"),
            ("extensions", "proposals_extension"),
            ("proposers", "proposals_proposer"),
            ("ratings", "proposals_rating"),
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[what] = cursor.fetchone()[0]
    return counts


def _users():
    from liaison.models import RoleAssignment, User
    from liaison.roles import Role

    admin = User.objects.create(username="bench-admin", password="!", is_superuser=True)  # noqa: S106
    office = (
        RoleAssignment.objects.filter(role=Role.LIAISON_OFFICE, region__name="基准县0")
        .order_by("pk")
        .first()
        .user
    )
    return [("sees all (superuser)", admin), ("one county's liaison office (1/100)", office)]


# --- measuring ------------------------------------------------------------------------------------


def p95(samples: list[float]) -> float:
    """Nearest rank: of 7 runs, the slowest."""
    ordered = sorted(samples)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def _timed(function) -> tuple[float, list[str], object]:
    """p95 seconds of ``RUNS`` runs after one warm-up, the SQL of the warm-up, the last result."""
    # A request empties the query log as it starts (django.db.reset_queries): from an empty log,
    # the capture's slice still holds exactly the request's queries.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        function()
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - started)
    return p95(samples), [query["sql"] for query in queries.captured_queries], result


def _baseline(user) -> list[dict]:
    from django.db.models import Count

    from proposals.statistics import period_tickets

    return list(period_tickets(user, START, END).values("township_id").annotate(n=Count("pk")).order_by())


def _measure(report, label: str, user, plans: list[str]) -> None:
    from liaison.models import User

    user = User.objects.get(pk=user.pk)
    assert user.scope is not None  # computed once per request in the product: outside the timing
    base, sql, rows = _timed(lambda: _baseline(user))
    report(
        f"{label}: {sum(r['n'] for r in rows):,} tickets; baseline (bare GROUP BY township of the same "
        f"tickets) p95 {base * 1e3:.1f} ms, {len(sql)} query"
    )
    plans.extend(f"=== {label}: baseline\n{_explain(q)}" for q in sql)
    by_township = None
    for name, figures in FIGURES:
        seconds, sql, rows = _timed(lambda figures=figures: figures(user))
        report(
            f"  {name}: {len(sql)} queries, p95 {seconds * 1e3:.1f} ms, ratio {seconds / base:.2f}x "
            f"({_said(rows)})"
        )
        plans.extend(f"=== {label}: {name}, query {i}\n{_explain(q)}" for i, q in enumerate(sql, 1))
        if name == "statistics by township":
            by_township = rows
    for url in PAGES:
        seconds, sql, _response = _timed_page(user, url)
        report(f"  GET {url}: {len(sql)} queries, p95 {seconds * 1e3:.1f} ms, ratio {seconds / base:.2f}x")
    if by_township is not None:
        _check_against_records(report, user, by_township)


def _said(result) -> str:
    if isinstance(result, dict):  # the overview
        return f"{len(result['charts'])} charts, collected {result['headlines'][0]['value']:,}"
    return f"{len(result) - 1} groups, total collected {result[-1]['collected']:,}"


def _sql(function) -> list[str]:
    """The SQL ``function`` sends, as sent (parameters bound)."""
    with CaptureQueriesContext(connection) as captured:
        function()
    return [query["sql"] for query in captured.captured_queries]


def _explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}".replace("%", "%%"))
        lines = [row[0] for row in cursor.fetchall()]
    return sql + "\n" + "\n".join(lines)


# --- the figures from the records, in another shape, to check the kept ones at this scale ----------


def _check_against_records(report, user, live: list[dict]) -> None:
    """The statistics by township (read from the figures kept per ticket) against the same figures
    computed from the records by ``_joined`` (plain SQL, each related table aggregated once)."""
    expected = {r["group"]: {k: r[k] for k in JOINED_KEYS} for r in live if not r["total"]}
    started = time.perf_counter()
    same = _joined(user) == expected
    report(
        f"  checked against the records (SQL over events, extensions, assignments, ratings; "
        f"{time.perf_counter() - started:.1f} s): {'equal' if same else 'DIFFERENT'}"
    )
    assert same, "the figures kept per ticket differ from the records"


JOINED_KEYS = ["collected", "on_spot", "explained", "assigned", "closed", "replied", "on_time", "ext_asked",
               "ext_granted", "returned", "rehandled", "no_resident",
               "rep_ratings", "rep_satisfied", "res_ratings", "res_satisfied"]  # fmt: skip


def _joined(user) -> dict:
    """Each related table aggregated once per ticket (GROUP BY ticket_id), joined to the tickets:
    hash joins instead of one EXISTS probe per ticket and column. The first reply is on time when
    the earliest on-time reply is the earliest reply (the live rule: no reply before it)."""
    from proposals.statistics import period_tickets

    tickets = period_tickets(user, START, END).values("id", "township_id", "resolution", "status", "round")
    sql, params = tickets.order_by().query.sql_with_params()
    mine = f"IN (SELECT id FROM ({sql}) s)"
    counts = f"""
        SELECT t.township_id, count(*),
               count(*) FILTER (WHERE t.resolution = 'on_spot'),
               count(*) FILTER (WHERE t.resolution = 'explained'),
               count(a.ticket_id),
               count(*) FILTER (WHERE t.status IN ('closed', 'archived')),
               count(*) FILTER (WHERE e.replied),
               count(*) FILTER (WHERE e.first_on_time = e.first_reply),
               count(x.ticket_id),
               count(*) FILTER (WHERE x.granted),
               count(*) FILTER (WHERE e.returned),
               count(*) FILTER (WHERE e.rehandled),
               count(*) FILTER (WHERE t.resolution = 'no_resident')
        FROM ({sql}) t
        LEFT JOIN (SELECT ticket_id FROM proposals_assignment WHERE role = 'lead' AND ticket_id {mine}
                   GROUP BY ticket_id) a ON a.ticket_id = t.id
        LEFT JOIN (SELECT ticket_id, bool_or(decision = 'approved') AS granted FROM proposals_extension
                   WHERE ticket_id {mine} GROUP BY ticket_id) x ON x.ticket_id = t.id
        LEFT JOIN (SELECT ticket_id, bool_or(move = 'reply') AS replied, bool_or(move = 'return') AS returned,
                          bool_or(move = 'rehandle') AS rehandled,
                          min(at) FILTER (WHERE move = 'reply') AS first_reply,
                          min(at) FILTER (WHERE move = 'reply' AND (data -> 'on_time') = 'true'::jsonb)
                              AS first_on_time
                   FROM proposals_ticketevent
                   WHERE move IN ('reply', 'return', 'rehandle') AND ticket_id {mine}
                   GROUP BY ticket_id) e ON e.ticket_id = t.id
        GROUP BY t.township_id
    """
    ratings = f"""
        SELECT t.township_id,
               count(*) FILTER (WHERE r.proposer_id IS NULL),
               count(*) FILTER (WHERE r.proposer_id IS NULL AND r.score IN ('satisfied', 'basically')),
               count(*) FILTER (WHERE r.proposer_id IS NOT NULL),
               count(*) FILTER (WHERE r.proposer_id IS NOT NULL AND r.score IN ('satisfied', 'basically'))
        FROM proposals_rating r JOIN ({sql}) t ON t.id = r.ticket_id AND r.round = t.round
        GROUP BY t.township_id
    """
    figures: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(counts, [*params, *params, *params, *params])
        for group, *values in cursor.fetchall():
            figures[group] = dict(zip(JOINED_KEYS[:12], values, strict=True))
        cursor.execute(ratings, params)
        rated = {group: values for group, *values in cursor.fetchall()}
    for group, row in figures.items():
        row.update(zip(JOINED_KEYS[12:], rated.get(group, [0, 0, 0, 0]), strict=True))
    return figures


def _timed_page(user, url: str) -> tuple[float, list[str], object]:
    from django.test import Client, override_settings

    with override_settings(LIAISON_TWO_FACTOR_ENFORCED=False, ALLOWED_HOSTS=["*"]):
        client = Client()
        client.force_login(user)

        def get():
            response = client.get(url)
            assert response.status_code == 200, response.status_code
            return response

        return _timed(get)

"""The suggestion statistics (/tickets/statistics/): figures against hand-written SQL tallies,
links opening lists of the same count, scope, constant queries, Excel and print."""

from __future__ import annotations

import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from proposals import facts, statistics
from proposals.models import Assignment, Extension, Proposer, Rating, Ticket, TicketEvent
from proposals.transitions import Status
from tests.proposals.ticket_rows import ticket_row

TZ = timezone.get_default_timezone()
START, END = datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)
PERIOD = {"period": "month", "year": 2026, "month": 3}


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=TZ)


def build(*, township_a, township_b, unit_a, unit_b, rep):
    """A known pattern of tickets in March 2026 (Beijing time), and four just outside it.

    Township A (unit A, the rep): answered on the spot, explained, closed with a resident rating,
    closed with no resident rating, re-handled (first reply late, second on time), one with an
    extension asked and granted and an on-time reply, one returned to the township.
    Township B (unit B, no rep): one asked for an extension (refused) and replied late, one open.
    """
    mid = local(2026, 3, 15, 10)
    rows = {
        "on_spot": ticket_row(township=township_a, now=mid, representative=rep, status=Status.CLOSED,
                              resolution=Ticket.Resolution.ON_SPOT, source=Ticket.Source.RECEPTION),
        "explained": ticket_row(township=township_a, now=mid, representative=rep, status=Status.CLOSED,
                                resolution=Ticket.Resolution.EXPLAINED, source=Ticket.Source.VISIT),
        "rated": ticket_row(township=township_a, now=mid, lead_unit=unit_a, representative=rep,
                            status=Status.CLOSED, resolution=Ticket.Resolution.SATISFIED),
        "no_resident": ticket_row(township=township_a, now=mid, lead_unit=unit_a, representative=rep,
                                  status=Status.ARCHIVED, resolution=Ticket.Resolution.NO_RESIDENT_RATING),
        "rehandled": ticket_row(township=township_a, now=mid, lead_unit=unit_a, representative=rep,
                                status=Status.FORWARDED, round=2),
        "extended": ticket_row(township=township_a, now=mid, lead_unit=unit_a, representative=rep,
                               status=Status.REPLIED, source=Ticket.Source.MEETING),
        "returned": ticket_row(township=township_a, now=mid, representative=rep, status=Status.REGISTERED),
        "b_late": ticket_row(township=township_b, now=mid, lead_unit=unit_b, status=Status.REPLIED,
                             source=Ticket.Source.INTAKE),
        "b_open": ticket_row(township=township_b, now=mid, lead_unit=unit_b, status=Status.SIGNED),
        # The boundaries: the first and last instants inside, and one either side.
        "first": ticket_row(township=township_a, now=mid, created_at=local(2026, 3, 1, 0, 0)),
        "last": ticket_row(township=township_b, now=mid, created_at=local(2026, 3, 31, 23, 59, 59)),
        "before": ticket_row(township=township_a, now=mid, representative=rep,
                             created_at=local(2026, 2, 28, 23, 59, 59), status=Status.CLOSED,
                             resolution=Ticket.Resolution.ON_SPOT),
        "after": ticket_row(township=township_b, now=mid, lead_unit=unit_b, created_at=local(2026, 4, 1, 0, 0)),
    }  # fmt: skip
    for key in ("on_spot", "explained", "rated", "no_resident", "rehandled", "extended", "returned"):
        rows[key].created_at = local(2026, 3, 10, 9)
    Ticket.objects.bulk_create(rows.values())
    t = rows
    lead = [
        t[k]
        for k in ("rated", "no_resident", "rehandled", "extended", "returned", "b_late", "b_open", "after")
    ]
    Assignment.objects.bulk_create(
        Assignment(ticket=x, unit=unit_b if x.township_id == township_b.pk else unit_a, role=Assignment.Role.LEAD,
                   assigned_at=mid) for x in lead
    )  # fmt: skip

    def event(ticket, move, day, **data):
        return TicketEvent(
            ticket=ticket, move=move, at=local(2026, 3, day, 12), to_status=Status.REPLIED, data=data
        )

    TicketEvent.objects.bulk_create([
        event(t["rated"], "reply", 12, on_time=True),
        event(t["no_resident"], "reply", 12, on_time=True),
        event(t["rehandled"], "reply", 12, on_time=False),
        event(t["rehandled"], "rehandle", 14),
        event(t["rehandled"], "reply", 16, on_time=True),
        event(t["extended"], "reply", 20, on_time=True),
        event(t["returned"], "return", 11),
        event(t["b_late"], "reply", 20, on_time=False),
        event(t["after"], "reply", 28, on_time=True),  # (registered after the period: not counted)
    ])  # fmt: skip
    Extension.objects.bulk_create([
        Extension(ticket=t["extended"], requested_until=mid, reason="x", decision=Extension.Decision.APPROVED,
                  granted_until=mid),
        Extension(ticket=t["extended"], requested_until=mid, reason="y", decision=Extension.Decision.REFUSED),
        Extension(ticket=t["b_late"], requested_until=mid, reason="z", decision=Extension.Decision.REFUSED),
    ])  # fmt: skip
    p1, p2, p3 = Proposer.objects.bulk_create(
        [Proposer(ticket=t["rated"], name="甲"), Proposer(ticket=t["rated"], name="乙"),
         Proposer(ticket=t["rehandled"], name="丙")]
    )  # fmt: skip
    Rating.objects.bulk_create([
        Rating(ticket=t["rated"], round=1, proposer=p1, score=Rating.Score.SATISFIED),
        Rating(ticket=t["rated"], round=1, proposer=p2, score=Rating.Score.DISSATISFIED),
        Rating(ticket=t["rated"], round=1, representative=rep, score=Rating.Score.BASICALLY),
        Rating(ticket=t["no_resident"], round=1, representative=rep, score=Rating.Score.SATISFIED),
        # Round 1 of the re-handled ticket is superseded; round 2 counts.
        Rating(ticket=t["rehandled"], round=1, proposer=p3, score=Rating.Score.DISSATISFIED),
        Rating(ticket=t["rehandled"], round=1, representative=rep, score=Rating.Score.DISSATISFIED),
        Rating(ticket=t["rehandled"], round=2, proposer=p3, score=Rating.Score.BASICALLY),
    ])  # fmt: skip
    # Written straight into the tables: the figures each ticket keeps are derived from them, as
    # the migration's backfill does (a year made through the services: tests/proposals/test_facts.py).
    facts.recompute(Ticket.objects.all())
    return t


GROUP_COLUMN = {"township": "township_id", "unit": "lead_unit_id", "category": "category_id",
                "source": "source", "rep": "representative_id"}  # fmt: skip


def sql_tally(
    by: str, township_ids: list[int], first: datetime.date = START, last: datetime.date = END
) -> dict:
    """Every figure by hand, in SQL, for tickets registered ``first`` … ``last``: {group: {column: count}}."""
    col = GROUP_COLUMN[by]
    on_time = (
        "(e.data->>'on_time') = 'true'"
        if connection.vendor == "postgresql"
        else "json_extract(e.data, '$.on_time') = 1"
    )
    # As the database stores them (SQLite: naive UTC text, PostgreSQL: timestamptz).
    start = connection.ops.adapt_datetimefield_value(local(first.year, first.month, first.day))
    after = last + datetime.timedelta(days=1)
    end = connection.ops.adapt_datetimefield_value(local(after.year, after.month, after.day))
    ids = ",".join(str(i) for i in township_ids)
    base = (
        f"FROM proposals_ticket t WHERE t.created_at >= %s AND t.created_at < %s AND t.township_id IN ({ids})"
    )
    exists = "EXISTS (SELECT 1 FROM {table} e WHERE e.ticket_id = t.id AND {cond})"
    ticket_sql = {
        "collected": "1=1",
        "on_spot": "t.resolution = 'on_spot'",
        "explained": "t.resolution = 'explained'",
        "assigned": exists.format(table="proposals_assignment", cond="e.role = 'lead'"),
        "closed": "t.status IN ('closed', 'archived')",
        "replied": exists.format(table="proposals_ticketevent", cond="e.move = 'reply'"),
        "on_time": exists.format(table="proposals_ticketevent", cond=f"e.move = 'reply' AND {on_time} AND NOT EXISTS "
                                 "(SELECT 1 FROM proposals_ticketevent x WHERE x.ticket_id = t.id "
                                 "AND x.move = 'reply' AND x.at < e.at)"),
        "ext_asked": exists.format(table="proposals_extension", cond="1=1"),
        "ext_granted": exists.format(table="proposals_extension", cond="e.decision = 'approved'"),
        "returned": exists.format(table="proposals_ticketevent", cond="e.move = 'return'"),
        "rehandled": exists.format(table="proposals_ticketevent", cond="e.move = 'rehandle'"),
        "no_resident": "t.resolution = 'no_resident'",
    }  # fmt: skip
    rating_sql = {
        "rep_ratings": "r.proposer_id IS NULL",
        "rep_satisfied": "r.proposer_id IS NULL AND r.score IN ('satisfied', 'basically')",
        "res_ratings": "r.proposer_id IS NOT NULL",
        "res_satisfied": "r.proposer_id IS NOT NULL AND r.score IN ('satisfied', 'basically')",
    }
    tally: dict = {}
    with connection.cursor() as cursor:
        for key, cond in ticket_sql.items():
            cursor.execute(f"SELECT t.{col}, COUNT(*) {base} AND {cond} GROUP BY t.{col}", [start, end])
            for group, n in cursor.fetchall():
                tally.setdefault(group, {})[key] = n
        for key, cond in rating_sql.items():
            cursor.execute(
                f"SELECT t.{col}, COUNT(*) FROM proposals_rating r JOIN proposals_ticket t ON t.id = r.ticket_id "
                f"WHERE r.round = t.round AND {cond} AND t.created_at >= %s AND t.created_at < %s "
                f"AND t.township_id IN ({ids}) GROUP BY t.{col}",
                [start, end],
            )
            for group, n in cursor.fetchall():
                tally.setdefault(group, {})[key] = n
    return {g: {k: c.get(k, 0) for k in statistics.COUNT_KEYS} for g, c in tally.items()}


@pytest.fixture
def pattern(township_a, township_b, unit_a, unit_b, my_rep):
    return build(township_a=township_a, township_b=township_b, unit_a=unit_a, unit_b=unit_b, rep=my_rep)


@pytest.mark.parametrize("by", list(GROUP_COLUMN))
def test_every_figure_equals_the_sql_tally(pattern, liaison_office, township_a, township_b, by):
    rows = statistics.suggestion_statistics(liaison_office, start=START, end=END, by=by)
    *groups, total = rows
    got = {r["group"]: {k: r[k] for k in statistics.COUNT_KEYS} for r in groups}
    assert got == sql_tally(by, [township_a.pk, township_b.pk])
    assert total["total"] and total["collected"] == 11  # the 13 built, less the two outside
    for key in statistics.COUNT_KEYS:
        assert total[key] == sum(r[key] for r in groups)


def test_the_pattern_by_hand(pattern, liaison_office, township_a, township_b):
    """The figures a reader would count in build()'s docstring."""
    rows = {
        r["group"]: r
        for r in statistics.suggestion_statistics(liaison_office, start=START, end=END, by="township")
    }
    a, b, total = rows[township_a.pk], rows[township_b.pk], rows[None]
    assert (a["collected"], b["collected"]) == (8, 3)  # "first" is A's, "last" is B's
    assert (a["on_spot"], a["explained"], a["closed"], a["no_resident"]) == (1, 1, 4, 1)
    assert (a["assigned"], b["assigned"]) == (5, 2)
    # First replies: rated, no_resident, extended on time; re-handled's first was late (kept), b_late late.
    assert (a["replied"], a["on_time"], b["replied"], b["on_time"]) == (4, 3, 1, 0)
    assert (a["ext_asked"], a["ext_granted"], b["ext_asked"], b["ext_granted"]) == (1, 1, 1, 0)
    assert (a["returned"], a["rehandled"]) == (1, 1)
    # Last round only: rated (2 residents, 1 satisfied; rep basically) + no_resident (rep satisfied)
    # + rehandled round 2 (resident basically).
    assert (a["res_ratings"], a["res_satisfied"], a["rep_ratings"], a["rep_satisfied"]) == (3, 2, 2, 2)
    assert a["closure_rate"] == 50.0 and a["on_time_rate"] == 75.0
    assert a["res_satisfaction"] == 66.7 and a["rep_satisfaction"] == 100.0
    assert b["closure_rate"] == 0.0 and b["res_satisfaction"] is None
    assert total["collected"] == 11 and total["on_time_rate"] == 60.0


def test_a_township_sees_its_own_tickets_only(pattern, clerk_a, township_a):
    rows = statistics.suggestion_statistics(clerk_a, start=START, end=END, by="township")
    assert [r["group"] for r in rows] == [township_a.pk, None]
    assert rows[-1]["collected"] == 8


def _listed(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200
    return response.context["page"].paginator.count


@pytest.mark.parametrize("by", ["township", "unit", "source", "rep", "category"])
def test_each_count_opens_a_list_of_that_many_tickets(client, pattern, liaison_office, by):
    client.force_login(liaison_office)
    response = client.get(reverse("proposals:statistics"), {**PERIOD, "by": by})
    assert response.status_code == 200
    checked = 0
    for row in response.context["rows"]:
        for cell in row["cells"]:
            if cell["url"] and (cell["value"] or cell["key"] in ("collected", "on_time")):
                assert _listed(client, cell["url"]) == cell["value"], (row["name"], cell["key"])
                checked += 1
    assert checked >= 10


def test_groups_without_a_unit_or_rep_and_ratings_open_no_list(client, pattern, liaison_office):
    client.force_login(liaison_office)
    response = client.get(reverse("proposals:statistics"), {**PERIOD, "by": "rep"})
    none_row = next(r for r in response.context["rows"] if r["group"] is None and not r["total"])
    assert none_row["collected"] == 4 and all(c["url"] is None for c in none_row["cells"])
    rating_cells = [
        c for r in response.context["rows"] for c in r["cells"] if c["key"].startswith(("rep_", "res_"))
    ]
    assert rating_cells and all(c["url"] is None for c in rating_cells)


def test_only_township_staff_and_the_office(client, pattern, rep_a, unit_a_staff, clerk_a):
    for user in (rep_a, unit_a_staff):
        client.force_login(user)
        assert client.get(reverse("proposals:statistics")).status_code == 403
        assert client.get(reverse("proposals:statistics_export")).status_code == 403
    client.force_login(clerk_a)
    assert client.get(reverse("proposals:statistics")).status_code == 200


def test_period_chooser(client, liaison_office):
    from proposals.stats_views import period_from

    assert (period_from({"period": "quarter", "year": "2026", "quarter": "1"})["end"]) == datetime.date(
        2026, 3, 31
    )
    assert period_from({"period": "year", "year": "2025"})["start"] == datetime.date(2025, 1, 1)
    custom = period_from({"period": "custom", "start": "2026-03-05", "end": "2026-03-09"})
    assert (custom["start"], custom["end"]) == (datetime.date(2026, 3, 5), datetime.date(2026, 3, 9))
    today = timezone.localdate()
    default = period_from({})
    assert (default["start"], default["end"].month) == (today.replace(day=1), today.month)
    # An inverted custom range falls back to the current month rather than showing nothing.
    assert period_from({"period": "custom", "start": "2026-03-09", "end": "2026-03-05"})["kind"] == "month"
    client.force_login(liaison_office)
    page = client.get(reverse("proposals:statistics"), {"period": "quarter", "year": 2026, "quarter": 1})
    assert page.context["period"]["start"] == datetime.date(2026, 1, 1)


def test_excel_numbers_are_numbers(client, pattern, liaison_office):
    from openpyxl import load_workbook

    client.force_login(liaison_office)
    response = client.get(reverse("proposals:statistics_export"), {**PERIOD, "by": "township"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 3  # header, two townships, the total
    total = rows[-1]
    assert total[1] == 11 and isinstance(total[1], int)
    assert isinstance(total[-4], float)  # the closure rate, a number


def test_print_view_and_nav_link(client, pattern, liaison_office, clerk_a, rep_a):
    client.force_login(liaison_office)
    html = client.get(reverse("proposals:statistics"), PERIOD).content.decode()
    assert "data-print" in html and "suggestion-statistics.css" in html and 'style="' not in html
    assert reverse("proposals:statistics") in client.get("/").content.decode()
    client.force_login(rep_a)
    assert reverse("proposals:statistics") not in client.get("/").content.decode()


def test_queries_do_not_grow_with_tickets(
    client, liaison_office, township_a, unit_a, my_rep, django_assert_num_queries
):
    now = local(2026, 3, 15, 10)

    def add(n):
        tickets = Ticket.objects.bulk_create(
            ticket_row(township=township_a, now=now, lead_unit=unit_a, representative=my_rep,
                       status=Status.CLOSED if i % 2 else Status.REPLIED, round=1 + i % 2)
            for i in range(n)
        )  # fmt: skip
        TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket=t, move="reply", at=now, to_status=Status.REPLIED, data={"on_time": i % 3 == 0}
            )
            for i, t in enumerate(tickets)
        )
        Rating.objects.bulk_create(
            Rating(ticket=t, round=t.round, representative=my_rep, score=Rating.Score.SATISFIED)
            for t in tickets
        )
        facts.recompute(Ticket.objects.filter(pk__in=[t.pk for t in tickets]))

    client.force_login(liaison_office)
    url = reverse("proposals:statistics")
    add(10)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url, {**PERIOD, "by": "unit"}).context["rows"][-1]["collected"] == 10
    add(990)
    with django_assert_num_queries(len(few.captured_queries)):
        total = client.get(url, {**PERIOD, "by": "unit"}).context["rows"][-1]
    assert total["collected"] == 1000 and total["rep_ratings"] == 1000


def test_a_township_opens_its_links_even_for_a_county_unit(client, clerk_a, township_a, county_unit, my_rep):
    """A township's ticket led by a county unit: the township's staff open that unit's row too."""
    now = local(2026, 3, 15, 10)
    Ticket.objects.bulk_create(
        [
            ticket_row(township=township_a, now=now, lead_unit=county_unit, representative=my_rep),
            ticket_row(township=township_a, now=now, lead_unit=county_unit, source=Ticket.Source.VISIT),
        ]
    )
    client.force_login(clerk_a)
    for by in ("unit", "rep", "source"):
        response = client.get(reverse("proposals:statistics"), {**PERIOD, "by": by})
        for row in response.context["rows"]:
            cell = row["cells"][0]
            if cell["url"]:
                assert _listed(client, cell["url"]) == cell["value"], (by, row["name"])


def test_the_list_says_it_is_a_statistics_figure(client, pattern, liaison_office):
    client.force_login(liaison_office)
    response = client.get(reverse("proposals:workspace"), {"queue": "all", "closed": "1", "stat": "on_time"})
    assert response.context["stat_label"] == "按时答复"  # the column's name, in the page's language
    assert 'id="stat-filter"' in response.content.decode()
    # An unknown column is dropped, never an error page.
    plain = client.get(reverse("proposals:workspace"), {"queue": "all", "closed": "1", "stat": "nope"})
    assert not plain.context["stat_filtered"]


@pytest.mark.django_db
def test_grouping_sets_in_one_scan_equal_one_query_per_set(
    township_a, township_b, unit_a, unit_b, django_assert_num_queries
):
    """``tally_sets``: on PostgreSQL one statement (GROUP BY GROUPING SETS, written over Django's own
    query) gives exactly the rows of one query per set: the groups with a NULL in them (no lead
    unit, never closed) kept apart from the other set's rows, the months converted to dates as
    Django converts them, and each set with its own aggregates."""
    from django.db.models import Count, DateField, Q
    from django.db.models.functions import TruncMonth

    units, statuses = [unit_a, unit_b, None], [Status.ASSIGNED, Status.REPLIED, Status.CLOSED]
    Ticket.objects.bulk_create(
        ticket_row(
            township=(township_a, township_b)[i % 2],
            now=local(2026, 1 + i % 7, 1 + i % 27, 9),
            lead_unit=units[i % 3],
            status=statuses[i % 3],
            closed_at=local(2026, 2 + i % 7, 3, 9) if statuses[i % 3] == Status.CLOSED and i % 2 else None,
            stat_replied=i % 4 == 0,
        )
        for i in range(120)
    )
    tickets = Ticket.objects.annotate(
        registered_in=TruncMonth("created_at", tzinfo=TZ, output_field=DateField()),
        closed_in=TruncMonth("closed_at", tzinfo=TZ, output_field=DateField()),
    )
    sets = [
        (("lead_unit_id", "status"), statistics.aggregates()),
        (
            ("registered_in", "closed_in"),
            {"n": Count("pk"), "march": Count("pk", filter=Q(closed_at__month=3))},
        ),
    ]

    def ordered(rows):
        return sorted(rows, key=lambda row: [str(row[key]) for key in sorted(row)])

    separate = [ordered(rows) for rows in statistics.tally_sets(tickets, sets, one_scan=False)]
    expected_queries = 1 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(expected_queries):
        combined = [ordered(rows) for rows in statistics.tally_sets(tickets, sets)]
    assert combined == separate
    by_unit, by_month = combined
    assert sum(row["collected"] for row in by_unit) == 120 == sum(row["n"] for row in by_month)
    assert {row["lead_unit_id"] for row in by_unit} == {unit_a.pk, unit_b.pk, None}
    assert all(isinstance(row["registered_in"], datetime.date) for row in by_month)
    assert {row["closed_in"] for row in by_month} >= {None, datetime.date(2026, 3, 1)}
    assert set(by_month[0]) == {"registered_in", "closed_in", "n", "march"}

"""The indexes the ticket pages rely on match the queries they serve (PostgreSQL's planner).

With sequential scans priced out, a query the index fits is planned on it; one it does not fit
(a different expression, say a status list in another order) falls back to a sort. So a change
to the urgency expression that the index no longer matches fails here, not in production."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.utils import timezone, translation

from proposals.models import Ticket
from proposals.transitions import CLOSED, Status
from tests.factories import TownshipFactory
from tests.helpers import explain
from tests.proposals.ticket_rows import ticket_row

pytestmark = pytest.mark.postgres

DAY = datetime.timedelta(days=1)


def plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        return queryset.explain()


@pytest.mark.django_db(transaction=False)
def test_the_urgency_order_is_read_from_its_index(township_a, unit_a):
    if connection.vendor != "postgresql":
        pytest.fail("index plans are checked on PostgreSQL: run it with `make test`")
    now = timezone.now()
    statuses = [Status.REGISTERED, Status.ASSIGNED, Status.SIGNED, Status.REPLIED, Status.CLOSED]
    Ticket.objects.bulk_create(
        ticket_row(township=township_a, now=now, lead_unit=unit_a, status=s, due_at=now + i * DAY)
        for i in range(200)
        for s in statuses[i % 5 : i % 5 + 1]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE proposals_ticket")
    page = Ticket.objects.exclude(status__in=CLOSED).by_due()[:50]
    assert "ticket_urgency" in plan(page)
    # The control: ordered by the plain due time, the same page cannot use that index.
    assert "ticket_urgency" not in plan(Ticket.objects.exclude(status__in=CLOSED).order_by("due_at")[:50])
    # And the order is the urgency order: running deadlines first, soonest first.
    rows = list(page.values_list("status", "due_at"))
    assert {status for status, _ in rows} == {Status.ASSIGNED, Status.SIGNED}  # 80 run, 50 shown
    assert [due for _, due in rows] == sorted(due for _, due in rows)


@pytest.mark.django_db(transaction=False)
def test_overdue_by_unit_is_counted_from_its_index_alone(township_a, unit_a, unit_b, liaison_office):
    """The overview's and the to-do's overdue-by-unit count reads ``ticket_unit_running`` (on a
    vacuumed table an index-only scan: the unit, the due time and the township the scope filters on
    are all in the index), and counts exactly the tickets whose deadline has passed."""
    if connection.vendor != "postgresql":
        pytest.fail("index plans are checked on PostgreSQL: run it with `make test`")
    from proposals.queues import overdue_by_unit

    now = timezone.now()
    statuses = [Status.ASSIGNED, Status.SIGNED, Status.CONTACTED, Status.PLANNED, Status.REPLIED]
    Ticket.objects.bulk_create(
        ticket_row(
            township=township_a,
            now=now,
            lead_unit=(unit_a, unit_b)[i % 2],
            status=statuses[i % 5],
            due_at=now + (i - 150) * DAY,
        )
        for i in range(300)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE proposals_ticket")
    rows = overdue_by_unit(liaison_office, now)
    explained = plan(rows)
    # An index-only scan on a vacuumed table; here, inside the test's transaction, the planner may
    # visit the index through a bitmap (no page is all-visible yet, and what earlier tests left in
    # the table moves its estimate): either way the partial index, never the whole table.
    partial = r"Index Only Scan using ticket_unit_running|Bitmap Index Scan on ticket_unit_running"
    assert re.search(partial, explained), explained
    assert "Seq Scan on proposals_ticket" not in explained, explained
    # 150 tickets are past due; a fifth of them (REPLIED) no longer run: 120, split by unit.
    counted = {row["lead_unit"]: row["overdue"] for row in rows}
    expected = {
        unit.pk: sum(
            1 for i in range(150) if statuses[i % 5] != Status.REPLIED and (unit_a, unit_b)[i % 2] == unit
        )
        for unit in (unit_a, unit_b)
    }
    assert counted == expected and sum(counted.values()) == 120


@pytest.mark.django_db(transaction=False)
def test_each_offices_overdue_digest_is_counted_from_its_index(township_a, township_b, unit_a, county):
    """The overdue digest counts, when it is sent, the running tickets past due that each office
    assigned: by township for a township's office, by the county's townships for the county's.
    Both counts read ``ticket_township_running`` (without it, one in a batch of deliveries that
    held a county's digest scanned the million tickets: 80 ms, 111 times for 2,000 overdue)."""
    if connection.vendor != "postgresql":
        pytest.fail("index plans are checked on PostgreSQL: run it with `make test`")
    from django.test.utils import CaptureQueriesContext

    from liaison.models import Notification
    from proposals.notifications import render_overdue_digest

    now = timezone.now()
    statuses = [Status.ASSIGNED, Status.SIGNED, Status.CONTACTED, Status.PLANNED, Status.REPLIED]
    by = [Ticket.AssignedBy.TOWNSHIP, Ticket.AssignedBy.COUNTY]
    Ticket.objects.bulk_create(
        ticket_row(
            township=(township_a, township_b)[i % 3 == 0],
            now=now,
            lead_unit=unit_a,
            status=statuses[i % 5],
            assigned_by=by[i % 2],
            due_at=now + (i - 150) * DAY + DAY / 2,  # 150 past due when counted
        )
        for i in range(300)
    )
    # As in a province, most running tickets are on time, and most are other townships': what an
    # office's digest counts is a small part of them.
    Ticket.objects.bulk_create(
        ticket_row(
            township=township,
            now=now,
            lead_unit=unit_a,
            status=Status.SIGNED,
            assigned_by=by[i % 2],
            due_at=now + 8 * DAY,
        )
        for township in [township_a, township_b, *TownshipFactory.create_batch(10)]
        for i in range(300)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE proposals_ticket")
    offices = [township_a, township_b, county]
    digests = [Notification(kind="ticket.overdue_digest", subject_id=region.pk) for region in offices]
    with CaptureQueriesContext(connection) as queries, translation.override("en"):
        messages = render_overdue_digest(digests)

    def overdue(match) -> int:
        return sum(1 for i in range(150) if statuses[i % 5] != Status.REPLIED and match(i))

    expected = [
        overdue(lambda i: i % 3 != 0 and i % 2 == 0),  # township_a's own
        overdue(lambda i: i % 3 == 0 and i % 2 == 0),  # township_b's own
        overdue(lambda i: i % 2 == 1),  # the county's, in both townships
    ]
    assert [int(message.body.split()[0]) for message in messages] == expected and all(expected)
    counts = [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"]]
    assert len(counts) == 2
    for sql in counts:
        explained = explain(sql)
        assert "ticket_township_running" in explained, explained


@pytest.mark.django_db(transaction=False)
def test_the_trend_of_a_user_who_sees_all_is_counted_from_two_indexes(township_a, unit_a, django_user_model):
    """For a user who sees all (a province's whole table), the overview's trend counts each month's
    registered tickets from the index on ``created_at`` and its closed ones from ``ticket_closed``:
    24 counts, none of them a scan of the table (which the tally already reads once)."""
    if connection.vendor != "postgresql":
        pytest.fail("index plans are checked on PostgreSQL: run it with `make test`")
    from django.test.utils import CaptureQueriesContext

    from proposals import overview
    from proposals.stats_views import period_from

    now = timezone.now()
    Ticket.objects.bulk_create(
        ticket_row(
            township=township_a,
            now=now - i * DAY,
            created_at=now - i * DAY,
            lead_unit=unit_a,
            status=Status.CLOSED if i % 2 else Status.SIGNED,
            closed_at=now - i * DAY / 2 if i % 2 else None,
        )
        for i in range(300)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE proposals_ticket")
    admin = django_user_model.objects.create_superuser("root", password="x")
    period = period_from({"period": "year", "year": timezone.localdate(now).year})
    with CaptureQueriesContext(connection) as queries:
        _by_period, trend, _overdue = overview.count(admin, period, now)
    counts = [query["sql"] for query in queries.captured_queries if query["sql"].count("COUNT(*)") == 24]
    assert len(counts) == 1
    explained = explain(counts[0])
    assert "Seq Scan" not in explained, explained
    assert "using ticket_closed" in explained, explained
    assert re.search(r"using (proposals_ticket_created_at_\w+|ticket_newest)", explained), explained
    # And what it counts: each ticket in the month it was registered, and closed.
    registered = sum(row["in_window"] for row in trend if row["registered_in"])
    closed = sum(row["in_window"] for row in trend if row["closed_in"])
    assert (registered, closed) == (
        Ticket.objects.filter(created_at__year=period["start"].year).count(),
        Ticket.objects.filter(closed_at__year=period["start"].year).count(),
    )

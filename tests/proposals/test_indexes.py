"""The indexes the ticket pages rely on match the queries they serve (PostgreSQL's planner).

With sequential scans priced out, a query the index fits is planned on it; one it does not fit
(a different expression, say a status list in another order) falls back to a sort. So a change
to the urgency expression that the index no longer matches fails here, not in production."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from proposals.models import Ticket
from proposals.transitions import CLOSED, Status
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
    """The overview's and the to-do's overdue-by-unit count reads ``ticket_unit_running`` without
    visiting the table (an index-only scan: the unit, the due time and the township the scope
    filters on are all in the index), and counts exactly the tickets whose deadline has passed."""
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
    assert "Index Only Scan using ticket_unit_running" in explained, explained
    # 150 tickets are past due; a fifth of them (REPLIED) no longer run: 120, split by unit.
    counted = {row["lead_unit"]: row["overdue"] for row in rows}
    expected = {
        unit.pk: sum(
            1 for i in range(150) if statuses[i % 5] != Status.REPLIED and (unit_a, unit_b)[i % 2] == unit
        )
        for unit in (unit_a, unit_b)
    }
    assert counted == expected and sum(counted.values()) == 120

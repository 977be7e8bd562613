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

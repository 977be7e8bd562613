"""The home page's to-do: each role sees what waits for it, counted exactly, each count opening
a list of exactly those tickets, in the same number of queries for 10 tickets as for 1,000."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from proposals.models import Assignment, Extension, Rating, Ticket
from proposals.transitions import Status
from tests.proposals.ticket_rows import ticket_row

DAY = datetime.timedelta(days=1)
TODO_ITEM = re.compile(r'data-todo="(?P<key>[a-z_]+)"(?: data-count="(?P<count>\d+)")?')


def todo_counts(client) -> dict[str, int | None]:
    page = client.get(reverse("home")).content.decode()
    return {m["key"]: int(m["count"]) if m["count"] else None for m in TODO_ITEM.finditer(page)}


def build(n_quiet: int, *, township_a, township_b, unit_a, county_unit, my_rep, now):
    """A township's day: 3 to triage, 1 returned, 1 to sign, 2 overdue and 1 due soon in handling,
    1 reply to review, 1 extension to decide, 1 reply for the rep to rate, 1 county ticket to
    assign; another township's matters; and ``n_quiet`` tickets on time that ask nothing today."""
    rows = [ticket_row(township=township_a, now=now, status=Status.REGISTERED) for _ in range(4)]
    rows += [ticket_row(township=township_a, now=now, lead_unit=unit_a, due_at=now + 8 * DAY)]
    rows += [
        ticket_row(township=township_a, now=now, lead_unit=unit_a, status=Status.SIGNED, due_at=now - DAY)
        for _ in range(2)
    ]
    rows += [
        ticket_row(township=township_a, now=now, lead_unit=unit_a, status=Status.PLANNED, due_at=now + DAY)
    ]
    rows += [ticket_row(township=township_a, now=now, lead_unit=unit_a, status=Status.REPLIED)]
    rows += [
        ticket_row(
            township=township_a,
            now=now,
            lead_unit=unit_a,
            status=Status.FORWARDED,
            representative=my_rep,
            round=2,
        )
    ]
    rows += [ticket_row(township=township_a, now=now, status=Status.AT_COUNTY)]
    rows += [ticket_row(township=township_b, now=now, status=Status.REGISTERED) for _ in range(2)]
    rows += [
        ticket_row(
            township=township_a, now=now, lead_unit=county_unit, status=Status.SIGNED, due_at=now + 8 * DAY
        )
        for _ in range(n_quiet)
    ]
    tickets = Ticket.objects.bulk_create(rows)
    returned, to_sign, late1, late2, soon, replied, forwarded = tickets[3:10]
    live = [to_sign, late1, late2, soon, replied, forwarded]
    Assignment.objects.bulk_create(
        [Assignment(ticket=returned, unit=unit_a, role="lead", ended_at=now - DAY)]
        + [Assignment(ticket=t, unit=unit_a, role="lead") for t in live]
        + [Assignment(ticket=t, unit=county_unit, role="lead") for t in tickets[13:]]
    )
    Extension.objects.create(ticket=soon, requested_until=now + 20 * DAY, reason="需要协调")
    # The rep rated the first round: this round waits for them.
    Rating.objects.create(ticket=forwarded, round=1, representative=my_rep, score=Rating.Score.SATISFIED)
    return tickets


@pytest.fixture
def day(township_a, township_b, unit_a, county_unit, my_rep):
    return build(
        0,
        township_a=township_a,
        township_b=township_b,
        unit_a=unit_a,
        county_unit=county_unit,
        my_rep=my_rep,
        now=timezone.now(),
    )


def test_the_township_clerk_sees_the_townships_work(client, clerk_a, day):
    client.force_login(clerk_a)
    assert todo_counts(client) == {
        "triage": 3,
        "returned": 1,
        "township_review": 1,
        "township_extensions": 1,
        "township_dissatisfied": 0,
        "township_overdue": 2,
        "overdue_by_unit": 2,
        "unrecorded_duties": 0,
        "matters_awaiting_ticket": 0,  # no reception or visit in this fixture
    }


def test_the_unit_sees_what_to_sign_handle_and_answer(client, unit_a_staff, day):
    client.force_login(unit_a_staff)
    assert todo_counts(client) == {
        "to_sign": 1,
        "handling": 3,
        "due_soon": 1,
        "unit_overdue": 2,
        "co_opinion": 0,
    }


def test_the_liaison_office_sees_the_countys_work(client, liaison_office, day):
    client.force_login(liaison_office)
    assert todo_counts(client) == {
        "county_assign": 1,
        # Every reply comes to the office, whoever assigned it (DOMAIN, step 3): the township's too.
        "office_review": 1,
        "office_extensions": 0,
        "office_dissatisfied": 0,
        "office_overdue": 2,
        "overdue_by_unit": 2,
        "unrecorded_duties": 0,
        "matters_awaiting_ticket": 0,  # no reception or visit in this fixture
    }


def test_the_rep_sees_the_reply_to_rate_and_their_duties(client, rep_a, day):
    client.force_login(rep_a)
    counts = todo_counts(client)
    assert counts["to_rate"] == 1
    assert {"duties_behind", "duties_due"} <= counts.keys()


@pytest.mark.parametrize("user", ["clerk_a", "unit_a_staff", "liaison_office", "rep_a"])
def test_each_count_opens_a_list_of_exactly_those_tickets(client, request, day, user):
    client.force_login(request.getfixturevalue(user))
    page = client.get(reverse("home")).content.decode()
    links = re.findall(
        r'href="(/tickets/\?queue=[a-z]+&amp;todo=[a-z_]+)" data-todo="[a-z_]+" data-count="(\d+)"', page
    )
    assert links
    for url, count in links:
        listed = client.get(url.replace("&amp;", "&"))
        assert listed.status_code == 200
        assert listed.content.decode().count(
            'class="list-group-item list-group-item-action ticket-row"'
        ) == int(count), url


def test_a_to_do_filter_of_another_role_or_queue_is_404(client, clerk_a, day):
    client.force_login(clerk_a)
    workspace = reverse("proposals:workspace")
    assert client.get(workspace, {"queue": "township", "todo": "triage"}).status_code == 200
    assert client.get(workspace, {"queue": "township", "todo": "to_sign"}).status_code == 404
    assert client.get(workspace, {"queue": "all", "todo": "triage"}).status_code == 404
    assert client.get(workspace, {"queue": "township", "todo": "nonsense"}).status_code == 404


def test_the_home_page_has_no_highlighted_button_of_no_meaning(client, clerk_a):
    client.force_login(clerk_a)
    assert "btn-liaison" not in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("user", ["clerk_a", "unit_a_staff", "liaison_office", "rep_a", "studio_officer"])
def test_the_home_page_costs_the_same_for_10_and_1000_tickets(
    client,
    request,
    user,
    township_a,
    township_b,
    unit_a,
    county_unit,
    my_rep,
    studio_officer,
    django_assert_num_queries,
):
    now = timezone.now()
    people = {
        "township_a": township_a,
        "township_b": township_b,
        "unit_a": unit_a,
        "county_unit": county_unit,
    }
    build(0, **people, my_rep=my_rep, now=now)
    client.force_login(request.getfixturevalue(user))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        before = todo_counts(client)
    assert before
    Ticket.objects.bulk_create(
        ticket_row(township=township_a, now=now, status=Status.CLOSED) for _ in range(1000)
    )
    with django_assert_num_queries(len(few.captured_queries)):
        after = todo_counts(client)
    assert after == before  # closed tickets ask nothing of anyone

"""The admin's ticket list at scale: no COUNT or DISTINCT over the whole table, a capped count,
filters read from the reference tables (scoped), the same queries for 10 and 10,000 tickets."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from liaison.admin_mixins import CappedCountPaginator
from proposals.admin import TicketAdmin
from proposals.models import Ticket
from tests.factories import TownshipFactory
from tests.proposals.ticket_rows import ticket_row

URL = reverse("admin:proposals_ticket_changelist")


def _add(n, township):
    now = timezone.now()
    Ticket.objects.bulk_create(ticket_row(township=township, now=now) for _ in range(n))


def _whole_table_scans(queries) -> list[str]:
    """Queries that count or de-duplicate the tickets without a LIMIT under the count."""
    found = []
    for query in (q["sql"] for q in queries):
        if "proposals_ticket" not in query:
            continue
        counts_all = re.search(r"COUNT\(", query, re.I) and "LIMIT" not in query.upper()
        if "DISTINCT" in query.upper() or counts_all:
            found.append(query)
    return found


@pytest.mark.parametrize("params", [{}, {"status": "assigned"}, {"registered": "year"}, {"q": "批量"}])
def test_the_list_never_counts_or_deduplicates_the_whole_table(client, liaison_office, township_a, params):
    _add(30, township_a)
    client.force_login(liaison_office)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, params)
    assert response.status_code == 200
    assert _whole_table_scans(queries.captured_queries) == []


def test_past_the_cap_it_says_more_than_and_pages_up_to_it(client, liaison_office, township_a, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "CAP", 20)
    _add(45, township_a)
    client.force_login(liaison_office)
    html = client.get(URL).content.decode()
    assert "超过 20" in html
    assert client.get(URL, {"p": "1"}).status_code == 200
    _add(0, township_a)
    monkeypatch.setattr(CappedCountPaginator, "CAP", 100)
    html = client.get(URL).content.decode()
    assert "45 " in html and "超过" not in html


def test_filters_offer_the_users_townships_from_the_region_table(
    client, liaison_office, township_a, township_b
):
    far = TownshipFactory(name="远方镇")  # in another county
    _add(3, far)
    _add(2, township_b)  # no ticket of township A yet: it is offered all the same
    client.force_login(liaison_office)
    response = client.get(URL)
    cl = response.context["cl"]
    choices = [c["display"] for spec in cl.filter_specs for c in spec.choices(cl)]
    assert township_a.name in choices and township_b.name in choices and far.name not in choices


def _rows(response) -> int:
    assert response.status_code == 200
    # Each row links its ticket's change page once (the first column).
    return len(set(re.findall(r'href="/admin/proposals/ticket/(\d+)/change/', response.content.decode())))


def test_queries_do_not_grow_with_tickets(client, liaison_office, township_a, django_assert_num_queries):
    """The same queries for 10 and 10,000 tickets, and the rows drawn each time (a page of them)."""
    client.force_login(liaison_office)
    _add(10, township_a)
    with CaptureQueriesContext(connection) as few:
        assert _rows(client.get(URL)) == 10
    _add(9_990, township_a)
    with django_assert_num_queries(len(few.captured_queries)):
        assert _rows(client.get(URL)) == TicketAdmin.list_per_page


def test_the_registered_filter_lists_the_tickets_of_its_range(client, liaison_office, township_a):
    now = timezone.now()
    a_year_ago = now.replace(year=now.year - 1, month=6, day=15)
    Ticket.objects.bulk_create(
        [ticket_row(township=township_a, now=now, created_at=a_year_ago) for _ in range(2)]
        + [ticket_row(township=township_a, now=now, created_at=now)]
    )
    client.force_login(liaison_office)
    for value, listed in (("last_year", 2), ("year", 1), ("month", 1), ("last_month", 0)):
        assert client.get(URL, {"registered": value}).context["cl"].result_count == listed, value


def test_the_related_filters_links_are_djangos_written_in_one_pass(
    client, liaison_office, township_a, township_b
):
    """The township and category filters build each choice's link from the list's query string
    encoded once: the same links as Django's own filter, each township's name its label."""
    from django.contrib.admin import RelatedFieldListFilter

    from liaison.admin_mixins import ScopedRelatedFilter

    _add(2, township_a)
    client.force_login(liaison_office)
    params = {
        "status": "assigned",
        "q": "批量 & 其他",
        "township__id__exact": str(township_b.pk),
        "is_public_interest__exact": "0",
    }
    response = client.get(URL, params)
    cl = response.context["cl"]
    specs = [spec for spec in cl.filter_specs if isinstance(spec, ScopedRelatedFilter)]
    assert len(specs) == 2
    for spec in specs:
        assert list(spec.choices(cl)) == list(RelatedFieldListFilter.choices(spec, cl))
        for pk, label in spec.lookup_choices:
            assert label == str(spec.field.remote_field.model.objects.get(pk=pk))
    html = response.content.decode()
    selected = next(c for c in specs[1].choices(cl) if c["selected"])
    assert selected["display"] == township_b.name
    assert f'<li class="selected"><a href="{selected["query_string"].replace("&", "&amp;")}">' in html
    assert f">{township_a.name}</a></li>" in html


@pytest.mark.parametrize("params", [{}, {"status": "assigned", "q": "批量", "o": "-7.2"}])
@pytest.mark.parametrize("actions", [False, True])
def test_the_rows_written_in_one_pass_are_djangos_rows(
    client, liaison_office, township_a, unit_a, params, actions, monkeypatch
):
    """Every cell as Django's ``items_for_result`` writes it: links with the preserved filters,
    the action checkbox, dates, choices, empty related units (``fast_result_list``)."""
    from django.contrib.admin.templatetags import admin_list

    from liaison.templatetags.liaison_admin import fast_result_list
    from proposals.admin import TicketAdmin

    if actions:
        action = (lambda *args: None, "noop", "Do nothing")
        monkeypatch.setattr(TicketAdmin, "get_actions", lambda self, request: {"noop": action})

    now = timezone.now()
    Ticket.objects.bulk_create(
        [ticket_row(township=township_a, now=now), ticket_row(township=township_a, now=now, title="<b>&标题")]
        + [ticket_row(township=township_a, now=now, lead_unit=unit_a, status="assigned")]
    )
    client.force_login(liaison_office)
    response = client.get(URL, params)
    assert response.status_code == 200
    cl = response.context["cl"]
    ours = [list(row) for row in fast_result_list(cl)["results"]]
    djangos = ["".join(row) for row in admin_list.result_list(cl)["results"]]
    assert len(djangos) == len(ours) > 0
    assert ours == [[row] for row in djangos]
    assert ours[0][0] in response.content.decode()
    assert ('name="_selected_action"' in ours[0][0]) is actions


def test_the_page_reads_only_the_columns_it_shows(client, liaison_office, township_a, unit_a):
    now = timezone.now()
    Ticket.objects.bulk_create(ticket_row(township=township_a, now=now, lead_unit=unit_a) for _ in range(3))
    client.force_login(liaison_office)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    page = [
        q["sql"]
        for q in queries.captured_queries
        if "proposals_ticket" in q["sql"] and "COUNT" not in q["sql"]
    ]
    assert len(page) == 1
    assert '"proposals_ticket"."title"' in page[0] and '"liaison_handlingunit"."name"' in page[0]
    assert '"proposals_ticket"."content"' not in page[0] and '"liaison_handlingunit"."phone"' not in page[0]
    assert unit_a.name in response.content.decode()

"""The county overview (/overview/): headline figures with 同比/环比, charts whose bars open lists
of exactly that many tickets or reps, scope, and queries that do not grow with the data."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from proposals import overview
from proposals.models import Ticket, TicketEvent
from proposals.stats_views import period_from
from proposals.transitions import Status
from tests.proposals.test_statistics import PERIOD, build, local
from tests.proposals.ticket_rows import ticket_row

MARCH = period_from(PERIOD)


@pytest.fixture
def pattern(township_a, township_b, unit_a, unit_b, my_rep):
    """The statistics' March 2026 pattern, with closing times, one overdue ticket (due in March,
    still with unit B) and one ticket of March 2025 for the year-on-year change."""
    t = build(township_a=township_a, township_b=township_b, unit_a=unit_a, unit_b=unit_b, rep=my_rep)
    for key in ("on_spot", "explained", "rated", "no_resident"):
        Ticket.objects.filter(pk=t[key].pk).update(closed_at=local(2026, 3, 25, 9))
    Ticket.objects.filter(pk=t["before"].pk).update(closed_at=local(2026, 2, 28, 23, 59, 59))
    Ticket.objects.filter(pk=t["b_open"].pk).update(due_at=local(2026, 3, 25, 17))
    Ticket.objects.bulk_create(
        [ticket_row(township=township_a, now=local(2025, 3, 15), created_at=local(2025, 3, 15))]
    )
    return t


def _by_key(headlines):
    return {h["key"]: h for h in headlines}


def test_shifted_periods():
    def dates(params, **kw):
        return overview.shifted(period_from(params), **kw)

    jan = {"period": "month", "year": 2026, "month": 1}
    assert dates(jan) == (datetime.date(2025, 12, 1), datetime.date(2025, 12, 31))
    q1 = {"period": "quarter", "year": 2026, "quarter": 1}
    assert dates(q1) == (datetime.date(2025, 10, 1), datetime.date(2025, 12, 31))
    assert dates({"period": "year", "year": 2026}) == (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
    week = {"period": "custom", "start": "2026-03-09", "end": "2026-03-15"}
    assert dates(week) == (datetime.date(2026, 3, 2), datetime.date(2026, 3, 8))
    leap = {"period": "month", "year": 2028, "month": 2}
    assert dates(leap, years=1) == (datetime.date(2027, 2, 1), datetime.date(2027, 2, 28))


def test_headlines_with_changes_on_the_previous_period_and_last_year(pattern, liaison_office):
    with translation.override("zh-hans"):  # as the page renders, whatever another test left active
        figures = overview.county_overview(liaison_office, MARCH, now=local(2026, 4, 2, 10))
    h = _by_key(figures["headlines"])
    assert (h["collected"]["value"], h["closed"]["value"]) == (11, 4)
    # February held one ticket ("before", closed); March 2025 one (open).
    assert h["collected"]["mom"]["text"] == "+10 (+1000.0%)" and h["collected"]["mom"]["direction"] == "up"
    assert h["collected"]["yoy"]["text"] == "+10 (+1000.0%)"
    assert h["closure_rate"]["value"] == 36.4
    assert h["closure_rate"]["mom"] == {"text": "-63.6 个百分点", "direction": "down"}
    assert h["closure_rate"]["yoy"]["text"] == "+36.4 个百分点"
    # No reply last year: no on-time rate to compare with.
    assert h["on_time_rate"]["value"] == 60.0 and h["on_time_rate"]["yoy"] is None
    assert figures["previous"] == (datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))


def _charts(response) -> dict:
    return {chart.id: chart for chart in response.context["charts"]}


def _listed(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["page"].paginator.count


def test_every_count_bar_opens_a_list_of_that_many(client, pattern, liaison_office, unit_a, unit_b):
    client.force_login(liaison_office)
    response = client.get(reverse("overview:index"), PERIOD)
    assert response.status_code == 200
    charts = _charts(response)
    status = dict(
        zip(charts["chart-status"].categories, charts["chart-status"].series[0].values, strict=True)
    )
    assert sum(status.values()) == 11 and status["已办结"] == 3 and status["已归档"] == 1
    trend = charts["chart-trend"]
    assert trend.categories[0] == "2025-04" and trend.categories[-1] == "2026-03"
    registered, closed = (dict(zip(trend.categories, s.values, strict=True)) for s in trend.series)
    assert (registered["2026-03"], registered["2026-02"], closed["2026-03"], closed["2026-02"]) == (
        11,
        1,
        4,
        1,
    )
    units = charts["chart-units-late"]
    overdue, late = (dict(zip(units.categories, s.values, strict=True)) for s in units.series)
    assert units.categories[0] == unit_b.name  # overdue now ranks first
    assert (overdue[unit_b.name], late[unit_b.name], late[unit_a.name]) == (1, 1, 1)
    checked = 0
    for key in ("chart-status", "chart-trend", "chart-units-late"):
        for shape in charts[key].shapes:
            if shape["url"] and shape["value"]:
                assert _listed(client, shape["url"]) == shape["value"], shape["title"]
                checked += 1
    assert checked >= 12


def test_satisfaction_and_duty_bars(client, pattern, liaison_office, unit_a):
    client.force_login(liaison_office)
    charts = _charts(client.get(reverse("overview:index"), PERIOD))
    satisfaction = charts["chart-units-satisfaction"]
    resident, rep = (dict(zip(satisfaction.categories, s.values, strict=True)) for s in satisfaction.series)
    # Unit A's last-round ratings: residents 2 of 3 satisfied, the rep 2 of 2 (as on the statistics).
    assert (resident[unit_a.name], rep[unit_a.name]) == (66.7, 100.0)
    duties = charts["chart-duties"]
    for shape in duties.shapes:
        if shape["value"]:
            listed = client.get(shape["url"])
            assert listed.status_code == 200
            assert listed.context["page"].paginator.count == shape["value"], shape["title"]


def test_a_township_sees_its_own_township(client, pattern, clerk_a, township_b):
    client.force_login(clerk_a)
    response = client.get(reverse("overview:index"), PERIOD)
    assert _by_key(response.context["headlines"])["collected"]["value"] == 8
    assert township_b.name not in response.content.decode()


def test_only_township_staff_and_the_office(client, rep_a, unit_a_staff):
    for user in (rep_a, unit_a_staff):
        client.force_login(user)
        assert client.get(reverse("overview:index")).status_code == 403
    client.logout()
    assert client.get(reverse("overview:index")).status_code == 302


def test_the_page_draws_svg_with_its_tables_and_definitions(client, pattern, liaison_office):
    client.force_login(liaison_office)
    html = client.get(reverse("overview:index"), PERIOD).content.decode()
    # Five drawn; no studio has figures here, and its chart says so instead of drawing nothing.
    assert html.count("<svg") == 5 and "本期暂无数据" in html
    assert 'data-series="closed" data-value="4"' in html  # March's closed column carries its count
    assert 'id="chart-units-late-table"' in html and "<details" in html
    assert "办结率" in html and "按时答复率" in html and "的定义" in html
    assert "环比" in html and "同比" in html
    assert 'style="' not in html and "<script>" not in html  # the strict CSP: no inline code
    # The home page of the office links to it.
    assert reverse("overview:index") in client.get("/").content.decode()


def test_the_default_period_is_this_year(client, liaison_office):
    client.force_login(liaison_office)
    response = client.get(reverse("overview:index"))
    assert response.context["period"]["kind"] == "year" and response.context["previous"] is None


def test_late_and_closing_date_filters_of_the_list(client, pattern, liaison_office, unit_a):
    client.force_login(liaison_office)
    base = {"queue": "all", "closed": "1"}
    assert (
        _listed(client, reverse("proposals:workspace") + f"?queue=all&closed=1&stat=late&lead={unit_a.pk}")
        == 1
    )
    url = reverse("proposals:workspace")
    assert (
        client.get(url, {**base, "closed_from": "2026-03-01", "closed_to": "2026-03-31"})
        .context["page"]
        .paginator.count
        == 4
    )
    # A bad date is dropped, never an error page.
    assert client.get(url, {**base, "closed_from": "2026-13-01"}).status_code == 200


def test_queries_do_not_grow_with_tickets(
    client, liaison_office, township_a, unit_a, my_rep, django_assert_num_queries
):
    now = local(2026, 3, 15, 10)

    def add(n):
        tickets = Ticket.objects.bulk_create(
            ticket_row(township=township_a, now=now, lead_unit=unit_a, representative=my_rep,
                       status=Status.CLOSED if i % 2 else Status.REPLIED, closed_at=now, due_at=now)
            for i in range(n)
        )  # fmt: skip
        TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket=t, move="reply", at=now, to_status=Status.REPLIED, data={"on_time": i % 3 == 0}
            )
            for i, t in enumerate(tickets)
        )

    client.force_login(liaison_office)
    url = reverse("overview:index")
    add(10)
    with CaptureQueriesContext(connection) as few:
        assert _by_key(client.get(url, PERIOD).context["headlines"])["collected"]["value"] == 10
    add(990)
    with django_assert_num_queries(len(few.captured_queries)):
        assert _by_key(client.get(url, PERIOD).context["headlines"])["collected"]["value"] == 1000


def test_a_chart_draws_the_most_concerning_units_and_counts_the_rest(
    client, liaison_office, township_a, monkeypatch
):
    """A province has thousands of units: the chart draws SHOWN of them and links to the whole list."""
    from liaison.models import HandlingUnit

    monkeypatch.setattr(overview, "SHOWN", 2)
    now = local(2026, 3, 15, 10)
    units = HandlingUnit.objects.bulk_create(
        HandlingUnit(name=f"单位{i}", region=township_a) for i in range(4)
    )
    Ticket.objects.bulk_create(
        ticket_row(township=township_a, now=now, lead_unit=unit, due_at=now) for i, unit in enumerate(units)
        for _ in range(i + 1)
    )  # fmt: skip
    client.force_login(liaison_office)
    response = client.get(reverse("overview:index"), PERIOD)
    late = _charts(response)["chart-units-late"]
    assert late.categories == ["单位3", "单位2"] and late.more == 2
    assert "statistics" in late.more_url and "by=unit" in late.more_url
    assert "另有 2 个" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["office", "superuser"])
def test_the_trend_counts_each_ticket_in_its_local_month(township_a, liaison_office, django_user_model, who):
    """Registered at the last second of a Beijing month and at the first of the next, closed across a
    month's end, and registered before the trend's twelve months: each in its own local month (the
    months are cut at local midnight, not UTC's, which is 8 hours later). The same for a county's
    office (one scan of its tickets) and a user who sees all (the trend read from two indexes)."""
    user = (
        liaison_office
        if who == "office"
        else django_user_model.objects.create_superuser("root", password="x")
    )
    rows = [
        ticket_row(
            township=township_a, now=local(2026, 1, 31, 23, 59, 59), created_at=local(2026, 1, 31, 23, 59, 59)
        ),
        ticket_row(
            township=township_a,
            now=local(2026, 2, 1),
            created_at=local(2026, 2, 1),
            status=Status.CLOSED,
            closed_at=local(2026, 3, 1),
        ),
        ticket_row(
            township=township_a,
            now=local(2025, 3, 31, 23),
            created_at=local(2025, 3, 31, 23),
            status=Status.CLOSED,
            closed_at=local(2026, 2, 28, 23, 59, 59),
        ),
    ]
    Ticket.objects.bulk_create(rows)
    _by_period, trend, _overdue = overview.count(user, MARCH, local(2026, 4, 2, 10))
    collected, closed = {}, {}
    for row in trend:
        for month, series in ((row["registered_in"], collected), (row["closed_in"], closed)):
            if month is not None:
                series[month] = series.get(month, 0) + row["in_window"]
    assert collected == {datetime.date(2026, 1, 1): 1, datetime.date(2026, 2, 1): 1}
    assert closed == {datetime.date(2026, 2, 1): 1, datetime.date(2026, 3, 1): 1}


@pytest.mark.parametrize("period", [PERIOD, {"period": "year", "year": 2026}])
def test_a_user_who_sees_all_gets_the_same_figures_by_its_own_queries(
    pattern, liaison_office, django_user_model, township_a, unit_a, period
):
    """For a user who sees all, the tickets are counted otherwise (the periods and the overdue in one
    scan of the whole table, the trend from two indexes) than for a county (``tally_sets``' one scan,
    ``overdue_by_unit``): over one county's tickets, the same overview, every figure and bar."""
    admin = django_user_model.objects.create_superuser("root", password="x")
    now = local(2026, 4, 2, 10)
    # Overdue now, registered before every period counted: counted by unit all the same.
    Ticket.objects.filter(pk=pattern["b_open"].pk).update(created_at=local(2024, 6, 1))
    # Past their due time but no longer with a unit (closed, in the period and before it): not overdue.
    Ticket.objects.filter(pk=pattern["rated"].pk).update(due_at=local(2026, 3, 20))
    Ticket.objects.bulk_create(
        [
            ticket_row(
                township=township_a,
                now=local(2024, 6, 1),
                created_at=local(2024, 6, 1),
                lead_unit=unit_a,
                status=Status.CLOSED,
                closed_at=local(2024, 7, 1),
                due_at=local(2024, 6, 20),
            )
        ]
    )
    with translation.override("zh-hans"):
        office = overview.county_overview(liaison_office, period_from(period), now=now)
        province = overview.county_overview(admin, period_from(period), now=now)
    assert province["headlines"] == office["headlines"]
    assert province["charts"] == office["charts"]
    late = {chart.id: chart for chart in province["charts"]}["chart-units-late"]
    assert late.series[0].values[0] == 1  # unit B's overdue ticket, registered in 2024

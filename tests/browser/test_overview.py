"""The county overview in Chromium: the office opens it, the charts are drawn with their data,
and a unit's overdue bar opens the list of exactly that unit's overdue tickets (axe audits it)."""

import datetime

import pytest
from django.utils import timezone

from proposals.models import Assignment, Ticket
from proposals.transitions import Status
from tests.browser.conftest import log_in, screenshot
from tests.proposals.ticket_rows import ticket_row

pytestmark = pytest.mark.browser

DAY = datetime.timedelta(days=1)


@pytest.mark.parametrize("page_kind", ["desktop", "phone"])
def test_the_office_clicks_a_units_overdue_bar_to_its_tickets(
    new_page, page_kind, liaison_office, township_a, unit_a, county_unit
):
    page = new_page(phone=page_kind == "phone")
    now = timezone.now()
    rows = [
        ticket_row(township=township_a, now=now, lead_unit=unit_a, due_at=now - 2 * DAY) for _ in range(3)
    ]
    rows += [ticket_row(township=township_a, now=now, lead_unit=county_unit, due_at=now - DAY)]
    rows += [ticket_row(township=township_a, now=now, status=Status.CLOSED, closed_at=now)]
    tickets = Ticket.objects.bulk_create(rows)
    Assignment.objects.bulk_create(
        Assignment(ticket=t, unit_id=t.lead_unit_id, role="lead") for t in tickets if t.lead_unit_id
    )
    log_in(page, "lianban")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.locator("#my-pages a", has_text="工作概览").click()
    page.wait_for_url("**/overview/")
    for chart in ("chart-status", "chart-trend", "chart-units-late"):
        assert page.locator(f"#{chart} svg rect.chart-bar").count() > 0, chart
    assert page.locator("#headlines .headline").count() == 9
    assert (
        page.locator("#chart-status rect.chart-bar").evaluate_all(
            "bars => bars.reduce((sum, bar) => sum + Number(bar.dataset.value), 0)"
        )
        == 5
    )
    if page_kind == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, f"overview-{page_kind}")
    # Units ranked by overdue now: unit A (3) first, then the county unit (1).
    overdue = page.locator('#chart-units-late rect[data-series="overdue"]')
    assert overdue.evaluate_all("bars => bars.map(bar => Number(bar.dataset.value))") == [3, 1]
    overdue.first.click()
    page.wait_for_url("**/tickets/?*timeliness=overdue*")
    assert page.locator("#tickets .ticket-row").count() == 3
    assert page.locator("#id_unit").input_value() == str(unit_a.pk)

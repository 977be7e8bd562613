"""The workspace's queues as to-do lists, in Chromium on a 390-px phone (axe audits each page).

1. The liaison office opens "overdue by unit" and, from one unit's number, the list of exactly
   those tickets; it shows closed tickets with one tap; a reversed date range is refused on the
   end date.
2. A representative's tab lists the matter they have not handed in; one tap opens its ticket form.
"""

import datetime

import pytest
from django.utils import timezone

from proposals.models import Assignment, Ticket
from proposals.transitions import Status
from reps.models import VisitMatter
from tests.browser.conftest import log_in, screenshot
from tests.factories import visit
from tests.proposals.ticket_rows import ticket_row

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390
DAY = datetime.timedelta(days=1)


def signed_in(page, username: str) -> None:
    log_in(page, username)
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


def test_the_office_goes_from_overdue_by_unit_to_the_units_late_tickets(
    phone, liaison_office, township_a, unit_a, county_unit
):
    now = timezone.now()
    rows = [
        ticket_row(township=township_a, now=now, lead_unit=unit_a, due_at=now - 2 * DAY) for _ in range(3)
    ]
    rows += [ticket_row(township=township_a, now=now, lead_unit=county_unit, due_at=now - DAY)]
    rows += [ticket_row(township=township_a, now=now, status=Status.CLOSED)]
    tickets = Ticket.objects.bulk_create(rows)
    Assignment.objects.bulk_create(
        Assignment(ticket=t, unit_id=t.lead_unit_id, role="lead") for t in tickets if t.lead_unit_id
    )
    signed_in(phone, "lianban")
    phone.goto("/tickets/")
    phone.locator("#overdue-by-unit").click()
    phone.locator("#overdue-units").wait_for()
    fits_the_phone(phone)
    screenshot(phone, "overdue-by-unit-phone")
    first = phone.locator("tr.overdue-unit").first
    assert first.locator("th").inner_text().strip() == unit_a.name
    first.locator("a.overdue-count").click()
    phone.wait_for_url("**/tickets/?*unit=*")
    assert phone.locator("#tickets .ticket-row").count() == 3
    assert phone.locator("#id_unit").input_value() == str(unit_a.pk)
    fits_the_phone(phone)

    phone.goto("/tickets/?queue=all")
    assert phone.locator("#tickets .ticket-row").count() == 4
    phone.locator("#show-closed").click()
    phone.locator("#hide-closed").wait_for()
    assert phone.locator("#tickets .ticket-row").count() == 5

    phone.locator("#id_registered_from").fill("2026-03-06")
    phone.locator("#id_registered_to").fill("2026-03-01")
    phone.locator("#ticket-filters button").click()
    phone.locator("#id_registered_to-error").wait_for()
    assert phone.locator("#id_registered_to").get_attribute("aria-invalid") == "true"
    fits_the_phone(phone)
    screenshot(phone, "workspace-bad-range-phone")


def test_the_rep_hands_in_a_matter_from_their_tab(phone, rep_a, my_rep, my_contacts):
    home = visit(my_rep, my_contacts, timezone.localdate() - DAY, recorded_by=rep_a)
    matter = VisitMatter.objects.create(visit=home, content="屋顶漏雨需要维修")
    signed_in(phone, "daibiao")
    phone.goto("/tickets/")
    rows = phone.locator("#hand-in .matter-row")
    assert rows.count() == 1
    fits_the_phone(phone)
    screenshot(phone, "rep-tab-hand-in-phone")
    rows.first.click()
    phone.wait_for_url(f"**/tickets/from-visit/{matter.pk}/")
    assert phone.locator("#id_content").input_value() == "屋顶漏雨需要维修"

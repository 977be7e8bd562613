"""A representative opens their own duty record (履职档案) from /reps/me/ on a 390-px phone, and its print view."""

import pytest
from django.utils import timezone

from proposals.models import Ticket, new_tracking_code
from tests.browser.conftest import log_in, screenshot
from tests.factories import visit

pytestmark = pytest.mark.browser

# A title without a break (a pasted address): the table must scroll inside itself, not the page.
LONG_TITLE = "东街社区路灯不亮" + "x" * 80


def test_a_rep_reads_their_record_on_a_phone_without_sideways_scrolling(
    phone, rep_a, my_rep, my_contacts, township_a, category
):
    today = timezone.localdate()
    visit(my_rep, my_contacts, today, recorded_by=rep_a)
    Ticket.objects.create(
        title=LONG_TITLE,
        content="路灯坏了",
        category=category,
        source="reception",
        township=township_a,
        representative=my_rep,
        tracking_code=new_tracking_code(),
        adopted_on=today,
        adopted_by="镇党委",
    )
    log_in(phone, "daibiao")
    phone.goto("/reps/me/")
    phone.locator("#my-record").click()
    phone.wait_for_url(f"**/reps/{my_rep.pk}/record/")
    phone.locator(f"#record-tickets [data-adopted-on='{today:%Y-%m-%d}']").wait_for()
    assert phone.locator("#record-visits tr[data-visit]").count() == 1
    assert phone.locator("#record-contacts tr[data-contact]").count() == 2
    # Every table of the record scrolls inside its own box: the page itself is 390 px wide.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.locator("#record-tickets .table-responsive table").count() == 1
    # The year form's button keeps 查询 on one line (it broke into 查 / 询).
    lines = "el => { const r = document.createRange(); r.selectNodeContents(el); return r.getClientRects().length; }"
    assert phone.locator("#record-show").evaluate(lines) == 1
    screenshot(phone, "rep-record-phone")

    phone.locator("#print-link").click()
    phone.wait_for_url("**print=1")
    phone.locator("#record-points").wait_for()
    assert phone.locator("#record-tickets tr[data-ticket]").count() == 1
    screenshot(phone, "rep-record-print-phone")

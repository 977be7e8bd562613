"""The periodic bulletin (定期通报) in Chromium: the liaison office drafts last month's bulletin,
writes its commentary, picks a typical matter, publishes it and prints it at 1280 px; a
representative opens it from the inbox on a 390-px phone and reads it without the page scrolling
sideways (a wide table scrolls inside its own box). axe audits every page on the way."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from proposals import services
from proposals.models import Bulletin
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser


def test_the_office_publishes_and_a_rep_reads_it_on_a_phone(
    new_page, liaison_office, county, township_a, category, my_rep, clerk_a
):
    today = timezone.localdate()
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    registered = timezone.make_aware(datetime.datetime.combine(last_month.replace(day=10), datetime.time(10)))
    with time_machine.travel(registered, tick=False):
        ticket = services.ticket_register(
            actor=clerk_a,
            township=township_a,
            title="村口路灯不亮",
            content="东街社区村口三盏路灯坏了一个月",
            category=category,
            source="reception",
            representative=my_rep,
            proposers=[("张大爷", "13812345678")],
        )

    office = new_page()
    log_in(office, "lianban")
    office.wait_for_url(lambda url: "/accounts/login/" not in url)
    office.goto("/bulletins/")
    office.get_by_role("link", name="新建通报").click()
    office.wait_for_url("**/bulletins/new/")
    office.locator("#bulletin-new-form button[type=submit]").click()  # last month is the default
    office.wait_for_url("**/bulletins/*/")
    bulletin = Bulletin.objects.get()
    assert (bulletin.year, bulletin.number, bulletin.status) == (last_month.year, last_month.month, "draft")
    assert office.locator("#bulletin-townships tbody th").all_inner_texts() == ["城关镇"]

    office.locator("#bulletin-edit-link").click()
    office.get_by_label("通报正文").fill("上月各镇联系群众工作总体良好。")
    office.get_by_label(f"{ticket.display_code} 村口路灯不亮").check()
    office.locator("#bulletin-edit-form button[type=submit]").click()
    office.wait_for_url(f"**/bulletins/{bulletin.pk}/")
    assert office.locator("#bulletin-matters li").all_inner_texts()[0].startswith("村口路灯不亮")
    office.locator("#bulletin-publish-link").click()
    office.locator("#bulletin-publish-form button[type=submit]").click()
    office.wait_for_url(f"**/bulletins/{bulletin.pk}/")
    assert "第1期" in office.locator(".bulletin-body").inner_text()
    assert office.locator("#bulletin-edit-link").count() == 0
    screenshot(office, "bulletin-published-desktop")
    office.locator("#bulletin-print-link").click()
    office.wait_for_url(f"**/bulletins/{bulletin.pk}/print/")
    assert office.evaluate("document.documentElement.scrollWidth") <= 1280
    screenshot(office, "bulletin-print-desktop")

    phone = new_page(phone=True)
    log_in(phone, "daibiao")
    phone.wait_for_url(lambda url: "/accounts/login/" not in url)
    phone.goto("/inbox/")
    phone.locator("main .list-group-item", has_text="定期通报").first.click()
    phone.wait_for_url(f"**/bulletins/{bulletin.pk}/")
    assert "上月各镇联系群众工作总体良好。" in phone.locator("#bulletin-commentary").inner_text()
    assert phone.locator("#bulletin-edit-link, #bulletin-publish-link").count() == 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    screenshot(phone, "bulletin-rep-phone")

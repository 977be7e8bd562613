"""A representative logs a home visit on a 390-px phone, in under a minute of tapping."""

import pytest

from reps.models import HomeVisit
from tests.browser.conftest import log_in, open_menu, screenshot

pytestmark = pytest.mark.browser


def test_a_rep_records_a_home_visit_on_a_phone(phone, rep_a, my_rep, my_contacts):
    log_in(phone, "daibiao")
    open_menu(phone)
    phone.locator("nav").get_by_role("link", name="记录走访").click()
    phone.get_by_label("联系人0").check()
    phone.get_by_label("情况记录").fill("入户了解生产生活情况")
    phone.locator("#id_matters-0-content").fill("村口路灯不亮")
    phone.locator("label[for='id_matters-0-handling_0']").click()  # answered on the spot
    phone.locator("#id_matters-0-answer").fill("已联系村电工，本周修好")
    phone.get_by_role("button", name="再添加一件事项").click()
    phone.locator("#id_matters-1-content").fill("希望增设公交站")
    phone.locator("label[for='id_matters-1-handling_1']").click()  # to become a ticket
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "rep-visit-form-phone")
    phone.get_by_role("button", name="保存走访记录").click()
    phone.get_by_text("走访已记录").wait_for()
    screenshot(phone, "rep-home-phone")
    visit = HomeVisit.objects.get()
    assert [m.content for m in visit.matters.all()] == ["村口路灯不亮", "希望增设公交站"]
    assert visit.matters.first().answered_on_spot

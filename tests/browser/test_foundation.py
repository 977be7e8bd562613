"""A township clerk logs in on a desktop and a phone, and reads the admin in Chinese."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, open_menu, screenshot

pytestmark = pytest.mark.browser


def test_a_clerk_logs_in_and_opens_the_chinese_admin(desktop, clerk_a, unit_a, unit_b):
    log_in(desktop, "clerk_a")
    expect(desktop.get_by_text("欢迎您，李秀英")).to_be_visible()
    screenshot(desktop, "home-clerk")
    desktop.locator("main").get_by_role("link", name="管理后台").click()
    expect(desktop.page).to_have_title(re.compile("党代表工作室"))
    desktop.get_by_role("link", name="办理单位").first.click()
    screenshot(desktop, "admin-units-clerk")
    expect(desktop.locator("#result_list").get_by_role("link", name=unit_a.name)).to_be_visible()
    expect(desktop.get_by_text(unit_b.name)).to_have_count(0)


def test_the_phone_layout_collapses_the_menu_and_switches_language(phone, rep_a):
    log_in(phone, "daibiao")
    expect(phone.get_by_role("button", name="菜单")).to_be_visible()
    open_menu(phone)
    english = phone.get_by_role("button", name="English")
    expect(english).to_be_visible()
    with phone.expect_navigation():  # the language form posts and redirects back
        english.click()
    expect(phone.get_by_text("Welcome, 陈志强")).to_be_visible(timeout=15_000)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    screenshot(phone, "home-rep-phone-en")

"""A township clerk logs in on a desktop and a phone, and reads the admin in Chinese."""

import pytest

from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser


def test_a_clerk_logs_in_and_opens_the_chinese_admin(desktop, clerk_a, unit_a, unit_b):
    log_in(desktop, "clerk_a")
    assert desktop.get_by_text("欢迎您，李秀英").is_visible()
    screenshot(desktop, "home-clerk")
    desktop.locator("main").get_by_role("link", name="管理后台").click()
    assert "党代表工作室" in desktop.title()
    desktop.get_by_role("link", name="办理单位").first.click()
    screenshot(desktop, "admin-units-clerk")
    assert desktop.locator("#result_list").get_by_role("link", name=unit_a.name).is_visible()
    assert desktop.get_by_text(unit_b.name).count() == 0


def test_the_phone_layout_collapses_the_menu_and_switches_language(phone, rep_a):
    log_in(phone, "daibiao")
    toggle = phone.get_by_role("button", name="菜单")
    assert toggle.is_visible()
    toggle.click()
    phone.get_by_role("button", name="English").click()
    assert phone.get_by_text("Welcome, 陈志强").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    screenshot(phone, "home-rep-phone-en")

"""The top bar at desktop widths: the superuser, who sees every role's pages, gets no sideways scroll."""

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.factories import UserFactory
from tests.liaison.test_notifications import news_for

pytestmark = pytest.mark.browser

# Each visible link or button of the bar: where it ends on the right.
BAR_EDGES = """() => [...document.querySelectorAll('nav.navbar a, nav.navbar button')]
  .filter(e => e.offsetParent).map(e => Math.round(e.getBoundingClientRect().right))"""


@pytest.mark.parametrize("width", [1200, 1280])
def test_the_superusers_top_bar_fits_the_screen(desktop, county, width):
    UserFactory(username="admin_bar", is_superuser=True, name="系统管理员")
    log_in(desktop, "admin_bar")
    desktop.set_viewport_size({"width": width, "height": 900})
    desktop.goto("/")
    edges = desktop.evaluate(BAR_EDGES)
    assert len(edges) > 10  # the daily pages, two menus, the inbox, the user menu, the language
    assert desktop.locator("nav.navbar .dropdown-toggle").count() == 3  # 代表履职, 统计报表, the user
    assert max(edges) <= width
    assert desktop.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(desktop, f"topbar-superuser-{width}")


def test_the_phones_menu_button_and_unread_link_are_44_px_targets(phone, rep_a):
    news_for(rep_a, 1)
    log_in(phone, "daibiao")
    phone.goto("/")
    for selector in ("nav.navbar button.navbar-toggler", "#unread-phone"):
        box = phone.locator(selector).bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, (selector, box)

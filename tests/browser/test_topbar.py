"""The top bar at desktop widths: the superuser, who sees every role's pages, gets no sideways scroll."""

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.factories import UserFactory

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
    assert len(edges) > 15  # every page link, the inbox, the user menu, the language
    assert max(edges) <= width
    assert desktop.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(desktop, f"topbar-superuser-{width}")

"""Headless Chromium (Debian's) driven by Playwright, against pytest-django's live server."""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("LIAISON_SCREENSHOTS", "var/screenshots"))


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does).")
    # Playwright's sync API runs an event loop in this thread for as long as it is open.
    # Django then refuses ORM calls ("async context") unless told otherwise, and keeps its
    # connections per context rather than per thread: so the loop lives for one test only,
    # or later tests would open connections that nobody closes.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def audits() -> dict:
    """What axe found on each page kind and user, across the browser tests (each audited once)."""
    return {}


@pytest.fixture
def new_page(browser, live_server, audits):
    """Open a page in a new browser context; at the end of the test, fail on what axe found."""
    contexts, pages, refused = [], [], []

    def open_page(*, phone: bool = False):
        size = WIDTHS["phone" if phone else "desktop"]
        options = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2} if phone else {}
        context = browser.new_context(viewport=size, base_url=live_server.url, locale="zh-CN", **options)
        contexts.append(context)
        page = context.new_page()

        # Chromium reports what the Content-Security-Policy blocked on the console ("Executing
        # inline script violates the following Content Security Policy directive ...", "Applying
        # inline style violates ...", older versions "Refused to ..."): a page's own script or style
        # that the policy refuses is a bug, even when the test's clicks still happen to work.
        def note_refused(message, page=page):
            if "Content Security Policy" in message.text or "Refused to" in message.text:
                refused.append(f"{page.url}: {message.text}")

        page.on("console", note_refused)
        pages.append(AuditedPage(page, audits))
        return pages[-1]

    before = set(audits)
    yield open_page
    for page in pages:
        page.audit()
    for context in contexts:
        context.close()
    assert not refused, "the Content-Security-Policy refused part of a page:\n" + "\n".join(refused)
    found = [
        f"{path} ({user or 'anonymous'}): {v}"
        for (path, user), vs in audits.items()
        if (path, user) not in before
        for v in vs
    ]
    assert not found, "axe-core found serious or critical accessibility problems:\n" + "\n".join(found)


@pytest.fixture
def phone(new_page):
    """A 390-px-wide phone screen."""
    return new_page(phone=True)


@pytest.fixture
def desktop(new_page):
    return new_page()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class Clicks:
    """Counts what a user does with the pointer or a finger: clicks, ticks, choices in a select
    and files picked. Typing into a box is not counted (it is the matter's content, not
    navigation). The acceptance stories hold each person to a budget of these."""

    def __init__(self):
        self.count = 0

    def click(self, locator) -> None:
        self.count += 1
        locator.click()

    def check(self, locator) -> None:
        self.count += 1
        locator.check()

    def choose(self, locator, value: str) -> None:
        self.count += 1
        locator.select_option(value)

    def pick_files(self, locator, files) -> None:
        self.count += 1
        locator.set_input_files(files)


def open_menu(page, clicks: Clicks | None = None) -> None:
    """Open the phone layout's menu, and wait until it has slid open: Bootstrap marks it "show"
    when the animation ends. Clicked while it slid, a link or button in it could be hit where it
    was a frame before: once, on a loaded machine, the language button's click sent nothing."""
    from playwright.sync_api import expect

    toggle = page.get_by_role("button", name="菜单")
    if clicks is None:
        toggle.click()
    else:
        clicks.click(toggle)
    expect(page.locator("#nav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))


def log_in(page, username: str, password: str = "pw-for-tests") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.user = username


# --- accessibility -----------------------------------------------------------------------------
# Every page a browser test visits is checked with axe-core (shipped inside the PyPI package
# axe-playwright-python, no download) at both widths, once per page and user: 0 serious or
# critical violations (WCAG 2.1 AA rules).
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
SERIOUS = {"serious", "critical"}
NUMBER = re.compile(r"/\d+(?=/|$)")


def page_key(url: str, user: str | None) -> tuple[str, str | None]:
    """One audit per page kind and user: /tickets/12/ and /tickets/13/ are the same page."""
    return NUMBER.sub("/<id>", urlsplit(url).path), user


class AuditedPage:
    """A Playwright page that runs axe on each new page the test reaches."""

    def __init__(self, page, audits: dict):
        object.__setattr__(self, "_page", page)
        object.__setattr__(self, "_audits", audits)
        object.__setattr__(self, "user", None)

    @property
    def page(self):
        """The Playwright page itself, for ``expect(page)``."""
        return self._page

    def __getattr__(self, name):
        self.audit()
        return getattr(self._page, name)

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)

    def audit(self) -> None:
        page = self._page
        if page.is_closed() or not page.url.startswith("http"):
            return
        key = page_key(page.url, self.user)
        if key in self._audits:
            return
        page.wait_for_load_state("load")
        key = page_key(page.url, self.user)
        if key in self._audits:
            return
        from axe_playwright_python.sync_playwright import Axe

        found = []
        original = page.viewport_size
        for name, size in WIDTHS.items():
            page.set_viewport_size(size)
            results = Axe().run(page, options=AXE_OPTIONS)
            for violation in results.response["violations"]:
                if violation["impact"] in SERIOUS:
                    targets = [node["target"] for node in violation["nodes"]][:5]
                    found.append(f"{name}: {violation['id']} ({violation['impact']}) {targets}")
        page.set_viewport_size(original)
        self._audits[key] = found

"""A resident finds their representative on a phone, by pinyin initials, without signing in."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.factories import MandateFactory, RepresentativeFactory

pytestmark = pytest.mark.browser


CONGRESS = {"county": "和平县第十五次党代会", "township": "城关镇第十六次党代会"}


def active_rep(region, name: str, *, levels=("county",), **kwargs):
    rep = RepresentativeFactory(region=region, name=name, **kwargs)
    year = timezone.localdate().year
    for level in levels:
        MandateFactory(
            representative=rep,
            level=level,
            congress=CONGRESS[level],
            term_start=datetime.date(year - 1, 1, 1),
            term_end=datetime.date(year + 3, 12, 31),
        )
    return rep


def test_a_resident_finds_a_rep_by_initials_on_a_phone(phone, township_a, township_b):
    wang = active_rep(
        township_a,
        "王建国",
        title="城关镇东街社区党委书记、居委会主任",
        levels=("county", "township"),
        phone="13887654321",
        phone_public=True,
        statement="扎根社区二十年，群众的事再小也是大事。",
        pledge="每月第一个周三在东街社区党代表工作室接待群众，有事随时找我，件件有回音。",
    )
    active_rep(township_b, "李秀英", title="河口村党支部书记", phone="13912345678")

    phone.goto("/reps/")
    screenshot(phone, "reps-directory-phone")
    expect(phone.locator(".rep-card")).to_have_count(2)
    search = phone.locator("input[name=q]")
    search.fill("wjg")
    search.press("Enter")
    phone.wait_for_url("**/reps/?q=wjg**")
    expect(phone.locator(".rep-card")).to_have_count(1)
    expect(phone.get_by_text("13912345678")).to_have_count(0)  # 李秀英 did not publish hers

    phone.get_by_role("link", name="王建国").click()
    phone.wait_for_url(f"**/reps/{wang.pk}/")
    expect(phone.get_by_role("heading", name="王建国")).to_be_visible()
    expect(phone.get_by_text("13887654321")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    screenshot(phone, "reps-detail-phone")

    phone.locator(f"a[href='/reps/{wang.pk}/card/']").click()
    phone.wait_for_url(f"**/reps/{wang.pk}/card/")
    expect(phone.locator(".contact-card svg").first).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "reps-card-phone")

"""The studio's liaison officer records a duty's reception on a 390-px phone."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from liaison.roles import Role
from studios.models import DutySlot, OpinionReport, Reception, RosterPeriod, SlotAssignment, StudioAssignment
from tests.browser.conftest import log_in, open_menu, screenshot
from tests.factories import StudioFactory, user_with_role

pytestmark = pytest.mark.browser


@pytest.fixture
def duty(township_a, my_rep, other_rep):
    officer = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan", name="张敏")
    studio = StudioFactory(region=township_a, name="城关镇党代表工作室", liaison_officer=officer)
    for rep in (my_rep, other_rep):
        StudioAssignment.objects.create(studio=studio, representative=rep, start=datetime.date(2024, 1, 1))
    day = timezone.localdate() - datetime.timedelta(days=2)
    period = RosterPeriod.objects.create(
        studio=studio, start=day.replace(day=1), end=day, status=RosterPeriod.Status.PUBLISHED
    )
    tz = timezone.get_current_timezone()
    slot = DutySlot.objects.create(
        period=period,
        studio=studio,
        kind="regular",
        date=day,
        starts_at=datetime.datetime.combine(day, datetime.time(9, 0), tz),
        ends_at=datetime.datetime.combine(day, datetime.time(11, 30), tz),
    )
    for rep in (my_rep, other_rep):
        SlotAssignment.objects.create(slot=slot, representative=rep)
    return slot


def test_the_officer_records_a_reception_on_a_phone(phone, duty, my_rep, other_rep):
    log_in(phone, "lianluoyuan")
    open_menu(phone)
    phone.locator("#nav a[href='/studios/receptions/']").click()
    phone.locator(f"#awaiting a[href='/studios/slots/{duty.pk}/reception/']").click()
    assert phone.locator(f"input[name=representatives][value='{my_rep.pk}']").is_checked()
    phone.locator("#id_people_received").fill("3")
    phone.locator("#id_matters-0-content").fill("村口路灯不亮")
    phone.locator("label[for='id_matters-0-handling_0']").click()  # answered on the spot
    phone.locator("#add-matter").click()
    phone.locator("#id_matters-1-content").fill("希望增设公交站")
    phone.locator("label[for='id_matters-1-handling_1']").click()  # to become a suggestion ticket
    assert phone.locator("#id_matters-1-answer").is_hidden()
    phone.locator("#id_visitors-0-name").fill("张大爷")
    phone.locator("#id_visitors-0-phone").fill("138 1234 5678")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.locator("form.reception-form button[type=submit]").click()  # the answer is missing
    phone.locator("#id_matters-0-answer.is-invalid").wait_for()
    assert phone.locator("#id_matters-1-content").input_value() == "希望增设公交站"  # typed values kept
    assert phone.locator("#id_matters-1-answer").is_hidden()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "studio-reception-form-error-phone")
    phone.locator("#id_matters-0-answer").fill("已联系村电工，本周修好")
    screenshot(phone, "studio-reception-form-phone")
    phone.locator("form.reception-form button[type=submit]").click()
    phone.wait_for_url("**/studios/receptions/*/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "studio-reception-detail-phone")
    phone.locator("main a[href='/studios/receptions/']").click()
    phone.locator("#receptions a").first.wait_for()
    expect(phone.locator("#awaiting")).to_have_count(0)  # the duty is recorded now
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "studio-reception-list-phone")
    reception = Reception.objects.get()
    assert reception.slot == duty and reception.people_received == 3
    assert set(reception.representatives.all()) == {my_rep, other_rep}
    assert list(reception.matters.values_list("content", "answered_on_spot", "for_ticket")) == [
        ("村口路灯不亮", True, False),
        ("希望增设公交站", False, True),
    ]
    assert list(reception.visitors.values_list("name", "phone")) == [("张大爷", "13812345678")]


def test_a_rep_reports_public_opinion_on_a_phone(phone, rep_a, my_rep, category):
    log_in(phone, "daibiao")
    open_menu(phone)
    phone.locator("#nav a[href='/studios/opinions/']").click()
    phone.locator("#id_category").select_option(label="交通出行")
    phone.locator("#id_content").fill("群众希望增开早班公交")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.locator("main form[method=post] button[type=submit]").click()
    phone.locator("#opinions").get_by_text("群众希望增开早班公交").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "studio-opinions-phone")
    report = OpinionReport.objects.get()
    assert report.representative == my_rep and report.month == timezone.localdate().replace(day=1)

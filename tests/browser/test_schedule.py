"""A resident reads next Saturday's duty on a phone, and finds how to subscribe to a studio."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from liaison.roles import Role
from studios import rosters, services
from studios.models import DutySlot, SlotAssignment, Studio, StudioAssignment
from tests.browser.conftest import log_in, screenshot
from tests.factories import RuleFactory, StudioFactory, active_rep, user_with_role

pytestmark = pytest.mark.browser

REASON = "原值班代表参加县党代会专题培训，改由王建国代表值班"


def test_a_resident_reads_the_schedule_on_a_phone(phone, county, township_a, township_b):
    office = user_with_role(Role.LIAISON_OFFICE, region=county, username="lianban_b", name="王建国")
    studio = StudioFactory(
        region=township_a,
        name="城关镇东街社区党代表工作室（片区联络站）",
        address="城关镇人民路东段128号东街社区党群服务中心二楼",
        phone="0513-88110000",
    )
    RuleFactory(studio=studio, kind="regular", weekday=5, reps_per_slot=2)
    RuleFactory(
        studio=studio,
        kind="thematic",
        weekday=2,
        week_of_month=-1,
        theme="老旧小区加装电梯和停车难问题专题约见",
    )
    names = ["王建国", "陈志强", "李秀英", "张敏"]
    reps = [
        active_rep(township_a, name=name, phone=f"1390000000{i}", phone_public=i == 0)
        for i, name in enumerate(names)
    ]
    for rep in reps:
        StudioAssignment.objects.create(studio=studio, representative=rep, start=datetime.date(2024, 1, 1))
    other = StudioFactory(region=township_b, name="河口镇党代表工作室", address="河口镇滨河路8号")
    RuleFactory(studio=other, kind="regular", weekday=5)
    StudioAssignment.objects.create(
        studio=other, representative=active_rep(township_b, name="吴勇"), start=datetime.date(2024, 1, 1)
    )

    today = timezone.localdate()
    report = rosters.generate(
        actor=office, studios=Studio.objects.all(), start=today, end=today + datetime.timedelta(days=34)
    )
    assert not report.problems
    for period in report.written:
        services.period_publish(actor=office, period=period)
    slot = DutySlot.objects.filter(studio=studio, kind="regular").order_by("starts_at").first()
    services.slot_change(
        actor=office,
        slot=slot,
        expected_version=slot.version,
        representatives=[reps[0], reps[3]],
        starts_at=slot.starts_at + datetime.timedelta(hours=5),
        ends_at=slot.ends_at + datetime.timedelta(hours=5),
        reason=REASON,
    )

    phone.goto("/schedule/")
    expect(phone.locator(".slot").nth(1)).to_be_attached()  # at least two slots
    expect(phone.locator(".slot-changed")).to_have_count(1)
    expect(phone.get_by_text(REASON)).to_be_visible()
    expect(phone.get_by_text("13900000000")).to_have_count(0)  # reps' phones are never on the schedule
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    screenshot(phone, "schedule-phone")

    phone.locator(f"a[href='/schedule/studio/{studio.pk}/']").first.click()
    phone.wait_for_url(f"**/schedule/studio/{studio.pk}/")
    expect(phone.locator(f"a[href^='webcal://'][href$='/schedule/studio/{studio.pk}.ics']")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "schedule-studio-phone")

    phone.goto("/schedule/?from=" + (today + datetime.timedelta(days=7)).isoformat())
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_studio_officer_marks_todays_attendance_in_two_taps_on_a_phone(phone, county, township_a):
    """From the home to-do to a rep marked present: two taps, 44-px targets, no sideways scroll."""
    office = user_with_role(Role.LIAISON_OFFICE, region=county, username="lianban_t")
    officer = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan_t", name="张敏")
    studio = StudioFactory(region=township_a, name="城关镇东街社区党代表工作室", liaison_officer=officer)
    today = timezone.localdate()
    RuleFactory(studio=studio, kind="regular", weekday=today.weekday(), reps_per_slot=2)
    reps = [active_rep(township_a, name=name) for name in ("王建国", "陈志强", "李秀英")]
    for rep in reps:
        StudioAssignment.objects.create(studio=studio, representative=rep, start=datetime.date(2024, 1, 1))
    report = rosters.generate(
        actor=office, studios=Studio.objects.filter(pk=studio.pk), start=today, end=today
    )
    assert not report.problems
    services.period_publish(actor=office, period=report.written[0])
    first = SlotAssignment.objects.filter(slot__studio=studio).order_by("pk").first()

    log_in(phone, "lianluoyuan_t")
    phone.goto("/")
    phone.locator("a[data-todo='attendance_today']").click()  # tap 1
    phone.wait_for_url("**/studios/today/")
    row = phone.locator(f"[data-assignment='{first.pk}']")
    expect(row).to_contain_text(first.representative.name)
    for button in phone.locator("main button, main summary").all():
        if button.is_visible():
            assert button.bounding_box()["height"] >= 44
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "today-phone")
    row.locator("button[value='attended']").click()  # tap 2
    phone.wait_for_url("**/studios/today/")
    expect(phone.locator(f"[data-assignment='{first.pk}'] button[value='attended']")).to_have_attribute(
        "aria-pressed", "true"
    )
    first.refresh_from_db()
    assert first.attendance == "attended" and first.marked_by == officer

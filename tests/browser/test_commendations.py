"""The liaison office runs the year's commendations end to end: open the round, nominate from the
pre-ranking, move a nominee with a reason, publish; the public page (no login) shows the lists."""

import datetime

import pytest
from django.utils import timezone

from proposals.models import CommendationPolicy, Nominee, NomineeChange
from reps.models import Mandate
from tests.browser.conftest import log_in, screenshot
from tests.factories import ContactFactory, active_rep, visit

pytestmark = pytest.mark.browser


def test_the_office_runs_a_round_and_the_public_page_shows_it(
    desktop, liaison_office, county, township_a, village_a, clerk_a
):
    year = timezone.localdate().year - 1
    CommendationPolicy.objects.create(county=county, effective_from=datetime.date(2000, 1, 1), reps_places=2)
    first, second = active_rep(township_a, name="甲一", title="村支书"), active_rep(township_a, name="甲二")
    Mandate.objects.update(term_start=datetime.date(year - 2, 1, 1))
    contact = ContactFactory(village=village_a)
    for day in (1, 2):
        visit(first, [contact], datetime.date(year, 5, day), recorded_by=clerk_a)
    visit(second, [contact], datetime.date(year, 5, 3), recorded_by=clerk_a)

    log_in(desktop, "lianban")
    desktop.goto(f"/commendations/round/?year={year}")
    desktop.locator("#open-form button").click()
    desktop.locator("#list-reps .nominate-form button").click()
    rows = desktop.locator("#list-reps tr[data-nominee]")
    rows.first.wait_for()
    assert [rows.nth(i).get_attribute("data-nominee") for i in range(2)] == [str(first.pk), str(second.pk)]

    # Move 甲二 to the first place, with a reason.
    move = desktop.locator(f"#list-reps tr[data-nominee='{second.pk}'] .move-form")
    move.locator("input[name=position]").fill("1")
    move.locator("input[name=reason]").fill("群众评价突出")
    move.locator("button").click()
    desktop.locator(f"#list-reps tr[data-nominee='{second.pk}'][data-position='1']").wait_for()
    desktop.locator("#changes").wait_for()
    assert NomineeChange.objects.get().reason == "群众评价突出"
    screenshot(desktop, "commendations-round")

    desktop.locator("#publish-form button").click()
    desktop.locator("#published").wait_for()
    assert desktop.locator(".move-form").count() == 0  # frozen: no more changes offered

    desktop.context.clear_cookies()
    desktop.goto("/commendations/")
    items = desktop.locator("ol[id$='-reps'] li")
    assert items.all_inner_texts() == ["甲二 · 村党支部书记 · 城关镇", "甲一 · 村支书 · 城关镇"]
    assert Nominee.objects.count() == 2
    screenshot(desktop, "commendations-public")

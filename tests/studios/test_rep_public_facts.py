"""A rep's public page and contact card name their studio and next duty and link their feed.

The reps app does not import studios: studios registers these facts (``reps.public_facts``).
"""

import datetime
import zoneinfo

import icalendar
import pytest
import time_machine
from django.urls import reverse

from reps import public_facts
from studios import rosters, services
from studios.models import DutySlot, SlotAssignment, Studio, StudioAssignment
from tests.factories import RuleFactory, StudioFactory, active_rep

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
D = datetime.date


@pytest.fixture(autouse=True)
def frozen_clock():
    # Wednesday 2026-06-10, 10:00: the studio's duties are on Saturdays, 09:00–11:30.
    with time_machine.travel(datetime.datetime(2026, 6, 10, 10, 0, tzinfo=SHANGHAI), tick=False):
        yield


@pytest.fixture
def wang(township_a):
    return active_rep(township_a, name="王建国")


@pytest.fixture
def studio(township_a, wang):
    studio = StudioFactory(region=township_a, name="城关镇党代表工作室")
    RuleFactory(studio=studio, kind="regular", weekday=5)
    StudioAssignment.objects.create(studio=studio, representative=wang, start=D(2024, 1, 1))
    return studio


def roster(actor, studio, *, publish=True):
    report = rosters.generate(
        actor=actor, studios=Studio.objects.filter(pk=studio.pk), start=D(2026, 6, 1), end=D(2026, 6, 30)
    )
    assert not report.problems
    if publish:
        services.period_publish(actor=actor, period=report.written[0])


def html(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def facts(rep) -> dict[str, list[public_facts.Link]]:
    now = datetime.datetime(2026, 6, 10, 10, 0, tzinfo=SHANGHAI)
    return {fact.key: fact.links for fact in public_facts.facts_for(rep, now=now)}


def test_the_page_and_the_card_name_the_studio_the_next_duty_and_link_the_feed(
    client, liaison_office, studio, wang
):
    roster(liaison_office, studio)
    studio_url = reverse("schedule:studio", args=[studio.pk])
    feed_url = reverse("schedule:rep_ics", args=[wang.pk])
    for url in (reverse("reps:public_detail", args=[wang.pk]), reverse("reps:card", args=[wang.pk])):
        page = html(client, url)
        assert f'<a href="{studio_url}">城关镇党代表工作室</a>' in page
        # The first Saturday after today, as the schedule shows it, opening on that day.
        assert "2026-06-13" in page and "09:00–11:30" in page
        assert f'href="{studio_url}?from=2026-06-13"' in page
        assert f'href="{feed_url}"' in page
    card = html(client, reverse("reps:card", args=[wang.pk]))
    # The feed link is for the screen only; on the printed card it would mean nothing.
    assert 'class="mb-1 d-print-none" data-fact="duty_feed"' in card
    # The second copy is hidden from screen readers: it holds no link to tab to.
    second_copy = card.split('aria-hidden="true"', 1)[1]
    assert f'href="{studio_url}' not in second_copy and f'href="{feed_url}"' not in second_copy


def test_the_feed_it_links_holds_the_reps_duties_in_shanghai_time(client, liaison_office, studio, wang):
    roster(liaison_office, studio)
    response = client.get(reverse("schedule:rep_ics", args=[wang.pk]))
    assert response.status_code == 200
    starts = [e.decoded("dtstart") for e in icalendar.Calendar.from_ical(response.content).walk("VEVENT")]
    assert [s.date() for s in starts] == [D(2026, 6, 6), D(2026, 6, 13), D(2026, 6, 20), D(2026, 6, 27)]
    assert {(s.hour, s.minute, str(s.tzinfo)) for s in starts} == {(9, 0, "Asia/Shanghai")}
    # Calendar apps poll it: caches may keep it a quarter of an hour.
    assert response["Cache-Control"] == "public, max-age=900"


def test_a_draft_roster_gives_no_next_duty(liaison_office, studio, wang):
    roster(liaison_office, studio, publish=False)
    assert [link.text for link in facts(wang)["next_duty"]] == ["尚未发布"]  # zh-hans, the default
    assert [link.text for link in facts(wang)["studio"]] == ["城关镇党代表工作室"]


def test_a_duty_someone_else_stood_in_for_is_not_the_reps_next_duty(liaison_office, studio, wang, township_a):
    roster(liaison_office, studio)
    stand_in = active_rep(township_a, name="李秀英")
    first = SlotAssignment.objects.get(representative=wang, slot__date=D(2026, 6, 13))
    services.attendance_mark(
        actor=liaison_office,
        assignment=first,
        expected="pending",
        attendance="substituted",
        substitute=stand_in,
    )
    assert "2026-06-20" in facts(wang)["next_duty"][0].text
    assert "2026-06-13" in facts(stand_in)["next_duty"][0].text
    # 李秀英 serves at no studio: no studio line, but still her duty and her feed.
    assert "studio" not in facts(stand_in) and "duty_feed" in facts(stand_in)


def test_a_studio_the_rep_has_left_or_that_closed_is_not_named(liaison_office, studio, wang, township_a):
    other = StudioFactory(region=township_a, name="东街社区工作室")
    StudioAssignment.objects.create(
        studio=other, representative=wang, start=D(2024, 1, 1), end=D(2026, 5, 31)
    )
    closed = StudioFactory(region=township_a, name="已撤销工作室", is_active=False)
    StudioAssignment.objects.create(studio=closed, representative=wang, start=D(2024, 1, 1))
    assert [link.text for link in facts(wang)["studio"]] == ["城关镇党代表工作室"]


def test_the_facts_cost_two_queries_whatever_the_number_of_duties(
    liaison_office, studio, wang, township_a, django_assert_num_queries
):
    roster(liaison_office, studio)
    with django_assert_num_queries(2):
        few = facts(wang)
    for _ in range(30):
        extra = StudioFactory(region=township_a)
        StudioAssignment.objects.create(studio=extra, representative=wang, start=D(2024, 1, 1))
    report = rosters.generate(
        actor=liaison_office,
        studios=Studio.objects.filter(pk=studio.pk),
        start=D(2026, 7, 1),
        end=D(2027, 6, 30),
    )
    services.period_publish(actor=liaison_office, period=report.written[0])
    assert DutySlot.objects.filter(assignments__representative=wang).count() == 4 + 52
    with django_assert_num_queries(2):
        many = facts(wang)
    assert len(many["studio"]) == 31 and many["next_duty"] == few["next_duty"]

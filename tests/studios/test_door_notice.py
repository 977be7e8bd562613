"""The door notice: next week's published duties at one studio, names with 职务, stand-ins shown."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from liaison.roles import Role
from reps.models import Representative
from studios.models import DutySlot, RosterPeriod, SlotAssignment, Studio
from studios.notice_views import next_monday
from tests.factories import active_rep, studio_with_reps, user_with_role

LOCAL = ZoneInfo(settings.TIME_ZONE)
A = SlotAssignment.Attendance


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=LOCAL)


@pytest.fixture
def wednesday():
    # Wednesday 2026-09-09; next week runs Monday 14 to Sunday 20 September.
    with time_machine.travel(datetime.datetime(2026, 9, 9, 4, 0, tzinfo=datetime.UTC), tick=False):
        yield


def slot(period, day, hour, *reps, kind="regular"):
    s = DutySlot.objects.create(
        period=period, studio=period.studio, kind=kind, date=datetime.date(2026, 9, day),
        starts_at=at(2026, 9, day, hour), ends_at=at(2026, 9, day, hour + 2),
    )  # fmt: skip
    for rep in reps:
        SlotAssignment.objects.create(slot=s, representative=rep)
    return s


@pytest.fixture
def week(township_a, township_b):
    studio = studio_with_reps(township_a, 2, name="城关镇党代表工作室")
    first, second = Representative.objects.filter(studio_assignments__studio=studio).order_by("pk")
    Representative.objects.filter(pk=first.pk).update(title="城关镇党委书记")
    Representative.objects.filter(pk=second.pk).update(title="东街社区主任")
    stand_in = active_rep(township_a, name="赵替班")
    Representative.objects.filter(pk=stand_in.pk).update(title="城关镇人大主席")
    published = RosterPeriod.objects.create(
        studio=studio, start=datetime.date(2026, 9, 1), end=datetime.date(2026, 9, 30),
        status=RosterPeriod.Status.PUBLISHED,
    )  # fmt: skip
    slot(published, 14, 9, first)
    covered = slot(published, 19, 9, second, kind="thematic")
    SlotAssignment.objects.filter(slot=covered).update(attendance=A.SUBSTITUTED, substitute=stand_in)
    slot(published, 13, 9, first)  # this week's Sunday: not next week
    slot(published, 21, 9, first)  # the Monday after: not next week
    other = studio_with_reps(township_a, 1, name="东街社区党代表工作室")
    draft = RosterPeriod.objects.create(
        studio=other, start=datetime.date(2026, 9, 1), end=datetime.date(2026, 9, 30)
    )
    slot(draft, 15, 9, *Representative.objects.filter(studio_assignments__studio=other))
    far = studio_with_reps(township_b, 1, name="河口镇党代表工作室")
    return studio, other, far


def test_next_monday_is_the_monday_after_today():
    assert next_monday(datetime.date(2026, 9, 9)) == datetime.date(2026, 9, 14)
    assert next_monday(datetime.date(2026, 9, 14)) == datetime.date(2026, 9, 21)
    assert next_monday(datetime.date(2026, 9, 13)) == datetime.date(2026, 9, 14)


def test_the_notice_lists_next_weeks_published_duties_with_names_titles_and_the_stand_in(
    client, clerk_a, week, wednesday, django_assert_num_queries
):
    studio, _other, _far = week
    client.force_login(clerk_a)
    # Session, user, scope, the studio, the slots, their assignments.
    with django_assert_num_queries(6):
        response = client.get(reverse("studios:door_notice", args=[studio.pk]))
    assert response.status_code == 200
    slots = response.context["slots"]
    assert [s.date.day for s in slots] == [14, 19]
    [first_rep] = slots[0].on_duty
    assert first_rep[1] == "城关镇党委书记"
    assert slots[1].on_duty == [("赵替班", "城关镇人大主席")]  # the stand-in, not the rep replaced
    html = response.content.decode()
    assert "赵替班" in html and "城关镇人大主席" in html and "东街社区主任" not in html
    assert "2026-09-14" in html and "2026-09-20" in html


def test_a_draft_roster_is_not_on_the_notice(client, clerk_a, week, wednesday):
    _studio, other, _far = week
    client.force_login(clerk_a)
    response = client.get(reverse("studios:door_notice", args=[other.pk]))
    assert response.status_code == 200
    assert response.context["slots"] == []


def test_another_week_can_be_asked_for(client, clerk_a, week, wednesday):
    studio, _other, _far = week
    client.force_login(clerk_a)
    response = client.get(reverse("studios:door_notice", args=[studio.pk]), {"week": "2026-09-23"})
    assert [s.date.day for s in response.context["slots"]] == [21]


def test_scope_another_townships_studio_is_not_found_and_a_rep_is_refused(client, clerk_a, rep_a, week):
    _studio, _other, far = week
    client.force_login(clerk_a)
    assert client.get(reverse("studios:door_notice", args=[far.pk])).status_code == 404
    client.force_login(rep_a)
    assert client.get(reverse("studios:door_notice", args=[far.pk])).status_code == 403


def test_the_rosters_page_links_each_studio_to_its_notice(client, clerk_a, week):
    studio, _other, _far = week
    client.force_login(clerk_a)
    assert (
        reverse("studios:door_notice", args=[studio.pk])
        in client.get(reverse("studios:rosters")).content.decode()
    )


def test_a_studio_officer_prints_their_own_studios_notice(client, week, township_a, wednesday):
    studio, other, _far = week
    officer = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan")
    Studio.objects.filter(pk=studio.pk).update(liaison_officer=officer)
    client.force_login(officer)
    assert client.get(reverse("studios:door_notice", args=[studio.pk])).status_code == 200
    assert client.get(reverse("studios:door_notice", args=[other.pk])).status_code == 404

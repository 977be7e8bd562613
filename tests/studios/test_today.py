"""The studio officer's "today" page: today's duties of their studios, attendance in two taps."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.translation import gettext

from liaison import todo
from liaison.models import AuditEvent
from liaison.roles import Role
from studios import rosters, services
from studios.models import DutySlot, SlotAssignment, Studio
from tests.factories import RuleFactory, studio_with_reps, user_with_role

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
D = datetime.date
SATURDAY = D(2026, 6, 13)


@pytest.fixture(autouse=True)
def frozen_clock():
    # Saturday 2026-06-13, 10:00: the studios' Saturday duty (09:00–11:30) is under way.
    with time_machine.travel(datetime.datetime(2026, 6, 13, 10, 0, tzinfo=SHANGHAI), tick=False):
        yield


@pytest.fixture
def officer(township_a):
    return user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan", name="张敏")


def studio_of(officer, region, name, *, reps=3, per_slot=2, publish=True, actor):
    """A studio with Saturday duties of ``per_slot`` reps in June 2026, run by ``officer``."""
    studio = studio_with_reps(region, reps, name=name, liaison_officer=officer)
    RuleFactory(studio=studio, reps_per_slot=per_slot)
    report = rosters.generate(
        actor=actor, studios=Studio.objects.filter(pk=studio.pk), start=D(2026, 6, 1), end=D(2026, 6, 30)
    )
    assert not report.problems
    if publish:
        services.period_publish(actor=actor, period=report.written[0])
    return studio


@pytest.fixture
def mine(officer, township_a, clerk_a):
    return studio_of(officer, township_a, "城关镇党代表工作室", actor=clerk_a)


def today_page(client):
    response = client.get(reverse("studios:today"))
    assert response.status_code == 200
    return response


def tap(client, assignment, attendance, *, expected="pending", **extra):
    return client.post(
        reverse("studios:attendance", args=[assignment.pk]),
        {"expected": expected, "attendance": attendance, "next": reverse("studios:today"), **extra},
    )


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_it_lists_todays_published_duties_of_the_officers_studios_only(
    client, officer, mine, township_a, township_b, clerk_a, clerk_b
):
    someone_else = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="other_officer")
    studio_of(someone_else, township_a, "东街社区工作室", actor=clerk_a)
    studio_of(officer, township_a, "未发布工作室", actor=clerk_a, publish=False)
    client.force_login(officer)
    slots = list(today_page(client).context["page"].object_list)
    assert [(s.studio.name, s.date) for s in slots] == [("城关镇党代表工作室", SATURDAY)]
    page = today_page(client).content.decode()
    on_duty = SlotAssignment.objects.filter(slot__studio=mine, slot__date=SATURDAY)
    assert on_duty.count() == 2
    for assignment in on_duty:
        assert assignment.representative.name in page
        assert f'action="{reverse("studios:attendance", args=[assignment.pk])}"' in page
    assert "东街社区工作室" not in page and "未发布工作室" not in page


def test_a_rep_without_a_roster_role_may_not_open_it(client, township_a):
    rep = user_with_role(Role.REPRESENTATIVE, region=township_a)
    client.force_login(rep)
    assert client.get(reverse("studios:today")).status_code == 403


def test_one_tap_marks_and_the_same_tap_twice_changes_nothing(client, officer, mine):
    assignment = SlotAssignment.objects.filter(slot__studio=mine, slot__date=SATURDAY).first()
    client.force_login(officer)
    first = tap(client, assignment, "attended")
    assert first.status_code == 302 and first["Location"] == reverse("studios:today")
    # The second tap still carries "pending", what the page showed before the first: no conflict.
    second = tap(client, assignment, "attended")
    assert said(second) == [gettext("Attendance saved.")] * 2
    assignment.refresh_from_db()
    assert assignment.attendance == "attended" and assignment.marked_by == officer
    assert AuditEvent.objects.filter(verb="attendance.marked").count() == 1


def test_a_different_mark_from_a_stale_page_is_refused(client, officer, mine, clerk_a):
    assignment = SlotAssignment.objects.filter(slot__studio=mine, slot__date=SATURDAY).first()
    services.attendance_mark(actor=clerk_a, assignment=assignment, expected="pending", attendance="absent")
    client.force_login(officer)
    response = tap(client, assignment, "attended")
    assert said(response) == [
        gettext("Someone else marked this attendance in the meantime. Reload the page and check.")
    ]
    assignment.refresh_from_db()
    assert assignment.attendance == "absent"


def test_a_stand_in_is_chosen_from_the_studios_other_reps(client, officer, mine):
    on_duty = SlotAssignment.objects.filter(slot__studio=mine, slot__date=SATURDAY).order_by("pk")
    away = on_duty.first()
    free = mine.assignments.exclude(representative__in=[a.representative_id for a in on_duty]).get()
    client.force_login(officer)
    slot = today_page(client).context["page"].object_list[0]
    assert [rep.pk for rep in slot.stand_ins] == [free.representative_id]
    tap(client, away, "substituted", substitute=free.representative_id)
    away.refresh_from_db()
    assert (away.attendance, away.substitute_id) == ("substituted", free.representative_id)
    assert f"→ {free.representative.name}" in today_page(client).content.decode()


def test_the_officers_home_to_do_links_to_it(officer, mine):
    now = datetime.datetime(2026, 6, 13, 10, 0, tzinfo=SHANGHAI)
    items = {item.key: item for section in todo.sections_for(officer, now=now) for item in section.items}
    assert items["attendance_today"].url == reverse("studios:today")
    assert items["attendance_today"].count == 2


@pytest.mark.parametrize("studios", [1, 12])
def test_it_runs_the_same_queries_for_one_studio_or_twelve(
    client, officer, township_a, clerk_a, studios, django_assert_num_queries
):
    for n in range(studios):
        studio_of(officer, township_a, f"工作室{n}", actor=clerk_a)
    client.force_login(officer)
    client.get(reverse("studios:today"))  # the session and the user's scope, loaded once
    # session, user, roles; count and page of slots, their assignments, invited units; stand-ins;
    # the header's unread count
    with django_assert_num_queries(9):
        response = today_page(client)
    page = response.content.decode()
    assert page.count("data-assignment=") == 2 * studios
    assert DutySlot.objects.filter(date=SATURDAY).count() == studios

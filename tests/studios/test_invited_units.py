"""Thematic duties and their invited departments: shown on the schedules, each unit told once."""

import datetime
import zoneinfo

import icalendar
import pytest
import time_machine
from django.urls import reverse

from liaison import notify
from liaison.models import Delivery, Notification
from liaison.roles import Role
from studios import reminders, rosters, services
from studios.models import DutySlot, RosterPeriod, Studio
from studios.tasks import send_report_reminders
from tests.factories import HandlingUnitFactory, RuleFactory, studio_with_reps, user_with_role

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
D = datetime.date
KIND = reminders.THEMATIC_INVITATION


def at(day: datetime.date, hour: int = 8) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def units(county, township_a, township_b):
    """Two invited departments and one not invited, each with its staff."""
    civil = HandlingUnitFactory(name="县民政局", region=county)
    office = HandlingUnitFactory(name="城关镇社会事务办", region=township_a)
    other = HandlingUnitFactory(name="河口镇社会事务办", region=township_b)
    user_with_role(Role.HANDLING_UNIT, unit=civil, username="minzheng", email="mz@example.cn")
    user_with_role(Role.HANDLING_UNIT, unit=civil, username="minzheng2")
    user_with_role(Role.HANDLING_UNIT, unit=office, username="shiwuban")
    user_with_role(Role.HANDLING_UNIT, unit=other, username="hekou_unit")
    return civil, office, other


@pytest.fixture
def studio(township_a, units, clerk_a):
    """Saturday duties, and a thematic meeting on the 2nd Wednesday (June 10, July 8) with two units."""
    civil, office, _other = units
    studio = studio_with_reps(township_a, 3, name="城关镇党代表工作室", address="城关镇人民路1号")
    RuleFactory(studio=studio)
    thematic = RuleFactory(
        studio=studio,
        kind="thematic",
        weekday=2,
        week_of_month=2,
        theme="村级集体经济发展",
        start_time=datetime.time(14),
        end_time=datetime.time(16),
    )
    thematic.invited_units.set([civil, office])
    return studio


def roster(clerk, studio, *, publish=True):
    report = rosters.generate(
        actor=clerk, studios=Studio.objects.filter(pk=studio.pk), start=D(2026, 6, 1), end=D(2026, 7, 31)
    )
    assert not report.problems
    if publish:
        services.period_publish(actor=clerk, period=report.written[0])


def told() -> set[tuple[str, str]]:
    return set(Notification.objects.filter(kind=KIND).values_list("user__username", "reminder__period"))


# --- notified once ----------------------------------------------------------------------------


def test_each_invited_units_staff_is_told_once_per_duty_whatever_the_runs(studio, clerk_a):
    roster(clerk_a, studio)
    with time_machine.travel(at(D(2026, 6, 1)), tick=False):
        assert reminders.thematic_invitation_send_due(now=at(D(2026, 6, 1))) == 1
        # The beat's task run twice more (a duplicate beat, a retry): nothing owed twice.
        send_report_reminders.apply()
        send_report_reminders.apply()
    # June 10 is within two weeks; July 8 not yet. The staff of the units not invited, and the
    # township's clerk, hear nothing.
    assert told() == {("minzheng", "2026-06-10"), ("minzheng2", "2026-06-10"), ("shiwuban", "2026-06-10")}
    assert Notification.objects.filter(kind=KIND).count() == 3
    # One email each (none of them gave a phone for SMS), not one per run.
    assert Delivery.objects.filter(notification__kind=KIND, channel="email").count() == 3
    assert Delivery.objects.filter(notification__kind=KIND).count() == 3


def test_the_next_meeting_is_owed_two_weeks_ahead(studio, clerk_a):
    roster(clerk_a, studio)
    reminders.thematic_invitation_send_due(now=at(D(2026, 6, 1)))
    assert reminders.thematic_invitation_send_due(now=at(D(2026, 6, 23))) == 0
    assert reminders.thematic_invitation_send_due(now=at(D(2026, 6, 24))) == 1
    assert {period for _user, period in told()} == {"2026-06-10", "2026-07-08"}


def test_a_draft_roster_or_a_duty_already_begun_invites_nobody(studio, clerk_a):
    roster(clerk_a, studio, publish=False)
    assert reminders.thematic_invitation_send_due(now=at(D(2026, 6, 1))) == 0
    RosterPeriod.objects.update(status=RosterPeriod.Status.PUBLISHED)
    assert reminders.thematic_invitation_send_due(now=at(D(2026, 6, 10), 15)) == 0  # 14:00–16:00
    assert told() == set()


def test_the_message_says_what_where_when_and_who_else_is_invited(studio, clerk_a):
    roster(clerk_a, studio)
    reminders.thematic_invitation_send_due(now=at(D(2026, 6, 1)))
    batch = list(Notification.objects.filter(kind=KIND).order_by("pk"))
    message = notify.render_messages(batch[:1])[0]
    assert "村级集体经济发展" in message.title and "2026-06-10" in message.title
    assert "城关镇人民路1号" in message.body and "14:00" in message.body and "16:00" in message.body
    assert "县民政局" in message.body and "城关镇社会事务办" in message.body
    assert message.url == reverse("schedule:studio", args=[studio.pk]) + "?from=2026-06-10"


def test_rendering_a_batch_costs_two_queries(studio, clerk_a, django_assert_num_queries):
    roster(clerk_a, studio)
    reminders.thematic_invitation_send_due(now=at(D(2026, 6, 1)))
    reminders.thematic_invitation_send_due(now=at(D(2026, 6, 24)))
    batch = list(Notification.objects.filter(kind=KIND))
    assert len(batch) == 6
    with django_assert_num_queries(2):  # slots with studios and rules, the rules' units
        messages = notify.render_messages(batch)
    assert all("县民政局" in m.body for m in messages)


# --- shown on the schedules -------------------------------------------------------------------


UNITS = {"县民政局", "城关镇社会事务办"}


def invited_lines(page: str) -> list[set[str]]:
    """The unit names of each invited-departments line on the page (after any label)."""
    lines = [part.split("</", 1)[0] for part in page.split("data-invited-units>")[1:]]
    return [set(line.split("</span>")[-1].split(": ")[-1].strip().split("、")) for line in lines]


@pytest.fixture
def published(studio, clerk_a):
    roster(clerk_a, studio)
    with time_machine.travel(at(D(2026, 6, 8)), tick=False):
        yield studio


def test_the_public_schedule_and_feed_list_the_invited_units_of_the_thematic_duty_only(client, published):
    page = client.get(reverse("schedule:index"), {"from": "2026-06-08"}).content.decode()
    # Two weeks from June 8: Saturdays 13 and 20, and the thematic meeting on the 10th.
    assert invited_lines(page) == [UNITS]
    studio_page = client.get(reverse("schedule:studio", args=[published.pk])).content.decode()
    assert invited_lines(studio_page) == [UNITS]
    feed = icalendar.Calendar.from_ical(
        client.get(reverse("schedule:studio_ics", args=[published.pk])).content
    )
    descriptions = {e.decoded("dtstart").date(): str(e.get("description")) for e in feed.walk("VEVENT")}
    assert "县民政局" in descriptions[D(2026, 6, 10)] and "县民政局" not in descriptions[D(2026, 6, 13)]


def test_the_staff_period_page_lists_them_too(client, published, clerk_a):
    client.force_login(clerk_a)
    period = RosterPeriod.objects.get()
    page = client.get(reverse("studios:period", args=[period.pk]), {"month": "6"}).content.decode()
    assert DutySlot.objects.filter(date__month=6, kind="thematic").count() == 1
    assert invited_lines(page) == [UNITS]

"""Group reports (seed 000): due 15 days before the group's *own* congress's annual meeting.

A township group reports to the township's congress office before the township's meeting, so
``AnnualMeeting`` holds township meetings too; a county group reports before the county's.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from liaison import notify
from liaison.models import AnnualMeeting, Notification, Reminder
from liaison.roles import Role
from reps import reminders
from reps.models import Group
from tests.factories import CountyFactory, TownshipFactory, active_rep, user_with_role
from tests.helpers import refusal

D = datetime.date
COUNTY_MEETING = D(2027, 1, 20)
TOWNSHIP_MEETING = D(2026, 12, 10)


def at(day: datetime.date, hour: int = 8) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=reminders.SHANGHAI)


def told() -> set[tuple[str, str]]:
    return set(Notification.objects.values_list("user__username", "reminder__period"))


@pytest.fixture
def groups(county, township_a):
    def leader(username):
        return active_rep(
            township_a, user=user_with_role(Role.REPRESENTATIVE, region=township_a, username=username)
        )

    county_group = Group.objects.create(
        name="县第一组", level="county", region=county, leader=leader("county_lead")
    )
    township_group = Group.objects.create(
        name="城关镇第一组", level="township", region=township_a, leader=leader("township_lead")
    )
    AnnualMeeting.objects.create(county=county, year=2027, date=COUNTY_MEETING)
    AnnualMeeting.objects.create(county=county, township=township_a, year=2026, date=TOWNSHIP_MEETING)
    return county_group, township_group


def test_a_township_group_is_reminded_before_its_townships_meeting_once(groups):
    send = reminders.group_report_send_due
    assert send(now=at(D(2026, 11, 9))) == 0  # 31 days before the township's meeting
    assert send(now=at(D(2026, 11, 10))) == 1  # 30 days before: the township group only
    assert send(now=at(D(2026, 11, 10), 20)) == 0  # a second beat the same day
    assert send(now=at(D(2026, 11, 20))) == 1  # 20 days before
    assert send(now=at(D(2026, 11, 25))) == 0  # the report's due day: nothing new
    assert told() == {("township_lead", "2026-D-30"), ("township_lead", "2026-D-20")}


def test_a_county_group_is_reminded_before_the_countys_meeting_and_not_a_townships(groups):
    send = reminders.group_report_send_due
    assert send(now=at(D(2026, 12, 21))) == 1  # 30 days before the county's meeting
    assert send(now=at(D(2026, 12, 31))) == 1
    assert told() == {("county_lead", "2027-D-30"), ("county_lead", "2027-D-20")}
    assert Reminder.objects.filter(kind=reminders.GROUP_REPORT).count() == 2


def test_a_township_group_without_a_township_meeting_is_not_reminded_by_the_countys(
    county, township_a, groups
):
    AnnualMeeting.objects.filter(township=township_a).delete()
    assert reminders.group_report_send_due(now=at(D(2026, 11, 10))) == 0
    assert reminders.group_report_send_due(now=at(D(2026, 12, 21))) == 1  # the county group's
    assert told() == {("county_lead", "2027-D-30")}


def test_the_message_names_the_due_day_before_the_groups_own_meeting(groups):
    reminders.group_report_send_due(now=at(D(2026, 11, 10)))
    reminders.group_report_send_due(now=at(D(2026, 12, 21)))
    by_user = {n.user.username: n for n in Notification.objects.select_related("user")}
    township_msg, county_msg = notify.render_messages([by_user["township_lead"], by_user["county_lead"]])
    assert "2026-11-25" in township_msg.title and "2026-12-10" in township_msg.body
    assert "2027-01-05" in county_msg.title and "2027-01-20" in county_msg.body


class TestAnnualMeetingOfATownship:
    def test_a_county_and_each_township_may_meet_once_a_year(self, county, township_a, township_b):
        AnnualMeeting.objects.create(county=county, year=2026, date=D(2026, 12, 20))
        AnnualMeeting.objects.create(county=county, township=township_a, year=2026, date=D(2026, 12, 1))
        AnnualMeeting.objects.create(county=county, township=township_b, year=2026, date=D(2026, 12, 2))
        second = AnnualMeeting(county=county, township=township_a, year=2026, date=D(2026, 12, 5))
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            second.validate_constraints()
        assert refusal(caught.value) == {
            "__all__": ["The township already has its annual meeting in this year."]
        }
        county_again = AnnualMeeting(county=county, year=2026, date=D(2026, 12, 21))
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            county_again.validate_constraints()
        assert refusal(caught.value) == {
            "__all__": ["The county already has its annual meeting in this year."]
        }

    def test_a_township_of_another_county_is_refused(self, county, township_a):
        other = TownshipFactory(name="外县镇", parent=CountyFactory(name="外县"))
        meeting = AnnualMeeting(county=county, township=other, year=2026, date=D(2026, 12, 1))
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            meeting.clean()
        assert refusal(caught.value) == {"township": ["Choose a township of this county."]}

    def test_a_village_is_not_a_township(self, county, village_a):
        meeting = AnnualMeeting(county=county, township=village_a, year=2026, date=D(2026, 12, 1))
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            meeting.clean()
        assert refusal(caught.value) == {"township": ["Choose a township of this county."]}

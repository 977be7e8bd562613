"""A year of report reminders walked day by day: each one sent once per subject and period.

The cast: township 城关镇 with its staff (clerk_a) and one studio (liaison officer ``officer``)
with a published 2026 roster of Saturday duties; two reps with logins: ``rep_below`` does
nothing, ``rep_above`` receives residents, visits a difficult household and reports public
opinion on the 5th of every month (above the reception quota, "four ones" all done); one
county group led by ``rep_above``; the county's annual meeting on 2026-03-20; "four ones" on.
"""

import datetime

import pytest
import time_machine

from liaison.models import AnnualMeeting, Category, Notification
from liaison.roles import Role
from reps.models import ContactLink, DutyPolicy, Group, HomeVisit
from studios import reminders
from studios.models import DutySlot, OpinionReport, Reception, RosterPeriod, Studio, StudioAssignment
from studios.rosters import generate
from studios.services import period_publish
from tests.factories import ContactFactory, RuleFactory, StudioFactory, active_rep, user_with_role

SHANGHAI = reminders.reps_reminders.SHANGHAI
YEAR = 2026
MEETING = datetime.date(YEAR, 3, 20)


def at(day: datetime.date, hour: int = 8) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=SHANGHAI)


def days(start: datetime.date, end: datetime.date):
    day = start
    while day <= end:
        yield day
        day += datetime.timedelta(days=1)


@pytest.fixture
def cast(county, township_a, village_a, clerk_a):
    officer = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="officer", name="张敏")
    below_user = user_with_role(Role.REPRESENTATIVE, region=township_a, username="rep_below", name="陈志强")
    above_user = user_with_role(Role.REPRESENTATIVE, region=township_a, username="rep_above", name="王秀兰")
    below = active_rep(township_a, user=below_user, name="陈志强")
    above = active_rep(township_a, user=above_user, name="王秀兰")
    DutyPolicy.objects.create(county=county, effective_from=datetime.date(2020, 1, 1), four_ones=True)
    AnnualMeeting.objects.create(county=county, year=YEAR, date=MEETING)
    Group.objects.create(name="第一代表小组", level="county", region=county, leader=above)

    studio = StudioFactory(region=township_a, name="城关镇党代表工作室", liaison_officer=officer)
    for rep in (below, above):
        StudioAssignment.objects.create(studio=studio, representative=rep, start=datetime.date(2024, 1, 1))
    RuleFactory(studio=studio)  # Saturday mornings, one rep each
    generate(
        actor=clerk_a,
        studios=Studio.objects.filter(pk=studio.pk),
        start=datetime.date(YEAR, 1, 1),
        end=datetime.date(YEAR, 12, 31),
    )
    period_publish(actor=clerk_a, period=RosterPeriod.objects.get(studio=studio))

    household = ContactFactory(village=village_a, is_difficult_household=True)
    ContactLink.objects.create(representative=above, contact=household, since=datetime.date(2024, 1, 1))
    for month in range(1, 13):
        fifth = datetime.date(YEAR, month, 5)
        reception = Reception.objects.create(
            studio=studio,
            township=township_a,
            kind="regular",
            starts_at=at(fifth, 10),
            people_received=3,
            recorded_by=clerk_a,
        )
        reception.representatives.add(above)
        visit = HomeVisit.objects.create(date=fifth, township=township_a, recorded_by=above_user)
        visit.representatives.add(above)
        visit.contacts.add(household)
        OpinionReport.objects.create(
            representative=above,
            month=fifth.replace(day=1),
            category=Category.objects.get_or_create(name="民生保障")[0],
            content="路灯不亮",
        )
    return studio


def told() -> list[tuple[str, str, str]]:
    """Every notification as (kind, username, period), in the order they were created."""
    return list(Notification.objects.order_by("pk").values_list("kind", "user__username", "reminder__period"))


def mondays(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [day for day in days(first, last) if day.weekday() == 0]


def test_a_year_walked_day_by_day_sends_each_reminder_once(cast):
    with time_machine.travel(at(datetime.date(YEAR, 1, 1)), tick=False) as traveller:
        for day in days(datetime.date(YEAR, 1, 1), datetime.date(YEAR, 12, 31)):
            traveller.move_to(at(day))
            reminders.report_reminders_send_due(now=at(day))
            if day.day in (1, 15, 20) or day.weekday() == 0:
                # A second beat (a retried task, a second worker) on the days rules start.
                traveller.move_to(at(day, 20))
                reminders.report_reminders_send_due(now=at(day, 20))

    quarters = [f"{YEAR}-Q{n}" for n in range(1, 5)]
    expected_quarterly_and_yearly = {
        # Reception quota: rep_below at mid-quarter and two weeks before the end; rep_above never.
        *{
            ("studios.reception_quota", "rep_below", f"{q}-{stage}")
            for q in quarters
            for stage in ("mid", "late")
        },
        # The public-opinion register in the last 7 days of each quarter, to both reps.
        *{("studios.opinion_register", rep, q) for q in quarters for rep in ("rep_below", "rep_above")},
        # Each quarter's statistics to the township's staff on the first day of the next one:
        # 2025's fourth on January 1, 2026's fourth would come on 2027-01-01.
        ("studios.quarterly_statistics", "clerk_a", "2025-Q4"),
        ("studios.quarterly_statistics", "clerk_a", "2026-Q1"),
        ("studios.quarterly_statistics", "clerk_a", "2026-Q2"),
        ("studios.quarterly_statistics", "clerk_a", "2026-Q3"),
        # December: the year-end duty report, to every active rep.
        ("reps.year_end_report", "rep_below", "2026"),
        ("reps.year_end_report", "rep_above", "2026"),
        # The group's written report: 30 and 20 days before the meeting, to its leader.
        ("reps.group_report", "rep_above", "2026-D-30"),
        ("reps.group_report", "rep_above", "2026-D-20"),
    }
    expected_monthly = {("studios.four_ones", "rep_below", f"{YEAR}-{m:02d}") for m in range(1, 13)}
    # Each Monday, the list of the week before; January 1 (a Thursday) catches up the week of
    # 2025-12-22, owed since Monday 2025-12-29.
    expected_weekly = {("studios.weekly_problem_list", "clerk_a", "2025-12-22")} | {
        ("studios.weekly_problem_list", "clerk_a", f"{monday - datetime.timedelta(days=7)}")
        for monday in mondays(datetime.date(YEAR, 1, 1), datetime.date(YEAR, 12, 31))
    }
    slots = list(
        DutySlot.objects.filter(studio=cast).values_list(
            "date", "assignments__representative__user__username"
        )
    )
    assert len(slots) == 52 and all(date.weekday() == 5 for date, _ in slots)
    expected_duty_eve = {("studios.duty_eve", rep, f"{date}") for date, rep in slots} | {
        ("studios.duty_eve", "officer", f"{date}") for date, _ in slots
    }

    notifications = told()
    assert len(notifications) == len(set(notifications)), "someone was told the same thing twice"
    by_kind = set(notifications)
    quarterly_and_yearly = {n for n in by_kind if n[0] in _KINDS_QUARTERLY_YEARLY}
    assert quarterly_and_yearly == expected_quarterly_and_yearly
    assert {n for n in by_kind if n[0] == "studios.four_ones"} == expected_monthly
    assert {n for n in by_kind if n[0] == "studios.weekly_problem_list"} == expected_weekly
    assert {n for n in by_kind if n[0] == "studios.duty_eve"} == expected_duty_eve
    assert by_kind == expected_quarterly_and_yearly | expected_monthly | expected_weekly | expected_duty_eve
    assert len(expected_weekly) == 53 and len(expected_duty_eve) == 104  # 52 Mondays, 52 Saturdays


_KINDS_QUARTERLY_YEARLY = {
    "studios.reception_quota",
    "studios.opinion_register",
    "studios.quarterly_statistics",
    "reps.year_end_report",
    "reps.group_report",
}


def test_a_week_of_downtime_sends_what_is_still_owed_once_and_nothing_stale(cast):
    """Down from Saturday February 14 to Sunday February 22, 2026; back on Monday the 23rd.

    Missed meanwhile: the mid-quarter quota check (15th), the group's 30-day reminder (18th),
    the "four ones" (20th), the list of the week of Feb 9 (owed all of Feb 16–22) and the eve of
    the duty on Saturday Feb 21. Still owed on the 23rd: all but the last two.
    """
    with time_machine.travel(at(datetime.date(YEAR, 2, 1)), tick=False) as traveller:
        for day in days(datetime.date(YEAR, 2, 1), datetime.date(YEAR, 2, 13)):
            traveller.move_to(at(day))
            reminders.report_reminders_send_due(now=at(day))
        before = set(told())

        monday = datetime.date(YEAR, 2, 23)
        traveller.move_to(at(monday))
        counts = reminders.report_reminders_send_due(now=at(monday))
        caught_up = set(told()) - before
        assert caught_up == {
            ("studios.reception_quota", "rep_below", "2026-Q1-mid"),
            ("reps.group_report", "rep_above", "2026-D-30"),
            ("studios.four_ones", "rep_below", "2026-02"),
            ("studios.weekly_problem_list", "clerk_a", "2026-02-16"),
        }
        assert counts["studios.duty_eve"] == 0
        assert not any(kind == "studios.duty_eve" and period == "2026-02-21" for kind, _, period in told())

        # A second run the same day, and the next days of the week, add nothing.
        assert sum(reminders.report_reminders_send_due(now=at(monday, 9)).values()) == 0
        for day in days(datetime.date(YEAR, 2, 24), datetime.date(YEAR, 2, 26)):
            traveller.move_to(at(day))
            assert sum(reminders.report_reminders_send_due(now=at(day)).values()) == 0
        # Friday: the eve of Saturday's duty, as usual.
        friday = datetime.date(YEAR, 2, 27)
        traveller.move_to(at(friday))
        assert reminders.report_reminders_send_due(now=at(friday))["studios.duty_eve"] == 1

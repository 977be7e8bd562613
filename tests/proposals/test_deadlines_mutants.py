"""Deadline edges that mutation testing (`make mutate`) found untested: the boundaries of on time /
due soon / overdue and of "1 day", the holiday window a working-day deadline reads, a deadline that
crosses from an unknown year into a known one, and the defaults of the extension cap and the policy."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone, translation

from proposals import deadlines
from proposals.models import CalendarYear, DeadlinePolicy, WorkCalendarDay

TZ = timezone.get_default_timezone()


def at(y, m, d, hh=10, mm=0, ss=0) -> datetime.datetime:
    return datetime.datetime(y, m, d, hh, mm, ss, tzinfo=TZ)


DUE = at(2026, 3, 12, 23, 59, 59)


@pytest.mark.parametrize(
    ("now", "state", "label"),
    [
        (DUE, "due_soon", "due in 1 hour"),  # the last second is still in time
        (DUE - datetime.timedelta(days=3), "due_soon", "due in 3 days"),  # exactly the warning days
        (DUE - datetime.timedelta(days=3, seconds=1), "on_time", "on time, 3 days left"),
        (DUE - datetime.timedelta(days=1), "due_soon", "due in 1 day"),  # a whole day is a day
        (DUE - datetime.timedelta(days=1, hours=23), "due_soon", "due in 1 day"),
        (DUE - datetime.timedelta(hours=23, minutes=59), "due_soon", "due in 23 hours"),
        (DUE + datetime.timedelta(days=1), "overdue", "overdue by 1 day"),
    ],
)
def test_time_status_at_its_boundaries(now, state, label):
    status = deadlines.time_status(DUE, now)
    assert status.state == state
    with translation.override("en"):
        assert deadlines.time_status(DUE, now).label == label


def test_a_calendar_day_deadline_counts_from_the_start_not_from_today():
    due = deadlines.add_days(at(2031, 1, 30, 9), 10, mode="calendar")
    assert due == deadlines.Due(at(2031, 2, 9, 23, 59, 59), uncertain=False)


def test_the_extension_cap_is_one_calendar_month_unless_told_otherwise():
    assert deadlines.extension_cap(at(2026, 1, 31)) == at(2026, 2, 28, 23, 59, 59)
    assert deadlines.extension_cap(at(2026, 1, 31), months=2) == at(2026, 3, 31, 23, 59, 59)


def test_the_work_calendar_loads_only_the_days_and_years_of_its_window(db):
    for day in (datetime.date(2029, 12, 31), datetime.date(2030, 1, 2), datetime.date(2031, 1, 2)):
        WorkCalendarDay.objects.create(date=day, is_working_day=False)
    CalendarYear.objects.bulk_create(
        CalendarYear(year=y) for y in (2029, 2030, 2031) if y not in known_years()
    )
    work = deadlines.WorkCalendar.load(datetime.date(2030, 1, 1), datetime.date(2030, 12, 31))
    assert work.exceptions == {datetime.date(2030, 1, 2): False}
    assert work.known_years == {2030}


def known_years() -> set[int]:
    return set(CalendarYear.objects.values_list("year", flat=True))


def test_a_deadline_that_crosses_from_an_unknown_year_into_a_known_one_stays_flagged():
    work = deadlines.WorkCalendar(exceptions={}, known_years={2027})
    day, uncertain = work.add_working_days(datetime.date(2026, 12, 28), 5)
    assert (day, uncertain) == (datetime.date(2027, 1, 4), True)


def test_a_long_working_day_deadline_sees_a_holiday_near_its_end(db):
    """Thirty working days span six weeks: a holiday in the last of them still moves the due date."""
    CalendarYear.objects.bulk_create(CalendarYear(year=y) for y in (2032,) if y not in known_years())
    start = at(2032, 3, 1, 9)  # a Monday
    plain = deadlines.add_days(start, 30, mode="working")
    assert plain == deadlines.Due(at(2032, 4, 12, 23, 59, 59), uncertain=False)
    WorkCalendarDay.objects.create(date=datetime.date(2032, 4, 8), is_working_day=False)
    assert deadlines.add_days(start, 30, mode="working").at == at(2032, 4, 13, 23, 59, 59)


def test_a_county_without_a_policy_gets_the_defaults_for_that_county(county):
    policy = deadlines.policy_for(county.pk, datetime.date(2026, 3, 1))
    assert (policy.pk, policy.county_id, policy.reply_days) == (None, county.pk, 10)


def test_the_policy_in_force_is_the_one_of_that_day(county):
    old = DeadlinePolicy.objects.create(
        county=county, effective_from=datetime.date(2020, 1, 1), reply_days=15
    )
    new = DeadlinePolicy.objects.create(
        county=county, effective_from=datetime.date(2026, 1, 1), reply_days=20
    )
    assert deadlines.policy_for(county.pk, datetime.date(2025, 12, 31)) == old
    assert deadlines.policy_for(county.pk, datetime.date(2026, 1, 1)) == new

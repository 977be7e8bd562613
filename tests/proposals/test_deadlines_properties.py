"""Deadline properties over any start, day mode and extension, against a day-by-day walk.

The oracle below knows nothing of the code's arithmetic: it steps one day at a time from the
start's Beijing date, counts a day when the mode says it counts (every day; or Monday to Friday
unless the holiday table says otherwise), and notes every year it walks through that the table
does not know.
"""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from proposals import deadlines, holidays, services
from proposals.models import CalendarYear, DeadlinePolicy, Ticket, WorkCalendarDay

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")
DAY = datetime.timedelta(days=1)
MODES = [DeadlinePolicy.DayMode.CALENDAR, DeadlinePolicy.DayMode.WORKING]


def uses_db_fixtures(**kwargs) -> hsettings:
    """The profile's settings, allowing function-scoped fixtures: every example may share them,
    as they only read, or add rows that no later example depends on."""
    health = [*hsettings.default.suppress_health_check, HealthCheck.function_scoped_fixture]
    return hsettings(suppress_health_check=health, **kwargs)


def walk(first: datetime.date, days: int, *, mode: str, table: dict, known: set[int]):
    """Step day by day from ``first``; return the ``days``-th counted day and whether an unknown
    year was walked through (only working days depend on the table, so only they can be unsure)."""
    day, counted, unknown = first, 0, False
    while counted < days:
        day += DAY
        if mode == "working":
            unknown = unknown or day.year not in known
            if table.get(day, day.isoweekday() <= 5):
                counted += 1
        else:
            counted += 1
    return day, unknown


def beijing_end_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=BEIJING)


def moments(first_year: int, last_year: int, *, zones=(BEIJING,)):
    """Any moment in those years, as a wall-clock time in one of ``zones``."""
    bounds = datetime.datetime(first_year, 1, 1), datetime.datetime(last_year, 12, 31, 23, 59, 59)  # noqa: DTZ001
    return st.datetimes(*bounds, timezones=st.sampled_from(zones))


# From 2004 (the first year the holiday package knows) to 2031 (years nobody knows yet), in
# Beijing or UTC time, so that a late UTC evening is already the next day in Beijing.
any_moment = moments(2004, 2031, zones=(BEIJING, datetime.UTC))
day_counts = st.integers(min_value=0, max_value=60)


@pytest.fixture
def holiday_table(db):
    """The holiday table the code reads, as the migration and ``load_holidays`` fill it."""
    holidays.load()  # a no-op unless a transactional test emptied the table before this one
    table = dict(WorkCalendarDay.objects.values_list("date", "is_working_day"))
    known = set(CalendarYear.objects.values_list("year", flat=True))
    assert set(range(2004, 2027)) <= known and 2027 not in known
    return table, known


# --- the pure counting, on any holiday table ---------------------------------------------------


@st.composite
def calendars(draw):
    """A made-up holiday table around a start date, and a made-up set of known years."""
    first = draw(st.dates(datetime.date(2000, 1, 1), datetime.date(2040, 12, 31)))
    span = [first + n * DAY for n in range(1, 200)]
    table = draw(st.dictionaries(st.sampled_from(span), st.booleans(), max_size=60))
    years = sorted({d.year for d in span} | {first.year})
    known = set(draw(st.lists(st.sampled_from(years), unique=True)))
    return first, table, known


@given(calendars(), day_counts)
def test_counting_working_days_matches_a_day_by_day_walk_on_any_table(calendar, days):
    first, table, known = calendar
    work = deadlines.WorkCalendar(table, known)
    assert work.add_working_days(first, days) == walk(first, days, mode="working", table=table, known=known)


# --- due dates from the real holiday table -----------------------------------------------------


@pytest.mark.django_db
@uses_db_fixtures()
@given(start=any_moment, days=day_counts, mode=st.sampled_from(MODES))
@example(start=datetime.datetime(2026, 12, 25, 10, tzinfo=BEIJING), days=10, mode="working")
@example(start=datetime.datetime(2026, 9, 28, 10, tzinfo=BEIJING), days=5, mode="working")
@example(start=datetime.datetime(2026, 1, 31, 16, 30, tzinfo=datetime.UTC), days=10, mode="calendar")
def test_the_due_date_is_the_one_a_day_by_day_walk_reaches(holiday_table, start, days, mode):
    table, known = holiday_table
    due = deadlines.add_days(start, days, mode=mode)
    last, unknown = walk(start.astimezone(BEIJING).date(), days, mode=mode, table=table, known=known)
    assert due.at == beijing_end_of(last)
    assert due.uncertain is unknown


@pytest.mark.django_db
@uses_db_fixtures()
@given(
    start=any_moment,
    days=st.integers(min_value=0, max_value=40),
    more=st.integers(1, 20),
    mode=st.sampled_from(MODES),
)
def test_more_days_always_give_a_later_due_date(holiday_table, start, days, more, mode):
    assert (
        deadlines.add_days(start, days, mode=mode).at < deadlines.add_days(start, days + more, mode=mode).at
    )


@pytest.mark.django_db
@uses_db_fixtures()
@given(
    start=moments(2026, 2031),
    days=st.integers(min_value=1, max_value=60),
)
def test_a_working_day_count_into_an_unknown_year_is_flagged_and_counts_weekdays_only(
    holiday_table, start, days
):
    due = deadlines.add_days(start, days, mode="working")
    crossed = due.at.date().year >= 2027
    assert due.uncertain is crossed
    if start.year >= 2027:  # nothing is known there: Monday to Friday, no holiday guessed
        weekdays = sum(
            1
            for n in range(1, (due.at.date() - start.date()).days + 1)
            if (start.date() + n * DAY).weekday() < 5
        )
        assert weekdays == days and due.at.weekday() < 5
    # Calendar days do not depend on holidays, so they are never unsure.
    assert deadlines.add_days(start, days, mode="calendar").uncertain is False


# --- the one-month cap on extensions -----------------------------------------------------------


@given(assigned=any_moment, months=st.integers(min_value=1, max_value=24))
@example(assigned=datetime.datetime(2026, 1, 31, 9, tzinfo=BEIJING), months=1)  # → Feb 28
@example(assigned=datetime.datetime(2028, 1, 31, 9, tzinfo=BEIJING), months=1)  # → Feb 29
@example(assigned=datetime.datetime(2026, 3, 31, 16, 30, tzinfo=datetime.UTC), months=1)  # Beijing Apr 1
def test_the_extension_cap_is_the_same_day_months_later_or_that_months_last_day(assigned, months):
    day = assigned.astimezone(BEIJING).date()
    cap = deadlines.extension_cap(assigned, months=months)
    assert cap == beijing_end_of(months_on_by_walking(day, months))
    if months == 1:
        assert 28 <= (cap.date() - day).days <= 31


def months_on_by_walking(start: datetime.date, months: int) -> datetime.date:
    """Walk day by day to the last day of the month ``months`` on that is not past ``start``'s day."""
    target = start.year * 12 + start.month - 1 + months
    day, latest = start, None
    while day.year * 12 + day.month - 1 <= target:
        if day.year * 12 + day.month - 1 == target and day.day <= start.day:
            latest = day
        day += DAY
    return latest


@pytest.fixture
def policy(county):
    return DeadlinePolicy.objects.create(county=county, effective_from=datetime.date(2000, 1, 1))


@pytest.mark.django_db
@uses_db_fixtures(max_examples=25)  # each example registers, assigns and extends a ticket
@given(
    assigned=moments(2024, 2026),
    mode=st.sampled_from(MODES),
    asked_after=st.integers(min_value=0, max_value=70),
    asked_at=st.floats(min_value=0, max_value=1),
)
@example(
    assigned=datetime.datetime(2026, 1, 31, 9, tzinfo=BEIJING), mode="calendar", asked_after=60, asked_at=0.5
)
@example(
    assigned=datetime.datetime(2026, 3, 2, 9, tzinfo=BEIJING), mode="calendar", asked_after=10, asked_at=0.5
)
def test_any_extension_request_is_granted_up_to_the_cap_and_never_beyond(
    holiday_table, policy, make_ticket, clerk_a, unit_a, unit_a_staff, assigned, mode, asked_after, asked_at
):
    policy.day_mode = mode
    policy.save(update_fields=["day_mode"])
    with time_machine.travel(assigned, tick=False):
        ticket = make_ticket()
        services.ticket_assign(actor=clerk_a, ticket=Ticket.objects.get(pk=ticket.pk), lead_unit=unit_a)
    ticket = Ticket.objects.get(pk=ticket.pk)
    due, cap = ticket.due_at, deadlines.extension_cap(assigned)
    now = assigned + (due - assigned) * asked_at
    until = assigned.date() + asked_after * DAY
    asked = beijing_end_of(until)
    if asked <= due:
        with pytest.raises(ValidationError) as refused:
            services.extension_request(actor=unit_a_staff, ticket=ticket, until=until, reason="协调", now=now)
        assert list(refused.value.message_dict) == ["until"]
        return
    assert due < cap  # the reply is first due well inside the month, so there is room to extend
    extension = services.extension_request(
        actor=unit_a_staff, ticket=ticket, until=until, reason="协调", now=now
    )
    extension = services.extension_decide(
        actor=clerk_a, ticket=Ticket.objects.get(pk=ticket.pk), extension=extension, approve=True, now=now
    )
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert extension.granted_until == ticket.due_at == min(asked, cap)
    assert ticket.due_at <= beijing_end_of(months_on_by_walking(assigned.date(), 1))
    assert ticket.events.get(move="decide_extension").data["capped"] is (asked > cap)

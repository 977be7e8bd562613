"""Deadline arithmetic: reply due dates, the one-month cap on extensions, working days.

A due date is a day: a ticket due on 3 December may be answered until 23:59:59 that day,
Beijing time. Days are counted from the day after the start (assigned on the 1st, due in
10 days → due on the 11th).

Working-day mode counts Monday to Friday, minus public holidays, plus the weekend days declared
working days (调休), from the ``WorkCalendarDay`` table. A year with no ``CalendarYear`` row is
not known: its days are counted by the weekday rule and the result is *flagged*, never
silently trusted.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

END_OF_DAY = datetime.time(23, 59, 59)


def end_of_day(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, END_OF_DAY, tzinfo=timezone.get_default_timezone())


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later, or the month's last day if it has none (Jan 31 → Feb 28/29)."""
    return day + relativedelta(months=months)


@dataclass(frozen=True)
class Due:
    at: datetime.datetime
    uncertain: bool = False  # counted through a year whose holidays are unknown


class WorkCalendar:
    """Working days between two dates, from the holiday table (loaded once per use)."""

    def __init__(self, exceptions: dict[datetime.date, bool], known_years: set[int]):
        self.exceptions = exceptions
        self.known_years = known_years

    @classmethod
    def load(cls, start: datetime.date, end: datetime.date) -> WorkCalendar:
        from proposals.models import CalendarYear, WorkCalendarDay

        rows = WorkCalendarDay.objects.filter(date__gte=start, date__lte=end).values_list(
            "date", "is_working_day"
        )
        years = set(
            CalendarYear.objects.filter(year__gte=start.year, year__lte=end.year).values_list(
                "year", flat=True
            )
        )
        return cls(dict(rows), years)

    def is_working_day(self, day: datetime.date) -> bool:
        if day in self.exceptions:
            return self.exceptions[day]
        return day.weekday() < 5

    def add_working_days(self, start: datetime.date, days: int) -> tuple[datetime.date, bool]:
        """The ``days``-th working day after ``start``, and whether an unknown year was crossed."""
        day, counted, uncertain = start, 0, False
        while counted < days:
            day += datetime.timedelta(days=1)
            uncertain |= day.year not in self.known_years
            if self.is_working_day(day):
                counted += 1
        return day, uncertain


def add_days(start: datetime.datetime, days: int, *, mode: str) -> Due:
    """When something started at ``start`` and given ``days`` days is due."""
    first = timezone.localdate(start)
    if mode != "working":
        return Due(end_of_day(first + datetime.timedelta(days=days)))
    # A generous window: even a long holiday never doubles the span.
    work = WorkCalendar.load(first, first + datetime.timedelta(days=days * 3 + 21))
    last, uncertain = work.add_working_days(first, days)
    return Due(end_of_day(last), uncertain)


def extension_cap(assigned_at: datetime.datetime, *, months: int = 1) -> datetime.datetime:
    """The latest any extension may reach: one calendar month after assignment (end of that day)."""
    return end_of_day(add_months(timezone.localdate(assigned_at), months))


def policy_for(county_id: int, on: datetime.date):
    """The county's policy in force on ``on``, or the defaults from the seeds if it has none."""
    from proposals.models import DeadlinePolicy

    return DeadlinePolicy.objects.in_force(county_id, on) or DeadlinePolicy(county_id=county_id)


class Timeliness:
    ON_TIME, DUE_SOON, OVERDUE = "on_time", "due_soon", "overdue"


@dataclass(frozen=True)
class TimeStatus:
    state: str
    label: str
    delta: datetime.timedelta

    @property
    def css(self) -> str:
        return {"overdue": "danger", "due_soon": "warning", "on_time": "success"}[self.state]


def time_status(
    due_at: datetime.datetime | None, now: datetime.datetime, *, soon_days: int = 3
) -> TimeStatus | None:
    """On time / due soon / overdue, and by how much (in whole days, or hours on the last day)."""
    if due_at is None:
        return None
    left = due_at - now
    if left < datetime.timedelta(0):
        return TimeStatus(Timeliness.OVERDUE, _("overdue by %(span)s") % {"span": _span(-left)}, left)
    if left <= datetime.timedelta(days=soon_days):
        return TimeStatus(Timeliness.DUE_SOON, _("due in %(span)s") % {"span": _span(left)}, left)
    return TimeStatus(Timeliness.ON_TIME, _("on time, %(span)s left") % {"span": _span(left)}, left)


def _span(delta: datetime.timedelta) -> str:
    if delta >= datetime.timedelta(days=1):
        return ngettext("%(n)d day", "%(n)d days", delta.days) % {"n": delta.days}
    hours = max(1, int(delta.total_seconds() // 3600))
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}

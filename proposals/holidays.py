"""Fill the holiday calendar from the ``chinesecalendar`` package, for the years it knows.

The package lists each year's public holidays and the weekend days worked in lieu (调休). We
store only the days that break the Monday–Friday rule, and mark each year we stored as known;
a year the package does not know stays unknown, so deadlines counted through it are flagged.
"""

from __future__ import annotations

import datetime


def package_exceptions() -> tuple[dict[datetime.date, tuple[bool, str]], set[int]]:
    """Every exception to the weekday rule the package knows, and the years it covers."""
    import chinese_calendar

    days: dict[datetime.date, tuple[bool, str]] = {}
    for day, name in chinese_calendar.holidays.items():
        if day.weekday() < 5:
            days[day] = (False, _name(name))
    for day, name in chinese_calendar.workdays.items():
        if day.weekday() >= 5:
            days[day] = (True, _name(name))
    years = {d.year for d in chinese_calendar.holidays}
    return days, years


def _name(holiday) -> str:
    names = {
        "New Year's Day": "元旦",
        "Spring Festival": "春节",
        "Tomb-sweeping Day": "清明节",
        "Labour Day": "劳动节",
        "Dragon Boat Festival": "端午节",
        "National Day": "国庆节",
        "Mid-autumn Festival": "中秋节",
        "Anti-Fascist 70th Day": "抗战胜利纪念日",
    }
    english = holiday if isinstance(holiday, str) else str(getattr(holiday, "value", "") or "")
    return names.get(english, english)[:32]


def load(*, apps=None, overwrite: bool = False) -> list[int]:
    """Store the package's years that are not in the table yet (all of them with ``overwrite``).

    Years staff entered by hand are left alone unless ``overwrite``. Returns the years loaded.
    """
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    CalendarYear = apps.get_model("proposals", "CalendarYear")
    WorkCalendarDay = apps.get_model("proposals", "WorkCalendarDay")
    days, years = package_exceptions()
    have = set(CalendarYear.objects.values_list("year", flat=True))
    wanted = sorted(years if overwrite else years - have)
    if not wanted:
        return []
    WorkCalendarDay.objects.filter(date__year__in=wanted).delete()
    WorkCalendarDay.objects.bulk_create(
        WorkCalendarDay(date=d, is_working_day=working, name=name)
        for d, (working, name) in sorted(days.items())
        if d.year in wanted
    )
    CalendarYear.objects.bulk_create(
        [CalendarYear(year=y, source="chinesecalendar") for y in wanted], ignore_conflicts=True
    )
    return wanted

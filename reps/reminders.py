"""Report reminders owed to representatives and their groups (DOMAIN.md, "Reports, reminders").

Two rules live here, each one set-based ``liaison.notify.issue`` call:

- ``reps.year_end_report``: in December, every active representative who has not yet handed in
  the year's duty report (述职, ``DutyReport``) is reminded of it. Period: the year ("2026").
- ``reps.group_report``: each group's written report is due 15 days before its own congress's
  annual meeting (``liaison.models.AnnualMeeting``): a township group's is the township's meeting
  (the report goes to the township's congress office), any other group's the county's (to the
  liaison office). The group's leader and liaison are reminded 30 and 20 days before the
  meeting, until the group has filed its report (``GroupReport``) for that meeting. Periods:
  "2026-D-30", "2026-D-20" (the meeting's year and which reminder).

Rules are state-based: each asks "what is owed today?", never "what happened since the last
run?", so a run after days of downtime sends what is still owed, once (``Reminder`` is unique
on subject, kind and period), and nothing whose moment has passed: once the 20-day reminder is
owed the 30-day one no longer is, and after the report's due date neither is.

The studios app runs these with its own rules in one daily sweep
(``studios.reminders.report_reminders_send_due``); the helpers below (local day, quarters, a
rep's county and duty policy in SQL) are shared with it. "Day" is the day in Asia/Shanghai.
"""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat

from liaison import notify
from liaison.models import AnnualMeeting, User
from liaison.regions import county_id_of, county_id_of_path
from reps.duties import QUARTER, Period
from reps.models import DutyPolicy, DutyReport, Group, GroupReport, Level, Representative

SHANGHAI = ZoneInfo("Asia/Shanghai")

YEAR_END_REPORT = "reps.year_end_report"
GROUP_REPORT = "reps.group_report"

# The group's written report is due this many days before the annual congress meeting, and
# its leader and liaison are reminded at each of REMINDER_DAYS before the meeting.
GROUP_REPORT_DUE_DAYS = 15
GROUP_REPORT_REMINDER_DAYS = (30, 20)


# --- shared helpers --------------------------------------------------------------------------


def local_day(now: datetime.datetime) -> datetime.date:
    """The calendar day ``now`` falls on in Asia/Shanghai."""
    return now.astimezone(SHANGHAI).date()


def local_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=SHANGHAI)


def quarter_label(period: Period) -> str:
    """ "2026-Q1" for the first quarter of 2026."""
    return f"{period.start.year}-Q{(period.start.month - 1) // 3 + 1}"


_QUARTER = re.compile(r"^(\d{4})-Q([1-4])")


def parse_quarter(label: str) -> Period | None:
    """The quarter a period label starts with ("2026-Q1", "2026-Q1-mid"), or None."""
    match = _QUARTER.match(label or "")
    if not match:
        return None
    year, n = int(match[1]), int(match[2])
    return Period.containing(QUARTER, datetime.date(year, 3 * n - 2, 1))


def policy_value(field: str, *, on: datetime.date, county: str = "county_id"):
    """The county's ``DutyPolicy.<field>`` in force on ``on`` (the model default without one).

    The same rule as ``reps.duties``: the latest version taking effect on or before the day.
    ``county`` names the outer query's annotation holding the county id.
    """
    in_force = (
        DutyPolicy.objects.filter(county_id=OuterRef(county), effective_from__lte=on)
        .order_by("-effective_from")
        .values(field)[:1]
    )
    model_field = DutyPolicy._meta.get_field(field)
    output = BooleanField() if isinstance(model_field.default, bool) else IntegerField()
    return Coalesce(Subquery(in_force), Value(model_field.default), output_field=output)


class DaysBetween(Func):
    """Whole days from the second date to the first: ``end - start`` (PostgreSQL and SQLite)."""

    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra):
        end, start = (compiler.compile(expression) for expression in self.source_expressions)
        return f"CAST(julianday({end[0]}) - julianday({start[0]}) AS INTEGER)", (*end[1], *start[1])


def active_reps_with_login(day: datetime.date):
    """Representatives holding a mandate on ``day`` who can be told (they have a login)."""
    return Representative.objects.active(day).filter(user__isnull=False)


def rep_recipients():
    """Each representative's own login: the recipient of a reminder about that rep."""
    return User.objects.filter(representative__isnull=False).values(
        subject_id=F("representative"), user_id=F("pk")
    )


def as_text(value: str) -> Value:
    return Value(value, output_field=CharField())


# --- the rules -------------------------------------------------------------------------------


def year_end_report_send_due(*, now: datetime.datetime) -> int:
    """In December, remind every active representative of their year-end duty report (述职),
    unless they have handed it in."""
    today = local_day(now)
    if today.month != 12:
        return 0
    handed_in = DutyReport.objects.filter(
        representative=OuterRef("pk"), year=today.year, kind=DutyReport.Kind.YEAR
    )
    subjects = (
        active_reps_with_login(today)
        .exclude(Exists(handed_in))
        .values(subject_id=F("pk"), period=as_text(str(today.year)))
    )
    return notify.issue(
        kind=YEAR_END_REPORT,
        subject_type=Representative._meta.label_lower,
        subjects=subjects,
        recipients=rep_recipients(),
        now=now,
    )


def group_meeting(field: str, *, first: datetime.date, last: datetime.date):
    """``field`` of each group's own annual meeting held from ``first`` to ``last``, in SQL.

    A township group's meeting is its township's (``AnnualMeeting.township``); any other
    group's is its county's own meeting (no township). The outer query annotates ``county_id``.
    """
    return own_meeting(field, AnnualMeeting.objects.filter(date__gte=first, date__lte=last))


def group_meeting_of_year(field: str, *, year: int):
    """``field`` of each group's own annual meeting of ``year``, in SQL (as ``group_meeting``)."""
    return own_meeting(field, AnnualMeeting.objects.filter(year=year))


def own_meeting(field: str, meetings):
    """``field`` of the first of ``meetings`` that is the outer group's own (see ``group_meeting``)."""
    window = meetings.order_by("date")
    township = window.filter(township_id=OuterRef("region_id"))
    county = window.filter(township__isnull=True, county_id=OuterRef("county_id"))
    return Case(
        When(level=Level.TOWNSHIP, then=Subquery(township.values(field)[:1])),
        default=Subquery(county.values(field)[:1]),
    )


def group_report_send_due(*, now: datetime.datetime) -> int:
    """Remind each group's leader and liaison 30 and 20 days before their own annual meeting.

    A meeting D days away owes the 30-day reminder while 20 < D <= 30 and the 20-day one while
    15 <= D <= 20 (the report is due at D = 15); outside that, nothing. One SELECT finds, for
    every group, its own meeting in that window (``group_meeting``).
    """
    today = local_day(now)
    early, late = GROUP_REPORT_REMINDER_DAYS
    day = datetime.timedelta
    window = {"first": today + day(days=GROUP_REPORT_DUE_DAYS), "last": today + day(days=early)}
    subjects = (
        Group.objects.annotate(county_id=county_id_of("region"))
        .annotate(
            meeting_date=group_meeting("date", **window),
            meeting_year=group_meeting("year", **window),
        )
        .filter(meeting_date__isnull=False)
        # A group whose report for that meeting is in is not reminded again.
        .exclude(Exists(GroupReport.objects.filter(group=OuterRef("pk"), year=OuterRef("meeting_year"))))
        .values(
            subject_id=F("pk"),
            period=Concat(
                Cast("meeting_year", CharField()),
                Case(
                    When(meeting_date__lte=today + day(days=late), then=as_text(f"-D-{late}")),
                    default=as_text(f"-D-{early}"),
                ),
                output_field=CharField(),
            ),
        )
    )
    # Parts of a UNION may not be ordered: hence the bare order_by().
    leaders = Group.objects.order_by().values(subject_id=F("pk"), user_id=F("leader__user"))
    liaisons = Group.objects.order_by().values(subject_id=F("pk"), user_id=F("liaison__user"))
    return notify.issue(
        kind=GROUP_REPORT,
        subject_type=Group._meta.label_lower,
        subjects=subjects,
        recipients=leaders.union(liaisons, all=True),
        now=now,
    )


RULES = {
    YEAR_END_REPORT: year_end_report_send_due,
    GROUP_REPORT: group_report_send_due,
}


def upcoming_meeting(group: Group, *, today: datetime.date) -> AnnualMeeting | None:
    """The group's own next annual meeting, on or after ``today`` (as ``group_meeting`` reads it)."""
    meetings = AnnualMeeting.objects.filter(date__gte=today).order_by("date")
    if group.level == Level.TOWNSHIP:
        meetings = meetings.filter(township_id=group.region_id)
    else:
        meetings = meetings.filter(township__isnull=True, county_id=county_id_of_path(group.region.path))
    return meetings.first()


def report_due_on(meeting_date: datetime.date) -> datetime.date:
    return meeting_date - datetime.timedelta(days=GROUP_REPORT_DUE_DAYS)

"""The daily report-reminder sweep: quarterly, monthly, weekly, yearly and duty-eve reminders.

``report_reminders_send_due(now=...)`` is the one entry point (the Celery task
``studios.tasks.send_report_reminders``, beat daily at 08:00 Asia/Shanghai, and the command
``manage.py send_report_reminders``). It runs the rules below and the representatives' own
rules (``reps.reminders``: year-end duty report, group reports) and returns the number of new
reminders per kind. One sweep rather than one per app: a single beat entry and command, and
the reps rules need nothing from this app, so running them here keeps ``reps`` independent.

Every rule is one ``liaison.notify.issue`` call whose subjects and recipients are single
SELECTs (no Python loop over reps, slots or studios), and is state-based: it asks what is owed
*today*, so a second run sends nothing (``Reminder`` is unique on subject, kind and period) and
a run after downtime sends what is still owed once and nothing that no longer matters.

The rules (kind: subject, period; when it is owed, days in Asia/Shanghai; who is told):

- ``studios.reception_quota``: a rep, "2026-Q1-mid" or "2026-Q1-late"; from the 15th of the
  quarter's middle month until two weeks before its end (mid), then to its end (late), while
  the rep is below their reception quota; the rep.
- ``studios.opinion_register``: a rep, "2026-Q1"; the last 7 days of the quarter; the rep.
- ``studios.quarterly_statistics``: a studio, the quarter before ("2025-Q4"); the whole next
  quarter from its first day; the staff of the studio's township (a county studio: the
  county's liaison office).
- ``studios.four_ones``: a rep, "2026-03"; from the 20th to the month's end, where the county's
  policy turns them on, while not all four are done; the rep.
- ``studios.weekly_problem_list``: a township, the Monday of the week listed; the week after
  that one (sent on its Monday); the township's staff.
- ``studios.duty_eve``: a duty slot, its date; from the day before the slot until it starts,
  published rosters only; the reps on duty (and any substitute) and the studio's officer.
- ``studios.thematic_invitation``: a duty slot whose rule invites departments (a thematic
  meeting, seed 001), its date; from two weeks before the slot until it starts, published rosters
  only; the staff of each invited unit. Once per duty; a duty moved to another date is owed again.
"""

from __future__ import annotations

import datetime
import logging

from django.db.models import Case, CharField, Count, DateField, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, Greatest, Least

from liaison import notify
from liaison.models import Region, RoleAssignment, User
from liaison.roles import Role
from reps import reminders as reps_reminders
from reps.duties import MONTH, QUARTER, Period
from reps.models import ContactLink, HomeVisit, Level, Mandate, Representative
from reps.reminders import (
    DaysBetween,
    active_reps_with_login,
    as_text,
    county_id_of,
    local_day,
    local_midnight,
    policy_value,
    quarter_label,
    rep_recipients,
)
from studios.models import DutySlot, OpinionReport, Reception, RosterPeriod, SlotAssignment, Studio

log = logging.getLogger(__name__)

RECEPTION_QUOTA = "studios.reception_quota"
OPINION_REGISTER = "studios.opinion_register"
QUARTERLY_STATISTICS = "studios.quarterly_statistics"
FOUR_ONES = "studios.four_ones"
WEEKLY_PROBLEM_LIST = "studios.weekly_problem_list"
DUTY_EVE = "studios.duty_eve"
THEMATIC_INVITATION = "studios.thematic_invitation"

MID, LATE = "mid", "late"
# The late reception-quota reminder and the end of the public-opinion register's window.
LATE_QUOTA_DAYS = 14
OPINION_REGISTER_DAYS = 7
# Invited departments hear of a thematic duty this many days ahead (or at once, if published later).
INVITATION_DAYS = 14
FOUR_ONES_DAY = 20

_DAY = datetime.timedelta(days=1)


def reception_quota_stage(today: datetime.date) -> tuple[Period, str | None]:
    """The quarter containing ``today`` and which quota reminder is owed: mid, late or none.

    Mid-quarter is the 15th of the middle month; "late" is two weeks before the quarter ends.
    Once the late reminder is owed the mid one no longer is.
    """
    quarter = Period.containing(QUARTER, today)
    mid = datetime.date(quarter.start.year, quarter.start.month + 1, 15)
    if today < mid:
        return quarter, None
    return quarter, (MID if today < quarter.end - datetime.timedelta(days=LATE_QUOTA_DAYS) else LATE)


def _date(day: datetime.date) -> Value:
    return Value(day, output_field=DateField())


def _province_only(today: datetime.date) -> Q:
    """Reps whose only mandates in force are at province level (their quota is smaller)."""
    in_force = Mandate.objects.filter(
        representative=OuterRef("pk"), term_start__lte=today, term_end__gte=today
    )
    return Q(Exists(in_force.filter(level=Level.PROVINCE))) & ~Q(
        Exists(in_force.exclude(level=Level.PROVINCE))
    )


def reps_below_reception_quota(*, now: datetime.datetime, quarter: Period):
    """Active reps with a login whose studio receptions this quarter are below their quota.

    The quota is the county's policy in force today (1 a quarter for reps who are province
    reps only, else 2, by default), prorated like ``studios.duties`` by the days of the quarter
    in which the rep holds a mandate, rounded up: ``ceil(q * days / quarter_days)``. The days
    are counted from the earliest start to the latest end of the mandates overlapping the
    quarter (a gap between two mandates inside one quarter would be counted as held).
    Receptions count when the rep was present and they started in the quarter, before ``now``.
    """
    today = local_day(now)
    mandates = Mandate.objects.filter(
        representative=OuterRef("pk"), term_start__lte=quarter.end, term_end__gte=quarter.start
    )
    first = mandates.order_by("term_start").values("term_start")[:1]
    last = mandates.order_by("-term_end").values("term_end")[:1]
    attended = (
        Reception.representatives.through.objects.filter(
            representative_id=OuterRef("pk"),
            reception__starts_at__gte=local_midnight(quarter.start),
            reception__starts_at__lt=min(now, local_midnight(quarter.end + _DAY)),
            reception__withdrawn_at__isnull=True,
        )
        .order_by()
        .values("representative_id")
        .annotate(n=Count("reception_id"))
        .values("n")
    )
    days = quarter.days
    return (
        active_reps_with_login(today)
        .annotate(
            county_id=county_id_of("region"),
            per_quarter=Case(
                When(_province_only(today), then=policy_value("receptions_per_quarter_province", on=today)),
                default=policy_value("receptions_per_quarter", on=today),
            ),
            held_days=DaysBetween(
                Least(Subquery(last), _date(quarter.end)), Greatest(Subquery(first), _date(quarter.start))
            )
            + 1,
            received=Coalesce(Subquery(attended), 0),
        )
        # Integer ceiling of per_quarter * held_days / days, the same rounding as prorated().
        .annotate(required=(F("per_quarter") * F("held_days") + (days - 1)) / days)
        .filter(received__lt=F("required"))
    )


def reception_quota_send_due(*, now: datetime.datetime) -> int:
    """Mid-quarter and two weeks before its end: tell each rep below their reception quota."""
    quarter, stage = reception_quota_stage(local_day(now))
    if stage is None:
        return 0
    period = f"{quarter_label(quarter)}-{stage}"
    subjects = reps_below_reception_quota(now=now, quarter=quarter).values(
        subject_id=F("pk"), period=as_text(period)
    )
    return notify.issue(
        kind=RECEPTION_QUOTA,
        subject_type=Representative._meta.label_lower,
        subjects=subjects,
        recipients=rep_recipients(),
        now=now,
    )


def opinion_register_send_due(*, now: datetime.datetime) -> int:
    """In the last 7 days of a quarter: remind every active rep of the public-opinion register."""
    today = local_day(now)
    quarter = Period.containing(QUARTER, today)
    if today <= quarter.end - datetime.timedelta(days=OPINION_REGISTER_DAYS):
        return 0
    subjects = active_reps_with_login(today).values(
        subject_id=F("pk"), period=as_text(quarter_label(quarter))
    )
    return notify.issue(
        kind=OPINION_REGISTER,
        subject_type=Representative._meta.label_lower,
        subjects=subjects,
        recipients=rep_recipients(),
        now=now,
    )


def quarterly_statistics_send_due(*, now: datetime.datetime) -> int:
    """From the first day of a quarter: send each studio's statistics of the quarter before.

    Sent to the staff of the studio's township (its region, or its village's township); a
    county studio's go to the county's liaison office. Studios opened after that quarter, or
    closed, are skipped.
    """
    today = local_day(now)
    previous = Period.containing(QUARTER, Period.containing(QUARTER, today).start - _DAY)
    subjects = (
        Studio.objects.active()
        .filter(Q(opened_on__isnull=True) | Q(opened_on__lte=previous.end))
        .values(subject_id=F("pk"), period=as_text(quarter_label(previous)))
    )
    # Parts of a UNION may not be ordered: hence the bare order_by().
    at_own_region = (
        Studio.objects.filter(
            Q(region__level=Region.Level.TOWNSHIP, region__role_assignments__role=Role.TOWNSHIP_STAFF)
            | Q(region__level=Region.Level.COUNTY, region__role_assignments__role=Role.LIAISON_OFFICE)
        )
        .order_by()
        .values(subject_id=F("pk"), user_id=F("region__role_assignments__user"))
    )
    at_village_township = (
        Studio.objects.filter(
            region__level=Region.Level.VILLAGE, region__parent__role_assignments__role=Role.TOWNSHIP_STAFF
        )
        .order_by()
        .values(subject_id=F("pk"), user_id=F("region__parent__role_assignments__user"))
    )
    return notify.issue(
        kind=QUARTERLY_STATISTICS,
        subject_type=Studio._meta.label_lower,
        subjects=subjects,
        recipients=at_own_region.union(at_village_township, all=True),
        now=now,
    )


def reps_short_of_four_ones(*, today: datetime.date):
    """Active reps with a login, in counties whose policy turns the "four ones" on, who have not
    yet done all four this month: a home visit, a studio reception and a public-opinion report,
    and who have no standing link to a difficult household today (seed 004's fourth "one" is a
    link, not a monthly visit; the same counts as ``reps.duties``/``studios.duties``).
    """
    month = Period.containing(MONTH, today)
    visits = HomeVisit.representatives.through.objects.filter(
        representative_id=OuterRef("pk"),
        homevisit__date__gte=month.start,
        homevisit__date__lte=today,
        homevisit__withdrawn_at__isnull=True,
    )
    difficult = ContactLink.objects.active(today).filter(
        representative_id=OuterRef("pk"), contact__is_difficult_household=True
    )
    receptions = Reception.representatives.through.objects.filter(
        representative_id=OuterRef("pk"),
        reception__starts_at__gte=local_midnight(month.start),
        reception__starts_at__lt=local_midnight(today + _DAY),
        reception__withdrawn_at__isnull=True,
    )
    opinions = OpinionReport.objects.filter(representative_id=OuterRef("pk"), month=month.start)
    all_four = Q(Exists(visits)) & Q(Exists(difficult)) & Q(Exists(receptions)) & Q(Exists(opinions))
    return (
        active_reps_with_login(today)
        .annotate(county_id=county_id_of("region"), four_ones=policy_value("four_ones", on=today))
        .filter(four_ones=True)
        .exclude(all_four)
    )


def four_ones_send_due(*, now: datetime.datetime) -> int:
    """From the 20th of the month: remind each rep who has not yet done all of the "four ones"."""
    today = local_day(now)
    if today.day < FOUR_ONES_DAY:
        return 0
    subjects = reps_short_of_four_ones(today=today).values(
        subject_id=F("pk"), period=as_text(f"{today:%Y-%m}")
    )
    return notify.issue(
        kind=FOUR_ONES,
        subject_type=Representative._meta.label_lower,
        subjects=subjects,
        recipients=rep_recipients(),
        now=now,
    )


def listed_week(today: datetime.date) -> datetime.date:
    """The Monday of the week whose problem list is owed today: the week before this one."""
    return today - datetime.timedelta(days=today.weekday() + 7)


def weekly_problem_list_send_due(*, now: datetime.datetime) -> int:
    """Every Monday (or the first run that week): last week's problem list to each township's staff."""
    week = listed_week(local_day(now))
    staff = User.objects.filter(roles__role=Role.TOWNSHIP_STAFF, roles__region__level=Region.Level.TOWNSHIP)
    has_staff = RoleAssignment.objects.filter(region=OuterRef("pk"), role=Role.TOWNSHIP_STAFF)
    subjects = (
        Region.objects.filter(level=Region.Level.TOWNSHIP)
        .filter(Exists(has_staff))
        .values(subject_id=F("pk"), period=as_text(week.isoformat()))
    )
    return notify.issue(
        kind=WEEKLY_PROBLEM_LIST,
        subject_type=Region._meta.label_lower,
        subjects=subjects,
        recipients=staff.values(subject_id=F("roles__region"), user_id=F("pk")),
        now=now,
    )


def duty_eve_send_due(*, now: datetime.datetime) -> int:
    """From the day before a published duty until it starts: tell the reps and the officer.

    A slot already started is never reminded late; a slot moved to another date is owed again.
    """
    today = local_day(now)
    window = {"date__gte": today, "date__lte": today + _DAY}
    slot_window = {f"slot__{key}": value for key, value in window.items()}
    # From the roster period: a slot's own field ``period`` would clash with the column name.
    subjects = RosterPeriod.objects.filter(
        status=RosterPeriod.Status.PUBLISHED,
        studio__is_active=True,
        slots__starts_at__gt=now,
        **{f"slots__{key}": value for key, value in window.items()},
    ).values(subject_id=F("slots"), period=Cast("slots__date", CharField()))
    on_duty = (
        SlotAssignment.objects.filter(**slot_window)
        .order_by()
        .values(subject_id=F("slot"), user_id=F("representative__user"))
    )
    substitutes = (
        SlotAssignment.objects.filter(substitute__isnull=False, **slot_window)
        .order_by()
        .values(subject_id=F("slot"), user_id=F("substitute__user"))
    )
    officers = (
        DutySlot.objects.filter(**window)
        .order_by()
        .values(subject_id=F("pk"), user_id=F("studio__liaison_officer"))
    )
    return notify.issue(
        kind=DUTY_EVE,
        subject_type=DutySlot._meta.label_lower,
        subjects=subjects,
        recipients=on_duty.union(substitutes, officers, all=True),
        now=now,
    )


def thematic_invitation_send_due(*, now: datetime.datetime) -> int:
    """From two weeks before a published duty with invited units until it starts: tell their staff."""
    today = local_day(now)
    window = {"date__gte": today, "date__lte": today + INVITATION_DAYS * _DAY}
    # From the roster period, as for the duty eve: a slot's own field ``period`` would clash.
    subjects = RosterPeriod.objects.filter(
        status=RosterPeriod.Status.PUBLISHED,
        studio__is_active=True,
        slots__starts_at__gt=now,
        slots__rule__invited_units__isnull=False,
        **{f"slots__{key}": value for key, value in window.items()},
    ).values(subject_id=F("slots"), period=Cast("slots__date", CharField()))
    # One filter() call, so the unit's staff join is the one the values() read.
    staff = DutySlot.objects.filter(
        rule__invited_units__staff_roles__role=Role.HANDLING_UNIT, **window
    ).values(subject_id=F("pk"), user_id=F("rule__invited_units__staff_roles__user"))
    return notify.issue(
        kind=THEMATIC_INVITATION,
        subject_type=DutySlot._meta.label_lower,
        subjects=subjects,
        recipients=staff.order_by(),
        now=now,
    )


RULES = {
    RECEPTION_QUOTA: reception_quota_send_due,
    OPINION_REGISTER: opinion_register_send_due,
    QUARTERLY_STATISTICS: quarterly_statistics_send_due,
    FOUR_ONES: four_ones_send_due,
    WEEKLY_PROBLEM_LIST: weekly_problem_list_send_due,
    DUTY_EVE: duty_eve_send_due,
    THEMATIC_INVITATION: thematic_invitation_send_due,
}


def report_reminders_send_due(*, now: datetime.datetime) -> dict[str, int]:
    """Run every report-reminder rule (the reps' and this app's); return new reminders per kind.

    Each rule commits on its own: one that fails is logged and the others still run; the first
    failure is raised at the end so that the task and the command report it.
    """
    rules = {**reps_reminders.RULES, **RULES}
    counts: dict[str, int] = {}
    failure: Exception | None = None
    for code, rule in rules.items():
        try:
            counts[code] = rule(now=now)
        except Exception as exc:
            log.exception("report reminder rule %s failed", code)
            failure = failure or exc
    if failure is not None:
        raise failure
    return counts

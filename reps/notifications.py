"""How the representatives' reminders read (``reps.reminders``), and helpers for every render.

A render takes a batch of notifications of one kind and returns their messages in order, in a
constant number of queries: the reminders' periods in one query (``reminder_periods``), the
subjects in one more where the text needs them. Strings are translated when rendered.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from liaison import notify
from liaison.models import AnnualMeeting, Notification, Reminder
from liaison.notify import Kind, Message
from reps import reminders
from reps.models import Group, Level


def reminder_periods(notifications: Sequence[Notification]) -> dict[int, str]:
    """The period of each notification's reminder, by reminder id: one query at most."""
    periods = {n.reminder_id: n.reminder.period for n in notifications if Notification.reminder.is_cached(n)}
    missing = {n.reminder_id for n in notifications} - periods.keys()
    if missing:
        periods.update(Reminder.objects.filter(pk__in=missing).values_list("pk", "period"))
    return periods


def render_year_end_report(notifications: Sequence[Notification]) -> list[Message]:
    periods = reminder_periods(notifications)
    url = reverse("reps:me")
    messages = []
    for n in notifications:
        params = {"year": periods.get(n.reminder_id, "")}
        messages.append(
            Message(
                title=_("Your year-end duty report for %(year)s") % params,
                body=_(
                    "The year is ending: prepare your year-end duty report on %(year)s for your "
                    "electoral unit, with your receptions, visits and suggestions."
                )
                % params,
                url=url,
            )
        )
    return messages


_GROUP_PERIOD = re.compile(r"^(\d{4})-D-(\d+)$")


def render_group_report(notifications: Sequence[Notification]) -> list[Message]:
    """Name the group, the report's due date and its own meeting (groups and meetings: 2 queries).

    A township group reports to the township's congress office before the township's meeting;
    any other group to the liaison office before the county's (``reminders.group_meeting``).
    """
    periods = reminder_periods(notifications)
    groups = Group.objects.select_related("region").in_bulk({n.subject_id for n in notifications})
    years = {int(m[1]) for m in map(_GROUP_PERIOD.match, periods.values()) if m}
    meetings = {}
    if groups and years:
        found = AnnualMeeting.objects.filter(year__in=years).filter(
            Q(township_id__in=[g.region_id for g in groups.values()])
            | Q(township__isnull=True, county_id__in={_county_id(g) for g in groups.values()})
        )
        meetings = {(m.township_id or m.county_id, m.year): m.date for m in found}
    url = reverse("reps:me")
    messages = []
    for n in notifications:
        group = groups.get(n.subject_id)
        match = _GROUP_PERIOD.match(periods.get(n.reminder_id, ""))
        meeting = None
        if group is not None and match:
            meeting = meetings.get((_meeting_region_id(group), int(match[1])))
        if group is None or meeting is None:
            messages.append(
                Message(
                    title=_("Your group's written report"),
                    body=_(
                        "Your group's written report to the liaison office is due before the annual meeting."
                    ),
                    url=url,
                )
            )
            continue
        due = meeting - datetime.timedelta(days=reminders.GROUP_REPORT_DUE_DAYS)
        params = {"group": group.name, "due": f"{due:%Y-%m-%d}", "meeting": f"{meeting:%Y-%m-%d}"}
        if group.level == Level.TOWNSHIP:
            body = _(
                "The written report of %(group)s to the township's congress office is due on %(due)s, "
                "15 days before the township's annual congress meeting on %(meeting)s."
            )
        else:
            body = _(
                "The written report of %(group)s to the liaison office is due on %(due)s, 15 days "
                "before the annual congress meeting on %(meeting)s."
            )
        messages.append(
            Message(
                title=_("Written report of %(group)s due on %(due)s") % params,
                body=body % params,
                url=reverse("reps:group_report", args=[group.pk]),  # where the leader files it
            )
        )
    return messages


def _county_id(group: Group) -> int:
    return group.region.parent_id or group.region_id


def _meeting_region_id(group: Group) -> int:
    """The region whose meeting the group reports before: its township, or its county."""
    return group.region_id if group.level == Level.TOWNSHIP else _county_id(group)


def register() -> None:
    """Make the representatives' reminder kinds known (``RepsConfig.ready``)."""
    notify.register(Kind(reminders.YEAR_END_REPORT, render_year_end_report))
    notify.register(Kind(reminders.GROUP_REPORT, render_group_report))

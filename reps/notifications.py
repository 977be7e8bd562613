"""How the representatives' reminders read (``reps.reminders``), and helpers for every render.

A render takes a batch of notifications of one kind and returns their messages in order, in a
constant number of queries: the reminders' periods in one query (``reminder_periods``), the
subjects in one more where the text needs them. Strings are translated when rendered.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence

from django.urls import reverse
from django.utils.translation import gettext as _

from liaison import notify
from liaison.models import AnnualMeeting, Notification, Reminder
from liaison.notify import Kind, Message
from reps import reminders
from reps.models import Group


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
    """Name the group, the report's due date and the meeting (groups and meetings: 2 queries)."""
    periods = reminder_periods(notifications)
    groups = Group.objects.select_related("region").in_bulk({n.subject_id for n in notifications})
    counties = {g.region.parent_id or g.region_id for g in groups.values()}
    years = {int(m[1]) for m in map(_GROUP_PERIOD.match, periods.values()) if m}
    meetings = (
        {
            (m.county_id, m.year): m.date
            for m in AnnualMeeting.objects.filter(county_id__in=counties, year__in=years)
        }
        if counties and years
        else {}
    )
    url = reverse("reps:me")
    messages = []
    for n in notifications:
        group = groups.get(n.subject_id)
        match = _GROUP_PERIOD.match(periods.get(n.reminder_id, ""))
        meeting = None
        if group is not None and match:
            meeting = meetings.get((group.region.parent_id or group.region_id, int(match[1])))
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
        messages.append(
            Message(
                title=_("Written report of %(group)s due on %(due)s") % params,
                body=_(
                    "The written report of %(group)s to the liaison office is due on %(due)s, 15 days "
                    "before the annual congress meeting on %(meeting)s."
                )
                % params,
                url=url,
            )
        )
    return messages


def register() -> None:
    """Make the representatives' reminder kinds known (``RepsConfig.ready``)."""
    notify.register(Kind(reminders.YEAR_END_REPORT, render_year_end_report))
    notify.register(Kind(reminders.GROUP_REPORT, render_group_report))

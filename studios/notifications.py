"""How the studios' reminders read: one ``liaison.notify.Kind`` per rule of ``studios.reminders``.

Each render takes a batch of notifications of one kind and returns their messages in order,
in a constant number of queries: the reminders' periods in one (``reps.notifications``), the
subjects in one or two more. Strings are translated when rendered, in the site's language.
Links to the statistics and the weekly list go to pages whose own Excel export exists.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from liaison import notify
from liaison.models import Delivery, Notification, Region
from liaison.notify import Kind, Message
from reps.duties import MONTH, QUARTER, Period
from reps.notifications import reminder_periods
from reps.reminders import SHANGHAI, parse_quarter
from studios import reminders
from studios.models import DutySlot, Studio
from studios.statistics import period_label, period_number

# Links to a page to open at a desk: not worth an SMS.
EMAIL_ONLY = (Delivery.Channel.EMAIL,)


def _quarter_params(period: str) -> dict[str, str]:
    quarter = parse_quarter(period)
    if quarter is None:
        return {"quarter": period, "end": ""}
    return {"quarter": period_label(quarter), "end": f"{quarter.end:%Y-%m-%d}"}


def render_reception_quota(notifications: Sequence[Notification]) -> list[Message]:
    periods = reminder_periods(notifications)
    url = reverse("reps:me")
    messages = []
    for n in notifications:
        period = periods.get(n.reminder_id, "")
        params = _quarter_params(period)
        if period.endswith(reminders.LATE):
            body = _(
                "Two weeks are left in %(quarter)s and you have not yet received residents at a studio "
                "as often as your quota asks. The quarter ends on %(end)s."
            )
        else:
            body = _(
                "Half of %(quarter)s has passed and you have not yet received residents at a studio "
                "as often as your quota asks. The quarter ends on %(end)s."
            )
        messages.append(
            Message(
                title=_("Studio receptions below your quota in %(quarter)s") % params,
                body=body % params,
                url=url,
            )
        )
    return messages


def render_opinion_register(notifications: Sequence[Notification]) -> list[Message]:
    periods = reminder_periods(notifications)
    url = reverse("studios:opinions")
    messages = []
    for n in notifications:
        params = _quarter_params(periods.get(n.reminder_id, ""))
        messages.append(
            Message(
                title=_("Public-opinion register due for %(quarter)s") % params,
                body=_(
                    "Hand in your public-opinion register for %(quarter)s by %(end)s: check that your "
                    "monthly public-opinion reports are complete."
                )
                % params,
                url=url,
            )
        )
    return messages


def _statistics_url(quarter: Period | None) -> str:
    url = reverse("studios:statistics")
    if quarter is None:
        return url
    return f"{url}?{urlencode({'kind': QUARTER, 'year': quarter.start.year, 'n': period_number(quarter)})}"


def render_quarterly_statistics(notifications: Sequence[Notification]) -> list[Message]:
    """Link to the statistics page for the quarter (its Excel export and print view are there)."""
    periods = reminder_periods(notifications)
    studios = Studio.objects.in_bulk({n.subject_id for n in notifications})
    messages = []
    for n in notifications:
        period = periods.get(n.reminder_id, "")
        quarter = parse_quarter(period)
        studio = studios.get(n.subject_id)
        params = {**_quarter_params(period), "studio": studio.name if studio else _("a studio")}
        messages.append(
            Message(
                title=_("Reception statistics of %(studio)s for %(quarter)s") % params,
                body=_(
                    "The reception statistics of %(studio)s for %(quarter)s are ready: view them, print "
                    "them or export them to Excel."
                )
                % params,
                url=_statistics_url(quarter),
            )
        )
    return messages


def render_four_ones(notifications: Sequence[Notification]) -> list[Message]:
    periods = reminder_periods(notifications)
    url = reverse("reps:me")
    messages = []
    for n in notifications:
        period = periods.get(n.reminder_id, "")
        try:
            month = Period.containing(MONTH, datetime.date.fromisoformat(f"{period}-01"))
            params = {"month": period_label(month), "end": f"{month.end:%Y-%m-%d}"}
        except ValueError:
            params = {"month": period, "end": ""}
        messages.append(
            Message(
                title=_("“Four ones” for %(month)s not yet done") % params,
                body=_(
                    "You have not yet done all of this month's “four ones”: a home visit, a public-opinion "
                    "report, a studio reception, and a standing link to a difficult household. The month "
                    "ends on %(end)s."
                )
                % params,
                url=url,
            )
        )
    return messages


def weekly_list_url(township_id: int, week: str) -> str:
    """The weekly problem list export, once the tickets app provides it; else the ticket list."""
    try:
        url = reverse("proposals:weekly_export")
    except NoReverseMatch:
        return "/tickets/"
    return f"{url}?{urlencode({'township': township_id, 'week': week})}"


def render_weekly_problem_list(notifications: Sequence[Notification]) -> list[Message]:
    periods = reminder_periods(notifications)
    townships = Region.objects.in_bulk({n.subject_id for n in notifications})
    messages = []
    for n in notifications:
        week = periods.get(n.reminder_id, "")
        township = townships.get(n.subject_id)
        params = {"township": township.name if township else "", "week": week}
        messages.append(
            Message(
                title=_("Weekly problem list of %(township)s, week of %(week)s") % params,
                body=_(
                    "The problem list of %(township)s for the week of %(week)s is ready: go through it and "
                    "report it."
                )
                % params,
                url=weekly_list_url(n.subject_id, week),
            )
        )
    return messages


def render_duty_eve(notifications: Sequence[Notification]) -> list[Message]:
    """Where and when; the officer's message names the reps on duty (slots and reps: 2 queries)."""
    slots = (
        DutySlot.objects.select_related("studio")
        .prefetch_related("representatives")
        .in_bulk({n.subject_id for n in notifications})
    )
    messages = []
    for n in notifications:
        slot = slots.get(n.subject_id)
        if slot is None:
            messages.append(
                Message(
                    title=_("A duty was cancelled"),
                    body=_("A duty you were told about no longer exists."),
                    url=reverse("studios:my_duties"),
                )
            )
            continue
        starts, ends = slot.starts_at.astimezone(SHANGHAI), slot.ends_at.astimezone(SHANGHAI)
        params = {
            "studio": slot.studio.name,
            "address": slot.studio.address,
            "date": f"{starts:%Y-%m-%d}",
            "start": f"{starts:%H:%M}",
            "end": f"{ends:%H:%M}",
            "reps": "、".join(rep.name for rep in slot.representatives.all()),
        }
        if n.user_id == slot.studio.liaison_officer_id:
            body = _("Duty at %(studio)s on %(date)s from %(start)s to %(end)s; on duty: %(reps)s.")
            url = reverse("studios:period", args=[slot.period_id])
        else:
            body = _("You are on duty at %(studio)s (%(address)s) on %(date)s from %(start)s to %(end)s.")
            url = reverse("studios:my_duties")
        messages.append(
            Message(title=_("Duty on %(date)s at %(studio)s") % params, body=body % params, url=url)
        )
    return messages


def render_thematic_invitation(notifications: Sequence[Notification]) -> list[Message]:
    """What, where and when, the theme and who else is invited (slots, then units: 2 queries)."""
    slots = (
        DutySlot.objects.select_related("studio", "rule")
        .prefetch_related("rule__invited_units")
        .in_bulk({n.subject_id for n in notifications})
    )
    messages = []
    for n in notifications:
        slot = slots.get(n.subject_id)
        if slot is None:
            messages.append(
                Message(
                    title=_("A duty was cancelled"),
                    body=_("A duty you were told about no longer exists."),
                    url=reverse("schedule:index"),
                )
            )
            continue
        starts, ends = slot.starts_at.astimezone(SHANGHAI), slot.ends_at.astimezone(SHANGHAI)
        units = slot.rule.invited_units.all() if slot.rule else []
        params = {
            "kind": slot.get_kind_display(),
            "studio": slot.studio.name,
            "address": slot.studio.address,
            "date": f"{starts:%Y-%m-%d}",
            "start": f"{starts:%H:%M}",
            "end": f"{ends:%H:%M}",
            "theme": slot.theme or slot.get_kind_display(),
            "units": "、".join(unit.name for unit in units),
        }
        url = reverse("schedule:studio", args=[slot.studio_id]) + "?" + urlencode({"from": params["date"]})
        messages.append(
            Message(
                title=_("Your department is invited: %(theme)s, %(date)s at %(studio)s") % params,
                body=_(
                    "Your department is invited to the %(kind)s “%(theme)s” at %(studio)s (%(address)s) on "
                    "%(date)s from %(start)s to %(end)s, with the party representatives on duty. "
                    "Invited: %(units)s."
                )
                % params,
                url=url,
            )
        )
    return messages


def register() -> None:
    """Make the studios' reminder kinds known (``StudiosConfig.ready``)."""
    notify.register(Kind(reminders.RECEPTION_QUOTA, render_reception_quota))
    notify.register(Kind(reminders.OPINION_REGISTER, render_opinion_register))
    notify.register(Kind(reminders.QUARTERLY_STATISTICS, render_quarterly_statistics, channels=EMAIL_ONLY))
    notify.register(Kind(reminders.FOUR_ONES, render_four_ones))
    notify.register(Kind(reminders.WEEKLY_PROBLEM_LIST, render_weekly_problem_list, channels=EMAIL_ONLY))
    notify.register(Kind(reminders.DUTY_EVE, render_duty_eve))
    notify.register(Kind(reminders.THEMATIC_INVITATION, render_thematic_invitation))

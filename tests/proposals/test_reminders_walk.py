"""Forty days in the life of one ticket, swept every hour or every morning: exactly these notices.

Assigned by township A to unit A on Monday 9 March 2026 at 15:00 (reply due at the end of the
19th); on day 5 the unit asks for more time and the township grants it to the 29th; the unit
handles it but replies late, on 3 April; the township forwards the reply the next day; the
representative never rates it, is reminded, and the sweep closes it as "no resident rating".
"""

import datetime

import pytest
import time_machine
from django.utils import timezone

from liaison.models import Notification
from proposals import bulletins, reminders, services
from proposals.models import Ticket
from proposals.transitions import Status
from tests.helpers import reload
from tests.proposals.ticket_rows import told

TZ = timezone.get_default_timezone()
START = datetime.datetime(2026, 3, 9, 15, 0, tzinfo=TZ)
END = START + datetime.timedelta(days=40)


def on(month: int, day: int, hour: int = 15, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=TZ)


# Every notification of the walk, as (kind, recipient, period), and the day it is first owed.
EXPECTED = [
    # The assignment, the extension asked for and granted: events, told within a sweep.
    (("ticket.assigned", "unit_a_staff", ""), None),
    (("ticket.extension_requested", "clerk_a", ""), None),
    (("ticket.extension_decided", "unit_a_staff", ""), None),
    # Warnings for the new due date only (the old one, the 19th, was never near).
    (("ticket.due_soon", "unit_a_staff", "3d:2026-03-29"), datetime.date(2026, 3, 27)),
    (("ticket.due_soon", "unit_a_staff", "1d:2026-03-29"), datetime.date(2026, 3, 29)),
    # Overdue from midnight: the unit and the office that assigned it, once.
    (("ticket.overdue", "unit_a_staff", "2026-03-29"), datetime.date(2026, 3, 30)),
    (("ticket.overdue", "clerk_a", "2026-03-29"), datetime.date(2026, 3, 30)),
    # Each morning while it is overdue, the township's digest.
    (("ticket.overdue_digest", "clerk_a", "2026-03-30"), datetime.date(2026, 3, 30)),
    (("ticket.overdue_digest", "clerk_a", "2026-03-31"), datetime.date(2026, 3, 31)),
    (("ticket.overdue_digest", "clerk_a", "2026-04-01"), datetime.date(2026, 4, 1)),
    (("ticket.overdue_digest", "clerk_a", "2026-04-02"), datetime.date(2026, 4, 2)),
    (("ticket.overdue_digest", "clerk_a", "2026-04-03"), datetime.date(2026, 4, 3)),
    # Escalated to the township and the county office when a day, then three days late.
    (("ticket.escalated", "clerk_a", "+1d:2026-03-29"), datetime.date(2026, 3, 31)),
    (("ticket.escalated", "lianban", "+1d:2026-03-29"), datetime.date(2026, 3, 31)),
    (("ticket.escalated", "clerk_a", "+3d:2026-03-29"), datetime.date(2026, 4, 2)),
    (("ticket.escalated", "lianban", "+3d:2026-03-29"), datetime.date(2026, 4, 2)),
    # March's bulletin for the county office on 1 April.
    (("ticket.bulletin", "lianban", "2026-03"), datetime.date(2026, 4, 1)),
    # The late reply to review, the reply forwarded to the representative to rate.
    (("ticket.replied", "clerk_a", ""), None),
    (("ticket.forwarded", "daibiao", ""), None),
    # Feedback due at the end of 11 April: one reminder; closed three days later, unannounced.
    (("ticket.feedback_overdue", "daibiao", "2026-04-11"), datetime.date(2026, 4, 12)),
]


def hourly():
    moment = START
    while moment <= END:
        yield moment
        moment += datetime.timedelta(hours=1)


def daily():
    day = START.date() + datetime.timedelta(days=1)
    while day <= END.date():
        yield datetime.datetime.combine(day, datetime.time(9, 0), tzinfo=TZ)
        day += datetime.timedelta(days=1)


@pytest.mark.parametrize("cadence", [hourly, daily], ids=["every hour", "every morning"])
def test_forty_days_of_one_ticket_produce_exactly_the_expected_notifications(
    cadence, make_ticket, clerk_a, clerk_b, unit_a, unit_a_staff, unit_staff, liaison_office, rep_a
):
    state = {}

    def register_and_assign(now):
        ticket = make_ticket(now=now)
        services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a, now=now)
        state["ticket"] = ticket

    def ticket():
        return reload(state["ticket"])

    def grant_extension(now):
        extension = ticket().extensions.get()
        services.extension_decide(actor=clerk_a, ticket=ticket(), extension=extension, approve=True, now=now)

    actions = [
        (START, register_and_assign),
        (on(3, 10), lambda now: services.ticket_sign(actor=unit_a_staff, ticket=ticket(), now=now)),
        (
            on(3, 14),
            lambda now: services.extension_request(
                actor=unit_a_staff,
                ticket=ticket(),
                until=datetime.date(2026, 3, 29),
                reason="需协调",
                now=now,
            ),
        ),
        (on(3, 14, 15, 30), grant_extension),
        (
            on(3, 15),
            lambda now: services.ticket_contact(
                actor=unit_a_staff, ticket=ticket(), how="电话", contacted_on=now.date(), now=now
            ),
        ),
        (
            on(3, 17),
            lambda now: services.ticket_plan(
                actor=unit_a_staff, ticket=ticket(), plan="更换灯具", rep_consulted=True, now=now
            ),
        ),
        (
            on(4, 3),
            lambda now: services.ticket_reply(actor=unit_a_staff, ticket=ticket(), text="已更换", now=now),
        ),
        (on(4, 4), lambda now: services.ticket_forward(actor=clerk_a, ticket=ticket(), now=now)),
    ]

    for moment in cadence():
        while actions and actions[0][0] <= moment:
            when, act = actions.pop(0)
            with time_machine.travel(when, tick=False):
                act(when)
        with time_machine.travel(moment, tick=False):
            bulletins.bulletins_draft_due(now=moment)  # beat's other task: the 1st's draft bulletin
            reminders.ticket_reminders_send_due(now=moment)
            reminders.ticket_events_notify(now=moment)
    assert actions == []

    assert told() == sorted(notice for notice, _day in EXPECTED)
    first_told = {
        (n.kind, n.user.username, n.reminder.period): timezone.localtime(n.created_at).date()
        for n in Notification.objects.select_related("user", "reminder")
    }
    assert {notice: first_told[notice] for notice, day in EXPECTED if day} == {
        notice: day for notice, day in EXPECTED if day
    }

    final = ticket()
    assert (final.status, final.resolution) == (Status.CLOSED, Ticket.Resolution.NO_RESIDENT_RATING)
    assert timezone.localtime(final.closed_at).date() == datetime.date(2026, 4, 15)
    assert timezone.localtime(final.due_at).date() == datetime.date(2026, 3, 29)

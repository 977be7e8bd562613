"""Ticket deadlines made to bite: who is told what, once, and what the sweep does to tickets."""

import datetime
import io
import threading
import time

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, ngettext

from liaison import health, notify
from liaison.models import Heartbeat, Notification, Region, Reminder
from liaison.roles import Role
from proposals import bulletins, reminders, services
from proposals.models import Assignment, Bulletin, DeadlinePolicy, Rating, Ticket, TicketEvent
from proposals.transitions import Conflict, InvalidMove, Status
from reps.models import HomeVisit, VisitMatter
from studios.models import Reception, ReceptionMatter
from tests.factories import (
    CountyFactory,
    HandlingUnitFactory,
    StudioFactory,
    TownshipFactory,
    active_rep,
    user_with_role,
)
from tests.helpers import reload
from tests.proposals.ticket_rows import DAY, HOUR, open_tickets, ticket_row, told

TZ = timezone.get_default_timezone()
# A Monday in the middle of the month, after the digest hour: no bulletin is owed.
ASSIGNED = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=TZ)  # due 2026-03-12 23:59:59


def at(day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, hour, 0, tzinfo=TZ)


def sweep(now):
    with time_machine.travel(now, tick=False):
        return reminders.ticket_reminders_send_due(now=now)


def events(now):
    with time_machine.travel(now, tick=False):
        return reminders.ticket_events_notify(now=now)


@pytest.fixture
def assigned(ticket, clerk_a, unit_a, unit_a_staff, liaison_office):
    """The ticket, assigned by township A to unit A on 2 March: due at the end of 12 March."""
    with time_machine.travel(ASSIGNED, tick=False):
        services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a, now=ASSIGNED)
    return reload(ticket)


def replied_and_forwarded(ticket, unit_staff, office, *, forwarded_at):
    """Walk the ticket through the three steps and forward the reply at ``forwarded_at``."""
    services.ticket_sign(actor=unit_staff, ticket=reload(ticket), now=forwarded_at - 3 * HOUR)
    services.ticket_contact(
        actor=unit_staff,
        ticket=reload(ticket),
        how="电话",
        contacted_on=timezone.localdate(forwarded_at),
        now=forwarded_at - 3 * HOUR,
    )
    services.ticket_plan(
        actor=unit_staff,
        ticket=reload(ticket),
        plan="更换灯具",
        rep_consulted=True,
        now=forwarded_at - 2 * HOUR,
    )
    services.ticket_reply(actor=unit_staff, ticket=reload(ticket), text="已更换", now=forwarded_at - HOUR)
    services.ticket_forward(actor=office, ticket=reload(ticket), now=forwarded_at)
    return reload(ticket)


# --- due soon, overdue, escalation -------------------------------------------------------------


def test_it_warns_the_lead_unit_three_days_and_one_day_before_the_due_date(assigned):
    """Due at the end of 12 March: "within 3 days" from midnight on the 10th, "within 1 day" from
    midnight on the 12th."""
    assert sweep(at(9, 23))["due_soon"] == 0
    assert sweep(at(10, 0))["due_soon"] == 1
    assert sweep(at(11))["due_soon"] == 0  # still the same warning
    assert sweep(at(12, 0))["due_soon"] == 1
    assert told() == [
        ("ticket.due_soon", "unit_a_staff", "1d:2026-03-12"),
        ("ticket.due_soon", "unit_a_staff", "3d:2026-03-12"),
    ]


def test_after_a_gap_it_sends_only_the_nearest_warning(assigned):
    sweep(at(12, 9))  # nothing ran before: the 3-day warning is stale, the 1-day one is owed
    assert told() == [("ticket.due_soon", "unit_a_staff", "1d:2026-03-12")]


def test_skipping_five_days_then_sweeping_sends_one_overdue_notice_not_five(assigned):
    sent = sweep(at(18))  # overdue since the end of the 12th; nobody swept for five days
    assert sent["overdue"] == 1 and sent["escalated"] == 1
    assert told() == [
        ("ticket.escalated", "clerk_a", "+3d:2026-03-12"),  # overdue by 3 days, not by 1 as well
        ("ticket.escalated", "lianban", "+3d:2026-03-12"),
        ("ticket.overdue", "clerk_a", "2026-03-12"),
        ("ticket.overdue", "unit_a_staff", "2026-03-12"),
        ("ticket.overdue_digest", "clerk_a", "2026-03-18"),
    ]
    assert sum(sweep(at(18, 10) + datetime.timedelta(minutes=5)).values()) == 0  # right after: nothing
    assert sum(sweep(at(19, 7)).values()) == 0  # the next morning, before the digest hour: nothing
    assert told(kind="ticket.overdue_digest", reminder__period="2026-03-19") == []
    assert sweep(at(19, 8))["overdue_digest"] == 1  # a new day's digest, nothing else


def test_an_approved_extension_warns_again_for_the_new_date(assigned, unit_a_staff, clerk_a):
    sweep(at(11))
    services.extension_request(
        actor=unit_a_staff,
        ticket=reload(assigned),
        until=datetime.date(2026, 3, 20),
        reason="需协调",
        now=at(11, 11),
    )
    extension = assigned.extensions.get()
    services.extension_decide(
        actor=clerk_a, ticket=reload(assigned), extension=extension, approve=True, now=at(11, 12)
    )
    sweep(at(13))  # the old date passed: no overdue notice, the ticket is due on the 20th now
    sweep(at(18))
    sweep(at(20))
    assert told() == [
        ("ticket.due_soon", "unit_a_staff", "1d:2026-03-20"),
        ("ticket.due_soon", "unit_a_staff", "3d:2026-03-12"),
        ("ticket.due_soon", "unit_a_staff", "3d:2026-03-20"),
    ]


def test_an_overdue_ticket_the_county_assigned_tells_the_county_office(
    make_ticket, liaison_office, county_unit, unit_staff, clerk_a
):
    ticket = make_ticket()
    services.ticket_forward_to_county(actor=clerk_a, ticket=reload(ticket), now=ASSIGNED)
    services.ticket_assign(actor=liaison_office, ticket=reload(ticket), lead_unit=county_unit, now=ASSIGNED)
    sweep(at(13))
    assert told() == [
        ("ticket.overdue", "lianban", "2026-03-12"),
        ("ticket.overdue", "minzheng", "2026-03-12"),
        ("ticket.overdue_digest", "lianban", "2026-03-13"),
    ]


def test_the_office_reads_the_notice_in_its_inbox_and_by_email(assigned, client, clerk_a):
    sweep(at(13))
    client.force_login(clerk_a)
    with time_machine.travel(at(13, 11), tick=False):
        page = client.get("/inbox/").content.decode()
        assert assigned.title in page and assigned.display_code in page
        notice = Notification.objects.get(kind="ticket.overdue", user=clerk_a)
        assert client.get(f"/inbox/{notice.pk}/").url == f"/tickets/{assigned.pk}/"
        notify.deliveries_send_now(now=at(13, 11))
    (email,) = [m for m in mail.outbox if m.to == [clerk_a.email]]
    # One email from the sweep (in whatever language the site speaks), listing both: the
    # overdue notice and the township's daily list of overdue tickets.
    with translation.override(settings.LANGUAGE_CODE):
        listed = [
            gettext("Reply overdue: %(title)s") % {"title": assigned.title},
            gettext("Overdue tickets, %(date)s: %(office)s")
            % {"date": formats.date_format(at(13).date(), "DATE_FORMAT"), "office": assigned.township.name},
        ]
        assert email.subject == ngettext("%(count)d new notification", "%(count)d new notifications", 2) % {
            "count": 2
        }
    assert all(title in email.body for title in listed)
    assert f"/tickets/{assigned.pk}/" in email.body


def test_a_ticket_the_unit_replied_to_is_no_longer_chased(assigned, unit_a_staff, clerk_a):
    replied_and_forwarded(assigned, unit_a_staff, clerk_a, forwarded_at=at(12, 15))
    sweep(at(13))
    assert told() == []


def test_each_county_warns_and_escalates_by_its_own_policy(assigned, clerk_a):
    other = CountyFactory(name="东湖县")
    town = TownshipFactory(name="东湖镇", parent=other)
    unit = HandlingUnitFactory(name="东湖镇办", region=town)
    user_with_role(Role.HANDLING_UNIT, unit=unit, username="donghu_unit")
    user_with_role(Role.LIAISON_OFFICE, region=other, username="donghu_office")
    DeadlinePolicy.objects.create(
        county=other, effective_from=datetime.date(2026, 1, 1), due_soon_days="5", escalate_after_days="2"
    )
    DeadlinePolicy.objects.create(  # not in force yet: the defaults still hold over there
        county=other, effective_from=datetime.date(2026, 4, 1), due_soon_days="9"
    )
    theirs = ticket_row(township=town, now=at(2), lead_unit=unit, due_at=assigned.due_at)
    theirs.save()
    sweep(at(8, 9))  # four days before: only the county warning five days ahead says so
    assert told() == [("ticket.due_soon", "donghu_unit", "5d:2026-03-12")]
    sweep(at(14, 9))  # overdue by one day: escalated by the default policy only
    sweep(at(15, 9))  # by two: escalated by the other county's policy
    escalations = told(kind="ticket.escalated")
    assert escalations == [
        ("ticket.escalated", "clerk_a", "+1d:2026-03-12"),
        ("ticket.escalated", "donghu_office", "+2d:2026-03-12"),
        ("ticket.escalated", "lianban", "+1d:2026-03-12"),
    ]


# --- co-units and hand-ins ----------------------------------------------------------------------


def test_a_late_co_unit_opinion_tells_the_co_unit_and_the_lead_unit(
    make_ticket, liaison_office, clerk_a, county_unit, unit_staff, co_unit, co_unit_staff
):
    ticket = make_ticket()
    services.ticket_forward_to_county(actor=clerk_a, ticket=reload(ticket), now=ASSIGNED)
    services.ticket_assign(
        actor=liaison_office, ticket=reload(ticket), lead_unit=county_unit, co_units=[co_unit], now=ASSIGNED
    )
    sweep(at(7))  # opinion due at the end of the 7th
    assert told(kind="ticket.co_opinion_overdue") == []
    sweep(at(8))
    assert told(kind="ticket.co_opinion_overdue") == [
        ("ticket.co_opinion_overdue", "jiaotong", "2026-03-07"),
        ("ticket.co_opinion_overdue", "minzheng", "2026-03-07"),
    ]
    message = notify.render_messages([Notification.objects.filter(kind="ticket.co_opinion_overdue").first()])
    assert co_unit.name in message[0].body and message[0].url.endswith(f"/{ticket.pk}/")
    assert (
        Reminder.objects.get(kind="ticket.co_opinion_overdue").subject_id
        == Assignment.objects.get(role="co").pk
    )


def test_a_matter_not_handed_in_tells_the_reps_present_and_the_studio_officer(
    township_a, my_rep, rep_a, clerk_a, make_ticket
):
    officer = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan")
    studio = StudioFactory(region=township_a, liaison_officer=officer)
    # Both held on the 2nd, typed in on the 4th: the three days run from the 2nd.
    with time_machine.travel(at(4), tick=False):
        reception = Reception.objects.create(
            studio=studio, township=township_a, kind="regular", starts_at=at(2, 9), people_received=3,
            recorded_by=clerk_a,
        )  # fmt: skip
        reception.representatives.add(my_rep)
        waiting, handed_in, answered = ReceptionMatter.objects.bulk_create(
            [
                ReceptionMatter(reception=reception, content="路灯不亮", for_ticket=True),
                ReceptionMatter(reception=reception, content="垃圾清运", for_ticket=True),
                ReceptionMatter(reception=reception, content="医保", answered_on_spot=True, answer="已解答"),
            ]
        )
        visit = HomeVisit.objects.create(date=at(2).date(), township=township_a, recorded_by=rep_a)
        visit.representatives.add(my_rep)
        left = VisitMatter.objects.create(visit=visit, content="桥面破损")
        VisitMatter.objects.create(visit=visit, content="已答复", answered_on_spot=True, answer="已答复")
    make_ticket(reception_matter=handed_in)
    sweep(at(5, 9))  # received at 9:00 on the 2nd: three days are up at 9:00 on the 5th
    assert told(kind="ticket.handin_overdue") == []
    sweep(at(5, 11))
    assert told(kind="ticket.handin_overdue") == [
        ("ticket.handin_overdue", "daibiao", ""),
        ("ticket.handin_overdue", "lianluoyuan", ""),
    ]
    sweep(at(5, 23))  # visited on the 2nd: its three days end with the 5th
    assert len(told(kind="ticket.handin_overdue")) == 2
    sweep(at(6, 0))
    assert told(kind="ticket.handin_overdue") == [
        ("ticket.handin_overdue", "daibiao", ""),
        ("ticket.handin_overdue", "daibiao", ""),
        ("ticket.handin_overdue", "lianluoyuan", ""),
    ]
    subjects = set(
        Reminder.objects.filter(kind="ticket.handin_overdue").values_list("subject_type", "subject_id")
    )
    assert subjects == {("studios.receptionmatter", waiting.pk), ("reps.visitmatter", left.pk)}
    messages = notify.render_messages(list(Notification.objects.filter(kind="ticket.handin_overdue")))
    # Each links to the page that registers the matter as a ticket, prefilled.
    assert {m.url for m in messages} == {
        f"/tickets/from-reception/{waiting.pk}/",
        f"/tickets/from-visit/{left.pk}/",
    }
    assert sweep(at(9))["handin_overdue"] == 0


# --- feedback ------------------------------------------------------------------------------------


def test_feedback_not_returned_reminds_the_rep_then_closes_as_no_resident_rating(
    assigned, unit_a_staff, clerk_a
):
    forwarded = replied_and_forwarded(assigned, unit_a_staff, clerk_a, forwarded_at=at(10, 15))
    assert timezone.localtime(forwarded.feedback_due_at).date() == datetime.date(2026, 3, 17)
    sweep(at(17, 23))
    assert told(kind="ticket.feedback_overdue") == []
    sent = sweep(at(18, 9))
    assert (sent["feedback_overdue"], sent["concluded"]) == (1, 0)
    assert told(kind="ticket.feedback_overdue") == [("ticket.feedback_overdue", "daibiao", "2026-03-17")]
    assert sweep(at(20, 23))["concluded"] == 0  # three days of grace after the window
    assert sweep(at(21, 0))["concluded"] == 1
    ticket = reload(assigned)
    assert (ticket.status, ticket.resolution, ticket.closed_at) == (Status.CLOSED, "no_resident", at(21, 0))
    event = ticket.events.get(move="conclude")
    assert (event.actor, event.actor_label, event.from_status, event.to_status, event.data) == (
        None, gettext("System"), Status.FORWARDED, Status.CLOSED, {"scores": []},
    )  # fmt: skip
    assert event.is_public and event.at == at(21, 0)
    assert sweep(at(22))["concluded"] == 0


@pytest.mark.parametrize(
    ("scores", "status", "resolution"),
    [
        (["basically"], Status.CLOSED, "satisfied"),
        (["satisfied", "dissatisfied"], Status.DISSATISFIED, ""),
    ],
)
def test_the_sweep_concludes_by_the_ratings_of_the_round(
    assigned, unit_a_staff, clerk_a, rep_a, scores, status, resolution
):
    replied_and_forwarded(assigned, unit_a_staff, clerk_a, forwarded_at=at(10, 15))
    ticket = reload(assigned)
    proposer = ticket.proposers.get()
    proposer2 = ticket.proposers.create(name="李四")
    for who, score in zip((proposer, proposer2), scores, strict=False):
        services.ticket_rate(ticket=reload(assigned), proposer=who, score=score, now=at(11))
    # An old round's rating does not count for this one.
    Rating.objects.create(ticket=ticket, round=0, score="dissatisfied", representative=None, proposer=None)
    sweep(at(21, 1))
    ticket = reload(assigned)
    assert (ticket.status, ticket.resolution) == (status, resolution)
    assert ticket.events.get(move="conclude").data == {"scores": sorted(scores)}


def test_a_county_that_keeps_tickets_open_only_reminds(assigned, unit_a_staff, clerk_a, county):
    DeadlinePolicy.objects.create(
        county=county, effective_from=datetime.date(2026, 1, 1), close_without_feedback=False
    )
    replied_and_forwarded(assigned, unit_a_staff, clerk_a, forwarded_at=at(10, 15))
    sent = sweep(at(28))
    assert (sent["feedback_overdue"], sent["concluded"]) == (1, 0)
    assert reload(assigned).status == Status.FORWARDED


# --- digest and bulletin --------------------------------------------------------------------------


def test_the_digest_goes_once_a_day_to_each_office_with_overdue_tickets(
    assigned, make_ticket, clerk_a, unit_a, unit_a_staff, township_b, clerk_b, liaison_office
):
    with time_machine.travel(ASSIGNED, tick=False):
        second = make_ticket(title="水渠堵塞")
        services.ticket_assign(actor=clerk_a, ticket=reload(second), lead_unit=unit_a, now=ASSIGNED)
    sweep(at(13, 7))
    assert told(kind="ticket.overdue_digest") == []  # before 08:00
    sweep(at(13, 8))
    sweep(at(13, 18))
    assert told(kind="ticket.overdue_digest") == [("ticket.overdue_digest", "clerk_a", "2026-03-13")]
    digest = Notification.objects.get(kind="ticket.overdue_digest")
    with time_machine.travel(at(13, 9), tick=False), translation.override("en"):
        (message,) = notify.render_messages([digest])
    assert message.title == "Overdue tickets, March 13, 2026: 城关镇"
    assert message.body == "2 tickets assigned by 城关镇 are overdue now."
    assert message.url == "/tickets/?queue=township&timeliness=overdue"
    # Counted when read: once one is replied to and forwarded, the same digest says 1.
    replied_and_forwarded(second, unit_a_staff, clerk_a, forwarded_at=at(13, 10))
    with time_machine.travel(at(13, 11), tick=False), translation.override("en"):
        (message,) = notify.render_messages([digest])
    assert message.body == "1 ticket assigned by 城关镇 is overdue now."


def drafted_and_swept(now):
    """What beat does on the 1st: the bulletins drafted (06:30), then the deadline sweep."""
    bulletins.bulletins_draft_due(now=now)
    return sweep(now)


def test_the_bulletin_sweep_links_the_office_to_the_month_just_ended(liaison_office, county):
    """The figures, the ranking of the units and the publishing: tests/proposals/test_bulletins.py."""
    drafted_and_swept(at(31))
    assert told(kind="ticket.bulletin") == []  # not the 1st
    assert not Bulletin.objects.exists()
    april_first = datetime.datetime(2026, 4, 1, 0, 5, tzinfo=TZ)
    assert drafted_and_swept(april_first)["bulletin"] == 1
    assert sweep(april_first + DAY)["bulletin"] == 0
    assert told(kind="ticket.bulletin") == [("ticket.bulletin", "lianban", "2026-03")]
    bulletin = Bulletin.objects.get()
    assert (bulletin.county, bulletin.kind, bulletin.year, bulletin.number, bulletin.status) == (
        county, "month", 2026, 3, "draft",
    )  # fmt: skip
    with translation.override("en"):
        message = notify.render_messages([Notification.objects.get(kind="ticket.bulletin")])[0]
    assert message.title == "Monthly bulletin 2026-03: 和平县"
    assert message.body.startswith("The draft bulletin on 2026-03 is ready")
    assert message.url == f"/bulletins/{bulletin.pk}/"


def test_a_missed_first_of_the_month_still_sends_the_bulletin_once(liaison_office):
    assert drafted_and_swept(datetime.datetime(2026, 4, 3, 9, tzinfo=TZ))["bulletin"] == 1
    assert drafted_and_swept(datetime.datetime(2026, 4, 8, 9, tzinfo=TZ))["bulletin"] == 0
    assert (
        drafted_and_swept(datetime.datetime(2026, 5, 9, 9, tzinfo=TZ))["bulletin"] == 0
    )  # April's is not owed
    assert told() == [("ticket.bulletin", "lianban", "2026-03")]
    assert Bulletin.objects.get().number == 3  # drafted once, by the first sweep


# --- events ---------------------------------------------------------------------------------------


def test_each_move_tells_the_party_concerned_once(
    make_ticket, clerk_a, liaison_office, unit_a, unit_a_staff, county_unit, unit_staff, co_unit,
    co_unit_staff, rep_a,
):  # fmt: skip
    returned = make_ticket()
    services.ticket_assign(actor=clerk_a, ticket=reload(returned), lead_unit=unit_a, now=at(2, 9))
    services.ticket_return(actor=unit_a_staff, ticket=reload(returned), reason="不属本单位", now=at(2, 10))
    ticket = make_ticket()
    services.ticket_forward_to_county(actor=clerk_a, ticket=reload(ticket), now=at(2, 9))
    services.ticket_assign(
        actor=liaison_office, ticket=reload(ticket), lead_unit=county_unit, co_units=[co_unit], now=at(2, 9)
    )
    services.ticket_sign(actor=unit_staff, ticket=reload(ticket), now=at(2, 10))
    services.extension_request(
        actor=unit_staff,
        ticket=reload(ticket),
        until=datetime.date(2026, 3, 20),
        reason="协调",
        now=at(2, 11),
    )
    services.extension_decide(
        actor=liaison_office, ticket=reload(ticket), extension=ticket.extensions.get(), approve=False,
        note="按期办结", now=at(2, 12),
    )  # fmt: skip
    services.co_opinion_file(actor=co_unit_staff, ticket=reload(ticket), text="同意", now=at(2, 12))
    services.ticket_contact(
        actor=unit_staff, ticket=reload(ticket), how="电话", contacted_on=at(2).date(), now=at(2, 13)
    )
    services.ticket_plan(
        actor=unit_staff, ticket=reload(ticket), plan="维修", rep_consulted=True, now=at(2, 13)
    )
    services.ticket_reply(actor=unit_staff, ticket=reload(ticket), text="已修", now=at(2, 14))
    services.ticket_rework(actor=liaison_office, ticket=reload(ticket), note="请补充照片", now=at(2, 15))
    services.ticket_reply(actor=unit_staff, ticket=reload(ticket), text="已修，附照片", now=at(2, 16))
    services.ticket_forward(actor=liaison_office, ticket=reload(ticket), now=at(2, 17))
    services.ticket_rate(ticket=reload(ticket), actor=rep_a, score="dissatisfied", now=at(2, 18))
    services.ticket_rate(
        ticket=reload(ticket), proposer=reload(ticket).proposers.get(), score="satisfied", now=at(2, 18)
    )
    services.ticket_rehandle(actor=liaison_office, ticket=reload(ticket), note="重新办理", now=at(2, 19))

    sent = events(at(2, 20))
    assert sent == {
        "assign": 2, "return": 1, "reply": 2, "request_extension": 1, "decide_extension": 1, "rework": 1,
        "rehandle": 1, "forward": 1,
        "sms_receipt": 0, "sms_reply_ready": 0, "sms_rehandled": 0,  # 张大爷 ticked no SMS
        "webhooks": 0,  # no integrating system subscribed
    }  # fmt: skip
    assert told() == [
        ("ticket.assigned", "jiaotong", ""),  # the co-unit
        ("ticket.assigned", "minzheng", ""),
        ("ticket.extension_decided", "minzheng", ""),
        ("ticket.extension_requested", "lianban", ""),
        ("ticket.forwarded", "daibiao", ""),
        ("ticket.rehandled", "minzheng", ""),
        ("ticket.replied", "lianban", ""),
        ("ticket.replied", "lianban", ""),
        ("ticket.returned", "clerk_a", ""),
        ("ticket.rework", "minzheng", ""),
    ]
    assert sum(events(at(2, 21)).values()) == 0
    messages = notify.render_messages(list(Notification.objects.order_by("id")))
    assert all(m.title and m.body and m.url.startswith("/") for m in messages)
    refused = Notification.objects.get(kind="ticket.extension_decided")
    assert "按期办结" in notify.render_messages([refused])[0].body


def test_each_unit_hears_of_its_own_assignment_only(
    ticket, clerk_a, unit_a, unit_a_staff, liaison_office, county_unit, unit_staff
):
    """Returned by unit A and sent on to a county bureau before any sweep ran: the bureau hears
    of the assignment that concerns it, unit A of none (it has handed the ticket back)."""
    services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a, now=at(2, 9))
    services.ticket_return(actor=unit_a_staff, ticket=reload(ticket), reason="不属本单位", now=at(2, 10))
    services.ticket_forward_to_county(actor=clerk_a, ticket=reload(ticket), now=at(2, 11))
    services.ticket_assign(actor=liaison_office, ticket=reload(ticket), lead_unit=county_unit, now=at(2, 12))
    events(at(2, 13))
    assert told() == [("ticket.assigned", "minzheng", ""), ("ticket.returned", "clerk_a", "")]
    second = ticket.events.filter(move="assign").order_by("at").last()
    assert Notification.objects.get(kind="ticket.assigned").subject_id == second.pk


def test_events_older_than_the_window_are_left_alone(assigned):
    assert events(ASSIGNED + reminders.EVENT_WINDOW + HOUR)["assign"] == 0
    assert events(ASSIGNED - HOUR)["assign"] == 0  # not yet happened, as of then
    assert events(ASSIGNED + HOUR)["assign"] == 1


def test_after_an_outage_longer_than_the_window_the_sweep_catches_up(assigned, caplog):
    """Beat and the worker were down from just before the assignment for five days (longer than
    EVENT_WINDOW): the first sweep after reads back to where the last one stopped."""
    assert events(ASSIGNED - HOUR)["assign"] == 0  # the last sweep before the outage
    with caplog.at_level("WARNING", logger="proposals.reminders"):
        assert events(ASSIGNED + 5 * DAY)["assign"] == 1
        assert events(ASSIGNED + 5 * DAY + HOUR)["assign"] == 0  # once
    assert caplog.text == ""
    assert health.health_warnings() == []


def test_events_older_than_the_catch_up_limit_are_skipped_with_a_warning_for_staff(
    assigned, settings, caplog, admin_client
):
    settings.EVENT_CATCH_UP_DAYS = 4
    assert events(ASSIGNED - HOUR)["assign"] == 0
    with caplog.at_level("WARNING", logger="proposals.reminders"):
        assert events(ASSIGNED + 5 * DAY)["assign"] == 0  # 5 days after: older than the limit
    assert "1 events after" in caplog.text and "EVENT_CATCH_UP_DAYS (4 days)" in caplog.text
    (warning,) = health.health_warnings()
    assert "were not notified" in warning
    Heartbeat.objects.create(name=health.BEAT, seen_at=timezone.now())  # beat is running: no warning of it
    assert admin_client.get("/healthz").json()["warnings"] == [warning]
    assert "warnings" not in Client().get("/healthz").json()  # staff only


def test_a_move_enqueues_the_event_notification_after_commit(
    ticket, clerk_a, unit_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a)
    assert [c.__name__ for c in callbacks] == ["_notify_ticket_events"]


# --- rendering --------------------------------------------------------------------------------------


def test_rendering_a_batch_of_each_kind_takes_a_constant_number_of_queries(
    django_assert_max_num_queries, township_a, unit_a, unit_a_staff, clerk_a, liaison_office, co_unit,
    co_unit_staff, make_ticket, my_rep,
):  # fmt: skip
    now = at(16)
    open_tickets(60, township=township_a, unit=unit_a, co_unit=co_unit, rep=my_rep, now=now)
    for _ in range(3):
        services.ticket_assign(actor=clerk_a, ticket=reload(make_ticket()), lead_unit=unit_a, now=at(16, 9))
    sweep(now)
    events(now)
    drafted_and_swept(datetime.datetime(2026, 4, 1, 9, tzinfo=TZ))
    by_kind: dict[str, list[Notification]] = {}
    for n in Notification.objects.order_by("id"):
        by_kind.setdefault(n.kind, []).append(n)
    assert set(by_kind) >= {
        "ticket.due_soon", "ticket.overdue", "ticket.escalated", "ticket.feedback_overdue",
        "ticket.co_opinion_overdue", "ticket.overdue_digest", "ticket.bulletin", "ticket.assigned",
    }  # fmt: skip
    for kind, batch in by_kind.items():
        with django_assert_max_num_queries(4) as one:
            notify.render_messages(batch[:1])
        with django_assert_max_num_queries(len(one.captured_queries)):
            messages = notify.render_messages(batch)
        assert len(messages) == len(batch), kind
        assert all(m.title and m.url for m in messages), kind


# --- scale -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [100, 10_000])
def test_the_sweep_runs_the_same_queries_for_100_and_10000_open_tickets(
    size, django_assert_num_queries, township_a, unit_a, unit_a_staff, clerk_a, liaison_office, co_unit,
    co_unit_staff, my_rep,
):  # fmt: skip
    now = at(16)
    open_tickets(size, township=township_a, unit=unit_a, co_unit=co_unit, rep=my_rep, now=now)
    # Counties and policies (2); ten issue() calls (two due-soon windows, overdue, two escalation
    # windows, co-units, reception and visit hand-ins, feedback, digest), each SAVEPOINT, INSERT
    # reminders [, notifications, deliveries], RELEASE; concluding: SAVEPOINT, claim, ratings,
    # UPDATE, INSERT events, RELEASE; the UPDATE that releases the sweep's deliveries
    # (notify.held_dispatch). The same whatever the number of tickets.
    with django_assert_num_queries(55):
        sent = reminders.ticket_reminders_send_due(now=now)
    twentieth = size // 20
    assert sent == {
        "due_soon": 2 * twentieth, "overdue": 3 * twentieth, "escalated": 2 * twentieth,
        "co_opinion_overdue": twentieth, "handin_overdue": 0, "concluded": twentieth,
        "feedback_overdue": twentieth, "overdue_digest": 2, "bulletin": 0,
    }  # fmt: skip
    with django_assert_num_queries(36):  # nothing new: one INSERT per rule, nothing to conclude, the release
        assert sum(reminders.ticket_reminders_send_due(now=now + datetime.timedelta(minutes=5)).values()) == 0


# --- races (PostgreSQL) -------------------------------------------------------------------------------


def _people(township, unit, co_unit, county):
    """The cast of the concurrent tests; returns the representative and their login."""
    user_with_role(Role.HANDLING_UNIT, unit=unit, username="unit_a_staff")
    user_with_role(Role.HANDLING_UNIT, unit=co_unit, username="jiaotong")
    user_with_role(Role.TOWNSHIP_STAFF, region=township, username="clerk_a")
    user_with_role(Role.LIAISON_OFFICE, region=county, username="lianban")
    login = user_with_role(Role.REPRESENTATIVE, region=township, username="daibiao")
    return active_rep(township, user=login), login


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_nothing_twice(county, township_a, unit_a, co_unit):
    if connection.vendor != "postgresql":
        pytest.fail("this race is checked on PostgreSQL: run it with `make test`")
    rep, _login = _people(township_a, unit_a, co_unit, county)
    now = at(16)
    open_tickets(400, township=township_a, unit=unit_a, co_unit=co_unit, rep=rep, now=now)
    barrier, results, errors = threading.Barrier(2), [], []

    def run():
        try:
            barrier.wait(timeout=20)
            results.append(reminders.ticket_reminders_send_due(now=now))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(timeout=60) for t in threads]
    assert errors == []
    totals = {key: results[0][key] + results[1][key] for key in results[0]}
    assert totals == {
        "due_soon": 40, "overdue": 60, "escalated": 40, "co_opinion_overdue": 20, "handin_overdue": 0,
        "concluded": 20, "feedback_overdue": 20, "overdue_digest": 2, "bulletin": 0,
    }  # fmt: skip
    assert Reminder.objects.count() == 40 + 60 + 40 + 20 + 20 + 2
    pairs = list(Notification.objects.values_list("reminder_id", "user_id"))
    assert len(pairs) == len(set(pairs))
    assert TicketEvent.objects.filter(move="conclude").count() == 20


def _forwarded_past_the_grace(township, unit, rep, now) -> Ticket:
    ticket = ticket_row(
        township=township, now=now, lead_unit=unit, status=Status.FORWARDED, representative=rep,
        feedback_due_at=now - 4 * DAY,
    )  # fmt: skip
    ticket.save()
    return Ticket.objects.select_related("township", "representative").get(pk=ticket.pk)


def _a_backend_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def _in_thread(function, *, hold: threading.Event, done: threading.Event, results: dict, errors: list):
    """Run ``function`` in a transaction in a thread; keep it open until ``hold`` is set."""

    def run():
        try:
            with transaction.atomic():
                results["value"] = function()
                done.set()
                assert hold.wait(timeout=20)
        except Exception as exc:  # noqa: BLE001 - reported by the caller's assertion
            errors.append(exc)
        finally:
            done.set()
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rating_made_while_the_sweep_concludes_is_refused_cleanly(county, township_a, unit_a, co_unit):
    """The sweep holds the ticket; the rep's rating waits for it, then finds it concluded."""
    if connection.vendor != "postgresql":
        pytest.fail("this race is checked on PostgreSQL: run it with `make test`")
    rep, login = _people(township_a, unit_a, co_unit, county)
    now = at(16)
    ticket = _forwarded_past_the_grace(township_a, unit_a, rep, now)
    hold, concluded, results, errors = threading.Event(), threading.Event(), {}, []
    sweeping = _in_thread(
        lambda: reminders.ticket_reminders_send_due(now=now), hold=hold, done=concluded, results=results,
        errors=errors,
    )  # fmt: skip
    assert concluded.wait(timeout=20)
    outcome = {}

    def rate():
        try:
            services.ticket_rate(ticket=ticket, actor=login, score="satisfied", now=now)
            outcome["rating"] = "saved"
        except (Conflict, InvalidMove) as exc:  # "not possible while the ticket is closed"
            outcome["rating"] = type(exc).__name__
        finally:
            connections.close_all()

    rating = threading.Thread(target=rate)
    rating.start()
    try:
        deadline = time.monotonic() + 20
        while not _a_backend_waits_on_a_lock():
            assert time.monotonic() < deadline, "the rating never waited for the sweep"
            time.sleep(0.02)
    finally:
        hold.set()
        sweeping.join(timeout=30)
        rating.join(timeout=30)
    assert errors == [] and results["value"]["concluded"] == 1
    assert outcome in ({"rating": "Conflict"}, {"rating": "InvalidMove"})
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolution) == (Status.CLOSED, "no_resident")
    assert list(ticket.events.filter(move="conclude").values_list("data", flat=True)) == [{"scores": []}]
    assert not Rating.objects.filter(ticket=ticket).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_sweep_leaves_a_ticket_being_rated_to_the_rating(county, township_a, unit_a, co_unit):
    """The rep's rating holds the ticket (and concludes it); the sweep skips it and waits for
    nobody; the ticket ends concluded once, closed with no resident rating (only the rep rated:
    services.feedback_outcome)."""
    if connection.vendor != "postgresql":
        pytest.fail("this race is checked on PostgreSQL: run it with `make test`")
    rep, login = _people(township_a, unit_a, co_unit, county)
    now = at(16)
    ticket = _forwarded_past_the_grace(township_a, unit_a, rep, now)
    hold, rated, results, errors = threading.Event(), threading.Event(), {}, []
    rating = _in_thread(
        lambda: services.ticket_rate(ticket=ticket, actor=login, score="satisfied", now=now),
        hold=hold, done=rated, results=results, errors=errors,
    )  # fmt: skip
    assert rated.wait(timeout=20)
    try:
        sent = reminders.ticket_reminders_send_due(now=now)  # does not block on the held row
    finally:
        hold.set()
        rating.join(timeout=30)
    assert errors == [] and sent["concluded"] == 0 and sent["feedback_overdue"] == 0
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolution) == (Status.CLOSED, Ticket.Resolution.NO_RESIDENT_RATING)
    assert reminders.ticket_reminders_send_due(now=now + HOUR)["concluded"] == 0
    conclusions = ticket.events.filter(move="conclude")
    assert [(e.actor_id, e.data) for e in conclusions] == [(None, {"scores": ["satisfied"]})]


# --- commands ----------------------------------------------------------------------------------------


def test_the_command_sends_as_of_a_given_time_and_a_dry_run_sends_nothing(assigned):
    out = io.StringIO()
    call_command("send_ticket_reminders", "--now", "2026-03-13T09:00", "--dry-run", stdout=out)
    assert "would send" in out.getvalue() and "overdue: 1" in out.getvalue()
    assert Reminder.objects.count() == 0 and reload(assigned).status == Status.ASSIGNED
    call_command("send_ticket_reminders", "--now", "2026-03-13T09:00+08:00", stdout=out)
    assert told(kind="ticket.overdue") == [
        ("ticket.overdue", "clerk_a", "2026-03-12"),
        ("ticket.overdue", "unit_a_staff", "2026-03-12"),
    ]
    out = io.StringIO()
    call_command("notify_ticket_events", "--now", "2026-03-02T11:00", stdout=out)
    assert "assign: 1" in out.getvalue()
    assert told(kind="ticket.assigned") == [("ticket.assigned", "unit_a_staff", "")]


def test_the_beat_runs_both_sweeps():
    from liaison.celery import app

    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule["proposals.tasks.send_ticket_reminders"] == 5 * 60
    assert schedule["proposals.tasks.notify_ticket_events"] == 2 * 60


def test_regions_and_policies_are_read_once_per_sweep(county):
    """A sanity check of the grouping: counties without a policy get the seeds' defaults."""
    policies = reminders.Policies(datetime.date(2026, 3, 1))
    assert list(policies.by_county) == list(
        Region.objects.filter(level="county").values_list("pk", flat=True)
    )
    assert policies.groups(lambda p: reminders._windows_before(p.day_list(p.due_soon_days))) == {
        (1, 0): [county.pk],
        (3, 1): [county.pk],
    }

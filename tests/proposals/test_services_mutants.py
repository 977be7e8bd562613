"""What the services write, field by field, where mutation testing (scripts/mutate) found that the
other tests would not notice a change: the extension decision's rows and event, an edit's event
and saved fields, who is refused before anything is compared, and what a re-handling (its deadline
under the policy in force on ``now``) and a return (only this ticket's open rows, at ``now``) write."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from liaison.models import AuditEvent
from proposals import deadlines, services
from proposals.files import clean_attachment
from proposals.models import (
    Assignment,
    Attachment,
    DeadlinePolicy,
    Extension,
    Proposer,
    Rating,
    Ticket,
    TicketEvent,
)
from studios.models import Reception, ReceptionMatter
from tests.factories import CountyFactory, StudioFactory, TownshipFactory
from tests.helpers import refusal
from tests.proposals.public_helpers import pdf_upload

TZ = timezone.get_default_timezone()
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
# A decision's own time, passed as ``now=``: neither the frozen clock of the call nor START.
DECIDED = START + datetime.timedelta(days=2, hours=3)


def load(ticket) -> Ticket:
    return (
        Ticket.objects.select_related("township", "representative", "lead_unit")
        .prefetch_related("assignments__unit")
        .get(pk=ticket.pk)
    )


@pytest.fixture
def assigned(ticket, walk):
    with time_machine.travel(START, tick=False):
        return walk(ticket, "assigned")


def _ask(actor, ticket, until: datetime.date, reason: str = "需协调县交通局") -> Extension:
    with time_machine.travel(START + datetime.timedelta(days=1), tick=False):
        return services.extension_request(actor=actor, ticket=load(ticket), until=until, reason=reason)


def _decide(actor, ticket, extension, **kwargs) -> Extension:
    with time_machine.travel(START + datetime.timedelta(days=2), tick=False):
        return services.extension_decide(actor=actor, ticket=load(ticket), extension=extension, **kwargs)


# --- extension_decide ------------------------------------------------------------------------------


def test_an_approved_extension_writes_its_decision_the_due_time_and_the_event(
    assigned, unit_a_staff, clerk_a
):
    """Within the cap: granted as asked, not capped; no note given is an empty note; ``now=`` is the
    time of the decision everywhere (not the clock); an unknown holiday year no longer applies."""
    extension = _ask(unit_a_staff, assigned, datetime.date(2026, 3, 20))
    Ticket.objects.filter(pk=assigned.pk).update(due_year_unknown=True)
    requested = deadlines.end_of_day(datetime.date(2026, 3, 20))
    returned = _decide(clerk_a, assigned, extension, approve=True, now=DECIDED)

    row = Extension.objects.get(pk=extension.pk)
    assert (row.decision, row.granted_until, row.decided_by, row.decided_at) == (
        "approved",
        requested,
        clerk_a,
        DECIDED,
    )
    assert (returned.decision, returned.granted_until) == ("approved", requested)
    ticket = Ticket.objects.get(pk=assigned.pk)
    assert (ticket.due_at, ticket.extension_reason, ticket.due_year_unknown) == (
        requested,
        "需协调县交通局",
        False,
    )
    event = TicketEvent.objects.get(ticket=assigned, move="decide_extension")
    assert (event.at, event.actor, event.note) == (DECIDED, clerk_a, "")
    assert event.data == {
        "approved": True,
        "due": timezone.localtime(requested).isoformat(),
        "reason": "需协调县交通局",
        "capped": False,
    }


def test_an_extension_past_the_cap_is_granted_up_to_the_cap_and_says_so(assigned, unit_a_staff, clerk_a):
    extension = _ask(unit_a_staff, assigned, datetime.date(2026, 5, 29))
    cap = deadlines.end_of_day(datetime.date(2026, 4, 2))  # one calendar month after assignment
    _decide(clerk_a, assigned, extension, approve=True, note="最多一个月", now=DECIDED)

    assert Extension.objects.get(pk=extension.pk).granted_until == cap
    assert Ticket.objects.get(pk=assigned.pk).due_at == cap
    event = TicketEvent.objects.get(ticket=assigned, move="decide_extension")
    assert event.note == "最多一个月"
    assert event.data == {
        "approved": True,
        "due": timezone.localtime(cap).isoformat(),
        "reason": "需协调县交通局",
        "capped": True,
    }


def test_a_refused_extension_leaves_the_due_time_and_records_only_the_refusal(
    assigned, unit_a_staff, clerk_a
):
    before = (
        Ticket.objects.filter(pk=assigned.pk).values("due_at", "extension_reason", "due_year_unknown").get()
    )
    extension = _ask(unit_a_staff, assigned, datetime.date(2026, 3, 20))
    _decide(clerk_a, assigned, extension, approve=False, note="理由不足", now=DECIDED)

    row = Extension.objects.get(pk=extension.pk)
    assert (row.decision, row.granted_until, row.decided_by, row.decided_at) == (
        "refused",
        None,
        clerk_a,
        DECIDED,
    )
    after = (
        Ticket.objects.filter(pk=assigned.pk).values("due_at", "extension_reason", "due_year_unknown").get()
    )
    assert after == before
    event = TicketEvent.objects.get(ticket=assigned, move="decide_extension")
    assert (event.note, event.data) == ("理由不足", {"approved": False})


def test_another_tickets_request_is_refused_while_this_one_has_its_own(
    assigned, make_ticket, walk, unit_a_staff, clerk_a
):
    """The ticket has a request waiting (so the precondition passes), but not this one."""
    with time_machine.travel(START, tick=False):
        other = walk(make_ticket(title="另一条路灯"), "assigned")
    own = _ask(unit_a_staff, assigned, datetime.date(2026, 3, 20))
    foreign = _ask(unit_a_staff, other, datetime.date(2026, 3, 20))
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        _decide(clerk_a, assigned, foreign, approve=True)
    assert refusal(refused.value) == ["This extension request has already been decided."]
    assert list(Extension.objects.filter(pk__in=[own.pk, foreign.pk]).values_list("decision", flat=True)) == [
        "pending",
        "pending",
    ]

    _decide(clerk_a, assigned, own, approve=True)
    # Deciding this ticket's request decides that one only.
    assert Extension.objects.get(pk=own.pk).decision == "approved"
    assert Extension.objects.get(pk=foreign.pk).decision == "pending"
    assert not TicketEvent.objects.filter(ticket=other, move="decide_extension").exists()


def test_a_stranger_is_refused_a_decision_before_being_told_there_is_none(assigned, clerk_b):
    """Who may decide is checked first: a stranger learns nothing of the ticket's requests."""
    with pytest.raises(PermissionDenied):
        services.extension_decide(
            actor=clerk_b, ticket=load(assigned), extension=Extension(ticket=assigned), approve=True
        )


# --- ticket_edit ---------------------------------------------------------------------------------


def test_an_edit_saves_the_fields_and_names_its_author(ticket, clerk_a):
    when = START + datetime.timedelta(days=3)
    services.ticket_edit(actor=clerk_a, ticket=load(ticket), title="村口三盏路灯不亮", place="东街", now=when)
    saved = Ticket.objects.get(pk=ticket.pk)
    assert (saved.title, saved.place) == ("村口三盏路灯不亮", "东街")
    event = TicketEvent.objects.get(ticket=ticket, move="edit")
    assert (event.actor, event.at) == (clerk_a, when)
    assert event.data["after"] == {"title": "村口三盏路灯不亮", "place": "东街"}


def test_an_edit_names_the_fields_it_cannot_change(ticket, clerk_a):
    with pytest.raises(ValueError, match=r"^not editable: \['round', 'status'\]$"):
        services.ticket_edit(actor=clerk_a, ticket=load(ticket), status="closed", round=2, title="新标题")
    assert Ticket.objects.get(pk=ticket.pk).title == "村口路灯不亮"


def test_a_stranger_is_refused_even_an_edit_that_changes_nothing(ticket, clerk_b):
    with pytest.raises(PermissionDenied):
        services.ticket_edit(actor=clerk_b, ticket=load(ticket), title="村口路灯不亮")


# --- ticket_rate, rating_enter and _record_rating --------------------------------------------------

RATED = START + datetime.timedelta(days=5, hours=2)


@pytest.fixture
def forwarded(make_ticket, walk):
    """Forwarded on the township route, with two proposers to rate besides the representative."""
    with time_machine.travel(START, tick=False):
        return walk(
            make_ticket(proposers=[("张大爷", "13812345678"), ("李大妈", "13912345678")]), "forwarded"
        )


def _rate(ticket, **kwargs):
    with time_machine.travel(START + datetime.timedelta(days=4), tick=False), translation.override("en"):
        return services.ticket_rate(ticket=load(ticket), **kwargs)


def _rating(rating) -> tuple:
    row = Rating.objects.get(pk=rating.pk)
    return (row.round, row.proposer_id, row.representative_id, row.score, row.via, row.comment, row.rated_at)


def _event(ticket, move: str) -> tuple:
    event = TicketEvent.objects.filter(ticket=ticket, move=move).latest("pk")
    return (event.actor, event.actor_label, event.note, event.at, event.data)


def test_each_rating_writes_its_row_and_event_and_the_last_one_concludes(forwarded, rep_a, my_rep, clerk_a):
    first, second = forwarded.proposers.order_by("pk")
    rep_rating = _rate(forwarded, actor=rep_a, score="dissatisfied", comment=" 还有一盏不亮 ", now=RATED)
    assert _rating(rep_rating) == (1, None, my_rep.pk, "dissatisfied", "online", "还有一盏不亮", RATED)
    assert _event(forwarded, "rate") == (
        rep_a,
        "Representative",
        "还有一盏不亮",
        RATED,
        {"score": "dissatisfied"},
    )
    assert Ticket.objects.get(pk=forwarded.pk).status == "forwarded"  # two proposers still to rate

    own = _rate(forwarded, proposer=first, score="satisfied", now=RATED)  # no comment given
    assert _rating(own) == (1, first.pk, None, "satisfied", "online", "", RATED)
    assert _event(forwarded, "rate") == (
        None,
        "Proposer",
        "",
        RATED,
        {"score": "satisfied", "resident": True},
    )
    assert Ticket.objects.get(pk=forwarded.pk).status == "forwarded"

    # Entered by the office for the other proposer, by phone: the last rating concludes, at its time.
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.rating_enter(
            actor=clerk_a, ticket=load(forwarded), proposer=first, score="satisfied", via="phone", now=RATED
        )
    assert refusal(refused.value) == {"proposer": ["This proposer has already rated this reply."]}
    later = RATED + datetime.timedelta(hours=1)
    entered = services.rating_enter(
        actor=clerk_a,
        ticket=load(forwarded),
        proposer=second,
        score="basically",
        via="phone",
        comment="电话",
        now=later,
    )
    assert _rating(entered) == (1, second.pk, None, "basically", "phone", "电话", later)
    assert _event(forwarded, "enter_rating")[2:] == (
        "电话",
        later,
        {"score": "basically", "via": "phone", "resident": True},
    )
    concluded = Ticket.objects.get(pk=forwarded.pk)
    assert concluded.status == "dissatisfied"
    assert _event(forwarded, "conclude")[3] == later


def test_a_rating_keeps_the_first_500_characters_of_its_comment(forwarded, rep_a):
    rating = _rate(forwarded, actor=rep_a, score="satisfied", comment="好" * 600)
    assert Rating.objects.get(pk=rating.pk).comment == "好" * 500


def test_a_rating_without_a_known_score_is_refused(forwarded, rep_a):
    with pytest.raises(ValidationError) as refused:
        _rate(forwarded, actor=rep_a, score="excellent")
    assert refusal(refused.value) == {"score": ["Choose a rating."]}
    assert not Rating.objects.filter(ticket=forwarded).exists()


def test_a_proposer_of_another_ticket_may_not_rate_this_one(forwarded, make_ticket):
    stranger = make_ticket(proposers=[("赵四", "13712345678")]).proposers.get()
    with pytest.raises(PermissionDenied):
        _rate(forwarded, proposer=stranger, score="satisfied")
    assert not Rating.objects.filter(ticket=forwarded).exists()


def test_a_second_rating_from_a_page_loaded_before_the_first_is_refused(forwarded, rep_a):
    """The page's prefetched ratings are dropped under the lock: the first rating shows."""
    stale = Ticket.objects.prefetch_related("ratings").get(pk=forwarded.pk)
    assert list(stale.ratings.all()) == []
    _rate(forwarded, actor=rep_a, score="satisfied")
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_rate(ticket=stale, actor=rep_a, score="dissatisfied")
    assert refusal(refused.value) == ["This reply has already been rated by you."]
    assert Rating.objects.filter(ticket=forwarded).count() == 1


def test_the_database_refuses_a_second_rating_the_checks_let_through(forwarded, rep_a, monkeypatch):
    """The unique constraint is the last guard (a race): it says the same as the check."""
    _rate(forwarded, actor=rep_a, score="satisfied")
    monkeypatch.setattr(services, "already_rated", lambda ticket, *, proposer_id: "")
    with pytest.raises(ValidationError) as refused:
        _rate(forwarded, actor=rep_a, score="dissatisfied")
    assert refusal(refused.value) == ["This reply has already been rated by you."]
    assert Rating.objects.filter(ticket=forwarded).count() == 1


# --- ticket_adopt --------------------------------------------------------------------------------

ADOPTED = START + datetime.timedelta(days=10)  # passed as ``now=``; the clock says ten days later


@pytest.fixture
def adoptable(make_ticket, walk):
    with time_machine.travel(START, tick=False):
        return walk(make_ticket(), "replied")


def _adopt(actor, ticket, adopted_by: str | None, adopted_on: datetime.date):
    with time_machine.travel(START + datetime.timedelta(days=20), tick=False), translation.override("en"):
        return services.ticket_adopt(
            actor=actor, ticket=load(ticket), adopted_by=adopted_by, adopted_on=adopted_on, now=ADOPTED
        )


def _not_adopted(ticket) -> bool:
    row = Ticket.objects.filter(pk=ticket.pk).values("adopted_on", "adopted_by").get()
    return (
        row == {"adopted_on": None, "adopted_by": ""}
        and not TicketEvent.objects.filter(ticket=ticket, move="adopt").exists()
    )


def test_an_adoption_writes_the_ticket_the_event_and_the_audit_row(adoptable, clerk_a, township_a):
    """The body is trimmed and cut at 100 characters; the day it was registered is allowed."""
    body = "镇党委" * 40
    _adopt(clerk_a, adoptable, f"  {body}  ", START.date())
    saved = Ticket.objects.get(pk=adoptable.pk)
    assert (saved.adopted_by, saved.adopted_on) == (body[:100], START.date())
    event = TicketEvent.objects.get(ticket=adoptable, move="adopt")
    assert (event.actor, event.at, event.data) == (
        clerk_a,
        ADOPTED,
        {"adopted_by": body[:100], "adopted_on": "2026-03-02"},
    )
    audit = AuditEvent.objects.get(verb="ticket.adopted")
    assert (audit.actor, audit.subject_id, audit.region_id) == (clerk_a, str(adoptable.pk), township_a.pk)
    assert (audit.data["adopted_by"], audit.data["adopted_on"]) == (body[:100], "2026-03-02")


def test_an_adoption_on_the_day_of_now_is_recorded_and_not_twice(adoptable, liaison_office, clerk_b):
    _adopt(liaison_office, adoptable, "县委", ADOPTED.date())
    assert Ticket.objects.get(pk=adoptable.pk).adopted_on == ADOPTED.date()
    with pytest.raises(ValidationError) as refused:
        _adopt(liaison_office, adoptable, "县政府", ADOPTED.date())
    assert refusal(refused.value) == ["This suggestion is already recorded as adopted."]
    assert Ticket.objects.get(pk=adoptable.pk).adopted_by == "县委"
    # A stranger is refused as a stranger, not told it was adopted.
    with pytest.raises(PermissionDenied):
        _adopt(clerk_b, adoptable, "县政府", ADOPTED.date())


@pytest.mark.parametrize(
    ("adopted_by", "days", "expected"),
    [
        ("   ", 0, {"adopted_by": ["Name the body that adopted the suggestion."]}),
        (None, 0, {"adopted_by": ["Name the body that adopted the suggestion."]}),
        # A day after ``now`` (though not after the clock).
        ("县委", 11, {"adopted_on": ["The day of adoption cannot be in the future."]}),
        ("县委", -1, {"adopted_on": ["The day of adoption cannot be before the ticket was registered."]}),
    ],
)
def test_an_adoption_is_refused_by_field(adoptable, clerk_a, adopted_by: str | None, days, expected):
    with pytest.raises(ValidationError) as refused:
        _adopt(clerk_a, adoptable, adopted_by, START.date() + datetime.timedelta(days=days))
    assert refusal(refused.value) == expected
    assert _not_adopted(adoptable)


@pytest.mark.parametrize("how", ["answer_on_spot", "explain"])
def test_a_matter_settled_without_a_unit_is_not_adoptable(make_ticket, clerk_a, how):
    with time_machine.travel(START, tick=False):
        ticket = make_ticket()
        getattr(services, f"ticket_{how}")(actor=clerk_a, ticket=load(ticket), note="已当场答复")
    with pytest.raises(ValidationError) as refused:
        _adopt(clerk_a, ticket, "县委", START.date())
    assert refusal(refused.value) == ["Only a suggestion that went to a handling unit can be adopted."]
    assert _not_adopted(ticket)


# --- ticket_rehandle -----------------------------------------------------------------------------

# Passed as ``now=``, a Thursday after the county's working-day policy starts; the clock is before it.
REHANDLED = datetime.datetime(2026, 3, 12, 10, 0, tzinfo=TZ)


def test_a_rehandling_counts_its_deadline_from_now_under_the_county_policy_then_in_force(
    make_ticket, walk, clerk_a, county
):
    """The policy is the ticket's county's, in force on ``now``'s day, in its day mode; the new round
    drops the extension reason given in the round before."""
    with time_machine.travel(START, tick=False):
        ticket = walk(make_ticket(), "dissatisfied")
    Ticket.objects.filter(pk=ticket.pk).update(extension_reason="需协调县交通局")
    DeadlinePolicy.objects.create(
        county=county, effective_from=datetime.date(2026, 3, 10), day_mode="working", reply_days=3
    )
    with time_machine.travel(START + datetime.timedelta(days=3), tick=False):
        services.ticket_rehandle(actor=clerk_a, ticket=load(ticket), note="群众不满意，重办", now=REHANDLED)
    due = datetime.datetime(2026, 3, 17, 23, 59, 59, tzinfo=TZ)  # Fri 13, Mon 16, Tue 17
    saved = Ticket.objects.get(pk=ticket.pk)
    assert (saved.round, saved.assigned_at, saved.due_at, saved.due_year_unknown, saved.extension_reason) == (
        2,
        REHANDLED,
        due,
        False,
        "",
    )
    assert _event(ticket, "rehandle")[2:] == (
        "群众不满意，重办",
        REHANDLED,
        {"due": "2026-03-17T23:59:59+08:00"},
    )


# --- ticket_return -------------------------------------------------------------------------------

RETURNED = START + datetime.timedelta(days=3)  # passed as ``now=``; the clock says five days


def test_a_return_clears_the_assignment_and_ends_its_rows_at_now(assigned, unit_a_staff, unit_a):
    """Every open assignment ends and the pending request is refused at ``now``, not the clock's time;
    an unknown holiday year no longer applies once there is no deadline."""
    extension = _ask(unit_a_staff, assigned, datetime.date(2026, 3, 20))
    Ticket.objects.filter(pk=assigned.pk).update(due_year_unknown=True)
    with time_machine.travel(START + datetime.timedelta(days=5), tick=False):
        services.ticket_return(
            actor=unit_a_staff, ticket=load(assigned), reason="不属于本单位职责", now=RETURNED
        )
    saved = Ticket.objects.filter(pk=assigned.pk)
    assert saved.values_list(
        "status", "lead_unit", "assigned_by", "assigned_at", "due_at", "due_year_unknown"
    ).get() == (
        "registered",
        None,
        "",
        None,
        None,
        False,
    )
    assert list(
        Assignment.objects.filter(ticket=assigned).order_by("pk").values_list("role", "ended_at")
    ) == [
        ("lead", RETURNED),
        ("co", RETURNED),
    ]
    assert Extension.objects.filter(pk=extension.pk).values_list("decision", "decided_at").get() == (
        "refused",
        RETURNED,
    )
    assert _event(assigned, "return") == (
        unit_a_staff,
        unit_a.name,
        "不属于本单位职责",
        RETURNED,
        {"unit": unit_a.name},
    )


def test_a_return_ends_only_this_tickets_open_rows(
    assigned, make_ticket, walk, unit_a_staff, clerk_a, unit_a
):
    """An assignment ended by an earlier return keeps its end, a decided request its decision;
    another ticket's assignments stay open and its request pending."""
    with time_machine.travel(START, tick=False):
        other = walk(make_ticket(title="菜场排水"), "assigned")
    approved = _ask(unit_a_staff, assigned, datetime.date(2026, 3, 20))
    _decide(clerk_a, assigned, approved, approve=True, now=DECIDED)
    pending = _ask(unit_a_staff, other, datetime.date(2026, 3, 20))
    services.ticket_return(actor=unit_a_staff, ticket=load(assigned), reason="不属于本单位职责", now=RETURNED)
    later = RETURNED + datetime.timedelta(days=1)
    services.ticket_assign(actor=clerk_a, ticket=load(assigned), lead_unit=unit_a, now=later)
    services.ticket_return(actor=unit_a_staff, ticket=load(assigned), reason="仍不属于", now=later)
    assert list(
        Assignment.objects.filter(ticket=assigned).order_by("pk").values_list("role", "ended_at")
    ) == [
        ("lead", RETURNED),
        ("co", RETURNED),
        ("lead", later),
    ]
    assert list(Assignment.objects.filter(ticket=other).values_list("ended_at", flat=True)) == [None, None]
    decisions = Extension.objects.order_by("pk").values_list("pk", "decision", "decided_at")
    assert list(decisions) == [(approved.pk, "approved", DECIDED), (pending.pk, "pending", None)]


# --- ticket_assign -------------------------------------------------------------------------------

# Passed as ``now=``, a Thursday: under the county's working-day policy the reply (10 working days)
# falls in 2027, whose holidays are not known, the co-unit's opinion (2 days) still in 2026. The
# clock says four days later.
ASSIGNED = datetime.datetime(2026, 12, 24, 10, 0, tzinfo=TZ)


def test_an_assignment_writes_its_deadlines_from_now_its_rows_and_its_event(
    ticket, clerk_a, unit_a, unit_a2, county
):
    """An uncertain year in either deadline flags the ticket; no note given is an empty note."""
    DeadlinePolicy.objects.create(
        county=county, effective_from=datetime.date(2026, 1, 1), day_mode="working", co_opinion_days=2
    )
    # In force on the clock's day, not on ``now``'s: it must not count.
    DeadlinePolicy.objects.create(county=county, effective_from=datetime.date(2026, 12, 26), reply_days=30)
    Ticket.objects.filter(pk=ticket.pk).update(extension_reason="上一轮的理由")
    with time_machine.travel(ASSIGNED + datetime.timedelta(days=4), tick=False):
        services.ticket_assign(
            actor=clerk_a, ticket=load(ticket), lead_unit=unit_a, co_units=[unit_a2], now=ASSIGNED
        )
    due = datetime.datetime(2027, 1, 7, 23, 59, 59, tzinfo=TZ)  # 1 January by the weekday rule
    opinion_due = datetime.datetime(2026, 12, 28, 23, 59, 59, tzinfo=TZ)
    saved = Ticket.objects.filter(pk=ticket.pk).values_list(
        "status", "lead_unit", "assigned_by", "assigned_at", "due_at", "due_year_unknown", "extension_reason"
    )
    assert saved.get() == ("assigned", unit_a.pk, "township", ASSIGNED, due, True, "")
    rows = Assignment.objects.filter(ticket=ticket).order_by("pk")
    assert list(
        rows.values_list("unit", "role", "assigned_at", "assigned_by", "opinion_due_at", "ended_at")
    ) == [
        (unit_a.pk, "lead", ASSIGNED, clerk_a.pk, None, None),
        (unit_a2.pk, "co", ASSIGNED, clerk_a.pk, opinion_due, None),
    ]
    assert _event(ticket, "assign") == (
        clerk_a,
        ticket.township.name,
        "",
        ASSIGNED,
        {"lead_unit": unit_a.name, "co_units": [unit_a2.name], "due": "2027-01-07T23:59:59+08:00"},
    )


@pytest.mark.parametrize("co_units", ["lead", "twice"])
def test_an_assignment_naming_a_unit_twice_is_refused_and_says_so(ticket, clerk_a, unit_a, unit_a2, co_units):
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_assign(
            actor=clerk_a,
            ticket=load(ticket),
            lead_unit=unit_a,
            co_units=[unit_a] if co_units == "lead" else [unit_a2, unit_a2],
        )
    assert refusal(refused.value) == {
        "co_units": ["The lead unit cannot also be a co-unit, nor a unit twice."]
    }
    assert Ticket.objects.get(pk=ticket.pk).status == "registered" and not Assignment.objects.exists()


def test_the_office_assigns_a_registered_ticket_as_the_county_with_its_note(
    ticket, liaison_office, county_unit
):
    services.ticket_assign(
        actor=liaison_office, ticket=load(ticket), lead_unit=county_unit, note="请三日内联系"
    )
    assert Ticket.objects.get(pk=ticket.pk).assigned_by == "county"
    assert TicketEvent.objects.get(ticket=ticket, move="assign").note == "请三日内联系"


# --- ticket_contact and ticket_plan --------------------------------------------------------------

# Passed as ``now=``; the clock says three days later.
CONTACTED = START + datetime.timedelta(days=2, hours=1)
LATER = START + datetime.timedelta(days=5)


@pytest.fixture
def signed(ticket, walk):
    with time_machine.travel(START, tick=False):
        return walk(ticket, "signed")


@pytest.mark.parametrize("note", [None, " 已电话联系 "])
def test_a_contact_on_the_day_of_now_writes_how_and_when_on_its_event(signed, unit_a_staff, unit_a, note):
    """``how`` is trimmed and kept to 200 characters; no note given is an empty note."""
    how = " 电话" + "联系" * 120 + " "
    given = {} if note is None else {"note": note}
    with time_machine.travel(LATER, tick=False):
        services.ticket_contact(
            actor=unit_a_staff,
            ticket=load(signed),
            how=how,
            contacted_on=CONTACTED.date(),
            now=CONTACTED,
            **given,
        )
    assert _event(signed, "contact") == (
        unit_a_staff,
        unit_a.name,
        "" if note is None else "已电话联系",
        CONTACTED,
        {"how": how.strip()[:200], "on": "2026-03-04"},
    )


@pytest.mark.parametrize(
    "how, day, expected",
    [
        ("", CONTACTED.date(), {"how": ["Say how they were contacted."]}),
        # The day after ``now``'s, though the clock is past it.
        (
            "电话",
            CONTACTED.date() + datetime.timedelta(days=1),
            {"contacted_on": ["The date cannot be in the future."]},
        ),
    ],
)
def test_a_contact_is_refused_by_field(signed, unit_a_staff, how, day, expected):
    with (
        time_machine.travel(LATER, tick=False),
        translation.override("en"),
        pytest.raises(ValidationError) as refused,
    ):
        services.ticket_contact(
            actor=unit_a_staff, ticket=load(signed), how=how, contacted_on=day, now=CONTACTED
        )
    assert refusal(refused.value) == expected
    assert not TicketEvent.objects.filter(ticket=signed, move="contact").exists()


@pytest.fixture
def contacted(ticket, walk):
    with time_machine.travel(START, tick=False):
        return walk(ticket, "contacted")


def test_a_plan_writes_its_text_and_the_consultation_on_its_event_at_now(contacted, unit_a_staff, unit_a):
    with time_machine.travel(LATER, tick=False):
        services.ticket_plan(
            actor=unit_a_staff, ticket=load(contacted), plan="更换灯具", rep_consulted=True, now=CONTACTED
        )
    assert _event(contacted, "plan") == (
        unit_a_staff,
        unit_a.name,
        "更换灯具",
        CONTACTED,
        {"rep_consulted": True},
    )


def test_a_plan_is_refused_when_the_representative_is_not_said_to_be_consulted(contacted, unit_a_staff):
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_plan(actor=unit_a_staff, ticket=load(contacted), plan="更换灯具")
    assert refusal(refused.value) == {"rep_consulted": ["Consult the representative on the plan first."]}
    assert not TicketEvent.objects.filter(ticket=contacted, move="plan").exists()


# --- ticket_reply --------------------------------------------------------------------------------

DUE = datetime.datetime(2026, 3, 12, 23, 59, 59, tzinfo=TZ)  # START's ticket, assigned at START


@pytest.fixture
def planned(ticket, walk, unit_a2_staff):
    """Planned, the co-unit's opinion in: the lead unit may reply."""
    with time_machine.travel(START, tick=False):
        planned = walk(ticket, "planned")
        services.co_opinion_file(actor=unit_a2_staff, ticket=load(planned), text="同意")
    return planned


def test_a_reply_at_its_due_second_writes_the_reply_on_time_and_lapses_only_this_tickets_request(
    planned, make_ticket, walk, unit_a_staff, unit_a
):
    """Text and summary trimmed, the summary kept to 300 characters; ``now=`` is the reply's time
    everywhere: the ticket, the event, the request it lapses (not another ticket's)."""
    with time_machine.travel(START, tick=False):
        other = walk(make_ticket(title="菜场排水"), "assigned")
    own = _ask(unit_a_staff, planned, datetime.date(2026, 3, 20))
    foreign = _ask(unit_a_staff, other, datetime.date(2026, 3, 20))
    summary = " 已更换" + "灯" * 310
    with time_machine.travel(DUE + datetime.timedelta(days=2), tick=False):
        services.ticket_reply(
            actor=unit_a_staff, ticket=load(planned), text=" 已更换三盏路灯 ", summary=summary, now=DUE
        )
    saved = Ticket.objects.filter(pk=planned.pk).values_list("status", "reply", "reply_summary", "replied_at")
    assert saved.get() == ("replied", "已更换三盏路灯", summary.strip()[:300], DUE)
    assert _event(planned, "reply") == (
        unit_a_staff,
        unit_a.name,
        "",
        DUE,
        {"due": "2026-03-12T23:59:59+08:00", "on_time": True},
    )
    decisions = Extension.objects.order_by("pk").values_list("pk", "decision", "granted_until", "decided_at")
    assert list(decisions) == [(own.pk, "refused", None, DUE), (foreign.pk, "pending", None, None)]


def test_a_reply_after_its_due_time_says_so_and_keeps_its_file_at_now(planned, unit_a_staff):
    late = DUE + datetime.timedelta(seconds=1)
    with time_machine.travel(late + datetime.timedelta(days=1), tick=False):
        services.ticket_reply(
            actor=unit_a_staff,
            ticket=load(planned),
            text="",
            files=[clean_attachment(pdf_upload())],
            now=late,
        )
    assert _event(planned, "reply")[3:] == (late, {"due": "2026-03-12T23:59:59+08:00", "on_time": False})
    assert Ticket.objects.filter(pk=planned.pk).values_list("reply", "reply_summary").get() == ("", "")
    assert Attachment.objects.filter(ticket=planned).values_list("purpose", "uploaded_at").get() == (
        "reply",
        late,
    )


def test_a_reply_lapses_only_the_pending_request_not_one_decided_before(planned, unit_a_staff, clerk_a):
    approved = _ask(unit_a_staff, planned, datetime.date(2026, 3, 20))
    _decide(clerk_a, planned, approved, approve=True, now=DECIDED)
    pending = _ask(unit_a_staff, planned, datetime.date(2026, 3, 25))
    services.ticket_reply(actor=unit_a_staff, ticket=load(planned), text="已更换三盏路灯", now=DUE)
    decisions = Extension.objects.order_by("pk").values_list("pk", "decision", "decided_at")
    assert list(decisions) == [(approved.pk, "approved", DECIDED), (pending.pk, "refused", DUE)]


def test_a_reply_with_neither_text_nor_file_is_refused_and_says_so(planned, unit_a_staff):
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_reply(actor=unit_a_staff, ticket=load(planned), text=" ")
    assert refusal(refused.value) == {"text": ["Write the reply or attach it as a file."]}
    assert not TicketEvent.objects.filter(ticket=planned, move="reply").exists()


STRANGER_CALLS = {
    "signed": lambda actor, ticket: services.ticket_contact(
        actor=actor, ticket=ticket, how="", contacted_on=datetime.date(2030, 1, 1)
    ),
    "contacted": lambda actor, ticket: services.ticket_plan(actor=actor, ticket=ticket, plan=""),
    "planned": lambda actor, ticket: services.ticket_reply(actor=actor, ticket=ticket, text=""),
    "assigned": lambda actor, ticket: services.extension_request(
        actor=actor, ticket=ticket, until=datetime.date(2026, 3, 1), reason=""
    ),
}


@pytest.mark.parametrize("status", list(STRANGER_CALLS))
def test_a_stranger_is_refused_each_handling_step_before_what_they_sent_is_read(
    request, status, unit_b_staff
):
    """PermissionDenied, not the validation message for what they sent (contact, plan, reply,
    a request for more time)."""
    ticket = request.getfixturevalue(status)
    with pytest.raises(PermissionDenied):
        STRANGER_CALLS[status](unit_b_staff, load(ticket))


# --- extension_request ---------------------------------------------------------------------------


def test_a_request_for_more_time_writes_its_row_and_event_at_now(assigned, unit_a_staff, unit_a):
    """The reason is trimmed; the date asked for counts to the end of its day."""
    with time_machine.travel(LATER, tick=False):
        returned = services.extension_request(
            actor=unit_a_staff,
            ticket=load(assigned),
            until=datetime.date(2026, 3, 20),
            reason=" 需协调县交通局 ",
            now=CONTACTED,
        )
    row = Extension.objects.filter(ticket=assigned).values_list(
        "pk", "requested_by", "requested_at", "requested_until", "reason", "decision"
    )
    assert row.get() == (
        returned.pk,
        unit_a_staff.pk,
        CONTACTED,
        deadlines.end_of_day(datetime.date(2026, 3, 20)),
        "需协调县交通局",
        "pending",
    )
    assert _event(assigned, "request_extension") == (
        unit_a_staff,
        unit_a.name,
        "需协调县交通局",
        CONTACTED,
        {"until": "2026-03-20"},
    )


def test_a_request_for_the_day_after_the_due_day_is_allowed_the_due_day_itself_not(assigned, unit_a_staff):
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.extension_request(
            actor=unit_a_staff, ticket=load(assigned), until=DUE.date(), reason="需协调", now=CONTACTED
        )
    assert refusal(refused.value) == {"until": ["Ask for a date after the current due date."]}
    assert not Extension.objects.exists()
    services.extension_request(
        actor=unit_a_staff,
        ticket=load(assigned),
        until=DUE.date() + datetime.timedelta(days=1),
        reason="需协调",
        now=CONTACTED,
    )
    assert Extension.objects.get().requested_until == DUE + datetime.timedelta(days=1)


# --- ticket_forward ------------------------------------------------------------------------------


@pytest.fixture
def replied(ticket, walk):
    with time_machine.travel(START, tick=False):
        return walk(ticket, "replied")


@pytest.mark.parametrize("given", [{}, {"note": " 请评价 ", "summary": " 已更换三盏路灯 "}])
def test_a_forward_opens_the_feedback_window_at_now_with_its_note_and_summary(replied, clerk_a, given):
    """No note given is an empty note; no summary given keeps the reply's."""
    Ticket.objects.filter(pk=replied.pk).update(reply_summary="单位的摘要")
    with time_machine.travel(LATER, tick=False):
        services.ticket_forward(actor=clerk_a, ticket=load(replied), now=CONTACTED, **given)
    saved = Ticket.objects.filter(pk=replied.pk).values_list(
        "status", "forwarded_at", "feedback_due_at", "reply_summary"
    )
    assert saved.get() == (
        "forwarded",
        CONTACTED,
        datetime.datetime(2026, 3, 11, 23, 59, 59, tzinfo=TZ),  # seven days, the default window
        "已更换三盏路灯" if given else "单位的摘要",
    )
    assert _event(replied, "forward") == (
        clerk_a,
        replied.township.name,
        given.get("note", "").strip(),
        CONTACTED,
        {},
    )


# --- ticket_conclude -----------------------------------------------------------------------------


def test_the_office_ending_the_feedback_closes_it_as_rated_by_a_resident_at_now(forwarded, rep_a, clerk_a):
    """Two of the three raters rated; the scores are written sorted, each once."""
    first = forwarded.proposers.order_by("pk").first()
    _rate(forwarded, actor=rep_a, score="satisfied")
    _rate(forwarded, proposer=first, score="basically")
    with time_machine.travel(LATER, tick=False), translation.override("en"):
        services.ticket_conclude(ticket=load(forwarded), actor=clerk_a, now=RATED)
    saved = Ticket.objects.filter(pk=forwarded.pk).values_list("status", "resolution", "closed_at")
    assert saved.get() == ("closed", "satisfied", RATED)
    assert _event(forwarded, "conclude") == (
        clerk_a,
        forwarded.township.name,
        "",
        RATED,
        {"scores": ["basically", "satisfied"]},
    )


def test_the_system_ends_each_tickets_feedback_by_its_own_ratings(make_ticket, walk, rep_a):
    """The representative alone rated: no resident did. Dissatisfied: not closed."""
    with time_machine.travel(START, tick=False):
        content = walk(make_ticket(), "forwarded")
        unhappy = walk(make_ticket(title="菜场排水"), "forwarded")
        services.ticket_rate(ticket=load(content), actor=rep_a, score="satisfied")
        services.ticket_rate(ticket=load(unhappy), actor=rep_a, score="dissatisfied")
    with time_machine.travel(LATER, tick=False), translation.override("en"):
        services.ticket_conclude(ticket=load(content), now=RATED)
        services.ticket_conclude(ticket=load(unhappy), now=RATED)
    rows = Ticket.objects.filter(pk__in=[content.pk, unhappy.pk]).order_by("pk")
    assert list(rows.values_list("status", "resolution", "closed_at")) == [
        ("closed", "no_resident", RATED),
        ("dissatisfied", "", None),
    ]
    assert _event(content, "conclude") == (None, "System", "", RATED, {"scores": ["satisfied"]})
    assert _event(unhappy, "conclude")[1:] == ("System", "", RATED, {"scores": ["dissatisfied"]})


def test_ending_the_feedback_of_a_second_round_reads_only_its_ratings(make_ticket, walk, clerk_a):
    with time_machine.travel(START, tick=False):
        ticket = walk(make_ticket(), "dissatisfied")
        services.ticket_rehandle(actor=clerk_a, ticket=load(ticket), note="重办")
        walk(ticket, "forwarded")
    services.ticket_conclude(ticket=load(ticket), now=RATED)
    assert Ticket.objects.filter(pk=ticket.pk).values_list("status", "round", "resolution").get() == (
        "closed",
        2,
        "no_resident",
    )
    assert _event(ticket, "conclude")[4] == {"scores": []}


# --- triage: ticket_answer_on_spot, ticket_merge, ticket_set_representative ----------------------


def test_an_answer_on_the_spot_closes_the_ticket_at_now_with_its_note(ticket, clerk_a):
    with time_machine.travel(LATER, tick=False):
        services.ticket_answer_on_spot(actor=clerk_a, ticket=load(ticket), note=" 已当场解释 ", now=CONTACTED)
    saved = Ticket.objects.filter(pk=ticket.pk).values_list("status", "resolution", "closed_at")
    assert saved.get() == ("closed", "on_spot", CONTACTED)
    assert _event(ticket, "answer_on_spot") == (clerk_a, ticket.township.name, "已当场解释", CONTACTED, {})


def test_a_merge_closes_the_ticket_at_now_and_names_the_other_on_its_event(ticket, make_ticket, clerk_a):
    """No note given is an empty note."""
    other = make_ticket(title="同一路灯")
    with time_machine.travel(LATER, tick=False):
        services.ticket_merge(actor=clerk_a, ticket=load(ticket), into=load(other), now=CONTACTED)
    saved = Ticket.objects.filter(pk=ticket.pk).values_list(
        "status", "resolution", "closed_at", "merged_into"
    )
    assert saved.get() == ("closed", "merged", CONTACTED, other.pk)
    assert _event(ticket, "merge") == (
        clerk_a,
        ticket.township.name,
        "",
        CONTACTED,
        {"into": other.pk, "into_code": other.display_code},
    )


def test_a_ticket_may_be_merged_into_one_closed_otherwise_than_by_a_merge(ticket, make_ticket, clerk_a):
    answered = make_ticket(title="同一路灯")
    services.ticket_answer_on_spot(actor=clerk_a, ticket=load(answered), note="已当场解释")
    services.ticket_merge(actor=clerk_a, ticket=load(ticket), into=load(answered), note=" 同一事项 ")
    assert Ticket.objects.get(pk=ticket.pk).merged_into_id == answered.pk
    assert _event(ticket, "merge")[2] == "同一事项"


def test_setting_the_rep_writes_the_rep_before_and_after_at_now(make_ticket, clerk_a, my_rep, other_rep):
    """No note given is an empty note."""
    ticket = make_ticket(representative=None, source="intake")
    with time_machine.travel(LATER, tick=False):
        services.ticket_set_representative(
            actor=clerk_a, ticket=load(ticket), representative=my_rep, now=CONTACTED
        )
    assert Ticket.objects.get(pk=ticket.pk).representative_id == my_rep.pk
    assert _event(ticket, "set_rep") == (
        clerk_a,
        ticket.township.name,
        "",
        CONTACTED,
        {"rep": my_rep.name, "rep_before": ""},
    )
    services.ticket_set_representative(
        actor=clerk_a, ticket=load(ticket), representative=other_rep, note=" 就近 ", now=CONTACTED
    )
    assert _event(ticket, "set_rep")[2:] == (
        "就近",
        CONTACTED,
        {"rep": other_rep.name, "rep_before": my_rep.name},
    )
    services.ticket_set_representative(actor=clerk_a, ticket=load(ticket), representative=None)
    assert Ticket.objects.get(pk=ticket.pk).representative_id is None
    assert _event(ticket, "set_rep")[4] == {"rep": "", "rep_before": other_rep.name}
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_set_representative(actor=clerk_a, ticket=load(ticket), representative=None)
    assert refusal(refused.value) == {
        "representative": ["This is already the ticket's responsible representative."]
    }


def test_setting_the_rep_is_refused_by_field(make_ticket, clerk_a, my_rep, other_rep, rep_b):
    ticket = make_ticket(co_signers=[other_rep])
    motion = make_ticket(kind=Ticket.Kind.MOTION)
    cases = [
        (ticket, my_rep, "This is already the ticket's responsible representative."),
        (ticket, rep_b, "Choose a representative of this county, in their term, whom you can see."),
        (ticket, other_rep, "The responsible representative is not also a co-signer."),
        (motion, None, "A formal motion is made by a representative."),
    ]
    for refused_ticket, representative, message in cases:
        with translation.override("en"), pytest.raises(ValidationError) as refused:
            services.ticket_set_representative(
                actor=clerk_a, ticket=load(refused_ticket), representative=representative
            )
        assert refusal(refused.value) == {"representative": [message]}
    assert not TicketEvent.objects.filter(move="set_rep").exists()


# --- rating_enter --------------------------------------------------------------------------------


def test_a_rating_entered_by_the_office_names_the_office_and_the_way_it_was_given(forwarded, clerk_a):
    """No comment given is an empty comment."""
    first, second = forwarded.proposers.order_by("pk")
    with time_machine.travel(LATER, tick=False), translation.override("en"):
        entered = services.rating_enter(
            actor=clerk_a, ticket=load(forwarded), proposer=first, score="satisfied", via="paper", now=RATED
        )
    assert _rating(entered) == (1, first.pk, None, "satisfied", "paper", "", RATED)
    assert _event(forwarded, "enter_rating") == (
        clerk_a,
        forwarded.township.name,
        "",
        RATED,
        {"score": "satisfied", "via": "paper", "resident": True},
    )


def test_a_rating_entered_is_refused_by_field(forwarded, make_ticket, clerk_a):
    stranger = make_ticket(proposers=[("赵四", "13712345678")]).proposers.get()
    first = forwarded.proposers.order_by("pk").first()
    cases = [
        (stranger, "phone", {"proposer": ["Choose a proposer of this ticket."]}),
        (first, "online", {"via": ["Say how the proposer gave the rating: in writing or by phone."]}),
    ]
    for proposer, via, expected in cases:
        with translation.override("en"), pytest.raises(ValidationError) as refused:
            services.rating_enter(
                actor=clerk_a, ticket=load(forwarded), proposer=proposer, score="satisfied", via=via
            )
        assert refusal(refused.value) == expected
    assert not Rating.objects.exists()


def test_no_rating_is_entered_once_every_proposer_has_rated(forwarded, clerk_a):
    first, second = forwarded.proposers.order_by("pk")
    _rate(forwarded, proposer=first, score="satisfied")
    _rate(forwarded, proposer=second, score="satisfied")
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.rating_enter(
            actor=clerk_a, ticket=load(forwarded), proposer=first, score="satisfied", via="phone"
        )
    assert refusal(refused.value) == ["Every proposer has rated this reply."]
    assert Rating.objects.filter(ticket=forwarded).count() == 2


# --- ticket_correct_summary ----------------------------------------------------------------------


@pytest.fixture
def closed(ticket, walk):
    with time_machine.travel(START, tick=False):
        return walk(ticket, "closed")


def test_a_corrected_summary_is_trimmed_to_300_characters_and_dated_now(closed, clerk_a):
    Ticket.objects.filter(pk=closed.pk).update(reply_summary="已更换三盏路灯")
    summary = " 已更换" + "灯" * 310
    with time_machine.travel(LATER, tick=False):
        services.ticket_correct_summary(
            actor=clerk_a, ticket=load(closed), summary=summary, reason=" 数字有误 ", now=CONTACTED
        )
    saved = Ticket.objects.filter(pk=closed.pk).values_list("status", "reply_summary", "summary_corrected_at")
    assert saved.get() == ("closed", summary.strip()[:300], CONTACTED)
    assert _event(closed, "correct_summary") == (
        clerk_a,
        closed.township.name,
        "数字有误",
        CONTACTED,
        {"before": {"reply_summary": "已更换三盏路灯"}, "after": {"reply_summary": summary.strip()[:300]}},
    )


@pytest.mark.parametrize(
    "summary, message",
    [("", "Write the corrected summary."), (" 已更换三盏路灯 ", "The summary is unchanged.")],
)
def test_a_summary_correction_is_refused_by_field(closed, clerk_a, summary, message):
    Ticket.objects.filter(pk=closed.pk).update(reply_summary="已更换三盏路灯")
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_correct_summary(
            actor=clerk_a, ticket=load(closed), summary=summary, reason="数字有误"
        )
    assert refusal(refused.value) == {"summary": [message]}
    assert not TicketEvent.objects.filter(ticket=closed, move="correct_summary").exists()


def test_a_stranger_is_refused_a_summary_correction_before_it_is_read(closed, clerk_b):
    """PermissionDenied, not the validation message for an empty summary."""
    with pytest.raises(PermissionDenied):
        services.ticket_correct_summary(actor=clerk_b, ticket=load(closed), summary="", reason="")


# --- ticket_register -----------------------------------------------------------------------------

# Passed as ``now=``; the clock says a day later.
REGISTERED = START + datetime.timedelta(hours=3)


def _sms_sweeps(monkeypatch) -> list[int]:
    """Count the outbox sweeps a registration asks for (the SMS receipt)."""
    asked: list[int] = []
    monkeypatch.setattr(services, "sweep_after_commit", lambda: asked.append(1))
    return asked


def test_a_registration_writes_every_field_the_proposers_and_the_event_at_now(
    township_a, village_a, category, clerk_a, my_rep, other_rep, county, monkeypatch
):
    """Texts trimmed; the studio's name on the event; the received time, the order number and its
    county kept; each proposer's consent to SMS and to the privacy notice; a file uploaded at now."""
    sweeps = _sms_sweeps(monkeypatch)
    studio = StudioFactory(region=village_a, name="东街社区联络站")
    consented = START - datetime.timedelta(minutes=5)
    with time_machine.travel(START + datetime.timedelta(days=1), tick=False):
        ticket = services.ticket_register(
            actor=clerk_a,
            township=township_a,
            title=" 村口路灯不亮 ",
            content=" 三盏路灯坏了一个月 ",
            category=category,
            source="hotline",
            place=" 东街村口 ",
            studio=studio,
            representative=my_rep,
            co_signers=[other_rep],
            proposers=[("张大爷", "13812345678", True), ("李大妈", "")],
            files=[clean_attachment(pdf_upload())],
            is_public_interest=True,
            submission_token="tok-9",
            privacy_consent_at=consented,
            external_ref="12345-0001",
            received_at=datetime.datetime(2026, 3, 1, 20, 15, tzinfo=TZ),
            now=REGISTERED,
        )
    saved = Ticket.objects.filter(pk=ticket.pk).values_list(
        "status", "kind", "title", "content", "category", "place", "source", "township", "studio",
        "representative", "is_public_interest", "created_by", "created_at", "submission_token",
        "external_ref", "external_county",
    )  # fmt: skip
    assert saved.get() == (
        "registered", "suggestion", "村口路灯不亮", "三盏路灯坏了一个月", category.pk, "东街村口", "hotline",
        township_a.pk, studio.pk, my_rep.pk, True, clerk_a.pk, REGISTERED, "tok-9", "12345-0001", county.pk,
    )  # fmt: skip
    assert list(Ticket.objects.get(pk=ticket.pk).co_signers.all()) == [other_rep]
    proposers = Proposer.objects.filter(ticket=ticket).order_by("pk")
    assert list(proposers.values_list("name", "phone", "sms_consent", "privacy_consent_at")) == [
        ("张大爷", "13812345678", True, consented),
        ("李大妈", "", False, consented),
    ]
    assert list(Attachment.objects.filter(ticket=ticket).values_list("purpose", "uploaded_at")) == [
        ("matter", REGISTERED)
    ]
    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.at, event.actor, event.actor_label, event.move, event.from_status, event.to_status) == (
        REGISTERED,
        clerk_a,
        "东街社区联络站",
        "register",
        "",
        "registered",
    )
    assert (event.data, event.is_public) == (
        {"source": "hotline", "external_ref": "12345-0001", "received_at": "2026-03-01 20:15"},
        True,
    )
    assert sweeps == [1]


def test_a_public_intake_registers_with_no_one_by_default_and_sends_no_sms_unasked(
    township_a, category, monkeypatch
):
    sweeps = _sms_sweeps(monkeypatch)
    ticket = services.ticket_register(
        actor=None,
        township=township_a,
        title="路灯",
        content="路灯坏了",
        category=category,
        source="intake",
        proposers=[("张大爷", "13812345678")],
        submission_token="",
    )
    saved = Ticket.objects.filter(pk=ticket.pk).values_list(
        "kind", "place", "studio", "representative", "is_public_interest", "created_by", "submission_token",
        "external_ref", "external_county",
    )  # fmt: skip
    assert saved.get() == ("suggestion", "", None, None, False, None, None, "", None)
    assert Proposer.objects.filter(ticket=ticket).values_list("sms_consent", "privacy_consent_at").get() == (
        False,
        None,
    )
    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.actor, event.actor_label, event.data) == (None, township_a.name, {"source": "intake"})
    assert sweeps == []


def test_a_registration_is_refused_by_field(make_ticket, township_b, county, liaison_office):
    cases = [
        ({"studio": StudioFactory(region=township_b)}, {"studio": ["The studio is not in this township."]}),
        (
            {"kind": Ticket.Kind.MOTION, "representative": None},
            {"representative": ["A formal motion is made by a representative."]},
        ),
        (
            {"actor": None, "source": "intake", "proposers": [("张大爷", "")]},
            {"proposers": ["Give a name and phone so that we can reply."]},
        ),
        ({"actor": liaison_office, "township": county}, {"township": ["Choose a township or street."]}),
    ]
    for given, expected in cases:
        with translation.override("en"), pytest.raises(ValidationError) as refused:
            make_ticket(**given)
        assert refusal(refused.value) == expected
    assert not Ticket.objects.exists()


def test_a_reception_matter_becomes_one_ticket_and_is_marked_so(make_ticket, township_a, clerk_a):
    reception = Reception.objects.create(
        township=township_a, kind="regular", starts_at=START, people_received=1, recorded_by=clerk_a
    )
    matter = ReceptionMatter.objects.create(reception=reception, content="路灯")
    other = ReceptionMatter.objects.create(reception=reception, content="排水")
    ticket = make_ticket(reception_matter=matter)
    assert Ticket.objects.get(pk=ticket.pk).reception_matter_id == matter.pk
    assert list(ReceptionMatter.objects.order_by("pk").values_list("for_ticket", flat=True)) == [True, False]
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        make_ticket(reception_matter=matter)
    assert refusal(refused.value) == ["This matter is already a ticket."]
    make_ticket(reception_matter=other)
    assert Ticket.objects.count() == 2


def test_an_order_number_is_refused_a_second_time_in_its_county_only(make_ticket, category):
    make_ticket(actor=None, source="api", external_ref="12345-0001")
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        make_ticket(actor=None, source="api", external_ref="12345-0001", title="另一个")
    assert refusal(refused.value) == {
        "external_ref": ["This order number is already a ticket of this county."]
    }
    elsewhere = TownshipFactory(parent=CountyFactory(name="别的县"))
    services.ticket_register(
        actor=None, township=elsewhere, title="路灯", content="路灯坏了", category=category, source="api",
        external_ref="12345-0001",
    )  # fmt: skip
    assert Ticket.objects.filter(external_ref="12345-0001").count() == 2

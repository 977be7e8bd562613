"""What the services write, field by field, where mutation testing (scripts/mutate) found that the
other tests would not notice a change: the extension decision's rows and event, an edit's event
and saved fields, and who is refused before anything is compared."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from proposals import deadlines, services
from proposals.models import Extension, Ticket, TicketEvent
from tests.helpers import refusal

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

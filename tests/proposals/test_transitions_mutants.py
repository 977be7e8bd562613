"""Transition edges that mutation testing (`make mutate`) found untested: a conflict's default
message, the bulk move's defaults and limits, that it moves only the tickets it is given, that a
broker outage does not undo it, the round counter's increment, and who a superuser or a non-user is
to a ticket."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import translation

from proposals import results_cache, tasks, transitions
from proposals.models import Ticket, TicketEvent
from proposals.transitions import (
    Conflict,
    InvalidMove,
    Party,
    Status,
    bump,
    parties,
    running_due,
    transition,
    transition_many,
)
from tests.factories import UserFactory
from tests.helpers import reload
from tests.proposals.test_transition_many import NOW, conclude, forwarded
from tests.proposals.ticket_rows import ticket_row

TOWNSHIP = frozenset({Party.TOWNSHIP})


def registered(township, n: int = 1) -> list[Ticket]:
    """Tickets awaiting triage, all with the same version (``updated_at``)."""
    return Ticket.objects.bulk_create(
        [ticket_row(township=township, now=NOW, status=Status.REGISTERED) for _ in range(n)]
    )


def test_a_conflict_says_someone_else_acted_unless_told_otherwise():
    with translation.override("en"):
        assert str(Conflict()) == (
            "Someone else acted on this ticket in the meantime. Reload the page to see what changed."
        )
    assert str(Conflict("other words")) == "other words"


def test_nothing_to_move_moves_nothing():
    assert conclude([], to=Status.CLOSED) == 0


def test_only_the_tickets_given_are_moved_and_the_label_is_kept_short(township_a, unit_a):
    given, other = forwarded(township_a, unit_a, 2)
    assert conclude([given.pk], to=Status.CLOSED, actor_label="x" * 100) == 1
    assert (reload(given).status, reload(other).status) == (Status.CLOSED, Status.FORWARDED)
    assert TicketEvent.objects.get().actor_label == "x" * 64


def test_without_a_label_the_event_has_none(township_a, unit_a):
    (ticket,) = forwarded(township_a, unit_a, 1)
    conclude([ticket.pk], to=Status.CLOSED)
    assert TicketEvent.objects.get(ticket=ticket).actor_label == ""


def test_a_broker_outage_does_not_undo_a_bulk_move(
    township_a, unit_a, monkeypatch, django_capture_on_commit_callbacks
):
    def down():
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.notify_ticket_events, "delay", down)
    (ticket,) = forwarded(township_a, unit_a, 1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert conclude([ticket.pk], to=Status.CLOSED) == 1
    assert len(callbacks) == 2 and reload(ticket).status == Status.CLOSED  # the sweep, /results/ forgotten


def test_bump_adds_one(township_a, unit_a):
    (ticket,) = forwarded(township_a, unit_a, 1)
    Ticket.objects.filter(pk=ticket.pk).update(round=bump("round"))
    assert reload(ticket).round == ticket.round + 1


def test_a_move_without_a_note_or_label_records_none(township_a, clerk_a):
    first, second = registered(township_a, 2)
    transition(first, move="forward_to_county", actor=clerk_a, acting_as=TOWNSHIP, now=NOW)
    transition(second, move="forward_to_county", actor=clerk_a, acting_as=TOWNSHIP, note=None, now=NOW)
    assert list(TicketEvent.objects.order_by("pk").values_list("note", "actor_label")) == [("", ""), ("", "")]


def test_a_move_that_needs_a_reason_is_refused_with_a_blank_one_and_says_so(township_a, clerk_a):
    (ticket,) = registered(township_a)
    with translation.override("en"), pytest.raises(InvalidMove) as refused:
        transition(ticket, move="explain", actor=clerk_a, acting_as=TOWNSHIP, note="   ", now=NOW)
    assert str(refused.value) == "Please give the reason or the details."
    assert reload(ticket).status == Status.REGISTERED and not TicketEvent.objects.exists()


def test_only_the_ticket_given_moves_even_when_another_has_the_same_status_and_version(township_a, clerk_a):
    given, twin = registered(township_a, 2)
    assert (given.status, given.updated_at) == (twin.status, twin.updated_at)
    transition(given, move="forward_to_county", actor=clerk_a, acting_as=TOWNSHIP, now=NOW)
    assert (reload(given).status, reload(twin).status) == (Status.AT_COUNTY, Status.REGISTERED)


def test_a_status_changed_since_the_page_loaded_is_a_conflict_even_at_the_same_version(township_a, clerk_a):
    (ticket,) = registered(township_a)
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.AT_COUNTY)  # version untouched
    with pytest.raises(Conflict):
        transition(ticket, move="forward_to_county", actor=clerk_a, acting_as=TOWNSHIP, now=NOW)
    assert reload(ticket).status == Status.AT_COUNTY and not TicketEvent.objects.exists()


def test_the_ticket_in_hand_carries_the_changes_made_with_the_move(township_a, clerk_a):
    (ticket,) = registered(township_a)
    before = ticket.round
    transition(ticket, move="edit", actor=clerk_a, acting_as=TOWNSHIP, now=NOW,
               changes={"place": "东门菜场", "round": bump("round")})  # fmt: skip
    # Without reloading: a plain value is set on it, an F() expression is read back.
    assert (ticket.place, ticket.round) == ("东门菜场", before + 1)
    assert (reload(ticket).place, reload(ticket).round) == ("东门菜场", before + 1)


def test_a_superuser_is_the_office_the_township_and_the_reviewer_of_any_ticket(ticket):
    admin = UserFactory(is_superuser=True)
    assert parties(ticket, admin) == {Party.OFFICE, Party.TOWNSHIP, Party.REVIEWER}


def test_whoever_is_not_a_signed_in_user_is_no_party(ticket):
    assert parties(ticket, None) == parties(ticket, AnonymousUser()) == frozenset()
    assert parties(ticket, object()) == frozenset()  # nothing that says it is signed in


LEAD = frozenset({Party.LEAD_UNIT})


def test_the_urgency_key_is_the_reply_deadline_only_while_a_unit_holds_the_ticket(township_a, unit_a):
    due = NOW + datetime.timedelta(days=3)
    rows = Ticket.objects.bulk_create(
        [ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=s, due_at=due) for s in Status]
    )
    keys = dict(Ticket.objects.filter(pk__in=[t.pk for t in rows]).values_list("status", running_due()))
    held = {"assigned", "signed", "contacted", "planned"}  # by hand, not from WITH_UNIT
    assert keys == {s.value: due if s in held else None for s in Status}


def test_a_move_records_its_statistics_figure(township_a, clerk_a):
    (ticket,) = registered(township_a)
    transition(ticket, move="assign", actor=clerk_a, acting_as=TOWNSHIP, now=NOW)
    assert (ticket.stat_assigned, reload(ticket).stat_assigned) == (True, True)


def test_a_reply_on_time_is_counted_from_the_data_given_with_the_move(township_a, unit_a, clerk_a):
    (ticket,) = Ticket.objects.bulk_create(
        [ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=Status.PLANNED)]
    )
    transition(ticket, move="reply", actor=clerk_a, acting_as=LEAD, data={"on_time": True}, now=NOW)
    ticket = reload(ticket)
    assert (ticket.status, ticket.stat_replied, ticket.stat_first_reply_on_time) == (
        Status.REPLIED,
        True,
        True,
    )
    assert TicketEvent.objects.get(ticket=ticket).data == {"on_time": True}


def test_the_event_records_the_signed_in_actor_the_time_given_the_label_note_and_publicity(
    township_a, clerk_a
):
    first, second, third = registered(township_a, 3)
    forward = {"move": "forward_to_county", "acting_as": TOWNSHIP, "now": NOW}
    transition(first, actor=clerk_a, actor_label="镇办", note=" 需县里协调 ", **forward)
    transition(second, actor=clerk_a, actor_label="x" * 100, **forward)
    transition(third, actor=AnonymousUser(), **forward)  # not signed in: no actor
    transition(third, move="set_rep", actor=clerk_a, acting_as=frozenset({Party.OFFICE}), now=NOW)
    events = TicketEvent.objects.order_by("pk").values_list(
        "ticket", "at", "actor", "actor_label", "move", "note", "is_public"
    )
    assert list(events) == [
        (first.pk, NOW, clerk_a.pk, "镇办", "forward_to_county", "需县里协调", True),
        (second.pk, NOW, clerk_a.pk, "x" * 64, "forward_to_county", "", True),
        (third.pk, NOW, None, "", "forward_to_county", "", True),
        (third.pk, NOW, clerk_a.pk, "", "set_rep", "", False),  # not on the proposer's tracking page
    ]


def test_a_move_with_a_read_back_change_keeps_what_the_page_prefetched(
    township_a, clerk_a, django_assert_num_queries
):
    (row,) = registered(township_a)
    ticket = Ticket.objects.prefetch_related("assignments").get(pk=row.pk)
    transition(
        ticket, move="edit", actor=clerk_a, acting_as=TOWNSHIP, changes={"round": bump("round")}, now=NOW
    )
    with django_assert_num_queries(0):  # only the changed column was read back
        assert (ticket.round, list(ticket.assignments.all())) == (row.round + 1, [])


@pytest.mark.parametrize(
    ("move", "forgets"), [("merge", True), ("forward_to_county", False)], ids=["closed", "still-open"]
)
def test_only_a_move_that_closes_a_ticket_forgets_the_cached_results(
    township_a, clerk_a, django_capture_on_commit_callbacks, move, forgets
):
    (ticket,) = registered(township_a)
    with django_capture_on_commit_callbacks() as callbacks:
        transition(ticket, move=move, actor=clerk_a, acting_as=TOWNSHIP, now=NOW)
    assert (results_cache.bump_now in callbacks) is forgets
    assert (transitions._notify_ticket_events in callbacks) is True


def test_a_bulk_move_between_open_statuses_does_not_forget_the_cached_results(
    township_a, django_capture_on_commit_callbacks
):
    tickets = registered(township_a, 2)
    with django_capture_on_commit_callbacks() as callbacks:
        moved = transition_many([t.pk for t in tickets], move="forward_to_county", source=Status.REGISTERED,
                                actor=None, acting_as=TOWNSHIP, now=NOW)  # fmt: skip
    assert moved == 2 and set(Ticket.objects.values_list("status", flat=True)) == {Status.AT_COUNTY}
    assert callbacks == [transitions._notify_ticket_events]


@pytest.mark.parametrize("data", [None, {"on_time": True}])
def test_a_bulk_move_that_changes_the_statistics_is_refused(township_a, unit_a, data):
    (ticket,) = Ticket.objects.bulk_create(
        [ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=Status.PLANNED)]
    )
    with pytest.raises(ValueError) as refused:
        transition_many([ticket.pk], move="reply", source=Status.PLANNED, actor=None, acting_as=LEAD,
                        data=data, now=NOW)  # fmt: skip
    assert str(refused.value) == "reply changes the statistics' figures: make it with transition()"
    assert reload(ticket).status == Status.PLANNED and not TicketEvent.objects.exists()


def test_a_transaction_of_many_moves_asks_for_the_outbox_sweep_once(
    township_a, clerk_a, django_capture_on_commit_callbacks
):
    def unrelated():
        pass

    first, second = registered(township_a, 2)
    with django_capture_on_commit_callbacks() as callbacks:
        transaction.on_commit(unrelated)  # something else the transaction will do: not the sweep
        for ticket in (first, second):
            transition(ticket, move="forward_to_county", actor=clerk_a, acting_as=TOWNSHIP, now=NOW)
    assert callbacks == [unrelated, transitions._notify_ticket_events]

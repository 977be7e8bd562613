"""Transition edges that mutation testing (`make mutate`) found untested: a conflict's default
message, the bulk move's defaults and limits, that it moves only the tickets it is given, that a
broker outage does not undo it, and the round counter's increment."""

from django.utils import translation

from proposals import tasks
from proposals.models import Ticket, TicketEvent
from proposals.transitions import Conflict, Status, bump
from tests.helpers import reload
from tests.proposals.test_transition_many import conclude, forwarded


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
    assert len(callbacks) == 1 and reload(ticket).status == Status.CLOSED


def test_bump_adds_one(township_a, unit_a):
    (ticket,) = forwarded(township_a, unit_a, 1)
    Ticket.objects.filter(pk=ticket.pk).update(round=bump("round"))
    assert reload(ticket).round == ticket.round + 1

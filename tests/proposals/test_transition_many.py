"""transitions.transition_many: the bulk move a sweep makes, with transition()'s guarantees."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from proposals.models import Ticket, TicketEvent
from proposals.transitions import MOVES, VERSION_STEP, InvalidMove, Party, Status, transition_many
from tests.proposals.ticket_rows import DAY, ticket_row

TZ = timezone.get_default_timezone()
NOW = datetime.datetime(2026, 3, 16, 10, 0, tzinfo=TZ)
SYSTEM = frozenset({Party.SYSTEM})


def forwarded(township, unit, n: int, **fields) -> list[Ticket]:
    rows = [
        ticket_row(township=township, now=NOW, lead_unit=unit, status=Status.FORWARDED, **fields)
        for _ in range(n)
    ]
    return Ticket.objects.bulk_create(rows)


def conclude(ids, **kwargs):
    fields = {"move": "conclude", "source": Status.FORWARDED, "actor": None, "acting_as": SYSTEM, "now": NOW}
    return transition_many(ids, **(fields | kwargs))


def test_it_moves_only_the_tickets_still_in_the_source_status_and_records_one_event_each(
    township_a, unit_a, clerk_a
):
    tickets = forwarded(township_a, unit_a, 3)
    gone = ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=Status.CLOSED)
    gone.save()
    ids = [t.pk for t in tickets]
    moved = conclude(
        [*ids, gone.pk],
        to=Status.CLOSED,
        actor_label="System",
        changes={"resolution": Ticket.Resolution.NO_RESIDENT_RATING, "closed_at": NOW},
        data={"scores": []},
        data_by_ticket={ids[0]: {"scores": ["basically", "satisfied"]}},
    )
    assert moved == 3
    rows = dict(Ticket.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert rows == dict.fromkeys(ids, Status.CLOSED)
    assert set(Ticket.objects.filter(pk__in=ids).values_list("resolution", "closed_at")) == {
        (Ticket.Resolution.NO_RESIDENT_RATING, NOW)
    }
    events = list(
        TicketEvent.objects.order_by("ticket_id").values_list(
            "ticket_id",
            "at",
            "actor",
            "actor_label",
            "move",
            "from_status",
            "to_status",
            "note",
            "data",
            "is_public",
        )
    )
    assert events == [
        (ids[0], NOW, None, "System", "conclude", "forwarded", "closed", "", {"scores": ["basically", "satisfied"]}, True),
        (ids[1], NOW, None, "System", "conclude", "forwarded", "closed", "", {"scores": []}, True),
        (ids[2], NOW, None, "System", "conclude", "forwarded", "closed", "", {"scores": []}, True),
    ]  # fmt: skip
    assert Ticket.objects.get(pk=gone.pk).status == Status.CLOSED  # untouched, and no event
    assert not TicketEvent.objects.filter(ticket=gone).exists()


def test_it_records_the_acting_user_and_the_note(township_a, unit_a, clerk_a):
    """A reviewer may conclude too (as ``services.ticket_conclude`` with an actor)."""
    ids = [t.pk for t in forwarded(township_a, unit_a, 2)]
    moved = conclude(
        ids,
        to=Status.DISSATISFIED,
        actor=clerk_a,
        acting_as=frozenset({Party.REVIEWER}),
        note="  两人不满意 ",
    )
    assert moved == 2
    assert (
        list(TicketEvent.objects.values_list("actor", "note", "to_status", "data"))
        == [(clerk_a.pk, "两人不满意", Status.DISSATISFIED, {})] * 2
    )


def test_the_version_moves_forward_even_when_the_clock_is_behind(township_a, unit_a):
    """greatest(now, version + 1 µs), per ticket: as transition() does."""
    ahead = NOW + datetime.timedelta(minutes=5)
    behind, in_future = (
        forwarded(township_a, unit_a, 1)[0],
        forwarded(township_a, unit_a, 1, updated_at=ahead)[0],
    )
    assert conclude([behind.pk, in_future.pk], to=Status.DISSATISFIED) == 2
    versions = dict(Ticket.objects.values_list("pk", "updated_at"))
    assert versions == {behind.pk: NOW, in_future.pk: ahead + VERSION_STEP}


def _not_from(move: str, status: str) -> str:
    return gettext("“%(move)s” is not possible while the ticket is “%(status)s”.") % {
        "move": MOVES[move].label,
        "status": Status(status).label,
    }


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        # "conclude" leads to closed (or dissatisfied) only
        ({"to": Status.SIGNED}, InvalidMove, lambda: "conclude cannot lead from forwarded to signed"),
        ({"source": Status.REPLIED}, InvalidMove, lambda: _not_from("conclude", Status.REPLIED)),
        (
            {"acting_as": frozenset({Party.LEAD_UNIT})},
            PermissionDenied,
            lambda: gettext("You may not do this on this ticket."),
        ),
        (
            {"move": "close", "source": Status.DISSATISFIED, "acting_as": frozenset({Party.REVIEWER})},
            InvalidMove,
            lambda: gettext("Please give the reason or the details."),
        ),
    ],
    ids=["target", "source", "party", "note"],
)
def test_it_refuses_what_transition_refuses_and_changes_nothing(township_a, unit_a, kwargs, error, message):
    tickets = forwarded(township_a, unit_a, 2)
    with pytest.raises(error) as refused:
        conclude([t.pk for t in tickets], **kwargs)
    assert str(refused.value) == message()
    assert set(Ticket.objects.values_list("status", flat=True)) == {Status.FORWARDED}
    assert TicketEvent.objects.count() == 0
    assert Ticket.objects.filter(pk=tickets[0].pk).exists()  # the caller's transaction still works


def test_it_schedules_the_notification_on_commit_only_when_something_moved(
    township_a, unit_a, django_capture_on_commit_callbacks
):
    ids = [t.pk for t in forwarded(township_a, unit_a, 2)]
    with django_capture_on_commit_callbacks() as callbacks:
        conclude(ids, to=Status.CLOSED)
    # The outbox sweep, and (the tickets are closed: published) the /results/ cache forgotten.
    assert [c.__name__ for c in callbacks] == ["_notify_ticket_events", "bump_now"]
    with django_capture_on_commit_callbacks() as callbacks:
        assert conclude(ids, to=Status.CLOSED) == 0  # all concluded already
    assert callbacks == []


@pytest.mark.parametrize("size", [10, 1000])
def test_it_takes_two_queries_whatever_the_number_of_tickets(
    township_a, unit_a, size, django_assert_num_queries
):
    tickets = forwarded(township_a, unit_a, size, updated_at=NOW - DAY)
    scores = ([], ["satisfied"], ["basically", "satisfied"])
    data = {t.pk: {"scores": scores[i % 3]} for i, t in enumerate(tickets)}
    with transaction.atomic(), django_assert_num_queries(2):  # INSERT ... SELECT of the events, UPDATE
        assert conclude(list(data), to=Status.CLOSED, data_by_ticket=data) == size
    assert TicketEvent.objects.filter(move="conclude").count() == size
    assert dict(TicketEvent.objects.values_list("ticket_id", "data")) == data

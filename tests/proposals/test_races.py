"""Races on PostgreSQL: people acting on one ticket at the same moment, each in a thread with its
own database connection, released together by a barrier.

What is right in each race:
- two moves that exclude each other (two sign-fors, rework against forward, a stale review
  against a new reply): exactly one happens; the other gets ``Conflict`` (it loaded the same
  version) and nothing of it is written;
- contributions by different people (each proposer's rating, each co-unit's opinion): all are
  recorded, none gets ``Conflict``, and the feedback is concluded exactly once, by whoever rated
  last; the same person twice still counts once;
- the same intake form sent twice at once: one ticket.
"""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from liaison.roles import Role
from proposals import services
from proposals.models import Assignment, Proposer, Rating, Ticket, TicketEvent
from proposals.transitions import Conflict, InvalidMove
from tests.factories import user_with_role

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _on_postgresql(transactional_db):
    if connection.vendor != "postgresql":
        pytest.fail("these races are checked on PostgreSQL: run them with `make test`")


def load(ticket) -> Ticket:
    return (
        Ticket.objects.select_related("township", "representative", "lead_unit")
        .prefetch_related("assignments__unit")
        .get(pk=ticket.pk)
    )


def race(*attempts):
    """Run each ``attempt(loaded)`` in its own thread; each loads first, then all act together.

    ``attempt`` is a pair (load, act): ``load()`` runs before the barrier, ``act(loaded)`` after.
    Returns each attempt's outcome: "ok", or the class of the exception it raised.
    """
    barrier = threading.Barrier(len(attempts))
    outcomes: list = [None] * len(attempts)

    def run(i, load_, act):
        try:
            loaded = load_()
            barrier.wait(timeout=10)
            act(loaded)
            outcomes[i] = "ok"
        except Exception as exc:  # noqa: BLE001 (the outcome is what the test compares)
            outcomes[i] = type(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, *a)) for i, a in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (a lock never released?)"
    return outcomes


def moves(ticket) -> list[str]:
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("move", flat=True))


@pytest.fixture
def unit_a_staff_2(unit_a):
    return user_with_role(Role.HANDLING_UNIT, unit=unit_a, username="unit_a_staff_2", name="冯军")


@pytest.mark.parametrize("attempt", range(3))
def test_two_staff_of_the_lead_unit_signing_at_once_leave_one_signature(
    attempt, ticket, walk, unit_a_staff, unit_a_staff_2
):
    assigned = walk(ticket, "assigned")
    outcomes = race(
        (lambda: load(assigned), lambda t: services.ticket_sign(actor=unit_a_staff, ticket=t)),
        (lambda: load(assigned), lambda t: services.ticket_sign(actor=unit_a_staff_2, ticket=t)),
    )
    assert sorted(map(str, outcomes)) == sorted(["ok", str(Conflict)])
    assert moves(ticket).count("sign") == 1
    assert load(ticket).status == "signed"


def test_a_sign_for_loaded_after_the_other_is_refused_as_not_possible(
    ticket, walk, unit_a_staff, unit_a_staff_2
):
    assigned = walk(ticket, "assigned")
    services.ticket_sign(actor=unit_a_staff, ticket=load(assigned))
    with pytest.raises(InvalidMove):
        services.ticket_sign(actor=unit_a_staff_2, ticket=load(assigned))
    assert moves(ticket).count("sign") == 1


def test_a_rework_racing_a_forward_leaves_one_outcome(ticket, walk, clerk_a, liaison_office):
    replied = walk(ticket, "replied")
    outcomes = race(
        (lambda: load(replied), lambda t: services.ticket_rework(actor=clerk_a, ticket=t, note="答复不具体")),
        (lambda: load(replied), lambda t: services.ticket_forward(actor=liaison_office, ticket=t)),
    )
    assert sorted(map(str, outcomes)) == sorted(["ok", str(Conflict)])
    after = moves(ticket)
    assert after[-1] in ("rework", "forward") and after.count("rework") + after.count("forward") == 1
    assert load(ticket).status == {"rework": "planned", "forward": "forwarded"}[after[-1]]


def test_a_new_reply_racing_a_stale_return_for_rework_wins(
    ticket, walk, clerk_a, liaison_office, unit_a_staff
):
    """The office's page still shows the first reply; meanwhile the township sent it back and the
    unit is replying again. The stale rework must not bounce the new reply."""
    replied = walk(ticket, "replied")
    stale = load(replied)
    services.ticket_rework(actor=clerk_a, ticket=load(replied), note="请补充整改时间")
    outcomes = race(
        (
            lambda: load(replied),
            lambda t: services.ticket_reply(actor=unit_a_staff, ticket=t, text="本月底前完成"),
        ),
        (lambda: stale, lambda t: services.ticket_rework(actor=liaison_office, ticket=t, note="再改")),
    )
    assert outcomes == ["ok", Conflict]
    assert moves(ticket)[-2:] == ["rework", "reply"]
    assert load(ticket).status == "replied"


@pytest.fixture
def forwarded(make_ticket, walk):
    """A reply forwarded for feedback to the rep and two proposers."""
    ticket = make_ticket(proposers=[("张大爷", "13812345678"), ("李阿姨", "13912345678")])
    return walk(ticket, "forwarded")


@pytest.mark.parametrize("attempt", range(3))
def test_two_proposers_rating_at_once_are_both_recorded_and_the_last_concludes(attempt, forwarded, rep_a):
    services.ticket_rate(ticket=load(forwarded), actor=rep_a, score="satisfied")
    first, second = Proposer.objects.filter(ticket=forwarded)
    outcomes = race(
        (
            lambda: load(forwarded),
            lambda t: services.ticket_rate(ticket=t, proposer=first, score="satisfied"),
        ),
        (
            lambda: load(forwarded),
            lambda t: services.ticket_rate(ticket=t, proposer=second, score="basically"),
        ),
    )
    assert outcomes == ["ok", "ok"]
    assert Rating.objects.filter(ticket=forwarded).count() == 3
    assert moves(forwarded).count("conclude") == 1 and moves(forwarded)[-1] == "conclude"
    ticket = load(forwarded)
    assert ticket.status == "closed" and ticket.resolution == "satisfied"


def test_a_dissatisfied_rating_in_a_race_still_sends_the_ticket_to_a_decision(forwarded, rep_a):
    services.ticket_rate(ticket=load(forwarded), actor=rep_a, score="satisfied")
    first, second = Proposer.objects.filter(ticket=forwarded)
    outcomes = race(
        (
            lambda: load(forwarded),
            lambda t: services.ticket_rate(ticket=t, proposer=first, score="dissatisfied"),
        ),
        (
            lambda: load(forwarded),
            lambda t: services.ticket_rate(ticket=t, proposer=second, score="satisfied"),
        ),
    )
    assert outcomes == ["ok", "ok"]
    assert load(forwarded).status == "dissatisfied" and moves(forwarded).count("conclude") == 1


def test_the_rep_and_a_proposer_rating_at_once_leave_the_feedback_open_for_the_other(forwarded, rep_a):
    first = Proposer.objects.filter(ticket=forwarded).first()
    outcomes = race(
        (lambda: load(forwarded), lambda t: services.ticket_rate(ticket=t, actor=rep_a, score="satisfied")),
        (
            lambda: load(forwarded),
            lambda t: services.ticket_rate(ticket=t, proposer=first, score="satisfied"),
        ),
    )
    assert outcomes == ["ok", "ok"]
    assert load(forwarded).status == "forwarded" and "conclude" not in moves(forwarded)


def test_one_proposer_rating_twice_at_once_counts_once(forwarded):
    first = Proposer.objects.filter(ticket=forwarded).first()
    outcomes = race(
        (
            lambda: load(forwarded),
            lambda t: services.ticket_rate(ticket=t, proposer=first, score="satisfied"),
        ),
        (
            lambda: load(forwarded),
            lambda t: services.ticket_rate(ticket=t, proposer=first, score="dissatisfied"),
        ),
    )
    assert sorted(map(str, outcomes)) == sorted(["ok", str(ValidationError)])
    assert Rating.objects.filter(ticket=forwarded, proposer=first).count() == 1
    assert moves(forwarded).count("rate") == 1


def test_two_co_units_filing_at_once_are_both_recorded(
    make_ticket, clerk_a, liaison_office, county_unit, co_unit, co_unit_staff
):
    from tests.factories import HandlingUnitFactory

    other = HandlingUnitFactory(name="县住建局", region=county_unit.region)
    other_staff = user_with_role(Role.HANDLING_UNIT, unit=other, username="zhujian", name="何静")
    ticket = make_ticket()
    services.ticket_forward_to_county(actor=clerk_a, ticket=load(ticket))
    services.ticket_assign(
        actor=liaison_office, ticket=load(ticket), lead_unit=county_unit, co_units=[co_unit, other]
    )
    outcomes = race(
        (
            lambda: load(ticket),
            lambda t: services.co_opinion_file(actor=co_unit_staff, ticket=t, text="同意"),
        ),
        (lambda: load(ticket), lambda t: services.co_opinion_file(actor=other_staff, ticket=t, text="配合")),
    )
    assert outcomes == ["ok", "ok"]
    assert Assignment.objects.filter(ticket=ticket, role="co", opinion_at__isnull=False).count() == 2
    assert moves(ticket).count("co_opinion") == 2


def test_the_same_submission_sent_four_times_at_once_makes_one_ticket(township_a, category):
    made = []

    def submit(_):
        made.append(
            services.ticket_register(
                actor=None,
                township=township_a,
                title="菜市场门口积水",
                content="下雨天积水很深",
                category=category,
                source="intake",
                proposers=[("赵先生", "13700001111")],
                submission_token="tok-7f3a9c",
            ).pk
        )

    outcomes = race(*[(lambda: None, submit)] * 4)
    assert outcomes == ["ok"] * 4
    assert Ticket.objects.count() == 1 and set(made) == {Ticket.objects.get().pk}
    assert TicketEvent.objects.filter(move="register").count() == 1

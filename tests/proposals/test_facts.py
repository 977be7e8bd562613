"""The figures each ticket keeps on its row (proposals.facts): the moves set them as the records
say, and the statistics read from them equal hand-written SQL over the records.

1. A year made through the services (generate_year: assignments, replies late and on time,
   extensions asked and decided, re-handlings, ratings by reps and residents), plus a ticket
   returned and a proposer's rating entered by staff: every ticket's figures, as the moves left
   them, equal ``facts.recompute`` of the same ticket from its records.
2. On that year, the statistics equal the independent SQL tally of tests/proposals/test_statistics.py.
3. A bulk move that would change a figure is refused (transition_many keeps none).
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from liaison.models import Region
from proposals import facts, generate, services, statistics
from proposals.models import Proposer, Rating, Ticket
from proposals.transitions import Party, Status, transition_many
from tests.factories import UserFactory
from tests.proposals.test_statistics import sql_tally

FIELDS = [f.name for f in Ticket._meta.fields if f.name.startswith("stat_")]


def _figures() -> dict[int, tuple]:
    return {row[0]: row[1:] for row in Ticket.objects.order_by("pk").values_list("pk", *FIELDS)}


@pytest.fixture
def year(db):
    shape = generate.Shape(townships=2, studios=2, county_reps=2, township_reps=4, tickets=60)
    return generate.generate(shape=shape, year=2025, seed=7)


def test_the_moves_keep_the_figures_the_records_say(year, walk, make_ticket, unit_a_staff, clerk_a):
    returned = make_ticket()
    walk(returned, "assigned")
    services.ticket_return(
        actor=unit_a_staff, ticket=Ticket.objects.get(pk=returned.pk), reason="不属本单位职责"
    )
    entered = make_ticket()
    walk(entered, "forwarded")
    entered = Ticket.objects.get(pk=entered.pk)
    services.rating_enter(actor=clerk_a, ticket=entered, proposer=Proposer.objects.get(ticket=entered),
                          score=Rating.Score.BASICALLY, via=Rating.Via.PHONE)  # fmt: skip
    kept = _figures()
    # Every figure occurs, so that a wrong line in changes_for shows here.
    for i, name in enumerate(FIELDS):
        assert any(values[i] for values in kept.values()), name
    facts.recompute(Ticket.objects.all())
    assert _figures() == kept


def test_the_statistics_of_a_generated_year_equal_the_sql_tally(year):
    townships = list(Region.objects.filter(parent=year).values_list("pk", flat=True))
    admin = UserFactory(is_superuser=True)  # sees every ticket
    start, end = datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)
    for by in ("township", "unit", "rep"):
        rows = statistics.suggestion_statistics(admin, start=start, end=end, by=by)
        got = {r["group"]: {k: r[k] for k in statistics.COUNT_KEYS} for r in rows[:-1]}
        assert got == sql_tally(by, townships, start, end), by
    assert rows[-1]["collected"] == 60 and rows[-1]["rehandled"] and rows[-1]["ext_granted"]


def test_a_bulk_move_that_would_change_a_figure_is_refused(make_ticket, clerk_a):
    ticket = make_ticket()
    with pytest.raises(ValueError, match="figures"):
        transition_many([ticket.pk], source=Status.REGISTERED, move="assign", actor=clerk_a,
                        acting_as=frozenset({Party.TOWNSHIP}), now=timezone.now())  # fmt: skip
    assert Ticket.objects.get(pk=ticket.pk).status == Status.REGISTERED


def test_a_merged_ticket_counts_once_as_collected_and_closed_not_handled(
    make_ticket, walk, clerk_a, township_a
):
    """Merging closes the duplicate (resolution "merged"): it was collected and is closed, but no
    unit handled it; the ticket it joined counts on its own. As the SQL tally counts them."""
    kept = make_ticket()
    walk(kept, "replied")
    duplicate = make_ticket(title="村口路灯还是不亮")
    services.ticket_merge(actor=clerk_a, ticket=duplicate, into=Ticket.objects.get(pk=kept.pk))
    today = timezone.localdate()
    rows = statistics.suggestion_statistics(clerk_a, start=today, end=today, by="township")
    total = rows[-1]
    assert (total["collected"], total["closed"], total["assigned"], total["replied"]) == (2, 1, 1, 1)
    got = {r["group"]: {k: r[k] for k in statistics.COUNT_KEYS} for r in rows[:-1]}
    assert got == sql_tally("township", [township_a.pk], today, today)

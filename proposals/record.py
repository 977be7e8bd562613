"""The tickets of a representative's duty record: raised (responsible or co-signed), with their
outcome, adoption and the last round's ratings; and the year-end flags and commendations of
``proposals.commendations`` (both registered with ``reps.record``)."""

import datetime

from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from proposals import commendations
from proposals.models import Rating, Ticket
from proposals.statistics import day_start
from reps import record


def _tickets(rep, start, end) -> dict:

    tickets = (
        Ticket.objects.filter(Q(representative=rep) | Q(co_signers=rep))
        .filter(created_at__gte=day_start(start), created_at__lt=day_start(end + datetime.timedelta(days=1)))
        .distinct()
        .select_related("lead_unit", "category")
        .prefetch_related(Prefetch("ratings", queryset=Rating.objects.order_by("round", "id")))
        .order_by("created_at", "id")
    )
    rows = []
    for ticket in tickets:
        last = [r for r in ticket.ratings.all() if r.round == ticket.round]
        rows.append(
            {
                "ticket": ticket,
                "rep_rating": next((r for r in last if r.proposer_id is None), None),
                "resident_ratings": [r for r in last if r.proposer_id is not None],
            }
        )
    return {"tickets": rows, "adopted": sum(1 for r in rows if r["ticket"].adopted_on)}


def _year_end(rep, start, end) -> dict:
    return commendations.record_of(rep, start, end, timezone.localdate())


def register() -> None:
    record.register(
        record.Section(
            "year_end",
            _("Year-end review and commendations"),
            "proposals/record/_year_end.html",
            _year_end,
            order=95,
        )
    )
    record.register(
        record.Section(
            "tickets", _("Suggestions raised"), "proposals/record/_tickets.html", _tickets, order=50
        )
    )

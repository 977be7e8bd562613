"""The figures each ticket contributes to the statistics, kept on its row (``Ticket.stat_*``).

Why on the row: the suggestion statistics and the overview count, per group, a year of tickets
by what happened to each (assigned, replied, on time, extended, returned, re-handled, rated).
Read from the events, extensions and ratings, a province's year is 2.5 million related rows
looked up ticket by ticket (bench/bench_figures.py: 86-104 times a bare GROUP BY of the same
tickets). Kept on the row, it is one scan of the ticket table.

One rule per figure, said twice in this module and nowhere else:

1. ``changes_for(ticket, move, data)``: the column updates a move makes. ``transitions.transition``
   applies them in the same UPDATE as the move, so a figure can never disagree with the
   timeline that a transaction committed.
2. ``recompute(tickets)``: the same figures derived from the records, in one UPDATE; the
   migration's backfill, ``manage.py recompute_ticket_facts`` after a repair by hand, and the
   check (tests/proposals/test_facts.py) that (1) and (2) agree on a year made through the services.

The figures:
- ``stat_assigned``: the ticket was assigned to a lead unit (``assign``), even if returned later;
- ``stat_replied``, ``stat_first_reply_on_time``: a reply was sent; the first one came by the due
  time then in force (the reply event's ``on_time``; a reply with no due time is not on time).
  A re-handled ticket keeps its first reply's lateness;
- ``stat_extension_asked``, ``stat_extension_granted``: an extension was asked; one was approved;
- ``stat_returned``, ``stat_rehandled``: the unit returned it (退回); it was re-handled (重办);
- ``stat_rep_ratings`` … ``stat_resident_satisfied``: the ratings of the current round, by the
  representative and by residents (proposers), and how many of each were 满意 or 基本满意;
  a re-handling starts a new round and so sets them back to 0.
"""

from __future__ import annotations

from django.db.models import Count, Exists, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

RATING_MOVES = ("rate", "enter_rating")


def changes_for(ticket, move: str, data: dict) -> dict:
    """The ``stat_*`` column updates ``move`` makes on ``ticket`` (loaded as it stands)."""
    if move == "assign":
        return {"stat_assigned": True}
    if move == "reply" and not ticket.stat_replied:
        return {"stat_replied": True, "stat_first_reply_on_time": data.get("on_time") is True}
    if move == "request_extension":
        return {"stat_extension_asked": True}
    if move == "decide_extension" and data.get("approved"):
        return {"stat_extension_granted": True}
    if move == "return":
        return {"stat_returned": True}
    if move == "rehandle":
        return {
            "stat_rehandled": True,
            "stat_rep_ratings": 0,
            "stat_rep_satisfied": 0,
            "stat_resident_ratings": 0,
            "stat_resident_satisfied": 0,
        }
    if move in RATING_MOVES:
        who = "resident" if data.get("resident") else "rep"
        changes = {f"stat_{who}_ratings": F(f"stat_{who}_ratings") + 1}
        if data.get("score") in _satisfied():
            changes[f"stat_{who}_satisfied"] = F(f"stat_{who}_satisfied") + 1
        return changes
    return {}


def _satisfied() -> tuple[str, ...]:
    from proposals.models import Rating  # not at import: the models import transitions, which import this

    return Rating.SATISFIED_SCORES


def _event(TicketEvent, move: str) -> Exists:
    return Exists(TicketEvent.objects.filter(ticket=OuterRef("pk"), move=move))


def _first_reply_on_time(TicketEvent) -> Exists:
    earlier = TicketEvent.objects.filter(ticket=OuterRef("ticket"), move="reply", at__lt=OuterRef("at"))
    return Exists(
        TicketEvent.objects.filter(ticket=OuterRef("pk"), move="reply", data__on_time=True).exclude(
            Exists(earlier)
        )
    )


def _ratings(Rating, **filters) -> Coalesce:
    counted = (
        Rating.objects.filter(ticket=OuterRef("pk"), round=OuterRef("round"), **filters)
        .values("ticket")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def recompute(tickets: QuerySet) -> int:
    """Set every ``stat_*`` column of ``tickets`` from the records; return how many rows.

    The models come from the queryset's app registry, so a migration passes its historical ones."""
    apps = tickets.model._meta.apps
    Assignment, Extension, Rating, TicketEvent = (
        apps.get_model("proposals", name) for name in ("Assignment", "Extension", "Rating", "TicketEvent")
    )
    return tickets.update(
        stat_assigned=Exists(Assignment.objects.filter(ticket=OuterRef("pk"), role="lead")),
        stat_replied=_event(TicketEvent, "reply"),
        stat_first_reply_on_time=_first_reply_on_time(TicketEvent),
        stat_extension_asked=Exists(Extension.objects.filter(ticket=OuterRef("pk"))),
        stat_extension_granted=Exists(Extension.objects.filter(ticket=OuterRef("pk"), decision="approved")),
        stat_returned=_event(TicketEvent, "return"),
        stat_rehandled=_event(TicketEvent, "rehandle"),
        stat_rep_ratings=_ratings(Rating, proposer__isnull=True),
        stat_rep_satisfied=_ratings(Rating, proposer__isnull=True, score__in=_satisfied()),
        stat_resident_ratings=_ratings(Rating, proposer__isnull=False),
        stat_resident_satisfied=_ratings(Rating, proposer__isnull=False, score__in=_satisfied()),
    )


def recompute_all(Ticket, *, batch: int = 5000) -> int:
    """``recompute`` every ticket, ``batch`` ids at a time, each batch its own transaction (a
    million tickets are never locked at once); return how many rows."""
    from django.db import transaction

    done, last = 0, 0
    while True:
        ids = list(Ticket.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return done
        with transaction.atomic():
            done += recompute(Ticket.objects.filter(pk__in=ids))
        last = ids[-1]

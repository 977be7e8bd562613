"""The suggestions a representative's duty status counts (a tally registered with reps.duties).

Seed 000: a representative puts forward constructive suggestions, every year or within the
term (``DutyPolicy.research_rule``; the research duty in ``reps.duties`` reads this tally both
ways). A ticket counts for its responsible representative and for each co-signer (联名), once per
person, on the day it was registered; a ticket merged into another is counted there, not twice.
"""

import datetime
from collections import defaultdict

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from proposals.models import Ticket
from reps import duties, points
from studios import statistics


def suggestion_days(rep_ids, start: datetime.date, end: datetime.date) -> dict[int, list[datetime.date]]:
    """The day each rep's suggestion tickets were registered, from ``start`` to ``end`` (2 queries)."""
    tickets = Ticket.objects.filter(
        created_at__date__gte=start, created_at__date__lte=end, merged_into__isnull=True
    )
    found: dict[int, dict[int, datetime.date]] = defaultdict(dict)
    rows = [
        *tickets.filter(representative__in=rep_ids).values_list("representative", "pk", "created_at"),
        *tickets.filter(co_signers__in=rep_ids).values_list("co_signers", "pk", "created_at"),
    ]
    for rep, ticket, created_at in rows:
        found[rep][ticket] = timezone.localdate(created_at)
    return {rep: list(days.values()) for rep, days in found.items()}


def has_ticket(prefix: str) -> Q:
    """A reception matter a ticket was registered from (``Ticket.reception_matter``'s reverse side)."""
    return Q(**{f"{prefix}ticket__isnull": False})


def suggestion_points(rep_ids, start: datetime.date, end: datetime.date) -> dict[int, int]:
    """Suggestions a rep is responsible for, registered from ``start`` to ``end`` (not merged ones)."""
    rows = (
        Ticket.objects.filter(
            representative__in=rep_ids,
            created_at__date__gte=start,
            created_at__date__lte=end,
            merged_into__isnull=True,
        )
        .values_list("representative")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def adopted_points(rep_ids, start: datetime.date, end: datetime.date) -> dict[int, int]:
    """Suggestions a rep is responsible for that were adopted (采纳) from ``start`` to ``end``."""
    rows = (
        Ticket.objects.filter(representative__in=rep_ids, adopted_on__gte=start, adopted_on__lte=end)
        .values_list("representative")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def register() -> None:
    points.register_source(
        points.Source(
            "suggestions", _("suggestions"), lambda p: p.per_suggestion, suggestion_points, order=30
        )
    )
    points.register_source(
        points.Source(
            "adopted", _("adopted suggestions (extra)"), lambda p: p.per_adopted, adopted_points, order=31
        )
    )
    duties.register_tally("suggestions", suggestion_days)
    # The reception statistics count matters really turned into tickets, not the flag.
    statistics.register_ticketed(has_ticket)

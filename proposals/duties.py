"""The suggestions quota a representative's duty status shows (registered with reps.duties).

Seed 000: every representative puts forward at least ``DutyPolicy.suggestions_per_year``
constructive suggestions a year. A ticket counts for its responsible representative and for
each co-signer (联名), once per person, in the year it was registered; a ticket merged into
another is counted there, not twice.
"""

from collections import defaultdict

from django.utils.translation import gettext_lazy as _

from proposals.models import Ticket
from reps import duties


def _suggestions(contexts, period, as_of):
    ids = [c.rep.pk for c in contexts]
    tickets = Ticket.objects.filter(
        created_at__date__gte=period.start, created_at__date__lte=as_of, merged_into__isnull=True
    )
    found: dict[int, set[int]] = defaultdict(set)
    for rep, ticket in tickets.filter(representative__in=ids).values_list("representative", "pk"):
        found[rep].add(ticket)
    for rep, ticket in tickets.filter(co_signers__in=ids).values_list("co_signers", "pk"):
        found[rep].add(ticket)
    return {rep: len(tickets) for rep, tickets in found.items()}


def register() -> None:
    duties.register(
        duties.Quota(
            "suggestions",
            _("Suggestions this year"),
            duties.YEAR,
            lambda ctx: duties.prorated(ctx.policy.suggestions_per_year, ctx),
            _suggestions,
            order=65,
        )
    )

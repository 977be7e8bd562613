"""Residents' names and phones erased from tickets closed long ago (PIPL 第十九条, 第四十七条).

``anonymise_closed_send_due(now=...)`` (the ``anonymise_closed`` command, daily from beat) finds,
county by county, the tickets closed more than ``SecurityPolicy.anonymise_after_years`` ago and
erases their proposers: the name becomes "（已匿名）", the phone and the SMS consent go, and
``Proposer.anonymised_at`` is set. Nothing else changes: the tickets, their categories, units,
dates, timelines and ratings (each rating keeps its proposer row) stay, so every count,
satisfaction figure and statistic reads the same afterwards. Reception visitors and contacts
are not tickets and are left to their own records' rules.

Safe to run twice at once: a proposer already anonymised is skipped, and the UPDATE only touches
rows still unmarked. Each county where anything was erased gets one audit row per run.
"""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone

from liaison import audit
from liaison.models import Region, SecurityPolicy
from proposals import results_cache
from proposals.models import Proposer, Ticket
from proposals.transitions import Status

ANONYMOUS = "（已匿名）"
FINISHED = (Status.CLOSED, Status.ARCHIVED)


def due(county: Region, years: int, now: datetime.datetime):
    """The proposers of ``county``'s tickets closed more than ``years`` ago, not yet anonymised."""
    cutoff = now - relativedelta(years=years)
    tickets = Ticket.objects.filter(
        status__in=FINISHED, closed_at__lt=cutoff, township__path__startswith=county.path
    )
    return Proposer.objects.filter(ticket__in=tickets, anonymised_at__isnull=True)


@transaction.atomic
def anonymise_closed_send_due(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Erase the names and phones due in every county; return how many proposers and tickets."""
    now = now or timezone.now()
    default = SecurityPolicy().anonymise_after_years
    years_of = dict(SecurityPolicy.objects.values_list("county_id", "anonymise_after_years"))
    proposers = tickets = 0
    for county in Region.objects.counties().order_by("path"):
        years = years_of.get(county.pk, default)
        pending = due(county, years, now)
        ticket_ids = set(pending.values_list("ticket_id", flat=True))
        if not ticket_ids:
            continue
        n = Proposer.objects.filter(pk__in=pending.values("pk"), anonymised_at__isnull=True).update(
            name=ANONYMOUS, phone="", sms_consent=False, anonymised_at=now
        )
        if n:
            results_cache.bump()  # /results/ shows no proposer; forgotten anyway, to be sure
            audit.record(
                actor=None,
                verb="pii.anonymised",
                subject=county,
                region=county,
                proposers=n,
                tickets=len(ticket_ids),
                closed_before=(now - relativedelta(years=years)).isoformat(),
                years=years,
            )
        proposers += n
        tickets += len(ticket_ids)
    return {"proposers": proposers, "tickets": tickets}

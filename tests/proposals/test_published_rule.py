"""One rule says which tickets are published (/results/, the Open311 API, the webhooks): the
queryset's ``published()`` and a row's ``is_published`` agree on every combination."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from proposals.models import Ticket
from proposals.transitions import Status
from tests.proposals.ticket_rows import ticket_row


@pytest.mark.django_db
def test_the_queryset_and_the_row_read_one_rule(township_a):
    now = timezone.now()
    resolutions = ["", Ticket.Resolution.MERGED, Ticket.Resolution.ON_SPOT]
    Ticket.objects.bulk_create(
        ticket_row(
            township=township_a, now=now, status=status, is_public_interest=public, resolution=resolution
        )
        for status, public, resolution in itertools.product(Status.values, (True, False), resolutions)
    )
    tickets = list(Ticket.objects.all())
    assert len(tickets) == len(Status.values) * 2 * 3
    published = set(Ticket.objects.published().values_list("pk", flat=True))
    assert published == {t.pk for t in tickets if t.is_published}
    # Closed or archived, of general concern, not merged: 2 statuses x 2 resolutions.
    assert len(published) == 4

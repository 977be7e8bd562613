"""The ticket timeline is append-only in PostgreSQL itself and kept for good: its trigger refuses
UPDATE and DELETE, raw or through the ORM, even inside the audit purge's transaction."""

from __future__ import annotations

import pytest
from django.db import connection

from proposals.models import TicketEvent
from tests.liaison.test_audit_append_only import REFUSED, raw, refused

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _on_postgresql(db):
    if connection.vendor != "postgresql":
        pytest.fail("the append-only triggers are PostgreSQL's: run these with `make test`")


def test_ticket_events_refuse_update_and_delete_even_under_the_purge_setting(make_ticket):
    ticket = make_ticket()
    event_row = TicketEvent.objects.filter(ticket=ticket).first()
    assert event_row is not None

    assert "UPDATE of proposals_ticketevent" in refused(
        lambda: raw("UPDATE proposals_ticketevent SET note = 'forged' WHERE id = %s", event_row.pk)
    )
    assert REFUSED in refused(lambda: TicketEvent.objects.filter(pk=event_row.pk).delete())

    def purge_then_delete():
        raw("SET LOCAL liaison.audit_purge = 'on'")
        raw("DELETE FROM proposals_ticketevent WHERE id = %s", event_row.pk)

    assert "DELETE of proposals_ticketevent" in refused(purge_then_delete)
    # Deleting the ticket would cascade to its timeline: refused too.
    assert REFUSED in refused(ticket.delete)

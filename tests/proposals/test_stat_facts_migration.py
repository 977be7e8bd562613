"""Migration 0016 fills the figures each ticket keeps (proposals.facts) from its records: run on a
database whose tickets have their records but not yet their figures, it derives them, and a run
stopped half-way is simply run again."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from proposals.models import Ticket

FIELDS = [f.name for f in Ticket._meta.fields if f.name.startswith("stat_")]
BEFORE, BACKFILL = ("proposals", "0015_ticket_stat_facts"), ("proposals", "0016_ticket_stat_facts_backfill")


def _migrate(target) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


@pytest.mark.django_db(transaction=True)
def test_the_backfill_derives_each_tickets_figures_from_its_records(make_ticket, walk):
    replied = make_ticket()
    walk(replied, "forwarded")  # assigned and replied, by the services
    registered = make_ticket()
    kept = {t.pk: [getattr(t, f) for f in FIELDS] for t in Ticket.objects.all()}
    assert kept[replied.pk][FIELDS.index("stat_replied")] is True
    _migrate(BEFORE)
    # As an upgrade finds them: the records are there, the columns hold their defaults.
    Ticket.objects.update(**{f: Ticket._meta.get_field(f).default for f in FIELDS})
    _migrate(BACKFILL)
    assert {t.pk: [getattr(t, f) for f in FIELDS] for t in Ticket.objects.all()} == kept
    assert kept[registered.pk] == [Ticket._meta.get_field(f).default for f in FIELDS]

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


def _figures() -> dict:
    """Each ticket's kept figures, reading only those columns (later migrations' are not there)."""
    return {pk: list(values) for pk, *values in Ticket.objects.values_list("pk", *FIELDS)}


def _migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_backfill_derives_each_tickets_figures_from_its_records(make_ticket, walk):
    replied = make_ticket()
    walk(replied, "forwarded")  # assigned and replied, by the services
    registered = make_ticket()
    kept = _figures()
    assert kept[replied.pk][FIELDS.index("stat_replied")] is True
    try:
        _migrate(BEFORE)
        # As an upgrade finds them: the records are there, the columns hold their defaults.
        Ticket.objects.update(**{f: Ticket._meta.get_field(f).default for f in FIELDS})
        _migrate(BACKFILL)
        assert _figures() == kept
    finally:
        _migrate_to_latest()  # later columns exist again for the tests after this one
    assert kept[registered.pk] == [Ticket._meta.get_field(f).default for f in FIELDS]

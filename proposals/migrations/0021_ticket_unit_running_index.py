"""The index the overdue-by-unit counts read (Ticket.Meta: ticket_unit_running).

On PostgreSQL it is built CONCURRENTLY, outside a transaction, so that tickets can still be
written while it builds on a large table (0018's three indexes, built in a transaction, held
writes back for about 2 s at 1,000,000 tickets: bench/bench_migrations.py); elsewhere (SQLite)
as a plain index."""

from django.db import migrations, models

from proposals.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("proposals", "0020_webhooks"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", ["assigned", "contacted", "planned", "signed"])),
                fields=["lead_unit", "due_at"],
                include=("township",),
                name="ticket_unit_running",
            ),
        ),
    ]

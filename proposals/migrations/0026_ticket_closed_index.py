"""The index the overview's trend counts each month's closed tickets from, for a user who sees all
(Ticket.Meta: ticket_closed).

Built CONCURRENTLY on PostgreSQL, outside a transaction, as 0021's and 0025's: tickets can still be
written while it builds on a large table; elsewhere (SQLite) as a plain index."""

from django.db import migrations, models

from proposals.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("proposals", "0025_ticket_township_running_index"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("closed_at__isnull", False)),
                fields=["closed_at"],
                name="ticket_closed",
            ),
        ),
    ]

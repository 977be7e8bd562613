"""The index each office's overdue digest is counted from (Ticket.Meta: ticket_township_running).

Built CONCURRENTLY on PostgreSQL, outside a transaction, as 0021's: tickets can still be written
while it builds on a large table; elsewhere (SQLite) as a plain index."""

from django.db import migrations, models

from proposals.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("proposals", "0024_webhook_subscription_once"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", ["assigned", "contacted", "planned", "signed"])),
                fields=["township", "assigned_by", "due_at"],
                name="ticket_township_running",
            ),
        ),
    ]

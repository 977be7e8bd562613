"""The index each office's overdue digest is counted from (Ticket.Meta: ticket_township_running).

Built CONCURRENTLY on PostgreSQL, outside a transaction, as 0021's: tickets can still be written
while it builds on a large table; elsewhere (SQLite) as a plain index."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


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

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The ticket timeline is append-only on PostgreSQL and kept for good: the trigger uses
# liaison's ``liaison_append_only()`` without the 'purgeable' argument, so no UPDATE or DELETE
# passes, not even the audit purge's.
CREATE = """
CREATE TRIGGER proposals_ticketevent_append_only
    BEFORE UPDATE OR DELETE ON proposals_ticketevent
    FOR EACH ROW EXECUTE FUNCTION liaison_append_only();
"""
DROP = "DROP TRIGGER IF EXISTS proposals_ticketevent_append_only ON proposals_ticketevent;"


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    """The ticket timeline is append-only in the database; its actors are never deleted."""

    dependencies = [
        ("liaison", "0008_auditevent_append_only"),
        ("proposals", "0010_ticket_urgency_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ticketevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="by",
            ),
        ),
        migrations.RunPython(create_trigger, drop_trigger, elidable=False),
    ]

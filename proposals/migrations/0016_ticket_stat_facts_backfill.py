from django.db import migrations

from proposals import facts


def backfill(apps, schema_editor):
    """Derive the figures of existing tickets from their records, 5,000 tickets a transaction."""
    facts.recompute_all(apps.get_model("proposals", "Ticket"))


class Migration(migrations.Migration):
    # Its own migration, not atomic: each batch commits, so an upgrade at a million tickets never
    # locks them all at once, and a run stopped half-way is simply run again (recompute overwrites).
    atomic = False

    dependencies = [
        ("proposals", "0015_ticket_stat_facts"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

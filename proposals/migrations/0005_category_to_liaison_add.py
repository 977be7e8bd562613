"""Tickets move to the one category list in liaison, in three steps (PostgreSQL refuses to alter
a table with row updates pending in the same transaction): a new nullable column; the rows
copied by name (0006); the old column and model removed, the new one renamed (0007)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("liaison", "0004_category"),
        ("proposals", "0004_event_field_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="category_new",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="liaison.category",
            ),
        ),
    ]

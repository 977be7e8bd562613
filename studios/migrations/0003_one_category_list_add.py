"""Public-opinion reports move from their own category codes to liaison's one list (in three
steps, as PostgreSQL refuses to alter a table with row updates pending in the same transaction);
a reception matter gets an optional category, which the ticket made from it starts in."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("liaison", "0004_category"),
        ("studios", "0002_rule_quarter_sunday"),
    ]

    operations = [
        migrations.AddField(
            model_name="opinionreport",
            name="category_new",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="liaison.category",
            ),
        ),
        migrations.AddField(
            model_name="receptionmatter",
            name="category",
            field=models.ForeignKey(
                blank=True,
                help_text="The ticket made from the matter starts in this category.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="liaison.category",
                verbose_name="category",
            ),
        ),
    ]

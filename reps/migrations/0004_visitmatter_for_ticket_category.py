"""A visit matter, like a reception matter, is either answered on the spot or to become a ticket
(``for_ticket``, with the same check constraint), and has an optional category."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("liaison", "0004_category"),
        ("reps", "0003_person_messages"),
    ]

    operations = [
        migrations.AddField(
            model_name="visitmatter",
            name="for_ticket",
            field=models.BooleanField(default=False, verbose_name="to become a suggestion ticket"),
        ),
        migrations.AddField(
            model_name="visitmatter",
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
        migrations.AddConstraint(
            model_name="visitmatter",
            constraint=models.CheckConstraint(
                condition=models.Q(("answered_on_spot", True), ("for_ticket", True), _negated=True),
                name="visit_matter_answered_or_ticket",
            ),
        ),
    ]

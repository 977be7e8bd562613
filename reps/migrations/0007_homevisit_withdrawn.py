import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """A homevisit is withdrawn with a reason, never deleted: it stays, marked, and stops counting."""

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("reps", "0006_research_duty_and_reports"),
    ]

    operations = [
        migrations.AddField(
            model_name="homevisit",
            name="withdrawn_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="withdrawn at"),
        ),
        migrations.AddField(
            model_name="homevisit",
            name="withdrawn_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="withdrawn by",
            ),
        ),
        migrations.AddField(
            model_name="homevisit",
            name="withdrawn_reason",
            field=models.TextField(
                blank=True, editable=False, max_length=1000, verbose_name="reason for withdrawal"
            ),
        ),
    ]

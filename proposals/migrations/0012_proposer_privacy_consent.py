from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("proposals", "0011_ticketevent_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="proposer",
            name="privacy_consent_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="privacy consent given at"),
        ),
        migrations.AddField(
            model_name="proposer",
            name="anonymised_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="anonymised at"),
        ),
        migrations.AddField(
            model_name="ticket",
            name="summary_corrected_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="summary corrected at"),
        ),
    ]

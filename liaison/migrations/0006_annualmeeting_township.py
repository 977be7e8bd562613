import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """A township congress's annual meeting (乡镇党代会年会): AnnualMeeting.township."""

    dependencies = [
        ("liaison", "0005_notification_address"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="annualmeeting",
            name="one_annual_meeting_per_year",
        ),
        migrations.AddField(
            model_name="annualmeeting",
            name="township",
            field=models.ForeignKey(
                blank=True,
                help_text="Empty for the county's own meeting; else the township whose congress meets.",
                limit_choices_to={"level": "township"},
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="township_annual_meetings",
                to="liaison.region",
                verbose_name="township",
            ),
        ),
        migrations.AddConstraint(
            model_name="annualmeeting",
            constraint=models.UniqueConstraint(
                condition=models.Q(("township__isnull", True)),
                fields=("county", "year"),
                name="one_annual_meeting_per_year",
                violation_error_message="The county already has its annual meeting in this year.",
            ),
        ),
        migrations.AddConstraint(
            model_name="annualmeeting",
            constraint=models.UniqueConstraint(
                condition=models.Q(("township__isnull", False)),
                fields=("township", "year"),
                name="one_township_meeting_per_year",
                violation_error_message="The township already has its annual meeting in this year.",
            ),
        ),
    ]

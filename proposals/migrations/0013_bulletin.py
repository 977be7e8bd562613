import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# A published bulletin is frozen on PostgreSQL: UPDATE and DELETE of a published row are refused
# (a draft may be edited and deleted). SQLite has no such trigger; the services refuse there too.
CREATE = """
CREATE OR REPLACE FUNCTION proposals_bulletin_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'published' THEN
        RAISE EXCEPTION '% of %.id=% refused: the bulletin is published', TG_OP, TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER proposals_bulletin_frozen
    BEFORE UPDATE OR DELETE ON proposals_bulletin
    FOR EACH ROW EXECUTE FUNCTION proposals_bulletin_frozen();
"""
DROP = """
DROP TRIGGER IF EXISTS proposals_bulletin_frozen ON proposals_bulletin;
DROP FUNCTION IF EXISTS proposals_bulletin_frozen();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    """The periodic bulletin (定期通报), frozen once published."""

    dependencies = [
        ("liaison", "0009_login_throttle"),
        ("proposals", "0012_proposer_privacy_consent"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Bulletin",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("month", "monthly"), ("quarter", "quarterly")],
                        max_length=8,
                        verbose_name="kind",
                    ),
                ),
                ("year", models.PositiveSmallIntegerField(verbose_name="year")),
                ("number", models.PositiveSmallIntegerField(verbose_name="month or quarter")),
                ("start", models.DateField(verbose_name="from")),
                ("end", models.DateField(verbose_name="until")),
                (
                    "status",
                    models.CharField(
                        choices=[("draft", "draft"), ("published", "published")],
                        default="draft",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "serial_year",
                    models.PositiveSmallIntegerField(
                        blank=True, editable=False, null=True, verbose_name="issue year"
                    ),
                ),
                (
                    "serial",
                    models.PositiveSmallIntegerField(
                        blank=True, editable=False, null=True, verbose_name="issue number"
                    ),
                ),
                ("commentary", models.TextField(blank=True, max_length=8000, verbose_name="commentary")),
                (
                    "figures",
                    models.JSONField(blank=True, default=dict, editable=False, verbose_name="figures"),
                ),
                (
                    "figures_at",
                    models.DateTimeField(
                        blank=True, editable=False, null=True, verbose_name="figures computed at"
                    ),
                ),
                (
                    "typical_matters",
                    models.JSONField(
                        blank=True, default=list, editable=False, verbose_name="typical matters"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="drafted at"
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="updated at"
                    ),
                ),
                (
                    "published_at",
                    models.DateTimeField(blank=True, editable=False, null=True, verbose_name="published at"),
                ),
                (
                    "county",
                    models.ForeignKey(
                        limit_choices_to={"level": "county"},
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="bulletins",
                        to="liaison.region",
                        verbose_name="county",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="drafted by",
                    ),
                ),
                (
                    "published_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="published by",
                    ),
                ),
            ],
            options={
                "verbose_name": "bulletin",
                "verbose_name_plural": "bulletins",
                "ordering": ["-end", "-kind", "-id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("county", "kind", "year", "number"), name="bulletin_one_per_period"
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("serial__isnull", False)),
                        fields=("county", "serial_year", "serial"),
                        name="bulletin_unique_serial",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("kind", "month"), ("number__gte", 1), ("number__lte", 12)),
                            models.Q(("kind", "quarter"), ("number__gte", 1), ("number__lte", 4)),
                            _connector="OR",
                        ),
                        name="bulletin_number_in_range",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("serial__isnull", True), ("status", "draft")),
                            models.Q(
                                ("published_at__isnull", False),
                                ("serial__isnull", False),
                                ("serial_year__isnull", False),
                                ("status", "published"),
                            ),
                            _connector="OR",
                        ),
                        name="bulletin_published_is_numbered",
                    ),
                ],
            },
        ),
        migrations.RunPython(create_trigger, drop_trigger, elidable=False),
    ]

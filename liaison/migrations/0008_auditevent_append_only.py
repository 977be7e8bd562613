import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# One function for both append-only tables (this one and proposals' ticket timeline): it
# refuses every UPDATE and DELETE, except a DELETE of a table created with the 'purgeable'
# argument, of a row older than six months (网络安全法 第二十一条: logs kept at least six
# months), inside a transaction that said ``SET LOCAL liaison.audit_purge = 'on'`` -- which
# only ``liaison.audit.purge`` (the ``purge_audit`` command and its beat task) does.
# TRUNCATE is not refused: Django's test flush empties tables with it.
FUNCTION = """
CREATE OR REPLACE FUNCTION liaison_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_NARGS > 0 AND TG_ARGV[0] = 'purgeable'
       AND current_setting('liaison.audit_purge', true) = 'on'
       AND OLD.at < now() - interval '6 months' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% of %.id=% refused: the table is append-only', TG_OP, TG_TABLE_NAME, OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER liaison_auditevent_append_only
    BEFORE UPDATE OR DELETE ON liaison_auditevent
    FOR EACH ROW EXECUTE FUNCTION liaison_append_only('purgeable');
"""

DROP = """
DROP TRIGGER IF EXISTS liaison_auditevent_append_only ON liaison_auditevent;
DROP FUNCTION IF EXISTS liaison_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    """The audit log records the client's IP and the outcome, and is append-only on PostgreSQL."""

    dependencies = [
        ("liaison", "0007_securitypolicy"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="ip",
            field=models.GenericIPAddressField(blank=True, null=True, verbose_name="IP address"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="outcome",
            field=models.CharField(
                choices=[("ok", "done"), ("refused", "refused")],
                default="ok",
                max_length=16,
                verbose_name="outcome",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="actor",
            ),
        ),
        migrations.RunPython(create_trigger, drop_trigger, elidable=False),
    ]

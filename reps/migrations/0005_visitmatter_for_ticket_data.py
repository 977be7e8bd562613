"""A visit matter recorded before ``for_ticket`` existed and not answered on the spot was left
for a suggestion ticket: say so, as a reception matter would."""

from django.db import migrations


def forwards(apps, schema_editor):
    VisitMatter = apps.get_model("reps", "VisitMatter")
    VisitMatter.objects.filter(answered_on_spot=False).update(for_ticket=True)


class Migration(migrations.Migration):
    dependencies = [("reps", "0004_visitmatter_for_ticket_category")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

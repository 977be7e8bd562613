"""Each ticket keeps its category: every old category becomes the row of the same name in
liaison's list (created, with its order and active flag, if the list lacks it)."""

from django.db import migrations


def forwards(apps, schema_editor):
    Old = apps.get_model("proposals", "Category")
    New = apps.get_model("liaison", "Category")
    Ticket = apps.get_model("proposals", "Ticket")
    for old in Old.objects.all():
        new, _created = New.objects.get_or_create(
            name=old.name, defaults={"order": old.order, "is_active": old.is_active}
        )
        Ticket.objects.filter(category=old).update(category_new=new)


def backwards(apps, schema_editor):
    Old = apps.get_model("proposals", "Category")
    New = apps.get_model("liaison", "Category")
    Ticket = apps.get_model("proposals", "Ticket")
    for new in New.objects.all():
        old, _created = Old.objects.get_or_create(
            name=new.name, defaults={"order": new.order, "is_active": new.is_active}
        )
        Ticket.objects.filter(category_new=new).update(category=old)


class Migration(migrations.Migration):
    dependencies = [("proposals", "0005_category_to_liaison_add")]

    operations = [migrations.RunPython(forwards, backwards)]

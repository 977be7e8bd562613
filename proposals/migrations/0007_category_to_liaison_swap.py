"""The ticket's category now points into liaison's list; proposals' own list is gone."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("proposals", "0006_category_to_liaison_copy")]

    operations = [
        migrations.RemoveField(model_name="ticket", name="category"),
        migrations.RenameField(model_name="ticket", old_name="category_new", new_name="category"),
        migrations.AlterField(
            model_name="ticket",
            name="category",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tickets",
                to="liaison.category",
                verbose_name="category",
            ),
        ),
        migrations.DeleteModel(name="Category"),
    ]

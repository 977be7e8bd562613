"""A public-opinion report's category now points into liaison's one list."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("studios", "0004_one_category_list_copy")]

    operations = [
        migrations.RemoveField(model_name="opinionreport", name="category"),
        migrations.RenameField(model_name="opinionreport", old_name="category_new", new_name="category"),
        migrations.AlterField(
            model_name="opinionreport",
            name="category",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="opinion_reports",
                to="liaison.category",
                verbose_name="category",
            ),
        ),
    ]

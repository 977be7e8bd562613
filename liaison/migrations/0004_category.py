"""The one list of matter categories, moved here from proposals so that tickets, reception and
visit matters and public-opinion reports can all read it (proposals 0005-0007 and studios
0002-0004 move their rows onto it). Seeded with the default categories of DOMAIN.md."""

from django.db import migrations, models

CATEGORIES = [
    "城乡建设",
    "民生保障",
    "交通出行",
    "生态环境",
    "教育",
    "医疗卫生",
    "农业农村",
    "党的建设",
    "其他",
]


def seed(apps, schema_editor):
    Category = apps.get_model("liaison", "Category")
    for order, name in enumerate(CATEGORIES, start=1):
        Category.objects.get_or_create(name=name, defaults={"order": order * 10})


class Migration(migrations.Migration):
    dependencies = [("liaison", "0003_notifications")]

    operations = [
        migrations.CreateModel(
            name="Category",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=32, unique=True, verbose_name="name")),
                ("order", models.PositiveSmallIntegerField(default=100, verbose_name="order")),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
            ],
            options={
                "verbose_name": "category",
                "verbose_name_plural": "categories",
                "ordering": ["order", "id"],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]

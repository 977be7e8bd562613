"""Default ticket categories (DOMAIN.md) and the holiday calendar the chinesecalendar package knows."""

from django.db import migrations

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


def forwards(apps, schema_editor):
    from proposals import holidays

    Category = apps.get_model("proposals", "Category")
    for order, name in enumerate(CATEGORIES, start=1):
        Category.objects.get_or_create(name=name, defaults={"order": order * 10})
    holidays.load(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("proposals", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

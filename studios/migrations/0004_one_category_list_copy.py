"""Each public-opinion report's category code becomes the row of the one list that means the
same (交通 → 交通出行, ...); a row the list lacks (renamed in the admin) is created."""

from django.db import migrations

# The codes of the former OpinionReport.Category and the names of the default list (DOMAIN.md).
CODE_TO_NAME = {
    "urban": "城乡建设",
    "livelihood": "民生保障",
    "transport": "交通出行",
    "environment": "生态环境",
    "education": "教育",
    "health": "医疗卫生",
    "agriculture": "农业农村",
    "party": "党的建设",
    "other": "其他",
}


def forwards(apps, schema_editor):
    Category = apps.get_model("liaison", "Category")
    OpinionReport = apps.get_model("studios", "OpinionReport")
    codes = set(OpinionReport.objects.values_list("category", flat=True).distinct())
    for code in codes:
        name = CODE_TO_NAME.get(code, "其他")
        row, _created = Category.objects.get_or_create(name=name, defaults={"order": 100})
        OpinionReport.objects.filter(category=code).update(category_new=row)


def backwards(apps, schema_editor):
    OpinionReport = apps.get_model("studios", "OpinionReport")
    Category = apps.get_model("liaison", "Category")
    to_code = {name: code for code, name in CODE_TO_NAME.items()}
    for row in Category.objects.all():
        OpinionReport.objects.filter(category_new=row).update(category=to_code.get(row.name, "other"))


class Migration(migrations.Migration):
    dependencies = [("studios", "0003_one_category_list_add")]

    operations = [migrations.RunPython(forwards, backwards)]

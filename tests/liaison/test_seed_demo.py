from django.apps import apps
from django.core.management import call_command

from liaison.models import HandlingUnit, Region, User
from liaison.roles import Role


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_seed_demo_twice_leaves_the_same_rows(db):
    call_command("seed_demo", "--i-know-this-is-not-production", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = row_counts()
    call_command("seed_demo", "--i-know-this-is-not-production", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert row_counts() == first


def test_the_demo_has_a_county_three_townships_a_dozen_units_and_a_login_per_role(db):
    call_command("seed_demo", "--i-know-this-is-not-production", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Region.objects.counties().count() == 1
    assert Region.objects.townships().count() == 3
    assert Region.objects.filter(level="village").count() >= 6
    assert HandlingUnit.objects.count() >= 12
    held = set(User.objects.exclude(is_superuser=True).values_list("roles__role", flat=True))
    assert held == set(Role.values)
    for user in User.objects.all():
        assert user.check_password("demo-2026"), user.username

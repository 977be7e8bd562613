"""factory_boy factories for every model the tests build."""

import factory
from factory.django import DjangoModelFactory

from liaison.models import AnnualMeeting, HandlingUnit, Region, RoleAssignment, User
from liaison.roles import Role


class CountyFactory(DjangoModelFactory):
    class Meta:
        model = Region

    name = factory.Sequence(lambda n: f"测试县{n}")
    level = Region.Level.COUNTY
    parent = None


class TownshipFactory(DjangoModelFactory):
    class Meta:
        model = Region

    name = factory.Sequence(lambda n: f"测试镇{n}")
    level = Region.Level.TOWNSHIP
    parent = factory.SubFactory(CountyFactory)


class VillageFactory(DjangoModelFactory):
    class Meta:
        model = Region

    name = factory.Sequence(lambda n: f"测试村{n}")
    level = Region.Level.VILLAGE
    parent = factory.SubFactory(TownshipFactory)


class HandlingUnitFactory(DjangoModelFactory):
    class Meta:
        model = HandlingUnit

    name = factory.Sequence(lambda n: f"办理单位{n}")
    region = factory.SubFactory(TownshipFactory)
    contact_person = "联系人"
    phone = "0513-88000000"


class AnnualMeetingFactory(DjangoModelFactory):
    class Meta:
        model = AnnualMeeting

    county = factory.SubFactory(CountyFactory)
    year = 2026
    date = factory.LazyAttribute(lambda o: __import__("datetime").date(o.year, 12, 20))


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class RoleFactory(DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    role = Role.TOWNSHIP_STAFF
    region = factory.SubFactory(TownshipFactory)


def user_with_role(
    role: str, *, region: Region | None = None, unit: HandlingUnit | None = None, **kwargs
) -> User:
    """Create a user holding one role anchored at ``region`` or ``unit``."""
    user = UserFactory(**kwargs)
    RoleAssignment.objects.create(user=user, role=role, region=unit.region if unit else region, unit=unit)
    return user

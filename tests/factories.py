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


# --- reps ---------------------------------------------------------------------------------

import datetime  # noqa: E402

from reps.models import Contact, ContactLink, HomeVisit, Mandate, Representative  # noqa: E402


class RepresentativeFactory(DjangoModelFactory):
    class Meta:
        model = Representative

    name = factory.Sequence(lambda n: f"代表{n}")
    region = factory.SubFactory(TownshipFactory)
    title = "村党支部书记"
    phone = factory.Sequence(lambda n: f"139{n:08d}")


class MandateFactory(DjangoModelFactory):
    class Meta:
        model = Mandate

    representative = factory.SubFactory(RepresentativeFactory)
    level = "county"
    congress = "第十五次党代会"
    term_start = datetime.date(2024, 1, 1)
    term_end = datetime.date(2028, 12, 31)


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = Contact

    name = factory.Sequence(lambda n: f"群众{n}")
    village = factory.SubFactory(VillageFactory)
    phone = ""


class ContactLinkFactory(DjangoModelFactory):
    class Meta:
        model = ContactLink

    representative = factory.SubFactory(RepresentativeFactory)
    contact = factory.SubFactory(ContactFactory)
    since = datetime.date(2024, 1, 1)


def active_rep(region, *, user=None, levels=("county",), **kwargs) -> Representative:
    """A representative based in ``region`` with a running mandate at each of ``levels``."""
    rep = RepresentativeFactory(region=region, user=user, **kwargs)
    for level in levels:
        MandateFactory(representative=rep, level=level, congress=f"{level}第十五次党代会")
    return rep


def visit(rep, contacts, day, *, recorded_by):
    v = HomeVisit.objects.create(date=day, township=contacts[0].village.parent, recorded_by=recorded_by)
    v.representatives.add(rep)
    v.contacts.add(*contacts)
    return v


# --- studios ------------------------------------------------------------------------------

from studios.models import RosterRule, Studio, StudioAssignment  # noqa: E402


class StudioFactory(DjangoModelFactory):
    class Meta:
        model = Studio

    name = factory.Sequence(lambda n: f"党代表工作室{n}")
    level = Studio.Level.TOWNSHIP
    region = factory.SubFactory(TownshipFactory)
    address = "镇政府一楼"
    phone = "0513-88110000"
    area_m2 = 20


class RuleFactory(DjangoModelFactory):
    """Every Saturday morning, one representative on duty."""

    class Meta:
        model = RosterRule

    studio = factory.SubFactory(StudioFactory)
    kind = "regular"
    weekday = 5
    start_time = datetime.time(9, 0)
    end_time = datetime.time(11, 30)
    reps_per_slot = 1


def studio_with_reps(region, n_reps: int = 3, *, start=datetime.date(2024, 1, 1), **kwargs) -> Studio:
    """A studio in ``region`` with ``n_reps`` active representatives assigned to it."""
    studio = StudioFactory(region=region, **kwargs)
    for _ in range(n_reps):
        StudioAssignment.objects.create(studio=studio, representative=active_rep(region), start=start)
    return studio

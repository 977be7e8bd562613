"""visible_to(user) per role: the one mechanism every list goes through."""

from django.contrib.auth.models import AnonymousUser

from liaison.models import AnnualMeeting, HandlingUnit, Region, RoleAssignment, User
from liaison.roles import Role
from tests.factories import (
    AnnualMeetingFactory,
    CountyFactory,
    TownshipFactory,
    UserFactory,
    user_with_role,
)
from tests.helpers import reload


def test_township_staff_see_only_their_township_subtree(
    clerk_a, township_a, township_b, village_a, village_b
):
    assert set(Region.objects.visible_to(clerk_a)) == {township_a, village_a}


def test_township_staff_see_only_their_townships_units(clerk_a, unit_a, unit_b, county_unit):
    assert list(HandlingUnit.objects.visible_to(clerk_a)) == [unit_a]


def test_township_staff_see_only_users_of_their_township(clerk_a, clerk_b, liaison_office, rep_a, unit_staff):
    assert set(User.objects.visible_to(clerk_a)) == {clerk_a, rep_a}


def test_liaison_office_sees_the_whole_county(
    liaison_office, county, township_a, township_b, unit_a, unit_b, county_unit
):
    other_county_unit_region = TownshipFactory(parent=CountyFactory(name="别县"))
    assert other_county_unit_region not in Region.objects.visible_to(liaison_office)
    assert set(HandlingUnit.objects.visible_to(liaison_office)) == {unit_a, unit_b, county_unit}


def test_unit_staff_see_their_own_unit_only(unit_staff, county_unit, unit_a):
    assert list(HandlingUnit.objects.visible_to(unit_staff)) == [county_unit]
    assert list(Region.objects.visible_to(unit_staff)) == []


def test_a_representative_administers_no_region(rep_a, township_a, unit_a):
    assert not Region.objects.visible_to(rep_a).exists()
    assert not HandlingUnit.objects.visible_to(rep_a).exists()
    assert list(User.objects.visible_to(rep_a)) == [rep_a]


def test_anonymous_and_inactive_users_see_nothing(db, township_a, unit_a):
    inactive = user_with_role(Role.TOWNSHIP_STAFF, region=township_a, is_active=False)
    for viewer in (AnonymousUser(), inactive):
        assert not Region.objects.visible_to(viewer).exists()
        assert not HandlingUnit.objects.visible_to(viewer).exists()


def test_superuser_sees_everything(db, unit_a, unit_b):
    root = UserFactory(is_superuser=True)
    assert HandlingUnit.objects.visible_to(root).count() == 2


def test_two_roles_add_up(clerk_a, township_b, unit_a, unit_b):
    RoleAssignment.objects.create(user=clerk_a, role=Role.TOWNSHIP_STAFF, region=township_b)
    clerk_a = reload(clerk_a)  # scope is cached per instance
    assert set(HandlingUnit.objects.visible_to(clerk_a)) == {unit_a, unit_b}


def test_annual_meetings_are_visible_to_everyone_in_the_county(clerk_a, unit_staff, county):
    meeting = AnnualMeetingFactory(county=county)
    AnnualMeetingFactory(county=CountyFactory(name="别县"))
    assert list(AnnualMeeting.objects.visible_to(clerk_a)) == [meeting]
    assert list(AnnualMeeting.objects.visible_to(unit_staff)) == [meeting]


def test_scope_is_computed_in_one_query(clerk_a, django_assert_num_queries):
    fresh = reload(clerk_a)
    with django_assert_num_queries(1):
        assert fresh.scope is fresh.scope
        assert fresh.is_staff


def test_role_permissions_come_from_roles(clerk_a, rep_a):
    assert clerk_a.has_perm("liaison.change_handlingunit")
    assert not clerk_a.has_perm("liaison.delete_handlingunit")
    assert not rep_a.has_perm("liaison.view_handlingunit")
    assert clerk_a.is_staff and not rep_a.is_staff

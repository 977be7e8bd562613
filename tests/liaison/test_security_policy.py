"""The security policy that applies to a user (``liaison.security.policy_for``) and its admin."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.management import call_command

from liaison.models import Region, SecurityPolicy, User
from liaison.roles import Role
from liaison.security import policy_for
from tests.factories import CountyFactory, TownshipFactory, UserFactory, user_with_role
from tests.helpers import refusal


def test_a_county_without_a_row_gives_the_defaults(clerk_a):
    policy = policy_for(clerk_a)
    assert policy.pk is None
    assert (policy.idle_timeout_minutes, policy.lockout_failures, policy.lockout_minutes) == (30, 5, 15)
    assert policy.staff_sessions_end_at_browser_close and not policy.single_session
    assert set(policy.two_factor_roles) == {
        Role.LIAISON_OFFICE,
        Role.TOWNSHIP_STAFF,
        Role.STUDIO_OFFICER,
        Role.HANDLING_UNIT,
    }
    assert policy.two_factor_superusers
    assert (policy.audit_retention_months, policy.anonymise_after_years) == (6, 5)


def test_a_user_of_one_county_gets_that_countys_row(county, clerk_a, unit_staff):
    other = SecurityPolicy.objects.create(county=CountyFactory(), idle_timeout_minutes=5, lockout_failures=2)
    mine = SecurityPolicy.objects.create(county=county, idle_timeout_minutes=45, lockout_failures=8)
    assert policy_for(clerk_a) == mine  # a township's staff: the township's county
    assert policy_for(unit_staff) == mine  # a county unit's staff: the unit's county
    assert policy_for(clerk_a).idle_timeout_minutes == 45 and other.pk


def test_a_user_of_two_counties_gets_the_strictest_of_both_field_by_field(county, township_a):
    second = CountyFactory()
    SecurityPolicy.objects.create(
        county=county,
        idle_timeout_minutes=20,
        lockout_failures=8,
        lockout_minutes=10,
        single_session=False,
        staff_sessions_end_at_browser_close=False,
        two_factor_roles=[Role.LIAISON_OFFICE],
        two_factor_superusers=False,
        audit_retention_months=12,
        anonymise_after_years=3,
    )
    SecurityPolicy.objects.create(
        county=second,
        idle_timeout_minutes=40,
        lockout_failures=3,
        lockout_minutes=60,
        single_session=True,
        staff_sessions_end_at_browser_close=False,
        two_factor_roles=[Role.HANDLING_UNIT, Role.LIAISON_OFFICE],
        two_factor_superusers=False,
        audit_retention_months=6,
        anonymise_after_years=4,
    )
    user = user_with_role(Role.TOWNSHIP_STAFF, region=township_a)
    user.roles.create(role=Role.REPRESENTATIVE, region=TownshipFactory(parent=second))
    user = User.objects.get(pk=user.pk)
    policy = policy_for(user)
    assert policy.pk is None  # combined, never to be saved
    assert policy.idle_timeout_minutes == 20
    assert policy.lockout_failures == 3
    assert policy.lockout_minutes == 60  # the longer lockout is the stricter
    assert policy.single_session is True
    assert policy.staff_sessions_end_at_browser_close is False
    assert policy.two_factor_roles == [Role.LIAISON_OFFICE, Role.HANDLING_UNIT]
    assert policy.two_factor_superusers is False
    assert policy.audit_retention_months == 12  # the longer-kept log is the stricter
    assert policy.anonymise_after_years == 3


def test_a_second_county_without_a_row_counts_as_the_defaults(county, township_a):
    SecurityPolicy.objects.create(county=county, idle_timeout_minutes=60, lockout_failures=10)
    user = user_with_role(Role.TOWNSHIP_STAFF, region=township_a)
    user.roles.create(role=Role.REPRESENTATIVE, region=CountyFactory())
    policy = policy_for(User.objects.get(pk=user.pk))
    assert (policy.idle_timeout_minutes, policy.lockout_failures) == (30, 5)


def test_a_superuser_gets_the_strictest_of_every_county(db):
    SecurityPolicy.objects.create(county=CountyFactory(), idle_timeout_minutes=50, two_factor_roles=[])
    SecurityPolicy.objects.create(county=CountyFactory(), idle_timeout_minutes=25, lockout_failures=9)
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    policy = policy_for(admin)
    assert (policy.idle_timeout_minutes, policy.lockout_failures) == (25, 5)
    assert policy_for(AnonymousUser()).idle_timeout_minutes == 25


def test_no_row_at_all_gives_the_defaults_to_everyone(db):
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    for user in (admin, UserFactory(), AnonymousUser()):
        policy = policy_for(user)
        assert policy.pk is None and policy.idle_timeout_minutes == 30 and policy.lockout_failures == 5


def test_the_policy_is_read_once_per_user_object(county, clerk_a, django_assert_num_queries):
    SecurityPolicy.objects.create(county=county, idle_timeout_minutes=45)
    policy_for(clerk_a)
    with django_assert_num_queries(0):
        assert policy_for(clerk_a).idle_timeout_minutes == 45


@pytest.mark.parametrize(
    ("field", "value"),
    [("audit_retention_months", 5), ("anonymise_after_years", 0), ("lockout_failures", 0)],
)
def test_the_legal_and_sane_minimums_are_enforced(county, field, value):
    policy = SecurityPolicy(county=county, **{field: value})
    with pytest.raises(ValidationError) as error:
        policy.full_clean()
    assert list(refusal(error.value)) == [field]


def test_an_unknown_role_in_the_two_factor_list_is_refused(county):
    with pytest.raises(ValidationError) as error:
        SecurityPolicy(county=county, two_factor_roles=["mayor"]).full_clean()
    assert list(refusal(error.value)) == ["two_factor_roles"]


def test_a_township_cannot_have_a_policy(township_a):
    with pytest.raises(ValidationError) as error:
        SecurityPolicy(county=township_a).full_clean()
    assert "county" in refusal(error.value)


def test_the_liaison_office_edits_its_countys_policy_and_township_staff_do_not_see_it(
    client, county, liaison_office, clerk_a
):
    policy = SecurityPolicy.objects.create(county=county)
    SecurityPolicy.objects.create(county=CountyFactory(name="外县"))
    client.force_login(liaison_office)
    listing = client.get("/admin/liaison/securitypolicy/")
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [policy]
    url = f"/admin/liaison/securitypolicy/{policy.pk}/change/"
    response = client.post(
        url,
        {
            "idle_timeout_minutes": 20,
            "staff_sessions_end_at_browser_close": "on",
            "lockout_failures": 4,
            "lockout_minutes": 30,
            "two_factor_roles": [Role.LIAISON_OFFICE],
            "audit_retention_months": 12,
            "anonymise_after_years": 5,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    policy.refresh_from_db()
    assert (policy.idle_timeout_minutes, policy.two_factor_roles) == (20, [Role.LIAISON_OFFICE])
    assert policy.two_factor_superusers is False and policy.single_session is False

    client.force_login(clerk_a)
    assert client.get("/admin/liaison/securitypolicy/").status_code == 403
    assert client.get(url).status_code == 404  # out of scope: answered like a missing row


def test_the_demo_county_signs_in_with_a_password_alone(db):
    call_command("seed_demo", "--i-know-this-is-not-production", stdout=open("/dev/null", "w"))  # noqa: SIM115
    policy = SecurityPolicy.objects.get(county=Region.objects.counties().get())
    assert policy.two_factor_roles == [] and policy.two_factor_superusers is False
    assert policy_for(User.objects.get(username="admin")).two_factor_superusers is False
    assert policy_for(User.objects.get(username="lianban")).two_factor_roles == []

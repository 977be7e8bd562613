"""The admin shows a township clerk their township only, and 404s the rest."""

import pytest
from django.urls import reverse

from liaison.models import HandlingUnit, RoleAssignment, User
from liaison.roles import Role
from tests.factories import UserFactory


@pytest.fixture
def as_clerk_a(client, clerk_a):
    client.force_login(clerk_a)
    return client


def test_changelist_lists_only_own_townships_units(as_clerk_a, unit_a, unit_b, county_unit):
    page = as_clerk_a.get(reverse("admin:liaison_handlingunit_changelist")).content.decode()
    assert unit_a.name in page
    assert unit_b.name not in page and county_unit.name not in page


def test_filters_do_not_reveal_other_townships(as_clerk_a, unit_a, unit_b, county_unit):
    for url in ("admin:liaison_handlingunit_changelist", "admin:liaison_user_changelist"):
        page = as_clerk_a.get(reverse(url)).content.decode()
        assert "河口镇" not in page and "和平县" not in page


def test_change_page_of_another_townships_unit_is_404(as_clerk_a, unit_b):
    response = as_clerk_a.get(reverse("admin:liaison_handlingunit_change", args=[unit_b.pk]))
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_history_and_delete_of_another_townships_unit_are_404(as_clerk_a, unit_b):
    assert as_clerk_a.get(reverse("admin:liaison_handlingunit_history", args=[unit_b.pk])).status_code == 404
    assert as_clerk_a.get(reverse("admin:liaison_handlingunit_delete", args=[unit_b.pk])).status_code in (
        403,
        404,
    )


def refusals(response) -> set[str]:
    """The fields an admin add page refused: the main form's, and each inline form's as prefix-i-field."""
    assert response.status_code == 200  # the form again, with its errors
    refused = set(response.context["adminform"].form.errors)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for i, form in enumerate(formset.forms):
            refused |= {f"{formset.prefix}-{i}-{field}" for field in form.errors}
        if formset.non_form_errors():
            refused.add(formset.prefix)
    return refused


def test_user_changelist_and_change_page_are_scoped(as_clerk_a, clerk_b, rep_a):
    page = as_clerk_a.get(reverse("admin:liaison_user_changelist")).content.decode()
    assert rep_a.username in page and clerk_b.username not in page
    assert as_clerk_a.get(reverse("admin:liaison_user_change", args=[clerk_b.pk])).status_code == 404


def test_a_unit_cannot_be_created_in_another_township(as_clerk_a, township_a, township_b):
    url = reverse("admin:liaison_handlingunit_add")
    response = as_clerk_a.post(url, {"name": "冒名单位", "region": township_b.pk, "is_active": "on"})
    assert response.status_code == 200  # the form again, with an error
    assert refusals(response) == {"region"}  # not a township of theirs
    assert not HandlingUnit.objects.filter(name="冒名单位").exists()
    response = as_clerk_a.post(url, {"name": "自己的单位", "region": township_a.pk, "is_active": "on"})
    assert response.status_code == 302
    assert HandlingUnit.objects.get(name="自己的单位").region == township_a


def new_user_form(**role):
    return {
        "username": "newbie",
        "name": "新人",
        "phone": "13800000000",
        "usable_password": "true",
        "password1": "Zx9-long-pass!",
        "password2": "Zx9-long-pass!",
        "roles-TOTAL_FORMS": "1",
        "roles-INITIAL_FORMS": "0",
        "roles-MIN_NUM_FORMS": "1",
        "roles-MAX_NUM_FORMS": "1000",
        "roles-0-role": role.get("role", ""),
        "roles-0-region": role.get("region", ""),
        "roles-0-unit": role.get("unit", ""),
    }


def test_a_clerk_creates_a_user_together_with_a_role_in_their_township(as_clerk_a, township_a):
    url = reverse("admin:liaison_user_add")
    assert refusals(as_clerk_a.post(url, new_user_form())) == {"roles-0-role", "roles-0-region"}  # no role
    assert not User.objects.filter(username="newbie").exists()
    response = as_clerk_a.post(url, new_user_form(role=Role.REPRESENTATIVE, region=township_a.pk))
    assert response.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert list(newbie.roles.values_list("role", "region")) == [(Role.REPRESENTATIVE, township_a.pk)]
    assert as_clerk_a.get(reverse("admin:liaison_user_change", args=[newbie.pk])).status_code == 200


def test_a_clerk_cannot_grant_the_liaison_office_role(as_clerk_a, county):
    response = as_clerk_a.post(
        reverse("admin:liaison_user_add"), new_user_form(role=Role.LIAISON_OFFICE, region=county.pk)
    )
    assert refusals(response) == {"roles-0-role", "roles-0-region"}  # not theirs to grant
    assert not User.objects.filter(username="newbie").exists()


def test_a_clerk_cannot_anchor_a_role_in_another_township(as_clerk_a, township_b):
    response = as_clerk_a.post(
        reverse("admin:liaison_user_add"),
        new_user_form(role=Role.REPRESENTATIVE, region=township_b.pk),
    )
    assert refusals(response) == {"roles-0-region"}
    assert "选择一个有效的选项" in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_a_clerk_cannot_edit_a_superuser_or_make_one(as_clerk_a, clerk_a):
    root = UserFactory(is_superuser=True)
    RoleAssignment.objects.create(user=root, role=Role.TOWNSHIP_STAFF, region=clerk_a.roles.get().region)
    page = as_clerk_a.get(reverse("admin:liaison_user_change", args=[root.pk])).content.decode()
    assert 'name="username"' not in page  # read-only view
    page = as_clerk_a.get(reverse("admin:liaison_user_change", args=[clerk_a.pk])).content.decode()
    assert "is_superuser" not in page


def test_non_staff_roles_get_403_from_the_admin(client, rep_a):
    client.force_login(rep_a)
    response = client.get(reverse("admin:index"), follow=True)
    assert response.status_code == 403
    assert "权限" in response.content.decode()


def test_anonymous_visitors_are_sent_to_the_product_login(client):
    response = client.get(reverse("admin:liaison_region_changelist"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "next=" in response.redirect_chain[-1][0] and response.status_code == 200


def test_the_admin_speaks_chinese(client, liaison_office):
    client.force_login(liaison_office)
    page = client.get(reverse("admin:index")).content.decode()
    assert "党代表工作室" in page and "办理单位" in page and "用户" in page


@pytest.mark.parametrize("size", [10, 200])
def test_user_changelist_queries_do_not_grow_with_rows(
    client, liaison_office, township_a, django_assert_max_num_queries, size
):
    from tests.factories import user_with_role

    for _ in range(size):
        user_with_role(Role.REPRESENTATIVE, region=township_a)
    client.force_login(liaison_office)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("admin:liaison_user_changelist")).status_code == 200


@pytest.mark.parametrize("model", ["reps_homevisit", "studios_reception"])
def test_records_of_work_cannot_be_deleted_in_bulk(as_clerk_a, model):
    """Visits and receptions are the evidence of the duty report: never deleted, withdrawn one at
    a time with a reason, after confirming (tests/reps/test_withdrawal.py)."""
    changelist = as_clerk_a.get(reverse(f"admin:{model}_changelist"))
    assert changelist.status_code == 200
    model_admin = changelist.context["cl"].model_admin
    assert not model_admin.has_delete_permission(changelist.wsgi_request)
    assert model_admin.has_withdraw_permission(changelist.wsgi_request)
    assert "delete_selected" not in model_admin.get_actions(changelist.wsgi_request)


def test_changelists_have_the_whole_width_without_the_app_sidebar(as_clerk_a, unit_a):
    page = as_clerk_a.get(reverse("admin:liaison_handlingunit_changelist")).content.decode()
    assert unit_a.name in page
    assert 'id="nav-sidebar"' not in page


def test_a_list_page_does_not_build_the_app_list_the_index_shows(client, liaison_office, monkeypatch):
    """The app list asks every admin for the user's permissions; only the index (and an app's
    page) show it, the nav sidebar that would read it on every page is off."""
    from django.contrib.admin import AdminSite

    built = []
    original = AdminSite._build_app_dict
    monkeypatch.setattr(AdminSite, "_build_app_dict", lambda *a, **k: built.append(1) or original(*a, **k))
    client.force_login(liaison_office)
    assert client.get(reverse("admin:proposals_ticket_changelist")).status_code == 200
    assert built == []
    page = client.get(reverse("admin:index")).content.decode()
    assert built and "党代表工作室" in page and "办理单位" in page

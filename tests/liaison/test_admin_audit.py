"""Every add, change and delete by staff through the admin writes an audit row: who, from which
IP, which record, the before and after of the fields that changed (phones masked, passwords
never), in the record's region so that the record's staff may read it."""

import pytest
from django.contrib import admin
from django.urls import reverse

from liaison.admin_mixins import AuditedAdminMixin
from liaison.audit import mask_phone
from liaison.models import AuditEvent, HandlingUnit, User
from liaison.roles import Role
from tests.factories import HandlingUnitFactory


@pytest.fixture
def as_clerk_a(client, clerk_a):
    client.force_login(clerk_a)
    return client


def unit_form(unit, **changes):
    values = {
        "name": unit.name,
        "region": unit.region_id,
        "contact_person": unit.contact_person,
        "phone": unit.phone,
        "is_active": "on" if unit.is_active else "",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v != ""}


def test_every_registered_model_admin_is_audited():
    unaudited = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, AuditedAdminMixin)
    ]
    assert unaudited == []


def test_a_change_records_before_and_after_of_the_changed_fields_only(as_clerk_a, clerk_a, township_a):
    unit = HandlingUnitFactory(region=township_a, name="镇城建办", phone="13812345678")
    url = reverse("admin:liaison_handlingunit_change", args=[unit.pk])

    response = as_clerk_a.post(
        url, unit_form(unit, name="镇城建办公室", phone="13987654321"), REMOTE_ADDR="10.1.2.3"
    )

    assert response.status_code == 302
    row = AuditEvent.objects.get(verb="handlingunit.changed")
    assert (row.actor, row.subject_id, row.region, row.ip, row.outcome) == (
        clerk_a,
        str(unit.pk),
        township_a,
        "10.1.2.3",
        "ok",
    )
    assert row.data == {
        "via": "admin",
        "changes": {"name": ["镇城建办", "镇城建办公室"], "phone": ["138****5678", "139****4321"]},
    }


def test_an_addition_records_the_new_values(as_clerk_a, township_a):
    response = as_clerk_a.post(
        reverse("admin:liaison_handlingunit_add"),
        {"name": "新单位", "region": township_a.pk, "phone": "13800001111", "is_active": "on"},
    )
    assert response.status_code == 302
    unit = HandlingUnit.objects.get(name="新单位")
    row = AuditEvent.objects.get(verb="handlingunit.added")
    assert row.subject_id == str(unit.pk) and row.region == township_a
    assert row.data["changes"]["name"] == [None, "新单位"]
    assert row.data["changes"]["region"] == [None, township_a.pk]
    assert row.data["changes"]["phone"] == [None, "138****1111"]


def test_a_deletion_records_every_field_before(client, liaison_office, township_a):
    unit = HandlingUnitFactory(region=township_a, name="撤销的单位", phone="13812345678")
    client.force_login(liaison_office)

    response = client.post(reverse("admin:liaison_handlingunit_delete", args=[unit.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not HandlingUnit.objects.filter(pk=unit.pk).exists()
    row = AuditEvent.objects.get(verb="handlingunit.deleted")
    assert (row.actor, row.subject_id, row.subject_label, row.region) == (
        liaison_office,
        str(unit.pk),
        "撤销的单位",
        township_a,
    )
    assert row.data["changes"]["name"] == ["撤销的单位", None]
    assert row.data["changes"]["phone"] == ["138****5678", None]


def test_a_new_user_and_their_inline_role_are_audited_without_the_password(as_clerk_a, township_a):
    form = {
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
        "roles-0-role": Role.REPRESENTATIVE,
        "roles-0-region": township_a.pk,
    }
    assert as_clerk_a.post(reverse("admin:liaison_user_add"), form).status_code == 302
    newbie = User.objects.get(username="newbie")

    added = AuditEvent.objects.get(verb="user.added")
    assert added.subject_id == str(newbie.pk)
    assert added.data["changes"]["phone"] == [None, "138****0000"]
    assert not any("password" in name for name in added.data["changes"])
    assert "Zx9-long-pass!" not in str(added.data)
    role = AuditEvent.objects.get(verb="roleassignment.added")
    assert role.data["changes"]["role"] == [None, Role.REPRESENTATIVE]
    assert role.region == township_a


@pytest.mark.parametrize(
    ("phone", "shown"),
    [("13812345678", "138****5678"), ("0513-88000000", "0513-****0000"), ("12345", "****2345"), ("", "")],
)
def test_phones_are_masked_to_their_first_three_and_last_four(phone, shown):
    assert mask_phone(phone) == shown


def test_file_fields_are_logged_by_name_and_an_empty_one_as_nothing():
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db.models.fields.files import FieldFile

    from liaison.admin_mixins import _value
    from reps.models import ResearchReport

    class NoFields:
        fields = {}

    empty = FieldFile(ResearchReport(), ResearchReport._meta.get_field("file"), "")
    assert _value(NoFields, "file", empty) is None  # no file yet: its .url would raise
    assert _value(NoFields, "file", SimpleUploadedFile("报告.pdf", b"%PDF-1.4")) == "报告.pdf"

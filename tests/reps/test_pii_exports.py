"""Exports carry a phone only where the exporting role may see it (PIPL): a studio officer's
export of reps holds the published numbers only; contacts' numbers go to the staff who keep
the network, not to a studio officer."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from liaison.roles import Role
from reps import importing
from tests.factories import ContactFactory, ContactLinkFactory, StudioFactory, active_rep, user_with_role

REP_PHONE = importing.REP_COLUMNS.index(next(c for c in importing.REP_COLUMNS if c.field == "phone"))
CONTACT_PHONE = importing.CONTACT_COLUMNS.index(
    next(c for c in importing.CONTACT_COLUMNS if c.field == "phone")
)


def rows(client, url_name) -> list[list]:
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)][1:]


@pytest.fixture
def officer(township_a):
    user = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="officer_x")
    StudioFactory(region=township_a, liaison_officer=user)
    return user


@pytest.fixture
def two_reps(township_a):
    active_rep(township_a, name="公开", phone="13900001111", phone_public=True)
    active_rep(township_a, name="不公开", phone="13900002222", phone_public=False)


def phones_by_name(table, column) -> dict:
    return {r[0]: r[column] for r in table}


def test_a_studio_officers_rep_export_has_only_the_published_phones(client, officer, two_reps):
    client.force_login(officer)
    table = rows(client, "admin:reps_representative_export")
    assert phones_by_name(table, REP_PHONE) == {"公开": "13900001111", "不公开": None}
    assert "13900002222" not in str(table)


def test_township_staff_export_every_phone_of_their_reps(client, clerk_a, two_reps):
    client.force_login(clerk_a)
    table = rows(client, "admin:reps_representative_export")
    assert phones_by_name(table, REP_PHONE) == {"公开": "13900001111", "不公开": "13900002222"}


def test_contacts_phones_go_to_the_network_staff_not_to_a_studio_officer(
    client, clerk_a, officer, township_a, village_a
):
    rep = active_rep(township_a, name="不公开", phone="13900002222")
    ContactLinkFactory(
        representative=rep, contact=ContactFactory(village=village_a, name="甲", phone="13800001111")
    )
    client.force_login(clerk_a)
    assert [(r[0], r[CONTACT_PHONE]) for r in rows(client, "admin:reps_contact_export")] == [
        ("甲", "13800001111")
    ]
    client.force_login(officer)
    response = client.get(reverse("admin:reps_contact_export"))
    if response.status_code == 200:  # if a studio officer may export contacts at all
        content = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
        text = str([list(r) for r in content.iter_rows(values_only=True)])
        assert "13800001111" not in text and "13900002222" not in text


def test_an_export_of_people_is_audited(client, clerk_a, two_reps):
    from liaison.models import AuditEvent

    client.force_login(clerk_a)
    rows(client, "admin:reps_representative_export")
    event = AuditEvent.objects.get(verb="pii.exported")
    assert event.actor == clerk_a and event.data == {"kind": str(importing.Kind.REPRESENTATIVES), "rows": 2}

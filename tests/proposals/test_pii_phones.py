"""Phones masked in every staff view (138****5678); the full number only through the audited,
POST-only reveal, for the roles that must call: per model, a role that may and one that may not."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from liaison.models import AuditEvent
from liaison.pii import mask_phone
from liaison.roles import Role
from proposals.models import Proposer
from studios.models import Reception, Visitor
from tests.factories import ContactFactory, ContactLinkFactory, StudioFactory, active_rep, user_with_role

FULL = "13812345678"
MASKED = "138****5678"


def as_user(user) -> Client:
    client = Client(REMOTE_ADDR="10.9.8.7")
    client.force_login(user)
    return client


def reveal_url(obj) -> str:
    return reverse("reveal_phone", args=[obj._meta.label_lower, obj.pk])


def reveals(obj):
    return AuditEvent.objects.filter(
        verb="pii.phone_revealed", subject_type=obj._meta.label_lower, subject_id=str(obj.pk)
    )


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("0513-88123456", "0513-****3456"),
        ("0513-88123456-12", "0513-****3456"),
        ("010-1234567", "010-****4567"),
        ("", ""),
        ("123", "****"),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


# --- the ticket's proposers ------------------------------------------------------------------


@pytest.fixture
def signed(ticket, walk):
    """Township A's ticket, assigned by the township to unit_a (lead) with unit_a2 (co-unit)."""
    return walk(ticket, "signed", "township")


def test_the_ticket_page_shows_the_proposers_phone_masked_to_everyone(
    signed, clerk_a, unit_a_staff, unit_a2_staff, rep_a
):
    for user in (clerk_a, unit_a_staff, unit_a2_staff, rep_a):
        html = as_user(user).get(reverse("proposals:detail", args=[signed.pk])).content.decode()
        assert MASKED in html and FULL not in html, user.username


def test_the_reveal_button_is_offered_to_the_lead_unit_not_to_a_co_unit(signed, unit_a_staff, unit_a2_staff):
    proposer = signed.proposers.get()
    lead = as_user(unit_a_staff).get(reverse("proposals:detail", args=[signed.pk])).content.decode()
    co = as_user(unit_a2_staff).get(reverse("proposals:detail", args=[signed.pk])).content.decode()
    assert f'action="{reveal_url(proposer)}"' in lead
    assert f'action="{reveal_url(proposer)}"' not in co


def test_the_lead_unit_reveals_the_number_and_an_audit_row_is_written(signed, unit_a_staff):
    proposer = signed.proposers.get()
    response = as_user(unit_a_staff).post(reveal_url(proposer), {"next": "/tickets/"})
    assert response.status_code == 200 and f'href="tel:{FULL}"' in response.content.decode()
    row = reveals(proposer).get()
    assert (row.actor, row.ip, row.region_id) == (unit_a_staff, "10.9.8.7", signed.township_id)


@pytest.mark.parametrize("who", ["unit_a2_staff", "rep_a", "clerk_b", "unit_b_staff"])
def test_a_role_that_need_not_call_is_refused_and_nothing_is_audited(signed, who, request):
    proposer = signed.proposers.get()
    response = as_user(request.getfixturevalue(who)).post(reveal_url(proposer))
    assert response.status_code == 403 and FULL not in response.content.decode()
    assert not reveals(proposer).exists()


def test_the_township_staff_may_reveal_at_triage(ticket, clerk_a):
    proposer = ticket.proposers.get()
    assert as_user(clerk_a).post(reveal_url(proposer)).status_code == 200
    assert reveals(proposer).count() == 1


def test_a_get_shows_only_the_masked_number_and_audits_nothing(ticket, clerk_a):
    proposer = ticket.proposers.get()
    response = as_user(clerk_a).get(reveal_url(proposer))
    html = response.content.decode()
    assert response.status_code == 200 and MASKED in html and FULL not in html
    assert not reveals(proposer).exists()


def test_the_reveal_needs_the_csrf_token(ticket, clerk_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(clerk_a)
    assert client.post(reveal_url(ticket.proposers.get())).status_code == 403
    assert not Proposer.objects.filter(pk=0).exists() and not reveals(ticket.proposers.get()).exists()


def test_signed_out_visitors_are_sent_to_sign_in(ticket):
    response = Client().post(reveal_url(ticket.proposers.get()))
    assert response.status_code == 302 and "login" in response["Location"]


# --- reception visitors ----------------------------------------------------------------------


@pytest.fixture
def reception(township_a, clerk_a):
    officer = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="officer_a")
    studio = StudioFactory(region=township_a, liaison_officer=officer)
    reception = Reception.objects.create(
        township=township_a,
        studio=studio,
        kind="regular",
        starts_at=datetime.datetime(2026, 3, 7, 1, tzinfo=datetime.UTC),
        people_received=1,
        recorded_by=clerk_a,
    )
    Visitor.objects.create(reception=reception, name="刘阿姨", phone=FULL)
    reception.officer = officer
    return reception


def test_reception_visitors_are_masked_the_studio_officer_reveals_a_rep_on_duty_may_not(
    reception, township_a
):
    visitor = reception.visitors.get()
    rep_user = user_with_role(Role.REPRESENTATIVE, region=township_a, username="on_duty")
    reception.representatives.add(active_rep(township_a, user=rep_user))
    for user in (reception.officer, rep_user):
        html = as_user(user).get(reverse("studios:reception", args=[reception.pk])).content.decode()
        assert MASKED in html and FULL not in html
    assert as_user(rep_user).post(reveal_url(visitor)).status_code == 403
    assert as_user(reception.officer).post(reveal_url(visitor)).status_code == 200
    assert list(reveals(visitor).values_list("actor__username", flat=True)) == ["officer_a"]


# --- the admin: lists and change views -------------------------------------------------------


def test_the_admin_lists_and_change_views_show_contacts_and_reps_masked(township_a, village_a, clerk_a):
    contact = ContactFactory(village=village_a, phone=FULL, name="赵大姐")
    rep = active_rep(township_a, name="钱代表", phone="13900001111")
    staff = as_user(clerk_a)
    for url in (
        reverse("admin:reps_contact_changelist"),
        reverse("admin:reps_representative_changelist"),
        reverse("admin:reps_contact_change", args=[contact.pk]),
        reverse("admin:reps_representative_change", args=[rep.pk]),
    ):
        html = staff.get(url).content.decode()
        assert FULL not in html and "13900001111" not in html, url
    assert MASKED in staff.get(reverse("admin:reps_contact_changelist")).content.decode()
    change = staff.get(reverse("admin:reps_contact_change", args=[contact.pk])).content.decode()
    assert MASKED in change and reveal_url(contact) in change  # township staff may call contacts


def test_the_admin_reception_shows_its_visitors_masked(reception, clerk_a):
    html = (
        as_user(clerk_a).get(reverse("admin:studios_reception_change", args=[reception.pk])).content.decode()
    )
    assert MASKED in html and FULL not in html


def test_a_contact_is_revealed_to_its_rep_and_township_not_to_another_township(
    township_a, village_a, clerk_b, clerk_a
):
    contact = ContactFactory(village=village_a, phone=FULL)
    rep_user = user_with_role(Role.REPRESENTATIVE, region=township_a, username="rep_of_contact")
    ContactLinkFactory(contact=contact, representative=active_rep(township_a, user=rep_user))
    assert as_user(clerk_b).post(reveal_url(contact)).status_code == 403
    assert as_user(rep_user).post(reveal_url(contact)).status_code == 200
    assert as_user(clerk_a).post(reveal_url(contact)).status_code == 200
    assert reveals(contact).count() == 2

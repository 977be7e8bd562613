"""Direction controls (U+202E and its kin) are dropped from what a rep types for a contact and
from what an import sheet carries, as from every form's text (liaison.validators.clean_text)."""

import pytest
from django.urls import reverse

from reps.importing.reading import as_text, blank
from reps.models import Contact


@pytest.fixture
def as_rep(client, rep_a, my_rep):
    client.force_login(rep_a)
    return client


def test_a_contacts_name_and_address_are_stored_without_direction_controls(as_rep, village_a):
    data = {
        "name": "\u202e英桂李",
        "kind": "resident",
        "phone": "138 1234 5678",
        "village": village_a.pk,
        "address": "东街\u206612号\u2069\u200f",
    }
    assert as_rep.post(reverse("reps:contact_add"), data).status_code == 302
    contact = Contact.objects.get()
    assert (contact.name, contact.address) == ("英桂李", "东街12号")


def test_a_100000_character_address_is_answered_plainly(as_rep, village_a):
    data = {
        "name": "李桂英",
        "kind": "resident",
        "phone": "",
        "village": village_a.pk,
        "address": "长" * 100_000,
    }
    response = as_rep.post(reverse("reps:contact_add"), data)
    assert response.status_code == 200 and not Contact.objects.exists()
    [message] = response.context["form"].errors["address"]
    assert "100000" in message and "确保" not in message


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        ("\u202e三张", "三张"),
        ("张\u2067三\u2069", "张三"),
        ("\u200e李\u061c四\u200f", "李四"),
        ("王\t五\x00", "王 五"),
    ],
)
def test_an_import_cell_reads_without_them(cell, text):
    assert as_text(cell) == text


def test_a_cell_of_nothing_but_controls_is_blank():
    assert blank("\u202e\u202c") and blank("\x1b" * 100) and not blank("\u202e张三")

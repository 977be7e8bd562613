"""The one rule for a person met (a visitor, a proposer), and the form that applies it."""

import pytest
from django.core.exceptions import ValidationError

from liaison.forms import NameAndPhoneForm
from liaison.validators import clean_name_and_phone, normalize_phone


def test_a_name_and_phone_come_back_stripped_and_normalised():
    assert clean_name_and_phone(" 张大爷 ", "+86 138-1234-5678") == ("张大爷", "13812345678")
    assert clean_name_and_phone("王老师", "0513 88123456 转 12") == ("王老师", "0513-88123456-12")


def test_a_name_alone_or_nothing_at_all_is_accepted():
    assert clean_name_and_phone("张大爷", "  ") == ("张大爷", "")
    assert clean_name_and_phone("", "") == ("", "")


@pytest.mark.parametrize(
    ("name", "phone", "codes"),
    [
        ("张大爷", "12345", {"phone": ["invalid_phone"]}),
        ("", "13812345678", {"name": ["phone_without_name"]}),
        ("  ", "12345", {"phone": ["invalid_phone"], "name": ["phone_without_name"]}),
    ],
)
def test_a_bad_phone_or_a_phone_without_a_name_is_refused_by_field(name, phone, codes):
    with pytest.raises(ValidationError) as caught:
        clean_name_and_phone(name, phone)
    assert {field: [e.code for e in errors] for field, errors in caught.value.error_dict.items()} == codes


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"name": "张大爷", "phone": "12345"}, ["phone"]),
        ({"name": "", "phone": "13812345678"}, ["name"]),
        ({"name": "张" * 33, "phone": "13812345678"}, ["name"]),  # too long: not also "give the name"
    ],
)
def test_the_form_shows_each_refusal_on_its_field(data, fields):
    form = NameAndPhoneForm(data)
    assert not form.is_valid()
    assert list(form.errors) == fields
    assert len(form.errors[fields[0]]) == 1


def test_the_form_cleans_to_the_normalised_phone():
    form = NameAndPhoneForm({"name": " 李阿姨 ", "phone": "139-1234-5678"})
    assert form.is_valid()
    assert form.cleaned_data == {"name": "李阿姨", "phone": "13912345678"}


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("１３８ １２３４ ５６７８", "13812345678"),  # a full-width input method
        ("138１２３４５６７８", "13812345678"),  # half switched: still stored as ASCII
        ("＋８６１３８１２３４５６７８", "13812345678"),
        ("（０５１３）８８１２３４５６", "0513-88123456"),
    ],
)
def test_full_width_digits_are_stored_as_ascii(typed, stored):
    assert normalize_phone(typed) == stored


def test_digits_of_other_scripts_are_refused():
    with pytest.raises(ValidationError) as refused:
        normalize_phone("١٣٨١٢٣٤٥٦٧٨")  # Arabic-Indic digits, which \d would otherwise accept
    assert refused.value.code == "invalid_phone"
    with pytest.raises(ValidationError) as refused:
        normalize_phone("138١٢٣٤٥٦٧٨")
    assert refused.value.code == "invalid_phone"

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import translation

from liaison.models import Region, RoleAssignment
from liaison.roles import Role
from liaison.validators import normalize_phone
from tests.factories import UserFactory


def test_paths_follow_the_tree(county, township_a, village_a):
    assert county.path == f"/{county.pk}/"
    assert village_a.path == f"/{county.pk}/{township_a.pk}/{village_a.pk}/"
    assert village_a.full_name == "和平县 城关镇 东街社区"
    assert village_a.is_within(township_a) and not township_a.is_within(village_a)


def test_a_village_must_hang_under_a_township(county):
    with translation.override("en"):  # the messages are lazy: read them in English too
        with pytest.raises(ValidationError) as refused:
            Region(name="错村", level=Region.Level.VILLAGE, parent=county).full_clean()
        assert refused.value.message_dict == {
            "parent": ["The parent of a Village / community must be a Township / street."]
        }


def test_a_region_cannot_move(township_a, township_b, village_a):
    village_a.parent = township_b
    with translation.override("en"):  # the messages are lazy: read them in English too
        with pytest.raises(ValidationError) as refused:
            village_a.full_clean()
        assert refused.value.message_dict == {"parent": ["A region cannot be moved to another parent."]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("0513-88123456", "0513-88123456"),
        ("(010) 12345678", "010-12345678"),
        ("0513 8812345 转 123", "0513-8812345-123"),
        ("01012345678", "010-12345678"),
        ("051388123456", "0513-88123456"),
        ("0513-88123456-8001", "0513-88123456-8001"),
    ],
)
def test_phone_numbers_are_normalised(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "12345", "12812345678", "1381234567", "abc", "0513-123"])
def test_bad_phone_numbers_are_refused_with_a_clear_message(raw):
    with pytest.raises(ValidationError) as info:
        normalize_phone(raw)
    assert info.value.code == "invalid_phone"


def test_a_handling_unit_role_needs_a_unit(township_a):
    role = RoleAssignment(user=UserFactory(), role=Role.HANDLING_UNIT, region=township_a)
    with translation.override("en"):  # the messages are lazy: read them in English too
        with pytest.raises(ValidationError) as refused:
            role.full_clean()
        assert refused.value.message_dict == {"unit": ["Handling-unit staff must name their unit."]}


def test_township_staff_are_anchored_at_a_township(county):
    role = RoleAssignment(user=UserFactory(), role=Role.TOWNSHIP_STAFF, region=county)
    with translation.override("en"):  # the messages are lazy: read them in English too
        with pytest.raises(ValidationError) as refused:
            role.full_clean()
        assert refused.value.message_dict == {
            "region": ["A Township staff is anchored at: Township / street."]
        }


def test_a_role_is_held_once_per_anchor(clerk_a, township_a):
    with pytest.raises(IntegrityError):
        RoleAssignment.objects.create(user=clerk_a, role=Role.TOWNSHIP_STAFF, region=township_a)

"""Persona fixtures: the same cast in every permission test.

county ─┬─ township_a ── village_a      unit_a (township A office), county_unit (county bureau)
        └─ township_b ── village_b      unit_b (township B office)
"""

import pytest

from liaison.roles import Role
from tests.factories import (
    CountyFactory,
    HandlingUnitFactory,
    TownshipFactory,
    VillageFactory,
    user_with_role,
)


@pytest.fixture
def county(db):
    return CountyFactory(name="和平县")


@pytest.fixture
def township_a(county):
    return TownshipFactory(name="城关镇", parent=county)


@pytest.fixture
def township_b(county):
    return TownshipFactory(name="河口镇", parent=county)


@pytest.fixture
def village_a(township_a):
    return VillageFactory(name="东街社区", parent=township_a)


@pytest.fixture
def village_b(township_b):
    return VillageFactory(name="河口村", parent=township_b)


@pytest.fixture
def unit_a(township_a):
    return HandlingUnitFactory(name="城关镇社会事务办", region=township_a)


@pytest.fixture
def unit_b(township_b):
    return HandlingUnitFactory(name="河口镇社会事务办", region=township_b)


@pytest.fixture
def county_unit(county):
    return HandlingUnitFactory(name="县民政局", region=county)


@pytest.fixture
def liaison_office(county):
    return user_with_role(Role.LIAISON_OFFICE, region=county, username="lianban", name="王建国")


@pytest.fixture
def clerk_a(township_a):
    return user_with_role(Role.TOWNSHIP_STAFF, region=township_a, username="clerk_a", name="李秀英")


@pytest.fixture
def clerk_b(township_b):
    """The outsider: staff of another township."""
    return user_with_role(Role.TOWNSHIP_STAFF, region=township_b, username="clerk_b", name="杨帆")


@pytest.fixture
def unit_staff(county_unit):
    return user_with_role(Role.HANDLING_UNIT, unit=county_unit, username="minzheng", name="刘洋")


@pytest.fixture
def rep_a(township_a):
    return user_with_role(Role.REPRESENTATIVE, region=township_a, username="daibiao", name="陈志强")

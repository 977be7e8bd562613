"""Ticket fixtures: a registered ticket in township A, and the people who act on it."""

import pytest

from liaison.roles import Role
from proposals import services
from proposals.models import Category
from tests.factories import HandlingUnitFactory, user_with_role


@pytest.fixture
def category(db):
    return Category.objects.get(name="交通出行")


@pytest.fixture
def unit_a_staff(unit_a):
    return user_with_role(Role.HANDLING_UNIT, unit=unit_a, username="unit_a_staff", name="周强")


@pytest.fixture
def co_unit(county):
    return HandlingUnitFactory(name="县交通运输局", region=county)


@pytest.fixture
def co_unit_staff(co_unit):
    return user_with_role(Role.HANDLING_UNIT, unit=co_unit, username="jiaotong", name="孙丽")


@pytest.fixture
def make_ticket(township_a, category, my_rep, clerk_a):
    """Register a ticket in township A, for my_rep, with one proposer (张大爷, 13812345678)."""

    def make(**kwargs):
        fields = {
            "actor": clerk_a,
            "township": township_a,
            "title": "村口路灯不亮",
            "content": "东街社区村口三盏路灯坏了一个月",
            "category": category,
            "source": "reception",
            "representative": my_rep,
            "proposers": [("张大爷", "13812345678")],
        }
        fields.update(kwargs)
        return services.ticket_register(**fields)

    return make


@pytest.fixture
def ticket(make_ticket):
    return make_ticket()

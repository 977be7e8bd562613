"""Persona fixtures: the same cast in every permission test.

county ─┬─ township_a ── village_a      unit_a (township A office), county_unit (county bureau)
        └─ township_b ── village_b      unit_b (township B office)
"""

import contextlib
import os

import pytest
from hypothesis import HealthCheck, settings

from liaison.celery import app as celery_app
from liaison.models import Category
from liaison.roles import Role
from reps.models import CommitteeLink
from tests.factories import (
    ContactFactory,
    ContactLinkFactory,
    CountyFactory,
    HandlingUnitFactory,
    TownshipFactory,
    VillageFactory,
    active_rep,
    user_with_role,
)
from tests.helpers import celery_worker

# Hypothesis: "ci" replays the same examples on every run (no flaky red from a new random draw,
# no example database to carry between runs) and prints the blob that reproduces a failure;
# "dev" keeps Hypothesis's random search and its local .hypothesis/ database. Neither has a
# deadline: two shared cores and a real database make timings meaningless.
# Both derive from Hypothesis's own defaults: without a parent, a profile would inherit whatever
# is loaded now (Hypothesis itself loads its "ci" profile when it sees CI set).
settings.register_profile(
    "ci",
    settings.get_profile("default"),
    derandomize=True,
    max_examples=50,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", settings.get_profile("default"), deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: no rate-limit counter or cached /results/ page of
    another test (the locmem cache lives as long as the process)."""
    from django.core.cache import cache

    with contextlib.suppress(Exception):  # no cache server in this test: nothing to clear
        cache.clear()


@pytest.fixture
def category(db):
    # get_or_create: a transactional test (the races) empties the tables the migration filled.
    return Category.objects.get_or_create(name="交通出行", defaults={"order": 30})[0]


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


def queued_tasks() -> int:
    """How many tasks wait in the default queue (all its priority lists) on the test Redis."""
    # Declared as a worker would (a passive declare fails while nothing has used the queue yet).
    with celery_app.connection_for_write() as conn:
        return conn.default_channel.queue_declare(queue=celery_app.conf.task_default_queue).message_count


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A real `celery worker` process on the test Redis and the test database.

    The test's data must be committed for the worker to see it, hence transactional_db. The queue
    is purged first: a task that an earlier test left behind (its worker stopped before running it)
    would otherwise run here, against this test's data.
    """
    celery_app.control.purge()
    assert queued_tasks() == 0, "the Celery queue is not empty after a purge"
    with celery_worker(tmp_path, name="test") as proc:
        yield proc


@pytest.fixture
def my_rep(rep_a, township_a):
    """The representative record of the rep_a login, with two contacts in village A."""
    return active_rep(township_a, user=rep_a, name="陈志强")


@pytest.fixture
def my_contacts(my_rep, village_a):
    contacts = [ContactFactory(village=village_a, name=f"联系人{i}") for i in range(2)]
    for contact in contacts:
        ContactLinkFactory(representative=my_rep, contact=contact)
    return contacts


@pytest.fixture
def other_rep(township_a, village_a):
    """Another representative of the same township, with a contact of their own."""
    rep = active_rep(township_a, name="王秀兰")
    ContactLinkFactory(representative=rep, contact=ContactFactory(village=village_a, name="别人的联系人"))
    return rep


@pytest.fixture
def rep_b(township_b, village_b):
    rep = active_rep(township_b, name="吴勇")
    ContactLinkFactory(representative=rep, contact=ContactFactory(village=village_b, name="河口联系人"))
    return rep


@pytest.fixture
def committee_member(township_a, my_rep):
    member = user_with_role(Role.COMMITTEE_MEMBER, region=township_a, username="weiyuan", name="赵丽")
    CommitteeLink.objects.create(member=member, representative=my_rep)
    return member

"""The county of a region: one rule (``liaison.regions``), read the same way everywhere."""

import pytest

from liaison.models import HandlingUnit, Region
from liaison.regions import county_id_of, county_id_of_path, county_path_of_path
from reps.models import Representative
from tests.factories import (
    CountyFactory,
    HandlingUnitFactory,
    RepresentativeFactory,
    TownshipFactory,
    VillageFactory,
)


@pytest.mark.parametrize(
    ("path", "county_id", "county_path"),
    [("/7/", 7, "/7/"), ("/7/70/", 7, "/7/"), ("/12/345/6789/", 12, "/12/")],
)
def test_the_county_is_the_root_of_the_path(path, county_id, county_path):
    assert county_id_of_path(path) == county_id
    assert county_path_of_path(path) == county_path


@pytest.mark.parametrize("path", ["", "/", "//", "/x/1/"])
def test_a_string_that_is_not_a_path_is_refused(path):
    with pytest.raises(ValueError, match="not a region path"):
        county_id_of_path(path)


def test_every_level_knows_its_county(county, township_a, village_a):
    assert [r.county_id for r in (county, township_a, village_a)] == [county.pk] * 3
    assert [r.county_path for r in (county, township_a, village_a)] == [county.path] * 3


def test_a_county_path_does_not_match_a_county_whose_id_starts_with_the_same_digits(db):
    # Ids far above the sequences', so that no other row takes them (PostgreSQL's do not reset).
    seven = Region.objects.create(pk=880007, name="七县", level=Region.Level.COUNTY)
    seventy = Region.objects.create(pk=8800070, name="七十县", level=Region.Level.COUNTY)
    inside, outside = HandlingUnitFactory(region=seven), HandlingUnitFactory(region=seventy)
    township = TownshipFactory(parent=seven)
    found = HandlingUnit.objects.filter(region__path__startswith=township.county_path)
    assert list(found) == [inside] and outside not in found


def test_the_sql_county_agrees_with_the_path_for_county_and_township_reps(county, township_a):
    other = TownshipFactory(parent=CountyFactory())
    reps = [RepresentativeFactory(region=r) for r in (county, township_a, other)]
    annotated = dict(
        Representative.objects.filter(pk__in=[r.pk for r in reps])
        .annotate(county=county_id_of("region"))
        .values_list("pk", "county")
    )
    assert annotated == {r.pk: r.region.county_id for r in reps}
    assert sorted(set(annotated.values())) == sorted({county.pk, other.parent_id})


def test_a_village_reports_the_county_not_its_township(county):
    village = VillageFactory(parent=TownshipFactory(parent=county))
    assert village.county_id == county.pk != village.parent_id

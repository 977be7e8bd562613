"""What scoping costs: a clerk's `visible_to` list against the plain filter it replaces.

Baseline: `HandlingUnit.objects.filter(region=township)`, the query a hand-written view would
make. Measured: `HandlingUnit.objects.visible_to(clerk)`, the path-prefix filter every list
goes through. Both at 10 and 10,000 units in the county; the ratio is what matters.
"""

import statistics
import time

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

REPEAT = 200


def _time(fn) -> float:
    fn()  # warm caches and the query plan
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(report) -> None:
    for townships in (1, 1000):
        with transaction.atomic():
            _measure(townships, report)
            transaction.set_rollback(True)


def _measure(townships: int, report) -> None:
    from liaison.models import HandlingUnit, Region, RoleAssignment, User
    from liaison.roles import Role

    county = Region.objects.create(name=f"基准县{townships}", level=Region.Level.COUNTY)
    regions = [Region(name=f"镇{i}", level=Region.Level.TOWNSHIP, parent=county) for i in range(townships)]
    for region in regions:
        region.save()
    HandlingUnit.objects.bulk_create(
        HandlingUnit(name=f"单位{i}-{k}", region=region)
        for i, region in enumerate(regions)
        for k in range(10)
    )
    clerk = User.objects.create_user(f"bench-clerk-{townships}")
    RoleAssignment.objects.create(user=clerk, role=Role.TOWNSHIP_STAFF, region=regions[0])
    if connection.vendor == "postgresql":
        connection.cursor().execute("ANALYZE")
    clerk = User.objects.get(pk=clerk.pk)
    assert clerk.scope.region_paths  # computed once per request in the product: outside the timing

    baseline = _time(lambda: list(HandlingUnit.objects.filter(region=regions[0])))
    scoped = _time(lambda: list(HandlingUnit.objects.visible_to(clerk)))
    with CaptureQueriesContext(connection) as queries:
        rows = list(HandlingUnit.objects.visible_to(clerk))
    report(
        f"units in county {townships * 10:>6}: baseline {baseline * 1e3:.3f} ms, "
        f"visible_to {scoped * 1e3:.3f} ms, ratio {scoped / baseline:.2f}x, "
        f"{len(queries)} query, {len(rows)} rows"
    )

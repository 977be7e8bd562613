"""The benchmarks' loaders keep up with the schema: bench_sweep's and bench_figures' raw
``INSERT ... SELECT`` statements, run at a tiny size, write rows every model can read. (A NOT NULL
column added without a database default broke the sweep loader once, and nothing but a benchmark
run noticed.)"""

from __future__ import annotations

import pytest
from django.db import connection

from bench import bench_figures, bench_sweep
from proposals import facts
from proposals.models import Ticket, TicketEvent

pytestmark = pytest.mark.postgres


@pytest.mark.django_db
def test_the_sweep_and_figures_loaders_write_readable_rows(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.fail("the benchmarks' loaders write PostgreSQL: run it with `make test`")
    monkeypatch.setattr(bench_sweep, "COUNTIES", 2)
    monkeypatch.setattr(bench_sweep, "TOWNSHIPS_PER_COUNTY", 3)
    monkeypatch.setattr(bench_sweep, "TICKETS", 2_000)
    monkeypatch.setattr(bench_sweep, "RECEPTION_MATTERS", 20)
    bench_sweep._load()
    rows = bench_figures._load_figures()
    facts.recompute(Ticket.objects.all())
    assert Ticket.objects.count() == 2_000
    assert rows["ticket events"] == TicketEvent.objects.count() > 0
    # Every ticket reads back through the model (each column it declares exists and converts).
    assert len(list(Ticket.objects.all())) == 2_000
    assert Ticket.objects.filter(external_ref="").count() == 2_000

"""Duty counting that mutation testing (`make mutate`) found untested: visits counted once and only
up to the day the table is seen from, period and term boundaries, the day a policy takes effect,
prorated contacts, empty cells and hidden columns, a registered quota, and the query count."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reps import duties
from reps.models import DutyPolicy, Mandate, Representative, ResearchReport
from tests.factories import (
    ContactFactory,
    ContactLinkFactory,
    MandateFactory,
    RepresentativeFactory,
    active_rep,
    visit,
)

D = datetime.date


def cells(rep, day):
    _quotas, rows = duties.standing(Representative.objects.filter(pk=rep.pk), today=day)
    return rows[0].cells


@pytest.fixture
def rep(township_a):
    rep = active_rep(township_a)
    DutyPolicy.objects.create(county=township_a.parent, effective_from=D(2026, 1, 1), four_ones=True)
    return rep


@pytest.fixture
def difficult_households(rep, village_a):
    made = [ContactFactory(village=village_a, is_difficult_household=True) for _ in range(2)]
    for contact in made:
        ContactLinkFactory(representative=rep, contact=contact)
    return made


def test_one_visit_to_two_difficult_households_is_one_visit(rep, difficult_households, clerk_a):
    visit(rep, difficult_households, D(2026, 5, 3), recorded_by=clerk_a)
    cell = cells(rep, D(2026, 5, 10))["four_ones_visit"]
    assert (cell.value, cell.required, cell.status) == (1, 1, "ok")


def test_a_visit_later_in_the_month_does_not_count_before_its_day(rep, difficult_households, clerk_a):
    visit(rep, difficult_households, D(2026, 5, 20), recorded_by=clerk_a)
    assert cells(rep, D(2026, 5, 10))["four_ones_visit"].value == 0
    assert cells(rep, D(2026, 5, 20))["four_ones_visit"].value == 1


def test_a_registered_quota_is_counted_in_its_order(rep, monkeypatch):
    monkeypatch.setattr(duties, "_QUOTAS", dict(duties._QUOTAS))
    extra = duties.Quota("extra", "Extra", duties.YEAR, lambda c: 2, lambda cs, p, d: {rep.pk: 1}, order=15)
    assert duties.register(extra) is extra
    assert [q.key for q in duties.quotas()][:3] == ["contacts", "extra", "pairing_poor"]
    cell = cells(rep, D(2026, 12, 31))["extra"]
    assert (cell.value, cell.required, cell.status) == (1, 2, "behind")


def test_periods_keep_their_kind_and_the_first_day_has_elapsed_too():
    for kind in ("year", "quarter", "month", "now"):
        assert duties.Period.containing(kind, D(2026, 5, 10)).kind == kind
    year = duties.Period.containing("year", D(2026, 5, 10))
    assert year.elapsed_fraction(D(2026, 1, 1)) == pytest.approx(1 / 365)


def test_the_current_year_is_seen_from_today_and_a_past_one_from_its_last_day():
    assert duties.reference_day(D(2026, 5, 10), 2026) == D(2026, 5, 10)
    assert duties.reference_day(D(2026, 5, 10), 2025) == D(2025, 12, 31)
    assert duties.reference_day(D(2026, 5, 10), None) == D(2026, 5, 10)


def test_days_covered_counts_a_term_touching_either_end_and_a_shared_day_once():
    period = duties.Period("year", D(2026, 1, 1), D(2026, 12, 31))
    assert duties._days_covered([Mandate(term_start=D(2026, 12, 31), term_end=D(2030, 1, 1))], period) == 1
    assert duties._days_covered([Mandate(term_start=D(2020, 1, 1), term_end=D(2026, 1, 1))], period) == 1
    handover = [
        Mandate(term_start=D(2020, 1, 1), term_end=D(2026, 3, 31)),
        Mandate(term_start=D(2026, 3, 31), term_end=D(2026, 4, 30)),
    ]
    assert duties._days_covered(handover, period) == 120


def test_a_snapshot_quota_asks_nothing_of_someone_no_longer_a_rep(rep):
    policy = DutyPolicy(contacts_per_rep=5)
    gone = duties.RepContext(rep, policy, active_fraction=0.5, active_at_end=False, levels=frozenset())
    here = duties.RepContext(rep, policy, active_fraction=0.5, active_at_end=True, levels=frozenset())
    assert (duties.snapshot(5, gone), duties.snapshot(5, here)) == (0, 5)


def test_a_policy_applies_from_the_day_it_takes_effect(rep):
    DutyPolicy.objects.create(
        county=rep.region.parent,
        effective_from=D(2026, 5, 10),
        research_reports_per_year=7,
        research_rule=DutyPolicy.ResearchRule.YEARLY_BOTH,
    )
    assert cells(rep, D(2026, 5, 10))["research_reports"].required == 7


def test_reports_of_an_earlier_year_do_not_count(rep):
    ResearchReport.objects.create(representative=rep, title="调研", submitted_on=D(2025, 12, 31))
    assert cells(rep, D(2026, 5, 10))["research_reports"].value == 0


def test_visits_after_the_day_seen_from_do_not_count_towards_visiting_enough(
    rep, difficult_households, clerk_a
):
    for day in (D(2026, 5, 3), D(2026, 6, 3)):
        visit(rep, difficult_households, day, recorded_by=clerk_a)
    assert cells(rep, D(2026, 5, 10))["visits"].value == 0  # each household once so far
    assert cells(rep, D(2026, 6, 3))["visits"].value == 2


def test_one_visit_by_two_reps_is_one_visit_for_each(rep, difficult_households, clerk_a, township_a):
    other = active_rep(township_a)
    for contact in difficult_households:
        ContactLinkFactory(representative=other, contact=contact)
    v = visit(rep, difficult_households, D(2026, 5, 3), recorded_by=clerk_a)
    v.representatives.add(other)
    _quotas, rows = duties.standing(
        Representative.objects.filter(pk__in=[rep.pk, other.pk]), today=D(2026, 5, 10)
    )
    assert [row.cells["visits"].value for row in rows] == [0, 0]  # twice a year each, not yet


def test_contacts_to_visit_are_prorated_for_a_rep_who_joined_late(township_a, village_a):
    late = RepresentativeFactory(region=township_a)
    MandateFactory(representative=late, term_start=D(2026, 10, 1), term_end=D(2030, 9, 30))
    for contact in (ContactFactory(village=village_a) for _ in range(2)):
        ContactLinkFactory(representative=late, contact=contact)
    assert cells(late, D(2026, 12, 31))["visits"].required == 1  # ceil(2 × 92/365)


def test_a_quota_that_does_not_apply_is_an_empty_cell_and_not_a_column(rep, township_a):
    DutyPolicy.objects.filter(county=township_a.parent).update(four_ones=False)
    gone = RepresentativeFactory(region=township_a)
    MandateFactory(representative=gone, term_start=D(2021, 1, 1), term_end=D(2026, 1, 31))
    shown, rows = duties.standing(
        Representative.objects.filter(pk__in=[gone.pk, rep.pk]).order_by("pk"), today=D(2026, 5, 10)
    )
    keys = [q.key for q in shown]
    assert "contacts" in keys and "research_term" in keys  # the default research duty: the term
    assert "research_reports" not in keys and "suggestions" not in keys
    assert not [k for k in keys if k.startswith("four_ones")]
    by_rep = {row.rep.pk: row for row in rows}
    assert by_rep[gone.pk].cells["contacts"] == duties.Cell(0, 0, "na")  # no longer a rep today
    assert by_rep[rep.pk].cells["four_ones_visit"] == duties.Cell(0, 0, "na")
    assert by_rep[rep.pk].cells["contacts"].status != "na"
    assert by_rep[rep.pk].ordered == [(q, by_rep[rep.pk].cells[q.key]) for q in shown]


def test_the_table_costs_the_same_queries_for_one_rep_or_five(township_a, django_assert_num_queries):
    reps = [active_rep(township_a) for _ in range(5)]
    one = Representative.objects.filter(pk=reps[0].pk)
    with CaptureQueriesContext(connection) as single:
        duties.standing(one, today=D(2026, 5, 10))
    with django_assert_num_queries(len(single.captured_queries)):
        _shown, rows = duties.standing(Representative.objects.filter(region=township_a), today=D(2026, 5, 10))
    assert len(rows) == 5 and all(row.cells["contacts"].status != "na" for row in rows)


def test_a_provincial_rep_owes_the_provincial_number_of_receptions(township_a):
    DutyPolicy.objects.create(
        county=township_a.parent,
        effective_from=D(2026, 1, 1),
        receptions_per_quarter=3,
        receptions_per_quarter_province=1,
    )
    provincial, county_rep = active_rep(township_a, levels=("province",)), active_rep(township_a)
    assert cells(provincial, D(2026, 6, 30))["receptions"].required == 1
    assert cells(county_rep, D(2026, 6, 30))["receptions"].required == 3

"""Duty quotas: year boundaries, terms ending mid-year, two mandates, policy changes."""

import datetime

import pytest

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
YEARLY = DutyPolicy.ResearchRule.YEARLY_BOTH


def yearly_research(county):
    """The county reads seed 000's research duty as "every year, both" (the default is the term)."""
    return DutyPolicy.objects.create(county=county, effective_from=D(2020, 1, 1), research_rule=YEARLY)


def cells(rep, day, year=None):
    _quotas, rows = duties.standing(Representative.objects.filter(pk=rep.pk), today=day, year=year)
    return rows[0].cells if rows else None


@pytest.fixture
def rep(township_a, clerk_a):
    return active_rep(township_a)


@pytest.fixture
def contacts(rep, village_a):
    made = [ContactFactory(village=village_a) for _ in range(2)]
    for contact in made:
        ContactLinkFactory(representative=rep, contact=contact)
    return made


class TestPeriods:
    @pytest.mark.parametrize(
        ("kind", "day", "start", "end"),
        [
            ("year", D(2026, 12, 31), D(2026, 1, 1), D(2026, 12, 31)),
            ("quarter", D(2026, 3, 31), D(2026, 1, 1), D(2026, 3, 31)),
            ("quarter", D(2026, 11, 23), D(2026, 10, 1), D(2026, 12, 31)),
            ("month", D(2028, 2, 10), D(2028, 2, 1), D(2028, 2, 29)),  # leap year
            ("month", D(2026, 2, 10), D(2026, 2, 1), D(2026, 2, 28)),
        ],
    )
    def test_periods(self, kind, day, start, end):
        period = duties.Period.containing(kind, day)
        assert (period.start, period.end) == (start, end)

    def test_elapsed_fraction(self):
        year = duties.Period.containing("year", D(2028, 1, 1))
        assert year.days == 366
        assert year.elapsed_fraction(D(2027, 12, 31)) == 0
        assert year.elapsed_fraction(D(2028, 12, 31)) == 1
        assert year.elapsed_fraction(D(2028, 7, 1)) == pytest.approx(183 / 366)


class TestYearBoundaries:
    def test_a_visit_on_new_years_eve_counts_for_that_year_only(self, rep, contacts, clerk_a):
        visit(rep, contacts, D(2026, 12, 31), recorded_by=clerk_a)
        visit(rep, contacts, D(2026, 12, 31), recorded_by=clerk_a)
        assert cells(rep, D(2026, 12, 31))["visits"].value == 2  # both contacts, twice each
        assert cells(rep, D(2027, 1, 1))["visits"].value == 0
        assert cells(rep, D(2027, 1, 1), year=2026)["visits"].value == 2

    def test_a_report_on_january_first_belongs_to_the_new_year(self, rep):
        yearly_research(rep.region.parent)
        ResearchReport.objects.create(representative=rep, title="调研", submitted_on=D(2027, 1, 1))
        assert cells(rep, D(2027, 1, 1))["research_reports"].status == "ok"
        assert cells(rep, D(2027, 3, 1), year=2026)["research_reports"].status == "behind"


class TestTerms:
    def test_a_term_ending_mid_year_prorates_cumulative_quotas(self, township_a):
        rep = RepresentativeFactory(region=township_a)
        MandateFactory(representative=rep, term_start=D(2021, 7, 1), term_end=D(2026, 6, 30))
        DutyPolicy.objects.create(
            county=township_a.parent,
            effective_from=D(2026, 1, 1),
            research_reports_per_year=3,
            research_rule=YEARLY,
        )
        cell = cells(rep, D(2026, 11, 23))["research_reports"]
        assert cell.required == 2  # ceil(3 × 181/365)
        assert cell.status == "behind"  # the year is over for them: no more time to catch up

    def test_snapshot_quotas_do_not_apply_after_the_term(self, township_a):
        rep = RepresentativeFactory(region=township_a)
        MandateFactory(representative=rep, term_start=D(2021, 7, 1), term_end=D(2026, 6, 30))
        assert cells(rep, D(2026, 11, 23))["contacts"].status == "na"
        assert cells(rep, D(2026, 5, 1))["contacts"].required == 5

    def test_a_rep_whose_term_ended_leaves_the_active_list_but_keeps_history(self, township_a):
        rep = RepresentativeFactory(region=township_a)
        MandateFactory(representative=rep, term_start=D(2021, 7, 1), term_end=D(2026, 6, 30))
        assert not Representative.objects.active(D(2026, 7, 1)).filter(pk=rep.pk).exists()
        assert Representative.objects.active(D(2026, 6, 30)).filter(pk=rep.pk).exists()
        assert (
            Representative.objects.serving_between(D(2026, 1, 1), D(2026, 12, 31)).filter(pk=rep.pk).exists()
        )
        assert Mandate.objects.filter(representative=rep).count() == 1

    def test_no_mandate_in_the_period_means_no_row_cells(self, township_a):
        rep = RepresentativeFactory(region=township_a)
        MandateFactory(representative=rep, term_start=D(2027, 1, 1), term_end=D(2031, 12, 31))
        assert all(c.status == "na" for c in cells(rep, D(2026, 6, 1)).values())


class TestTwoMandates:
    def test_a_person_with_two_mandates_is_counted_once(self, township_a, village_a):
        rep = active_rep(township_a, levels=("county", "township"))
        for _ in range(5):
            ContactLinkFactory(representative=rep, contact=ContactFactory(village=village_a))
        _quotas, rows = duties.standing(Representative.objects.filter(region=township_a), today=D(2026, 5, 1))
        assert len(rows) == 1
        assert rows[0].cells["contacts"].label == "5/5"

    def test_back_to_back_mandates_cover_the_whole_year(self, township_a):
        rep = RepresentativeFactory(region=township_a)
        MandateFactory(representative=rep, level="county", term_start=D(2021, 7, 1), term_end=D(2026, 6, 30))
        MandateFactory(
            representative=rep,
            level="township",
            congress="镇",
            term_start=D(2026, 7, 1),
            term_end=D(2031, 6, 30),
        )
        yearly_research(township_a.parent)
        assert cells(rep, D(2026, 12, 31))["research_reports"].required == 1
        assert cells(rep, D(2026, 12, 31))["contacts"].required == 5

    def test_overlapping_mandates_are_not_double_counted(self):
        period = duties.Period.containing("year", D(2026, 1, 1))
        mandates = [
            Mandate(term_start=D(2024, 1, 1), term_end=D(2026, 6, 30)),
            Mandate(term_start=D(2026, 3, 1), term_end=D(2026, 9, 30)),
        ]
        assert duties._days_covered(mandates, period) == (D(2026, 9, 30) - D(2026, 1, 1)).days + 1


class TestPolicy:
    def test_a_policy_change_applies_from_its_day_to_the_whole_period(self, rep):
        county = rep.region.parent
        for day, n in ((D(2025, 1, 1), 1), (D(2026, 7, 1), 3)):
            DutyPolicy.objects.create(
                county=county, effective_from=day, research_reports_per_year=n, research_rule=YEARLY
            )
        assert cells(rep, D(2026, 5, 1))["research_reports"].required == 1
        assert cells(rep, D(2026, 8, 1))["research_reports"].required == 3
        # An earlier year keeps the numbers it had.
        assert cells(rep, D(2026, 8, 1), year=2025)["research_reports"].required == 1

    def test_defaults_apply_when_a_county_has_no_policy(self, rep):
        assert cells(rep, D(2026, 5, 1))["contacts"].required == 5

    def test_four_ones_appear_only_when_the_policy_turns_them_on(self, rep, contacts, clerk_a):
        assert cells(rep, D(2026, 5, 10))["four_ones_visit"].status == "na"
        DutyPolicy.objects.create(county=rep.region.parent, effective_from=D(2026, 1, 1), four_ones=True)
        assert cells(rep, D(2026, 5, 10))["four_ones_visit"].status == "due"
        visit(rep, contacts[:1], D(2026, 5, 3), recorded_by=clerk_a)
        assert cells(rep, D(2026, 5, 10))["four_ones_visit"].status == "ok"
        assert cells(rep, D(2026, 6, 30))["four_ones_visit"].status == "behind"  # June passed without one


class TestStatus:
    def test_behind_pace_versus_on_track(self, rep):
        DutyPolicy.objects.create(
            county=rep.region.parent,
            effective_from=D(2026, 1, 1),
            research_reports_per_year=2,
            research_rule=YEARLY,
        )
        assert cells(rep, D(2026, 3, 1))["research_reports"].status == "due"  # floor(2 × 0.16) = 0
        assert cells(rep, D(2026, 9, 1))["research_reports"].status == "behind"  # floor(2 × 0.67) = 1
        ResearchReport.objects.create(representative=rep, title="一", submitted_on=D(2026, 8, 1))
        assert cells(rep, D(2026, 9, 1))["research_reports"].status == "due"

    def test_visits_count_only_contacts_visited_often_enough(self, rep, contacts, clerk_a):
        visit(rep, contacts, D(2026, 2, 1), recorded_by=clerk_a)
        visit(rep, contacts[:1], D(2026, 3, 1), recorded_by=clerk_a)
        cell = cells(rep, D(2026, 12, 31))["visits"]
        assert (cell.value, cell.required) == (1, 2)

    def test_pairing_needs_the_flag_and_the_category(self, rep, village_a):
        poor = ContactFactory(village=village_a, is_poor_party_member=True)
        ContactLinkFactory(representative=rep, contact=poor, is_pairing=False)
        assert cells(rep, D(2026, 5, 1))["pairing_poor"].status == "behind"
        rep.contact_links.update(is_pairing=True)
        assert cells(rep, D(2026, 5, 1))["pairing_poor"].status == "ok"

    def test_ended_contact_links_do_not_count(self, rep, contacts):
        rep.contact_links.filter(contact=contacts[0]).update(ended_on=D(2026, 3, 1))
        assert cells(rep, D(2026, 5, 1))["contacts"].value == 1
        assert cells(rep, D(2026, 2, 1))["contacts"].value == 2


class TestFourOnesDifficultHousehold:
    """Seed 004: "每人联系一户困难群众" is a standing link to a difficult household, not a visit."""

    @pytest.fixture
    def four_ones(self, rep):
        DutyPolicy.objects.create(county=rep.region.parent, effective_from=D(2026, 1, 1), four_ones=True)

    def test_a_visit_to_a_difficult_household_without_a_link_does_not_meet_it(
        self, rep, four_ones, village_a, clerk_a
    ):
        household = ContactFactory(village=village_a, is_difficult_household=True)
        visit(rep, [household], D(2026, 5, 3), recorded_by=clerk_a)
        cell = cells(rep, D(2026, 5, 10))["four_ones_difficult"]
        assert (cell.value, cell.required, cell.status) == (0, 1, "behind")
        assert cells(rep, D(2026, 5, 10))["four_ones_visit"].status == "ok"  # the visit counts as a visit

    def test_a_standing_link_meets_it_every_month_without_a_visit(self, rep, four_ones, village_a):
        household = ContactFactory(village=village_a, is_difficult_household=True)
        ContactLinkFactory(representative=rep, contact=household, since=D(2026, 2, 1))
        for day in (D(2026, 2, 1), D(2026, 5, 10), D(2026, 11, 30)):
            cell = cells(rep, day)["four_ones_difficult"]
            assert (cell.value, cell.required, cell.status) == (1, 1, "ok"), day
        assert cells(rep, D(2026, 1, 31))["four_ones_difficult"].status == "behind"  # not linked yet

    def test_a_link_to_someone_not_in_difficulty_or_an_ended_link_does_not_count(
        self, rep, four_ones, village_a
    ):
        ContactLinkFactory(representative=rep, contact=ContactFactory(village=village_a))
        household = ContactFactory(village=village_a, is_difficult_household=True)
        ContactLinkFactory(representative=rep, contact=household, ended_on=D(2026, 4, 1))
        assert cells(rep, D(2026, 3, 31))["four_ones_difficult"].value == 1
        assert cells(rep, D(2026, 5, 10))["four_ones_difficult"].value == 0

    def test_it_asks_nothing_of_a_rep_whose_term_ended(self, township_a, four_ones, rep):
        gone = RepresentativeFactory(region=township_a)
        MandateFactory(representative=gone, term_start=D(2021, 7, 1), term_end=D(2026, 6, 30))
        assert cells(gone, D(2026, 8, 1))["four_ones_difficult"].status == "na"

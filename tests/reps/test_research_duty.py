"""Seed 000's research duty, both readings as policy (``DutyPolicy.research_rule``):
"within the term, 2 suggestions OR 1 research report" (the default), or "every year,
2 suggestions AND 1 research report". Suggestions come from the tally the proposals app
registers; here a stand-in tally gives their days."""

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from reps import duties
from reps.models import DutyPolicy, Representative, ResearchReport
from tests.factories import MandateFactory, RepresentativeFactory

D = datetime.date
TERM, YEARLY = DutyPolicy.ResearchRule.TERM_EITHER, DutyPolicy.ResearchRule.YEARLY_BOTH


@pytest.fixture
def suggested(monkeypatch):
    """Suggestion days per rep id, served as the "suggestions" tally (as proposals serves it)."""
    days: dict[int, list[datetime.date]] = {}
    monkeypatch.setattr(duties, "_TALLIES", dict(duties._TALLIES))

    def tally(rep_ids, start, end):
        return {rep: [d for d in ds if start <= d <= end] for rep, ds in days.items() if rep in rep_ids}

    duties.register_tally("suggestions", tally)
    return days


@pytest.fixture
def rep(township_a):
    """A rep in a term from 2024-01-01 to 2028-12-31."""
    rep = RepresentativeFactory(region=township_a)
    MandateFactory(representative=rep, term_start=D(2024, 1, 1), term_end=D(2028, 12, 31))
    return rep


def row(rep, day, year=None):
    with translation.override("en"):  # the cells' text is read in English below
        _shown, rows = duties.standing(Representative.objects.filter(pk=rep.pk), today=day, year=year)
    return rows[0]


def report(rep, day):
    return ResearchReport.objects.create(representative=rep, title="关于村道硬化的调研", submitted_on=day)


def test_the_default_reading_is_within_the_term_and_shows_one_cell(rep):
    assert DutyPolicy().research_rule == TERM
    cells = row(rep, D(2026, 5, 1)).cells
    assert cells["research_term"].status == "due"
    assert cells["research_reports"].status == "na" and cells["suggestions"].status == "na"


class TestWithinTheTerm:
    def test_one_report_in_an_earlier_year_of_the_term_meets_it(self, rep, suggested):
        report(rep, D(2025, 3, 1))
        cell = row(rep, D(2026, 5, 1)).cells["research_term"]
        assert (cell.status, cell.label) == ("ok", "0/2 suggestions or 1/1 reports")

    def test_two_suggestions_meet_it_without_a_report(self, rep, suggested):
        suggested[rep.pk] = [D(2024, 6, 1)]
        assert row(rep, D(2026, 5, 1)).cells["research_term"].status == "due"
        suggested[rep.pk].append(D(2026, 4, 30))
        cell = row(rep, D(2026, 5, 1)).cells["research_term"]
        assert (cell.status, cell.label) == ("ok", "2/2 suggestions or 0/1 reports")
        assert row(rep, D(2026, 4, 29)).cells["research_term"].status == "due"  # not before its day

    def test_work_from_before_the_term_does_not_count(self, rep, suggested):
        report(rep, D(2023, 12, 31))
        suggested[rep.pk] = [D(2023, 6, 1), D(2023, 7, 1)]
        cell = row(rep, D(2028, 12, 31)).cells["research_term"]
        assert (cell.value, cell.status) == (0, "behind")  # the term's last day, nothing in it

    def test_it_is_on_track_until_the_terms_last_day_and_behind_after(self, rep):
        assert row(rep, D(2028, 12, 30)).cells["research_term"].status == "due"
        assert row(rep, D(2028, 12, 31)).cells["research_term"].status == "behind"

    def test_a_term_that_ended_in_the_year_is_judged_whole(self, township_a, suggested):
        gone = RepresentativeFactory(region=township_a)
        MandateFactory(representative=gone, term_start=D(2021, 7, 1), term_end=D(2026, 6, 30))
        suggested[gone.pk] = [D(2021, 8, 1), D(2026, 7, 1)]  # the second after the term ended
        cell = row(gone, D(2026, 11, 23)).cells["research_term"]
        assert (cell.label, cell.status) == ("1/2 suggestions or 0/1 reports", "behind")

    def test_two_running_mandates_count_from_the_earlier_term(self, rep, suggested):
        MandateFactory(
            representative=rep,
            level="township",
            congress="镇",
            term_start=D(2026, 1, 1),
            term_end=D(2030, 12, 31),
        )
        report(rep, D(2025, 3, 1))  # in the county term, before the township term began
        assert row(rep, D(2026, 5, 1)).cells["research_term"].status == "ok"

    def test_the_policy_numbers_are_for_the_whole_term(self, rep, suggested):
        DutyPolicy.objects.create(
            county=rep.region.parent,
            effective_from=D(2024, 1, 1),
            suggestions_per_year=3,
            research_reports_per_year=2,
        )
        report(rep, D(2025, 3, 1))
        suggested[rep.pk] = [D(2024, 2, 1), D(2025, 2, 1)]
        cell = row(rep, D(2028, 12, 31)).cells["research_term"]
        assert (cell.label, cell.status) == ("2/3 suggestions or 1/2 reports", "behind")
        suggested[rep.pk].append(D(2028, 12, 31))
        assert row(rep, D(2028, 12, 31)).cells["research_term"].status == "ok"

    def test_the_table_costs_the_same_queries_for_one_rep_or_many_terms(self, township_a, rep, suggested):
        with CaptureQueriesContext(connection) as single:
            duties.standing(Representative.objects.filter(pk=rep.pk), today=D(2026, 5, 1))
        for start in (D(2022, 1, 1), D(2023, 3, 1), D(2025, 9, 1), D(2026, 1, 1)):
            other = RepresentativeFactory(region=township_a)
            MandateFactory(
                representative=other, term_start=start, term_end=start.replace(year=start.year + 5)
            )
            report(other, start)
        with CaptureQueriesContext(connection) as many:
            _shown, rows = duties.standing(
                Representative.objects.filter(region=township_a), today=D(2026, 5, 1)
            )
        assert len(many.captured_queries) == len(single.captured_queries)
        assert [r.cells["research_term"].status for r in rows].count("ok") == 4


def research(result) -> list[str]:
    return [result.cells[key].status for key in ("research_reports", "suggestions")]


class TestEveryYear:
    @pytest.fixture(autouse=True)
    def yearly(self, rep):
        DutyPolicy.objects.create(
            county=rep.region.parent, effective_from=D(2024, 1, 1), research_rule=YEARLY
        )

    def test_both_are_owed_every_year(self, rep, suggested):
        report(rep, D(2026, 3, 1))
        result = row(rep, D(2026, 12, 31))
        assert result.cells["research_term"].status == "na"
        assert (result.cells["research_reports"].label, result.cells["research_reports"].status) == (
            "1/1",
            "ok",
        )
        assert (result.cells["suggestions"].label, result.cells["suggestions"].status) == ("0/2", "behind")
        suggested[rep.pk] = [D(2026, 5, 1), D(2026, 6, 1)]
        assert research(row(rep, D(2026, 12, 31))) == ["ok", "ok"]  # AND: it took both

    def test_last_years_work_does_not_count_this_year(self, rep, suggested):
        report(rep, D(2025, 12, 31))
        suggested[rep.pk] = [D(2025, 5, 1), D(2025, 6, 1)]
        cells = row(rep, D(2026, 12, 31)).cells
        assert (cells["research_reports"].value, cells["suggestions"].value) == (0, 0)
        assert research(row(rep, D(2026, 3, 1), year=2025)) == ["ok", "ok"]


def test_the_duty_page_shows_the_terms_cell(client, clerk_a, rep):
    report(rep, D(2025, 3, 1))
    client.force_login(clerk_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("reps:duty")).content.decode()
    assert "Suggestions or research reports this term" in page
    assert "Research reports this year" not in page
    assert rep.name in page and "0/2 suggestions or 1/1 reports" in page

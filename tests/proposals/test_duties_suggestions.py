"""The suggestions quota (seed 000: two constructive suggestions a year) on the duty status."""

import datetime

import pytest
from django.utils import timezone, translation

from reps import duties
from reps.models import DutyPolicy, Representative
from tests.factories import active_rep

TZ = timezone.get_default_timezone()


@pytest.fixture(autouse=True)
def yearly_research(county):
    """This county reads seed 000's research duty as "every year, 2 suggestions and 1 report"."""
    DutyPolicy.objects.create(
        county=county,
        effective_from=datetime.date(2020, 1, 1),
        research_rule=DutyPolicy.ResearchRule.YEARLY_BOTH,
    )


def suggestions(rep, day):
    _quotas, rows = duties.standing(Representative.objects.filter(pk=rep.pk), today=day)
    return rows[0].cells["suggestions"]


def test_a_rep_counts_the_tickets_they_are_responsible_for_or_co_signed(make_ticket, my_rep, township_a):
    other = active_rep(township_a, name="王秀兰")
    may = datetime.datetime(2026, 5, 1, 10, tzinfo=TZ)
    make_ticket(now=may)  # my_rep responsible
    make_ticket(representative=other, co_signers=[my_rep], now=may)  # co-signed
    make_ticket(representative=my_rep, co_signers=[my_rep], now=may)  # both: counted once
    make_ticket(now=datetime.datetime(2025, 12, 31, 23, 0, tzinfo=TZ))  # last year
    merged = make_ticket(now=may)
    merged.merged_into = make_ticket(representative=other, now=may)
    merged.save(update_fields=["merged_into"])

    cell = suggestions(my_rep, datetime.date(2026, 12, 31))
    assert (cell.value, cell.required, cell.status) == (3, 2, "ok")
    assert suggestions(other, datetime.date(2026, 12, 31)).value == 2


def test_a_rep_without_suggestions_is_behind_at_the_years_end(my_rep):
    cell = suggestions(my_rep, datetime.date(2026, 12, 31))
    assert (cell.value, cell.required, cell.status) == (0, 2, "behind")


def test_under_the_term_reading_tickets_from_any_year_of_the_term_count_once(make_ticket, my_rep, county):
    DutyPolicy.objects.create(
        county=county,
        effective_from=datetime.date(2021, 1, 1),
        research_rule=DutyPolicy.ResearchRule.TERM_EITHER,
    )
    make_ticket(now=datetime.datetime(2023, 12, 31, 10, tzinfo=TZ))  # before the term (2024–2028)
    make_ticket(now=datetime.datetime(2024, 3, 1, 10, tzinfo=TZ))
    make_ticket(representative=my_rep, co_signers=[my_rep], now=datetime.datetime(2026, 5, 1, 10, tzinfo=TZ))
    with translation.override("en"):
        _quotas, rows = duties.standing(
            Representative.objects.filter(pk=my_rep.pk), today=datetime.date(2026, 5, 1)
        )
    cell = rows[0].cells["research_term"]
    assert (cell.label, cell.status) == ("2/2 suggestions or 0/1 reports", "ok")
    assert rows[0].cells["suggestions"].status == "na"  # no yearly quota under this reading

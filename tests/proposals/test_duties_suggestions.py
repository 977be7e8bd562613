"""The suggestions quota (seed 000: two constructive suggestions a year) on the duty status."""

import datetime

from django.utils import timezone

from reps import duties
from reps.models import Representative
from tests.factories import active_rep

TZ = timezone.get_default_timezone()


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

"""A representative's activity funds (活动经费, seed 000): "每名县党代表每年不少于800元…单独核算,
结余可结转使用" — at least 800 yuan a year per rep, accounted separately, the surplus carried over.

Rules:
1. Each calendar year in which the person held any mandate, on any day, allots the county's
   ``DutyPolicy.activity_funds_per_year`` in force on that year's reference day (31 December, or
   today for the current year: the rule of ``reps.duties``), in full: funds are granted for the
   year, not earned by the day.
2. Spending is what staff recorded (``FundExpense``), by its date.
3. The balance carried into a range is every earlier year's allotment less everything spent
   before the range; the balance at its end adds the range's allotments and takes its spending.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum

from reps import duties
from reps.models import DutyPolicy, FundExpense, Representative

CENTS = Decimal("0.01")


def yuan(amount) -> Decimal:
    return Decimal(amount).quantize(CENTS)


@dataclass(frozen=True)
class Statement:
    carried_over: Decimal
    allotted: Decimal
    spent: Decimal
    expenses: list[FundExpense]

    @property
    def balance(self) -> Decimal:
        return self.carried_over + self.allotted - self.spent


def years_in_office(rep: Representative, *, until: int) -> list[int]:
    """The calendar years up to ``until`` in which the rep held a mandate on some day."""
    years: set[int] = set()
    for mandate in rep.mandates.all():
        years.update(range(mandate.term_start.year, min(mandate.term_end.year, until) + 1))
    return sorted(years)


def statement(
    rep: Representative, *, start: datetime.date, end: datetime.date, today: datetime.date
) -> Statement:
    """The rep's funds from ``start`` to ``end``: carried over, allotted, spent, and each expense.

    Queries: the county's policies (1), the sums before and within the range (1), the expenses
    within it (1); the mandates come prefetched with the rep.
    """
    county_id = rep.region.county_id
    policies = duties.policies_of([county_id], model=DutyPolicy)

    def allotment(year: int) -> Decimal:
        day = duties.reference_day(today, year)
        return duties.policy_in_force(county_id, day, policies).activity_funds_per_year

    years = years_in_office(rep, until=end.year)
    expenses = FundExpense.objects.filter(representative=rep)
    sums = expenses.aggregate(
        before=Sum("amount", filter=Q(date__lt=start)),
        within=Sum("amount", filter=Q(date__gte=start, date__lte=end)),
    )
    return Statement(
        carried_over=yuan(
            sum((allotment(y) for y in years if y < start.year), Decimal(0)) - (sums["before"] or 0)
        ),
        allotted=yuan(sum((allotment(y) for y in years if y >= start.year), Decimal(0))),
        spent=yuan(sums["within"] or Decimal(0)),
        expenses=list(expenses.filter(date__gte=start, date__lte=end).order_by("date", "id")),
    )

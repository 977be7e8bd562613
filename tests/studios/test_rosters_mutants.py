"""Roster generation edges that mutation testing (`make mutate`) found untested: the first weekday of
a month, months across a new year, a leave's last day, inactive rules, a second period of the same
studio, duties already taken at another studio, the report of studios without rules, the audit, and
the wording of a problem."""

import datetime

import pytest
from django.utils import translation

from liaison.models import AuditEvent
from studios import rosters
from studios.models import DutySlot, Leave, RosterPeriod, Studio, StudioAssignment
from tests.factories import RuleFactory, studio_with_reps

D = datetime.date


def generate(user, start, end):
    return rosters.generate(actor=user, studios=Studio.objects.all(), start=start, end=end)


def test_the_first_weekday_of_a_month_can_be_its_first_day():
    assert rosters.nth_weekday(2026, 1, 3, 1) == D(2026, 1, 1)  # a Thursday
    assert rosters.nth_weekday(2026, 1, 3, 5) == D(2026, 1, 29)
    assert rosters.nth_weekday(2026, 1, 3, 6) is None


def test_months_run_across_the_new_year():
    assert list(rosters._months(D(2026, 11, 15), D(2027, 2, 1))) == [
        (2026, 11),
        (2026, 12),
        (2027, 1),
        (2027, 2),
    ]


def test_an_end_before_the_start_is_refused(clerk_a):
    with pytest.raises(ValueError, match="^end before start$"):
        generate(clerk_a, D(2027, 2, 1), D(2027, 1, 31))


def test_a_rep_is_not_on_duty_on_the_last_day_of_their_leave(clerk_a, township_a):
    studio = studio_with_reps(township_a, 2)
    away = studio.assignments.order_by("pk").first().representative
    Leave.objects.create(representative=away, start=D(2027, 5, 1), end=D(2027, 5, 8))  # a Saturday
    RuleFactory(studio=studio, reps_per_slot=2)
    report = generate(clerk_a, D(2027, 5, 8), D(2027, 5, 8))
    assert [(p.date, p.needed, p.found) for p in report.problems] == [(D(2027, 5, 8), 2, 1)]


def test_inactive_rules_make_no_duties_and_a_studio_with_none_is_reported(clerk_a, township_a):
    studio = studio_with_reps(township_a, 2)
    RuleFactory(studio=studio, is_active=False)
    report = generate(clerk_a, D(2027, 1, 1), D(2027, 1, 31))
    assert report.without_rules == [studio]
    assert not DutySlot.objects.exists()


def test_a_second_period_leaves_the_first_alone(clerk_a, township_a):
    studio = studio_with_reps(township_a, 2)
    RuleFactory(studio=studio)
    generate(clerk_a, D(2027, 1, 1), D(2027, 1, 31))
    january = set(DutySlot.objects.values_list("pk", flat=True))
    generate(clerk_a, D(2027, 2, 1), D(2027, 2, 28))
    periods = RosterPeriod.objects.order_by("start").values_list("start", "end")
    assert list(periods) == [(D(2027, 1, 1), D(2027, 1, 31)), (D(2027, 2, 1), D(2027, 2, 28))]
    assert january < set(DutySlot.objects.values_list("pk", flat=True))
    assert DutySlot.objects.count() == 5 + 4


def test_a_problem_says_where_when_and_how_many(clerk_a, township_a):
    studio = studio_with_reps(township_a, 1, name="Short-handed")
    RuleFactory(studio=studio, reps_per_slot=2)
    report = generate(clerk_a, D(2027, 1, 2), D(2027, 1, 2))
    with translation.override("en"):
        assert str(report.problems[0]) == (
            "Short-handed, 2027-01-02, Regular duty: 2 representatives needed, 1 available"
        )


def test_generating_a_roster_is_audited_with_who_and_where(clerk_a, township_a):
    studio = studio_with_reps(township_a, 1)
    RuleFactory(studio=studio)
    report = generate(clerk_a, D(2027, 1, 1), D(2027, 1, 31))
    event = AuditEvent.objects.get(verb="roster.generated")
    assert (event.actor, event.region_id, event.subject_id) == (
        clerk_a,
        township_a.pk,
        str(report.written[0].pk),
    )


def test_duties_at_another_studio_generated_earlier_are_respected(clerk_a, township_a):
    one, two = studio_with_reps(township_a, 1), studio_with_reps(township_a, 1)
    shared = one.assignments.get().representative
    StudioAssignment.objects.create(studio=two, representative=shared, start=D(2024, 1, 1))
    RuleFactory(studio=one), RuleFactory(studio=two, reps_per_slot=2)
    rosters.generate(
        actor=clerk_a, studios=Studio.objects.filter(pk=one.pk), start=D(2027, 1, 1), end=D(2027, 1, 9)
    )
    report = rosters.generate(
        actor=clerk_a, studios=Studio.objects.filter(pk=two.pk), start=D(2027, 1, 1), end=D(2027, 1, 9)
    )
    # The shared rep is on duty at the first studio both Saturdays: the second cannot have two.
    assert [(p.date, p.found) for p in report.problems] == [(D(2027, 1, 2), 1), (D(2027, 1, 9), 1)]

"""Routine points (issue 13): computed from the records, equal to values worked out by hand for a rep
with two mandates, a term ending mid-year and a policy changing mid-year; duties met and missed
counted over every period of the year; constant queries in the number of reps."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from proposals.models import Ticket, new_tracking_code
from reps import duties, points
from reps.models import Mandate, PointsPolicy, Representative, ResearchReport, ReviewScore
from studios.models import Reception
from tests.factories import ContactFactory, MandateFactory, RepresentativeFactory, StudioFactory, visit

TZ = timezone.get_default_timezone()
SEEN_FROM = datetime.date(2026, 3, 1)  # 2025 is a past year: its reference day is 31 December
RECORDS_ONLY = {"per_duty_met": 0, "per_duty_missed": 0}


def policy(county, day, **fields) -> PointsPolicy:
    return PointsPolicy.objects.create(county=county, effective_from=day, **fields)


def score_of(rep, year=2025, today=SEEN_FROM) -> points.Score:
    (found,) = points.year_scores(Representative.objects.filter(pk=rep.pk), year=year, today=today)
    return found


def lines(score) -> dict[str, tuple[int, Decimal]]:
    return {line.key: (line.count, line.points) for line in score.lines}


def reception(rep, studio, day, recorded_by):
    r = Reception.objects.create(
        studio=studio,
        township=studio.region,
        kind="regular",
        starts_at=datetime.datetime.combine(day, datetime.time(9), tzinfo=TZ),
        people_received=3,
        recorded_by=recorded_by,
    )
    r.representatives.add(rep)
    return r


def ticket(rep, township, category, day, **fields):
    return Ticket.objects.create(
        title="路灯",
        content="路灯坏了",
        category=category,
        source="reception",
        township=township,
        representative=rep,
        tracking_code=new_tracking_code(),
        created_at=datetime.datetime.combine(day, datetime.time(10), tzinfo=TZ),
        **fields,
    )


@pytest.fixture
def two_mandates(township_a):
    rep = RepresentativeFactory(region=township_a, name="双任代表")
    MandateFactory(representative=rep, level="county", congress="县第十五次党代会")
    MandateFactory(representative=rep, level="township", congress="镇第十五次党代会")
    return rep


def test_a_rep_with_two_mandates_is_scored_once_by_hand(
    two_mandates, county, township_a, village_a, clerk_a, category
):
    policy(county, datetime.date(2024, 1, 1), full_marks=50, **RECORDS_ONLY)
    rep, contact = two_mandates, ContactFactory(village=village_a)
    for day in (datetime.date(2025, 3, 1), datetime.date(2025, 6, 1), datetime.date(2025, 11, 30)):
        visit(rep, [contact], day, recorded_by=clerk_a)
    visit(rep, [contact], datetime.date(2024, 12, 31), recorded_by=clerk_a)  # the year before
    ResearchReport.objects.create(representative=rep, title="调研", submitted_on=datetime.date(2025, 5, 5))
    studio = StudioFactory(region=township_a)
    reception(rep, studio, datetime.date(2025, 2, 8), clerk_a)
    reception(rep, studio, datetime.date(2025, 8, 9), clerk_a)
    ticket(
        rep,
        township_a,
        category,
        datetime.date(2025, 4, 1),
        adopted_on=datetime.date(2025, 9, 1),
        adopted_by="县委",
    )
    ticket(rep, township_a, category, datetime.date(2025, 10, 1))
    ReviewScore.objects.create(representative=rep, year=2025, score=Decimal("80"), entered_by=clerk_a)

    score = score_of(rep)

    # visits 3 × 1, report 1 × 3, receptions 2 × 2, suggestions 2 × 3, adopted 1 × 5 = 21 points;
    # a whole year in office: 21 / 50 → 42.0; total 42 × 0.3 + 80 × 0.7 = 68.6
    got = lines(score)
    assert got["visits"] == (3, Decimal(3))
    assert got["research_reports"] == (1, Decimal(3))
    assert got["receptions"] == (2, Decimal(4))
    assert got["suggestions"] == (2, Decimal(6))
    assert got["adopted"] == (1, Decimal(5))
    assert score.points == Decimal(21)
    assert (score.full_marks, score.routine, score.total) == (50, Decimal("42.0"), Decimal("68.6"))


def test_a_term_ending_mid_year_prorates_the_full_marks(township_a, county, village_a, clerk_a, category):
    policy(county, datetime.date(2024, 1, 1), full_marks=50, **RECORDS_ONLY)
    rep = RepresentativeFactory(region=township_a)
    MandateFactory(
        representative=rep, term_start=datetime.date(2021, 7, 1), term_end=datetime.date(2025, 6, 30)
    )
    contact = ContactFactory(village=village_a)
    visit(rep, [contact], datetime.date(2025, 3, 3), recorded_by=clerk_a)
    visit(rep, [contact], datetime.date(2025, 3, 20), recorded_by=clerk_a)
    ticket(rep, township_a, category, datetime.date(2025, 5, 1))

    score = score_of(rep)

    # in office 181 of 365 days: full marks ⌈50 × 181 / 365⌉ = 25; 2 × 1 + 1 × 3 = 5 points → 20.0
    assert score.points == Decimal(5)
    assert (score.full_marks, score.routine, score.total) == (25, Decimal("20.0"), None)


def test_a_policy_change_mid_year_scores_the_whole_year_from_its_last_day(
    two_mandates, county, village_a, clerk_a
):
    policy(county, datetime.date(2024, 1, 1), per_visit=1, **RECORDS_ONLY)
    policy(county, datetime.date(2025, 7, 1), per_visit=4, routine_weight=Decimal("0.5"), **RECORDS_ONLY)
    contact = ContactFactory(village=village_a)
    for day in (datetime.date(2024, 5, 5), datetime.date(2025, 3, 1), datetime.date(2025, 9, 1)):
        visit(two_mandates, [contact], day, recorded_by=clerk_a)

    assert lines(score_of(two_mandates))["visits"] == (2, Decimal(8))  # 2025 by the July version
    assert score_of(two_mandates).weight == Decimal("0.5")
    assert lines(score_of(two_mandates, year=2024))["visits"] == (1, Decimal(1))  # 2024 keeps its own
    # Seen in June 2025, before the change: the old version, and the visits up to that day.
    in_june = score_of(two_mandates, year=2025, today=datetime.date(2025, 6, 15))
    assert lines(in_june)["visits"] == (1, Decimal(1)) and in_june.weight == Decimal("0.30")


def test_duties_met_and_missed_are_counted_over_the_year(two_mandates, county, township_a, clerk_a):
    policy(county, datetime.date(2024, 1, 1), per_duty_met=2, per_duty_missed=1, per_reception=0)
    studio = StudioFactory(region=township_a)
    reception(two_mandates, studio, datetime.date(2025, 2, 8), clerk_a)
    reception(two_mandates, studio, datetime.date(2025, 3, 8), clerk_a)

    reps = list(Representative.objects.filter(pk=two_mandates.pk).prefetch_related("mandates"))
    met_behind = duties.cells_met_and_behind(
        reps, start=datetime.date(2025, 1, 1), reference=datetime.date(2025, 12, 31)
    )
    score = score_of(two_mandates)

    # met: receptions in Q1 (2/2). behind: receptions Q2–Q4, contacts (0/5) and both pairings on
    # 31 December. The research duty over the term is on pace (nothing due yet), visits ask nothing.
    assert met_behind == {two_mandates.pk: (1, 6)}
    assert lines(score)["duties_met"] == (1, Decimal(2))
    assert lines(score)["duties_missed"] == (6, Decimal(-6))
    assert score.points == Decimal(-4) and score.routine == Decimal("0.0")  # never below 0


def test_defaults_apply_without_a_policy(two_mandates):
    score = score_of(two_mandates)
    assert score.policy.pk is None and score.weight == Decimal("0.30") and score.full_marks == 100


@pytest.mark.parametrize("n", [10, 1000])
def test_constant_queries_whatever_the_number_of_reps(n, township_a, county, django_assert_num_queries):
    policy(county, datetime.date(2024, 1, 1))
    reps = RepresentativeFactory.create_batch(n, region=township_a)
    Mandate.objects.bulk_create(
        Mandate(
            representative=rep,
            level="county",
            congress="县第十五次党代会",
            term_start=datetime.date(2024, 1, 1),
            term_end=datetime.date(2028, 12, 31),
        )
        for rep in reps
    )
    with django_assert_num_queries(QUERIES):
        scores = points.year_scores(Representative.objects.all(), year=2025, today=SEEN_FROM)
    assert len(scores) == n


QUERIES = 25  # reps, mandates, 2 policy tables, 8 sources, the duty cells, review scores


def test_public_opinion_reports_earn_the_report_points_in_their_year(two_mandates, county, category):
    from studios.models import OpinionReport

    policy(county, datetime.date(2024, 1, 1), per_report=3, **RECORDS_ONLY)
    for month in (datetime.date(2024, 12, 1), datetime.date(2025, 1, 1), datetime.date(2025, 12, 1)):
        OpinionReport.objects.create(
            representative=two_mandates, month=month, category=category, content="民意"
        )

    assert lines(score_of(two_mandates))["opinion_reports"] == (2, Decimal(6))

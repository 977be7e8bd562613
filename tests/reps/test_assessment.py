"""The assessment page (issue 13): ranking with breakdowns, review scores entered and imported,
publish locks the year, amendments recorded and shown, Excel, roles and scope, constant queries."""

import datetime
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from liaison.models import AuditEvent
from reps import assessment
from reps.models import (
    Amendment,
    AssessmentEntry,
    AssessmentSheet,
    Mandate,
    PointsPolicy,
    Representative,
    ReviewScore,
)
from tests.factories import ContactFactory, RepresentativeFactory, active_rep, visit

YEAR = timezone.localdate().year - 1  # a finished year
URL = reverse("reps:assessment")


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reps(township_a, township_b, county, village_a, clerk_a):
    PointsPolicy.objects.create(
        county=county,
        effective_from=datetime.date(2000, 1, 1),
        per_duty_met=0,
        per_duty_missed=0,
        full_marks=10,
    )
    a1, a2 = active_rep(township_a, name="甲一"), active_rep(township_a, name="甲二")
    b1 = active_rep(township_b, name="乙一")
    Mandate.objects.update(term_start=datetime.date(YEAR - 2, 1, 1))
    contact = ContactFactory(village=village_a)
    for day in (1, 2, 3, 4):
        visit(a1, [contact], datetime.date(YEAR, 5, day), recorded_by=clerk_a)  # 4 points → 40.0
    visit(a2, [contact], datetime.date(YEAR, 5, 1), recorded_by=clerk_a)  # 1 point → 10.0
    return a1, a2, b1


def rows_of(response) -> list[tuple[int, int, str]]:
    return [(r.rep.pk, r.rank, str(r.total)) for r in response.context["rows"]]


def test_the_office_sees_the_county_ranked_with_breakdowns(reps, liaison_office, clerk_a):
    a1, a2, b1 = reps
    assessment.review_scores_enter(
        actor=clerk_a, county=a1.region.parent, year=YEAR, scores={a1: Decimal(60), a2: Decimal(90)}
    )
    response = as_user(liaison_office).get(URL, {"year": YEAR})
    assert response.status_code == 200
    # a1: 40 × 0.3 + 60 × 0.7 = 54.0; a2: 10 × 0.3 + 90 × 0.7 = 66.0; b1 has no review yet
    assert rows_of(response) == [(a2.pk, 1, "66.0"), (a1.pk, 2, "54.0"), (b1.pk, 3, "None")]
    html = response.content.decode()
    assert f'data-breakdown="{a1.pk}"' in html and 'data-line="visits"' in html
    assert 'id="publish-form"' in html


def test_filters_by_township_and_a_township_sees_only_its_own(reps, liaison_office, clerk_a, township_b):
    a1, a2, b1 = reps
    office = as_user(liaison_office).get(URL, {"year": YEAR, "township": township_b.pk})
    assert [pk for pk, _r, _t in rows_of(office)] == [b1.pk]
    township = as_user(clerk_a).get(URL, {"year": YEAR})
    assert {pk for pk, _r, _t in rows_of(township)} == {a1.pk, a2.pk}
    assert 'id="publish-form"' not in township.content.decode()
    assert as_user(clerk_a).get(URL, {"year": YEAR, "township": township_b.pk}).status_code == 404


def test_reps_units_and_another_county_may_not(reps, my_rep, unit_staff, client):
    from liaison.roles import Role
    from tests.factories import CountyFactory, user_with_role

    assert as_user(my_rep.user).get(URL).status_code == 403
    assert as_user(unit_staff).get(URL).status_code == 403
    assert client.get(URL).status_code == 302
    elsewhere = user_with_role(Role.LIAISON_OFFICE, region=CountyFactory(name="别县"), username="biexian")
    response = as_user(elsewhere).get(URL, {"year": YEAR})
    assert response.status_code == 200 and rows_of(response) == []


def test_the_review_form_saves_scores_and_twice_is_harmless(reps, clerk_a, township_a):
    a1, a2, _b1 = reps
    url = reverse("reps:review_scores") + f"?year={YEAR}&township={township_a.pk}"
    page = as_user(clerk_a).get(url)
    assert f'name="score-{a1.pk}"' in page.content.decode()
    data = {f"score-{a1.pk}": "88.5", f"score-{a2.pk}": ""}
    assert as_user(clerk_a).post(url, data).status_code == 302
    assert as_user(clerk_a).post(url, data).status_code == 302
    assert list(ReviewScore.objects.values_list("representative", "year", "score")) == [
        (a1.pk, YEAR, Decimal("88.5"))
    ]
    assert AuditEvent.objects.filter(verb="review.entered").count() == 1  # the second changed nothing
    bad = as_user(clerk_a).post(url, {f"score-{a1.pk}": "101"})
    assert bad.status_code == 200 and len(bad.context["errors"]) == 1
    assert ReviewScore.objects.get().score == Decimal("88.5")


def test_the_review_scores_import_from_excel_with_row_numbered_errors(reps, clerk_a, township_a):
    a1, a2, _b1 = reps
    url = reverse("reps:review_scores") + f"?year={YEAR}&township={township_a.pk}"

    def sheet(rows):
        book = openpyxl.Workbook()
        book.active.append(["姓名", "手机", "评议得分"])
        for row in rows:
            book.active.append(row)
        out = io.BytesIO()
        book.save(out)
        out.seek(0)
        out.name = "评议.xlsx"
        return out

    wrong = as_user(clerk_a).post(
        url, {"sheet": sheet([[a1.name, a1.phone, 70], ["无名", "", 50], [a2.name, a2.phone, "优"]])}
    )
    assert wrong.status_code == 200
    # Each error names its row, as Excel numbers them (the page is in Chinese: "第 3 行：…").
    assert [re.search(r"\d+", e).group() for e in wrong.context["errors"]] == ["3", "4"]
    assert not ReviewScore.objects.exists()  # all or nothing
    ok = as_user(clerk_a).post(url, {"sheet": sheet([[a1.name, a1.phone, 70], [a2.name, a2.phone, 95.5]])})
    assert ok.status_code == 302
    assert dict(ReviewScore.objects.values_list("representative", "score")) == {
        a1.pk: Decimal(70),
        a2.pk: Decimal("95.5"),
    }


def test_publish_locks_the_year_and_an_amendment_is_recorded_and_shown(reps, liaison_office, clerk_a, county):
    a1, a2, b1 = reps
    assessment.review_scores_enter(actor=clerk_a, county=county, year=YEAR, scores={a1: Decimal(60)})
    publish = reverse("reps:assessment_publish")
    assert as_user(liaison_office).post(publish, {"year": YEAR, "county": county.pk}).status_code == 302
    assert as_user(liaison_office).post(publish, {"year": YEAR, "county": county.pk}).status_code == 302
    sheet = AssessmentSheet.objects.get()  # published once
    entry = AssessmentEntry.objects.get(sheet=sheet, representative=a1)
    assert (entry.routine_points, entry.routine_score, entry.review_score, entry.total) == (
        Decimal(4),
        Decimal("40.0"),
        Decimal(60),
        Decimal("54.0"),
    )
    assert sheet.entries.count() == 3

    # Locked: the review form and the service refuse; new records do not change the sheet.
    with pytest.raises(ValidationError):
        assessment.review_scores_enter(actor=clerk_a, county=county, year=YEAR, scores={a1: Decimal(99)})
    review = reverse("reps:review_scores") + f"?year={YEAR}&township={a1.region.pk}"
    as_user(clerk_a).post(review, {f"score-{a1.pk}": "99"})
    assert ReviewScore.objects.get(representative=a1).score == Decimal(60)
    visit(a1, [ContactFactory()], datetime.date(YEAR, 6, 1), recorded_by=clerk_a)
    shown = as_user(liaison_office).get(URL, {"year": YEAR})
    assert (a1.pk, 1, "54.0") in rows_of(shown) and 'id="published"' in shown.content.decode()

    amend = reverse("reps:assessment_amend", args=[entry.pk])
    assert as_user(clerk_a).get(amend).status_code == 403  # the township reads, the office amends
    no_reason = as_user(liaison_office).post(
        amend, {"routine_score": "40.0", "review_score": "70", "reason": ""}
    )
    assert set(no_reason.context["form"].errors) == {"reason"}
    data = {"routine_score": "40.0", "review_score": "70", "reason": "评议票漏计一张"}
    assert as_user(liaison_office).post(amend, data).status_code == 302
    assert as_user(liaison_office).post(amend, data).status_code == 200  # unchanged now: refused
    amendment = Amendment.objects.get()
    assert (amendment.old_total, amendment.new_total, amendment.amended_by) == (
        Decimal("54.0"),
        Decimal("61.0"),
        liaison_office,
    )
    html = as_user(liaison_office).get(URL, {"year": YEAR}).content.decode()
    assert f'data-amendment="{amendment.pk}"' in html and "评议票漏计一张" in html
    assert AuditEvent.objects.filter(verb="assessment.amended").count() == 1


def test_only_the_office_publishes(reps, clerk_a, county):
    response = as_user(clerk_a).post(reverse("reps:assessment_publish"), {"year": YEAR})
    assert response.status_code == 403
    assert not AssessmentSheet.objects.exists()


def test_the_excel_has_numbers_as_numbers(reps, liaison_office):
    response = as_user(liaison_office).get(URL, {"year": YEAR, "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    first = [c.value for c in sheet[2]]
    # rank, name, township, group, the lines' points…, routine points, routine score, review, total
    assert first[:3] == [1, "甲一", "城关镇"]
    assert first[-4:] == [4.0, 40.0, None, None]
    assert (
        sheet.cell(row=2, column=1).data_type == "n"
        and sheet.cell(row=2, column=len(first) - 2).data_type == "n"
    )


@pytest.mark.parametrize("n", [10, 1000])
def test_constant_queries_at_10_and_1000_reps(n, township_a, liaison_office, django_assert_num_queries):
    made = RepresentativeFactory.create_batch(n, region=township_a)
    Mandate.objects.bulk_create(
        Mandate(
            representative=rep,
            level="county",
            congress="县第十五次党代会",
            term_start=datetime.date(YEAR - 2, 1, 1),
            term_end=datetime.date(YEAR + 2, 12, 31),
        )
        for rep in made
    )
    client = as_user(liaison_office)
    client.get(URL, {"year": YEAR})  # the session and the user's scope, once
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(URL, {"year": YEAR})
    assert len(response.context["rows"]) == n
    assert Representative.objects.count() == n


PAGE_QUERIES = 34  # one more per point source


def test_a_year_without_reps_is_published_with_the_countys_weight(county, liaison_office):
    """The weight comes from the county's points policy even when no rep served in the year."""
    PointsPolicy.objects.create(
        county=county, effective_from=datetime.date(2000, 1, 1), routine_weight=Decimal("0.50")
    )
    sheet = assessment.assessment_publish(
        actor=liaison_office, county=county, year=2001, today=timezone.localdate()
    )
    assert (sheet.routine_weight, sheet.entries.count()) == (Decimal("0.50"), 0)


def test_a_published_row_keeps_the_full_marks_its_routine_score_was_made_from(reps, liaison_office, county):
    a1, _a2, b1 = reps
    Mandate.objects.filter(representative=b1).update(term_end=datetime.date(YEAR, 6, 30))  # half a year
    assessment.assessment_publish(actor=liaison_office, county=county, year=YEAR, today=timezone.localdate())
    assert AssessmentEntry.objects.get(representative=a1).full_marks == 10
    assert AssessmentEntry.objects.get(representative=b1).full_marks == 5  # 10 × 181/365, rounded up
    rows = as_user(liaison_office).get(URL, {"year": YEAR}).context["rows"]
    assert {r.rep.pk: r.full_marks for r in rows} == {a1.pk: 10, _a2.pk: 10, b1.pk: 5}


@pytest.mark.parametrize("n", [10, 1000])
def test_the_published_sheet_costs_the_same_queries_at_10_and_1000_reps(
    n, township_a, county, liaison_office, django_assert_num_queries
):
    made = RepresentativeFactory.create_batch(n, region=township_a)
    Mandate.objects.bulk_create(
        Mandate(
            representative=rep,
            level="county",
            congress="县第十五次党代会",
            term_start=datetime.date(YEAR - 2, 1, 1),
            term_end=datetime.date(YEAR + 2, 12, 31),
        )
        for rep in made
    )
    sheet = assessment.assessment_publish(
        actor=liaison_office, county=county, year=YEAR, today=timezone.localdate()
    )
    first = sheet.entries.order_by("pk").first()
    assessment.assessment_amend(
        actor=liaison_office, entry=first, routine_score=Decimal(1), review_score=None, reason="更正"
    )
    client = as_user(liaison_office)
    client.get(URL, {"year": YEAR})  # the session and the user's scope, once
    with django_assert_num_queries(PUBLISHED_PAGE_QUERIES):
        response = client.get(URL, {"year": YEAR})
    assert len(response.context["rows"]) == n
    assert response.content.decode().count("data-amendment=") == 1


PUBLISHED_PAGE_QUERIES = 12


@pytest.mark.parametrize("n", [3, 60])
def test_saving_a_townships_review_scores_costs_the_same_queries_for_3_and_60_reps(
    n, township_a, clerk_a, django_assert_num_queries
):
    made = RepresentativeFactory.create_batch(n, region=township_a)
    Mandate.objects.bulk_create(
        Mandate(
            representative=rep,
            level="county",
            congress="县第十五次党代会",
            term_start=datetime.date(YEAR - 2, 1, 1),
            term_end=datetime.date(YEAR + 2, 12, 31),
        )
        for rep in made
    )
    url = reverse("reps:review_scores") + f"?year={YEAR}&township={township_a.pk}"
    client = as_user(clerk_a)
    client.get(url)  # the session and the user's scope, once
    with django_assert_num_queries(REVIEW_SAVE_QUERIES):
        response = client.post(url, {f"score-{rep.pk}": "80" for rep in made})
    assert response.status_code == 302
    assert ReviewScore.objects.filter(score=80).count() == n


REVIEW_SAVE_QUERIES = 15

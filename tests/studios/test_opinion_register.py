"""The quarterly 民情民意收集登记表 of a studio: its reps' reports of the quarter, Excel, print, submitted."""

import datetime
import io

import pytest
import time_machine
from django.urls import reverse

from liaison.models import AuditEvent
from liaison.roles import Role
from reps.models import Representative
from studios.models import OpinionRegisterSubmission, OpinionReport, Studio, StudioAssignment
from tests.factories import active_rep, studio_with_reps, user_with_role

URL = reverse("studios:opinion_register")


@pytest.fixture
def in_august():
    with time_machine.travel(datetime.datetime(2026, 8, 15, 4, 0, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def register(township_a, township_b, category):
    studio = studio_with_reps(township_a, 2, name="城关镇党代表工作室")
    first, second = Representative.objects.filter(studio_assignments__studio=studio).order_by("pk")
    left = active_rep(township_a, name="钱离任")  # served until June: not in the third quarter
    StudioAssignment.objects.create(
        studio=studio, representative=left, start=datetime.date(2024, 1, 1), end=datetime.date(2026, 6, 30)
    )
    elsewhere = studio_with_reps(township_b, 1, name="河口镇党代表工作室")
    other = Representative.objects.get(studio_assignments__studio=elsewhere)

    def report(rep, month, text):
        return OpinionReport.objects.create(
            representative=rep, month=datetime.date(2026, month, 1), category=category, content=text
        )

    report(first, 7, "路灯不亮")
    report(second, 9, '=HYPERLINK("x")医保')
    report(first, 6, "上季度的")  # the second quarter
    report(first, 10, "下季度的")
    report(left, 7, "离任后")
    report(other, 8, "河口镇的")
    return studio, elsewhere


def contents(response) -> list[str]:
    return [r.content for r in response.context["reports"]]


def test_the_register_lists_the_quarters_reports_of_the_reps_serving_there(
    client, clerk_a, register, in_august, django_assert_num_queries
):
    studio, _elsewhere = register
    client.force_login(clerk_a)
    response = client.get(URL, {"studio": studio.pk, "year": 2026, "quarter": 3})
    assert response.status_code == 200
    assert contents(response) == ["路灯不亮", '=HYPERLINK("x")医保']
    assert response.context["submission"] is None and response.context["may_submit"]
    # The default is this quarter.
    assert contents(client.get(URL, {"studio": studio.pk})) == ["路灯不亮", '=HYPERLINK("x")医保']
    assert contents(client.get(URL, {"studio": studio.pk, "year": 2026, "quarter": 2})) == ["上季度的"]


def test_excel_and_print(client, clerk_a, register, in_august):
    from openpyxl import load_workbook

    studio, _elsewhere = register
    client.force_login(clerk_a)
    params = {"studio": studio.pk, "year": 2026, "quarter": 3}
    export = client.get(URL, {**params, "format": "xlsx"})
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[3] for r in rows[1:]] == ["路灯不亮", '=HYPERLINK("x")医保']
    assert sheet.cell(row=3, column=4).data_type == "s"  # text, never a formula
    printed = client.get(URL, {**params, "print": 1})
    assert printed.status_code == 200 and "路灯不亮" in printed.content.decode()


def test_the_officer_marks_the_quarter_submitted_once_and_it_is_audited(
    client, register, township_a, in_august
):
    studio, _elsewhere = register
    officer = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan")
    Studio.objects.filter(pk=studio.pk).update(liaison_officer=officer)
    client.force_login(officer)
    data = {"studio": studio.pk, "year": 2026, "quarter": 3}
    assert client.post(URL, data).status_code == 302
    assert client.post(URL, data).status_code == 302  # a second click: the first mark stands
    [submission] = OpinionRegisterSubmission.objects.all()
    assert (submission.studio, submission.year, submission.quarter, submission.submitted_by) == (
        studio, 2026, 3, officer,
    )  # fmt: skip
    [event] = AuditEvent.objects.filter(verb="opinion_register.submitted")
    assert event.actor_id == officer.pk
    page = client.get(URL, data)
    assert page.context["submission"] == submission and not page.context["may_submit"]
    # Another quarter is still open.
    assert client.get(URL, {**data, "quarter": 2}).context["submission"] is None


def test_scope_another_townships_studio_is_not_found_and_a_rep_is_refused(client, clerk_a, rep_a, register):
    _studio, elsewhere = register
    client.force_login(clerk_a)
    assert client.get(URL, {"studio": elsewhere.pk}).status_code == 404
    assert client.post(URL, {"studio": elsewhere.pk, "year": 2026, "quarter": 3}).status_code == 404
    assert not OpinionRegisterSubmission.objects.exists()
    client.force_login(rep_a)
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("size", [10, 1000])
def test_the_page_costs_the_same_queries_for_10_and_1000_reports(
    client, clerk_a, township_a, category, size, in_august, django_assert_num_queries
):
    studio = studio_with_reps(township_a, 2, name="城关镇党代表工作室")
    rep = Representative.objects.filter(studio_assignments__studio=studio).first()
    OpinionReport.objects.bulk_create(
        OpinionReport(
            representative=rep, month=datetime.date(2026, 7 + i % 3, 1), category=category, content="x"
        )
        for i in range(size)
    )
    client.force_login(clerk_a)
    # Session, user, scope, studio, submission, reports, header badge, studios and townships to choose.
    with django_assert_num_queries(9):
        response = client.get(URL, {"studio": studio.pk})
    assert len(response.context["reports"]) == size
    with django_assert_num_queries(8):  # the township instead of the studio; no studio list
        response = client.get(URL, {"township": township_a.pk})
    assert len(response.context["reports"]) == size


def test_a_townships_register_holds_its_reps_reports_and_is_submitted_by_its_staff(
    client, clerk_a, register, township_a, township_b, village_a, category, in_august
):
    villager = active_rep(village_a, name="孙村民")
    OpinionReport.objects.create(
        representative=villager, month=datetime.date(2026, 8, 1), category=category, content="村道"
    )
    client.force_login(clerk_a)
    params = {"township": township_a.pk, "year": 2026, "quarter": 3}
    response = client.get(URL, params)
    assert response.status_code == 200
    # Every rep based in the township or its villages, whatever their studio (the one who left too).
    assert sorted(contents(response)) == sorted(["路灯不亮", '=HYPERLINK("x")医保', "离任后", "村道"])
    assert client.post(URL, params).status_code == 302
    [submission] = OpinionRegisterSubmission.objects.all()
    assert (submission.township, submission.studio) == (township_a, None)
    assert client.get(URL, params).context["submission"] == submission
    # The studio's register of the same quarter is a separate mark, still open.
    studio, _elsewhere = register
    assert client.get(URL, {"studio": studio.pk, "year": 2026, "quarter": 3}).context["submission"] is None
    # Another township: not found; a studio officer keeps no township register.
    assert client.get(URL, {"township": township_b.pk}).status_code == 404
    officer = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan")
    Studio.objects.filter(pk=studio.pk).update(liaison_officer=officer)
    client.force_login(officer)
    assert client.get(URL, params).status_code == 404

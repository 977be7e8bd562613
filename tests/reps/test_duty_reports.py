"""Duty reports (述职): a rep hands in the year's report (and the half-year one where the county's
duty policy asks); staff of their region see who has and who is overdue and record the electoral
unit's evaluation; the December reminder stops for those who have handed it in."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from liaison.audit import AuditEvent
from liaison.idempotency import ALREADY_SAVED, new_token
from liaison.models import Reminder
from liaison.uploads import clean_attachment
from reps import points, record, reminders
from reps.models import DutyPolicy, DutyReport, PointsPolicy, Representative
from reps.services import duty_report_evaluate, duty_report_submit
from tests.factories import active_rep, user_with_role
from tests.helpers import refusal
from tests.proposals.public_helpers import pdf_bytes
from tests.twice import messages_of, page_token, post_at_once, refusals

D = datetime.date
NOW = datetime.datetime(2026, 12, 5, 10, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def as_rep(client, rep_a, my_rep):
    client.force_login(rep_a)
    return client


def pdf(name="述职报告.pdf"):
    return SimpleUploadedFile(name, pdf_bytes(), content_type="application/pdf")


def post(client, *, token=None, file=None, **fields):
    data = {"year": "2026", "kind": "year", "text": "", "token": token or new_token(), **fields}
    if file is not None:
        data["file"] = file
    return client.post(reverse("reps:duty_report_new"), data)


def errors_of(response) -> dict:
    form = response.context["form"]
    with translation.override("en"):
        return {field: [e.code for e in errors] for field, errors in form.errors.as_data().items()}


def submit(rep, user, **kwargs):
    return duty_report_submit(actor=user, representative=rep, year=2026, today=D(2026, 12, 5), **kwargs)


class TestHandingIn:
    def test_a_rep_hands_in_text_and_a_pdf(self, as_rep, my_rep):
        response = post(as_rep, text="一年来走访群众二十余次", file=pdf())
        assert response.status_code == 302
        report = DutyReport.objects.get()
        assert (report.representative, report.year, report.kind) == (my_rep, 2026, "year")
        assert (report.file_name, report.content_type, report.text) == (
            "述职报告.pdf",
            "application/pdf",
            "一年来走访群众二十余次",
        )
        assert report.file.name.startswith("reps/duty-reports/")

    def test_sent_twice_it_is_kept_once(self, as_rep):
        token = page_token(as_rep.get(reverse("reps:duty_report_new")))
        first = post(as_rep, token=token, text="述职内容")
        second = post(as_rep, token=token, text="述职内容")
        assert first.status_code == second.status_code == 302
        assert messages_of(second)[-1] == str(ALREADY_SAVED)
        assert DutyReport.objects.count() == 1

    def test_a_second_form_changes_the_one_report_until_it_is_evaluated(self, as_rep, clerk_a):
        post(as_rep, text="初稿", file=pdf())
        post(as_rep, text="定稿")
        report = DutyReport.objects.get()
        assert report.text == "定稿" and report.file_name == "述职报告.pdf"  # the file stays
        duty_report_evaluate(actor=clerk_a, report=report, satisfied=30, basically_satisfied=5, unsatisfied=1)
        response = post(as_rep, text="再改")
        assert [e.code for e in response.context["form"].non_field_errors().as_data()] == ["evaluated"]
        assert "再改" in response.content.decode()  # nothing typed is lost
        assert DutyReport.objects.get().text == "定稿"

    @pytest.mark.postgres
    @pytest.mark.django_db(transaction=True)
    def test_two_tabs_at_the_same_instant_make_one_report(self, rep_a, my_rep):
        if connection.vendor != "postgresql":
            pytest.fail("this race is checked on PostgreSQL: run it with `make test`")
        tabs = [Client(), Client()]
        for tab in tabs:
            tab.force_login(rep_a)
        url = reverse("reps:duty_report_new")
        posts = [
            (tab, url, {"year": "2026", "kind": "year", "text": f"第{i}稿", "token": new_token()})
            for i, tab in enumerate(tabs)
        ]
        responses = post_at_once(posts)
        assert [r.status_code for r in responses] == [302, 302], refusals(responses)
        assert DutyReport.objects.filter(representative=my_rep).count() == 1
        assert sorted(
            AuditEvent.objects.filter(verb__startswith="duty_report").values_list("verb", flat=True)
        ) == [
            "duty_report.changed",
            "duty_report.submitted",
        ]

    def test_it_needs_the_text_or_a_file(self, as_rep):
        response = post(as_rep, text="  ")
        assert errors_of(response) == {"file": ["empty"]}
        assert not DutyReport.objects.exists()

    def test_a_word_file_is_refused_by_its_bytes(self, as_rep):
        docx = SimpleUploadedFile("述职.pdf", b"PK\x03\x04 word", content_type="application/pdf")
        response = post(as_rep, text="正文", file=docx)
        assert errors_of(response) == {"file": ["bad_type"]}
        assert "正文" in response.content.decode()
        assert not DutyReport.objects.exists()

    def test_an_oversized_file_is_refused(self, as_rep):
        big = SimpleUploadedFile(
            "大.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), content_type="application/pdf"
        )
        assert errors_of(post(as_rep, text="正文", file=big)) == {"file": ["too_large"]}
        assert not DutyReport.objects.exists()

    def test_a_half_year_report_only_where_the_policy_asks(self, county, my_rep, rep_a, as_rep):
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            submit(my_rep, rep_a, kind="half", text="上半年")
        assert refusal(caught.value) == {"kind": ["Your county does not ask for a half-year report."]}
        assert 'value="half"' not in as_rep.get(reverse("reps:duty_report_new")).content.decode()
        DutyPolicy.objects.create(county=county, effective_from=D(2026, 1, 1), half_year_report=True)
        assert 'value="half"' in as_rep.get(reverse("reps:duty_report_new")).content.decode()
        submit(my_rep, rep_a, kind="half", text="上半年")
        submit(my_rep, rep_a, kind="year", text="全年")
        assert DutyReport.objects.filter(representative=my_rep).count() == 2

    def test_another_reps_token_does_not_return_their_report(self, my_rep, other_rep, rep_a):
        submit(other_rep, rep_a, text="别人的", submission_token="0123456789abcdef01234567")
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            submit(my_rep, rep_a, text="我的", submission_token="0123456789abcdef01234567")
        assert refusal(caught.value) == ["This form has expired. Check what you wrote and send it again."]

    @pytest.mark.parametrize("persona", ["clerk_a", "unit_staff"])
    def test_only_a_rep_hands_one_in(self, client, persona, request):
        client.force_login(request.getfixturevalue(persona))
        assert client.get(reverse("reps:duty_report_new")).status_code == 403

    def test_me_links_to_it(self, as_rep):
        assert reverse("reps:duty_report_new") in as_rep.get(reverse("reps:me")).content.decode()


class TestStaff:
    @pytest.fixture
    def report(self, my_rep, rep_a):
        return submit(my_rep, rep_a, text="述职正文", upload=clean_attachment(pdf()))

    def test_the_township_sees_who_handed_in_and_who_has_not(self, client, clerk_a, report, other_rep):
        client.force_login(clerk_a)
        page = client.get(reverse("reps:duty_reports"), {"year": 2026}).content.decode()
        assert page.count('class="duty-report-row"') == 2
        assert reverse("reps:duty_report_evaluate", args=[report.pk]) in page
        missing = client.get(reverse("reps:duty_reports"), {"year": 2026, "status": "missing"})
        assert [row.rep for row in missing.context["rows"]] == [other_rep]
        assert missing.context["rows"][0].status == "due"

    def test_last_years_missing_reports_are_overdue(self, client, clerk_a, my_rep):
        client.force_login(clerk_a)
        rows = client.get(reverse("reps:duty_reports"), {"year": 2025}).context["rows"]
        assert [(row.rep, row.status) for row in rows] == [(my_rep, "overdue")]

    def test_search_and_excel(self, client, clerk_a, report, other_rep, my_rep):
        client.force_login(clerk_a)
        rows = client.get(reverse("reps:duty_reports"), {"q": other_rep.name}).context["rows"]
        assert [row.rep for row in rows] == [other_rep]
        response = client.get(reverse("reps:duty_reports"), {"format": "xlsx"})
        import io

        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(response.content)).active
        names = {row[0].value: row[3].value for row in sheet.iter_rows(min_row=2)}
        assert set(names) == {my_rep.name, other_rep.name}
        assert names[other_rep.name] in (None, "")

    def test_staff_record_the_evaluation_audited(self, client, clerk_a, report):
        client.force_login(clerk_a)
        url = reverse("reps:duty_report_evaluate", args=[report.pk])
        response = client.post(url, {"satisfied": 40, "basically_satisfied": 3, "unsatisfied": 0})
        assert response.status_code == 302
        report.refresh_from_db()
        assert (report.satisfied, report.basically_satisfied, report.unsatisfied) == (40, 3, 0)
        assert report.evaluated_by == clerk_a and report.evaluated_at == NOW
        event = AuditEvent.objects.get(verb="duty_report.evaluated")
        assert event.actor == clerk_a

    def test_a_negative_count_is_refused(self, client, clerk_a, report):
        client.force_login(clerk_a)
        url = reverse("reps:duty_report_evaluate", args=[report.pk])
        response = client.post(url, {"satisfied": -1, "basically_satisfied": 3, "unsatisfied": 0})
        assert errors_of(response) == {"satisfied": ["min_value"]}
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            duty_report_evaluate(
                actor=clerk_a, report=report, satisfied=1, basically_satisfied=-2, unsatisfied=0
            )
        assert refusal(caught.value) == {"basically_satisfied": ["Enter a number of 0 or more."]}
        report.refresh_from_db()
        assert report.evaluated_at is None

    def test_another_township_sees_neither_the_report_nor_its_file(self, client, clerk_b, report):
        client.force_login(clerk_b)
        page = client.get(reverse("reps:duty_reports")).content.decode()
        assert 'class="duty-report-row"' not in page
        for name in ("reps:duty_report_evaluate", "reps:duty_report_file"):
            assert client.get(reverse(name, args=[report.pk])).status_code == 404
        url = reverse("reps:duty_report_evaluate", args=[report.pk])
        assert (
            client.post(url, {"satisfied": 1, "basically_satisfied": 0, "unsatisfied": 0}).status_code == 404
        )
        report.refresh_from_db()
        assert report.evaluated_at is None

    def test_the_rep_opens_their_file_but_may_not_evaluate(self, as_rep, report):
        assert as_rep.get(reverse("reps:duty_report_file", args=[report.pk])).status_code == 200
        url = reverse("reps:duty_report_evaluate", args=[report.pk])
        assert (
            as_rep.post(url, {"satisfied": 99, "basically_satisfied": 0, "unsatisfied": 0}).status_code == 403
        )
        assert as_rep.get(reverse("reps:duty_reports")).status_code == 403

    def test_the_liaison_office_sees_the_county(self, client, liaison_office, report, township_b):
        elsewhere = active_rep(township_b, name="赵丽")
        client.force_login(liaison_office)
        rows = client.get(reverse("reps:duty_reports")).context["rows"]
        assert {row.rep for row in rows} == {report.representative, elsewhere}

    @pytest.mark.parametrize("n", [3, 30])
    def test_the_list_costs_the_same_queries_for_3_and_30_reps(
        self, client, clerk_a, township_a, rep_a, n, django_assert_num_queries
    ):
        for i in range(n):
            rep = active_rep(township_a, name=f"代表{i}")
            if i % 2:
                submit(rep, rep_a, text="述职")
        client.force_login(clerk_a)
        client.get(reverse("reps:duty_reports"))
        with django_assert_num_queries(10):
            page = client.get(reverse("reps:duty_reports")).content.decode()
        assert page.count('class="duty-report-row"') == n


class TestRemindersPointsRecord:
    def test_the_december_reminder_stops_for_a_rep_who_handed_in(self, my_rep, rep_a, township_a):
        other = active_rep(
            township_a,
            user=user_with_role("representative", region=township_a, username="other"),
            name="王秀兰",
        )
        submit(my_rep, rep_a, text="述职")
        assert reminders.year_end_report_send_due(now=NOW) == 1
        assert list(Reminder.objects.values_list("kind", "subject_id")) == [
            ("reps.year_end_report", other.pk)
        ]

    def test_a_half_year_report_does_not_stop_the_reminder(self, county, my_rep, rep_a):
        DutyPolicy.objects.create(county=county, effective_from=D(2026, 1, 1), half_year_report=True)
        submit(my_rep, rep_a, kind="half", text="上半年")
        assert reminders.year_end_report_send_due(now=NOW) == 1

    def test_each_report_earns_the_policys_points(self, county, my_rep, rep_a):
        PointsPolicy.objects.create(county=county, effective_from=D(2026, 1, 1), per_duty_report=7)
        submit(my_rep, rep_a, text="述职")
        (score,) = points.year_scores(
            Representative.objects.filter(pk=my_rep.pk), year=2026, today=D(2026, 12, 5)
        )
        line = next(line for line in score.lines if line.key == "duty_reports")
        assert (line.count, line.points) == (1, 7)
        (last_year,) = points.year_scores(
            Representative.objects.filter(pk=my_rep.pk), year=2025, today=D(2026, 12, 5)
        )
        assert next(line for line in last_year.lines if line.key == "duty_reports").count == 0

    def test_the_record_shows_it_with_its_evaluation(self, client, clerk_a, my_rep, rep_a):
        report = submit(my_rep, rep_a, text="述职")
        duty_report_evaluate(actor=clerk_a, report=report, satisfied=12, basically_satisfied=2, unsatisfied=1)
        assert "duty_reports" in [s.key for s in record.sections()]
        client.force_login(clerk_a)
        page = client.get(reverse("reps:record", args=[my_rep.pk]), {"year": 2026}).content.decode()
        assert f'data-duty-report="{report.pk}"' in page

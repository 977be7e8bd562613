"""Reps hand in their own research reports at a page; staff of their region read them."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from liaison.idempotency import ALREADY_SAVED, new_token, read_token
from liaison.uploads import clean_attachment
from reps import duties
from reps.models import Representative, ResearchReport
from reps.services import research_report_submit
from tests.factories import active_rep
from tests.helpers import refusal
from tests.proposals.public_helpers import pdf_bytes, png_bytes
from tests.twice import messages_of, page_token

TOKEN = "0123456789abcdef01234567"  # a nonce, as the services store it
TODAY = datetime.datetime(2026, 5, 20, 10, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def as_rep(client, rep_a, my_rep):
    client.force_login(rep_a)
    return client


def post(client, *, token=None, file=None, **fields):
    data = {"title": "关于村道硬化的调研", "summary": "", "token": token or new_token(), **fields}
    if file is not None:
        data["file"] = file
    return client.post(reverse("reps:report_new"), data)


def pdf(name="调研报告.pdf"):
    return SimpleUploadedFile(name, pdf_bytes(), content_type="application/pdf")


def form_errors(response) -> dict:
    with translation.override("en"):
        return {field: list(errors) for field, errors in response.context["form"].errors.items()}


class TestHandingIn:
    def test_a_rep_hands_in_a_pdf_and_it_counts_towards_the_duty(self, as_rep, my_rep):
        with time_machine.travel(TODAY, tick=False):
            response = post(as_rep, file=pdf())
        assert response.status_code == 302 and response["Location"] == reverse("reps:reports")
        report = ResearchReport.objects.get()
        assert (report.representative, report.submitted_on) == (my_rep, datetime.date(2026, 5, 20))
        assert (report.file_name, report.content_type) == ("调研报告.pdf", "application/pdf")
        assert report.file.name.startswith("reps/reports/") and not report.file.name.endswith("调研报告.pdf")
        _shown, rows = duties.standing(
            Representative.objects.filter(pk=my_rep.pk), today=datetime.date(2026, 5, 20)
        )
        assert rows[0].cells["research_term"].status == "ok"

    def test_the_form_offers_a_fresh_token_and_posted_twice_makes_one_report(self, as_rep):
        token = page_token(as_rep.get(reverse("reps:report_new")))
        assert token != page_token(as_rep.get(reverse("reps:report_new")))
        first = post(as_rep, token=token, summary="村道坑洼,建议列入明年计划")
        second = post(as_rep, token=token, summary="村道坑洼,建议列入明年计划")
        assert first.status_code == second.status_code == 302
        assert first["Location"] == second["Location"]
        assert messages_of(second)[-1] == str(ALREADY_SAVED)
        assert ResearchReport.objects.count() == 1

    def test_a_photo_of_the_paper_report_is_accepted(self, as_rep):
        assert (
            post(
                as_rep, file=SimpleUploadedFile("纸质.png", png_bytes(), content_type="image/png")
            ).status_code
            == 302
        )
        assert ResearchReport.objects.get().content_type == "image/png"

    def test_a_report_needs_the_file_or_a_summary(self, as_rep):
        response = post(as_rep, summary="   ")
        assert response.status_code == 200
        assert form_errors(response) == {"file": ["Attach the report, or write its summary."]}
        assert not ResearchReport.objects.exists()

    def test_a_word_file_is_refused_by_its_bytes(self, as_rep):
        docx = SimpleUploadedFile("报告.pdf", b"PK\x03\x04 word document", content_type="application/pdf")
        errors = post(as_rep, file=docx).context["form"].errors.as_data()
        assert list(errors) == ["file"] and errors["file"][0].code == "bad_type"
        assert not ResearchReport.objects.exists()

    def test_a_file_over_the_upload_limit_is_refused(self, as_rep):
        big = SimpleUploadedFile(
            "大.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), content_type="application/pdf"
        )
        errors = post(as_rep, file=big).context["form"].errors.as_data()
        assert list(errors) == ["file"] and errors["file"][0].code == "too_large"
        assert not ResearchReport.objects.exists()

    def test_a_tampered_token_is_refused_and_replaced(self, as_rep):
        response = post(as_rep, token="not-a-token", summary="摘要")
        assert form_errors(response) == {
            "__all__": ["This form has expired. Check what you wrote and send it again."]
        }
        assert "摘要" in response.content.decode()  # nothing typed is lost
        read_token(page_token(response))  # a fresh one to send again with
        assert not ResearchReport.objects.exists()

    def test_another_reps_token_does_not_return_their_report(self, my_rep, other_rep, rep_a):
        research_report_submit(
            actor=rep_a, representative=other_rep, title="别人的", summary="摘要", submission_token=TOKEN
        )
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            research_report_submit(
                actor=rep_a, representative=my_rep, title="我的", summary="摘要", submission_token=TOKEN
            )
        assert refusal(caught.value) == ["This form has expired. Check what you wrote and send it again."]
        assert ResearchReport.objects.filter(representative=my_rep).count() == 0

    @pytest.mark.parametrize("persona", ["clerk_a", "unit_staff"])
    def test_only_a_rep_hands_one_in(self, client, persona, request):
        client.force_login(request.getfixturevalue(persona))
        assert client.get(reverse("reps:report_new")).status_code == 403


class TestReading:
    @pytest.fixture
    def report(self, my_rep, rep_a):
        return research_report_submit(
            actor=rep_a,
            representative=my_rep,
            title="关于村道硬化的调研",
            summary="摘要",
            upload=clean_attachment(pdf()),
        )

    def test_staff_of_the_reps_township_read_it_and_open_the_file(self, client, clerk_a, report):
        client.force_login(clerk_a)
        page = client.get(reverse("reps:reports")).content.decode()
        assert "关于村道硬化的调研" in page and reverse("reps:report_file", args=[report.pk]) in page
        response = client.get(reverse("reps:report_file", args=[report.pk]))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment")
        assert b"".join(response.streaming_content).startswith(b"%PDF-")

    def test_staff_of_another_township_see_neither_the_report_nor_its_file(self, client, clerk_b, report):
        client.force_login(clerk_b)
        assert "关于村道硬化的调研" not in client.get(reverse("reps:reports")).content.decode()
        assert client.get(reverse("reps:report_file", args=[report.pk])).status_code == 404

    def test_a_rep_sees_their_own_reports_only(self, client, report, township_a, rep_a):
        other = active_rep(township_a, name="王秀兰")
        research_report_submit(actor=rep_a, representative=other, title="别人的报告", summary="摘要")
        client.force_login(rep_a)
        page = client.get(reverse("reps:reports")).content.decode()
        assert "关于村道硬化的调研" in page and "别人的报告" not in page

    def test_search_by_title_or_representative(self, client, clerk_a, report, my_rep):
        client.force_login(clerk_a)
        assert "关于村道硬化的调研" in client.get(reverse("reps:reports"), {"q": "村道"}).content.decode()
        assert (
            "关于村道硬化的调研" in client.get(reverse("reps:reports"), {"q": my_rep.name}).content.decode()
        )
        assert "关于村道硬化的调研" not in client.get(reverse("reps:reports"), {"q": "水库"}).content.decode()

    @pytest.mark.parametrize("n", [10, 1000])
    def test_the_list_costs_the_same_queries_for_10_and_1000_reports(
        self, client, clerk_a, my_rep, n, django_assert_num_queries
    ):
        ResearchReport.objects.bulk_create(
            ResearchReport(representative=my_rep, title=f"调研{i}", submitted_on=datetime.date(2026, 1, 1))
            for i in range(n)
        )
        client.force_login(clerk_a)
        client.get(reverse("reps:reports"))  # the session and the user's roles, loaded once
        with django_assert_num_queries(6):
            page = client.get(reverse("reps:reports")).content.decode()
        assert page.count('class="list-group-item report"') == min(n, 50)


class TestAdmin:
    def _post(self, client, my_rep, upload):
        return client.post(
            reverse("admin:reps_researchreport_add"),
            {
                "representative": my_rep.pk,
                "title": "纸质调研报告",
                "submitted_on": "2026-05-20",
                "summary": "",
                "file": upload,
            },
        )

    def test_staff_upload_a_pdf_under_the_same_rule(self, client, clerk_a, my_rep):
        client.force_login(clerk_a)
        assert self._post(client, my_rep, pdf("纸质.pdf")).status_code == 302
        report = ResearchReport.objects.get()
        assert (report.file_name, report.content_type, report.submitted_by) == (
            "纸质.pdf",
            "application/pdf",
            clerk_a,
        )
        assert report.file.name.startswith("reps/reports/")

    def test_staff_cannot_upload_anything_else(self, client, clerk_a, my_rep):
        client.force_login(clerk_a)
        fake = SimpleUploadedFile("报告.pdf", b"<html>not a pdf</html>", content_type="application/pdf")
        response = self._post(client, my_rep, fake)
        assert response.status_code == 200
        assert response.context["adminform"].form.errors.as_data()["file"][0].code == "bad_type"
        assert not ResearchReport.objects.exists()

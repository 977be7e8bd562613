"""A representative hands in a research report on a 390-px phone; their township's clerk reads it."""

import pytest

from reps.models import ResearchReport
from tests.browser.conftest import log_in, screenshot
from tests.proposals.public_helpers import pdf_bytes

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_a_rep_hands_in_a_report_on_a_phone_and_the_clerk_reads_it(phone, desktop, rep_a, my_rep, clerk_a):
    log_in(phone, "daibiao")
    phone.goto("/reps/me/")
    phone.locator("a[href='/reps/reports/new/']").first.click()
    phone.locator("#id_title").fill("关于东街社区停车难的调研")
    phone.locator("#id_summary").fill("走访32户,建议利用闲置地块建停车场")
    phone.locator("#id_file").set_input_files(
        files=[{"name": "调研报告.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}]
    )
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    submit = phone.locator("form.report-form button[type=submit]")
    assert submit.bounding_box()["height"] >= 44
    screenshot(phone, "rep-report-form-phone")
    submit.click()
    phone.wait_for_url("**/reps/reports/")
    phone.get_by_text("关于东街社区停车难的调研").wait_for()
    report = ResearchReport.objects.get()
    assert (report.representative, report.file_name) == (my_rep, "调研报告.pdf")

    log_in(desktop, "clerk_a")
    desktop.goto("/reps/reports/")
    desktop.get_by_text("关于东街社区停车难的调研").wait_for()
    assert desktop.locator(f"a[href='/reps/reports/{report.pk}/file/']").count() == 1

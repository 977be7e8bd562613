"""Issue 16 in Chromium: a township clerk imports the 12345 hotline's work-order sheet from the
workspace (upload → the worker's check → the preview → import), with a real Celery worker."""

import os

import pytest
from playwright.sync_api import expect

from liaison.exports import XLSX
from proposals.models import Ticket
from tests.browser.conftest import log_in
from tests.proposals.test_hotline_import import order, xlsx

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    # The worker fixture runs with LIAISON_VAR_DIR=tmp_path: it reads the sheets from here.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.skipif(os.environ.get("LIAISON_TEST_LITE") == "1", reason="needs the test Redis")
def test_a_clerk_uploads_previews_and_imports_a_work_order_sheet(
    worker, desktop, clerk_a, township_a, category
):
    page = desktop
    log_in(page, "clerk_a")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto("/tickets/")
    page.locator("#hotline-import").click()
    expect(page.page.get_by_role("heading", name="导入 12345 热线工单")).to_be_visible()

    sheet = xlsx([order(1), order(2, 联系电话="", 来电人="")])
    page.get_by_label("Excel 文件（.xlsx）").set_input_files(
        {"name": "工单.xlsx", "mimeType": XLSX, "buffer": sheet}
    )
    page.get_by_role("button", name="上传并检查").click()

    # The page polls the worker's check and reloads when it is done: the preview lists both orders.
    expect(page.page.locator("#import-ready")).to_contain_text(
        "新建议意见：2 件；已导入（跳过）：0 件。", timeout=30_000
    )
    rows = page.page.locator("#hotline-orders tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("GD202612000001")
    assert Ticket.objects.count() == 0

    page.locator("#import-now").click()
    expect(page.page.locator("#import-done")).to_contain_text("新建议意见：2 件", timeout=30_000)
    assert sorted(Ticket.objects.values_list("external_ref", "source", "township")) == [
        ("GD202612000001", "hotline", township_a.pk),
        ("GD202612000002", "hotline", township_a.pk),
    ]

    page.goto("/tickets/")
    expect(page.page.get_by_text("路灯不亮1")).to_be_visible()

"""12345 hotline work orders imported from Excel as tickets (issue 16): a preview of every row,
all or nothing, and no order twice (its 工单编号 is the ticket's external order number)."""

from __future__ import annotations

import datetime
import io
import os

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from liaison.exports import XLSX
from liaison.models import Category
from proposals import hotline
from proposals.models import Proposer, Ticket, TicketEvent
from reps import importing, tasks
from reps.models import ImportJob
from tests.helpers import reload

Status = ImportJob.Status
HOTLINE = ImportJob.Kind.HOTLINE
HEADER = [c.header for c in hotline.COLUMNS]
LITE = os.environ.get("LIAISON_TEST_LITE") == "1"
TZ = timezone.get_default_timezone()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploaded sheets go to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"


def xlsx(rows: list[list], header: list[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["和平县 12345 热线工单导出"])  # a title row above the header, as the hotline's export has
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def order(i: int, **changes) -> list:
    values = {
        "工单编号": f"GD2026120{i:05d}",
        "来电时间": datetime.datetime(2026, 12, 1, 9, 30) + datetime.timedelta(minutes=i),  # noqa: DTZ001 - an Excel cell has no zone
        "来电人": f"王女士{i}",
        "联系电话": f"139{i:08d}",
        "所属镇街": "城关镇",
        "问题分类": "交通出行",
        "诉求标题": f"路灯不亮{i}",
        "诉求内容": f"东街{i}号门口路灯坏了一个月。请尽快修理。",
        "地址": f"东街{i}号",
        **changes,
    }
    return [values[h] for h in HEADER]


def upload(data: bytes, name: str = "工单.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=XLSX)


def new_job(user, region, data: bytes) -> ImportJob:
    return importing.import_upload(actor=user, kind=HOTLINE, region=region, upload=upload(data))


def checked(user, region, rows: list[list]) -> ImportJob:
    return importing.import_check(new_job(user, region, xlsx(rows)).pk)


def imported(user, region, rows: list[list]) -> ImportJob:
    job = checked(user, region, rows)
    assert job.status == Status.READY, job.errors
    assert importing.import_start(actor=user, job=job)
    return importing.import_apply(job.pk)


# --- the import ---------------------------------------------------------------------------


def test_good_rows_become_tickets_from_the_hotline(liaison_office, county, township_a, township_b, category):
    rows = [order(1), order(2, 所属镇街="河口镇", 来电人="", 联系电话=""), order(3, 诉求标题="")]
    job = checked(liaison_office, county, rows)
    assert job.status == Status.READY, job.errors
    assert (job.summary["rows"], job.summary["created"], job.summary["already"]) == (3, 3, 0)
    assert Ticket.objects.count() == 0  # the check writes nothing

    assert importing.import_start(actor=liaison_office, job=job)
    job = importing.import_apply(job.pk)

    assert job.status == Status.DONE and job.summary["created"] == 3
    tickets = {t.external_ref: t for t in Ticket.objects.select_related("category", "township")}
    assert set(tickets) == {"GD202612000001", "GD202612000002", "GD202612000003"}
    first = tickets["GD202612000001"]
    assert (
        first.source,
        first.external_county_id,
        first.township,
        first.category,
        first.title,
        first.content,
        first.place,
        first.status,
        first.created_by,
    ) == (
        "hotline",
        county.pk,
        township_a,
        category,
        "路灯不亮1",
        "东街1号门口路灯坏了一个月。请尽快修理。",
        "东街1号",
        "registered",
        liaison_office,
    )
    assert list(first.proposers.values_list("name", "phone", "sms_consent")) == [
        ("王女士1", "13900000001", False)
    ]
    assert tickets["GD202612000002"].township == township_b
    assert not tickets["GD202612000002"].proposers.exists()  # an anonymous call: no proposer
    assert tickets["GD202612000003"].title == "东街3号门口路灯坏了一个月"  # the content's first sentence
    # Each ticket's timeline starts with its registration, saying where it came from.
    events = TicketEvent.objects.filter(ticket=first)
    assert [(e.move, e.to_status, e.actor, e.data) for e in events] == [
        (
            "register",
            "registered",
            liaison_office,
            {"source": "hotline", "external_ref": "GD202612000001", "received_at": "2026-12-01 09:31"},
        )
    ]
    assert TicketEvent.objects.filter(move="register").count() == 3


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"所属镇街": "不存在镇"}, "所属镇街"),
        ({"联系电话": "12345"}, "联系电话"),
        ({"诉求内容": ""}, "诉求内容"),
        ({"问题分类": "天气"}, "问题分类"),
        ({"工单编号": ""}, "工单编号"),
        ({"来电时间": "昨天"}, "来电时间"),
        ({"来电人": ""}, "来电人"),  # a phone without a name
    ],
    ids=[
        "unknown-township",
        "bad-phone",
        "no-description",
        "unknown-category",
        "no-number",
        "bad-time",
        "no-name",
    ],
)
def test_one_bad_row_writes_nothing_and_names_its_row_and_column(
    clerk_a, township_a, category, changes, column
):
    rows = [order(1), order(2), order(3, **changes), order(4)]
    job = checked(clerk_a, township_a, rows)

    assert job.status == Status.INVALID
    assert [(e["row"], e["column"]) for e in job.errors] == [(5, column)]  # title row, header, then 3 rows
    assert importing.import_start(actor=clerk_a, job=job) is False
    assert importing.import_apply(job.pk).status == Status.INVALID
    assert Ticket.objects.count() == 0


def test_the_preview_lists_the_errors_in_chinese_by_row_and_column(client, clerk_a, township_a, category):
    job = checked(clerk_a, township_a, [order(1, 联系电话="12345", 问题分类="天气"), order(2, 诉求内容="")])
    client.force_login(clerk_a)

    page = client.get(reverse("proposals:hotline_import_job", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")

    html = page.content.decode()
    assert page.status_code == 200
    assert (
        "<td>3</td><td>联系电话</td><td>请输入11位手机号码，或带区号的固定电话，例如 0513-88123456。</td>"
        in html
    )
    assert (
        "<td>3</td><td>问题分类</td><td>没有名为“天气”的问题分类；请使用以下之一：城乡建设、民生保障、交通出行、"
        in html
    )
    assert "<td>4</td><td>诉求内容</td><td>这个字段是必填项。</td>" in html
    assert "2 行有问题，未导入任何数据：请修改文件后重新上传。" in html


def test_a_second_import_of_the_same_sheet_creates_nothing_and_says_already_imported(
    client, clerk_a, township_a, category
):
    imported(clerk_a, township_a, [order(1), order(2)])
    codes = dict(Ticket.objects.values_list("external_ref", "tracking_code"))

    again = checked(clerk_a, township_a, [order(1), order(2), order(3)])

    assert again.status == Status.READY
    assert (again.summary["created"], again.summary["already"]) == (1, 2)
    assert [(r["row"], r["ref"]) for r in again.summary["already_rows"]] == [
        (3, "GD202612000001"),
        (4, "GD202612000002"),
    ]
    client.force_login(clerk_a)
    html = client.get(
        reverse("proposals:hotline_import_job", args=[again.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "新建议意见：1 件；已导入（跳过）：2 件。" in html
    ref = "GD202612000001"
    code = codes[ref]
    assert f"<td>3</td><td>{ref}</td><td>{code[:4]}-{code[4:8]}-{code[8:]}</td><td>已导入</td>" in html

    assert importing.import_start(actor=clerk_a, job=again)
    assert importing.import_apply(again.pk).status == Status.DONE
    assert Ticket.objects.count() == 3
    assert Ticket.objects.filter(external_ref="GD202612000001").count() == 1

    third = imported(clerk_a, township_a, [order(1), order(2), order(3)])
    assert (third.summary["created"], third.summary["already"]) == (0, 3)
    assert Ticket.objects.count() == 3


def test_the_same_order_number_twice_in_one_sheet_is_a_bad_row(clerk_a, township_a, category):
    job = checked(clerk_a, township_a, [order(1), order(2), order(1, 诉求标题="另一个")])

    assert [(e["row"], e["column"], e["params"]) for e in job.errors] == [(5, "工单编号", {"row": 3})]


def test_an_order_number_of_another_county_is_not_taken(
    clerk_a, township_a, category, liaison_office, county
):
    from tests.factories import CountyFactory, TownshipFactory, user_with_role

    other_county = CountyFactory(name="太平县")
    other_township = TownshipFactory(name="城关镇", parent=other_county)
    other_clerk = user_with_role("township_staff", region=other_township, username="other_clerk")
    imported(clerk_a, township_a, [order(1)])

    job = imported(other_clerk, other_township, [order(1)])

    assert job.summary["created"] == 1
    assert Ticket.objects.filter(external_ref="GD202612000001").count() == 2


def test_a_township_clerk_cannot_import_into_another_township(
    client, clerk_a, township_a, township_b, category
):
    job = checked(clerk_a, township_a, [order(1), order(2, 所属镇街="河口镇")])

    assert job.status == Status.INVALID
    assert [(e["row"], e["column"], e["params"]) for e in job.errors] == [(4, "所属镇街", {"name": "河口镇"})]
    with pytest.raises(PermissionDenied):
        new_job(clerk_a, township_b, xlsx([order(1, 所属镇街="河口镇")]))
    client.force_login(clerk_a)
    response = client.post(
        reverse("proposals:hotline_import_upload"),
        {"hotline-region": township_b.pk, "hotline-file": upload(xlsx([order(1, 所属镇街="河口镇")]))},
    )
    assert response.status_code == 400 and "region" in response.context["form"].errors
    assert ImportJob.objects.count() == 1 and Ticket.objects.count() == 0


def test_the_apply_checks_the_scope_again(clerk_a, township_a, category):
    job = checked(clerk_a, township_a, [order(1)])
    importing.import_start(actor=clerk_a, job=job)
    clerk_a.roles.all().delete()  # the clerk left the township meanwhile

    assert importing.import_apply(job.pk).status == Status.FAILED
    assert Ticket.objects.count() == 0


def test_applying_twice_registers_each_order_once(
    client, clerk_a, township_a, category, django_capture_on_commit_callbacks
):
    job = checked(clerk_a, township_a, [order(1), order(2)])
    client.force_login(clerk_a)
    apply_url = reverse("proposals:hotline_import_apply", args=[job.pk])

    with django_capture_on_commit_callbacks() as first:
        assert client.post(apply_url).status_code == 302
    with django_capture_on_commit_callbacks() as second:
        assert client.post(apply_url).status_code == 302  # the double click
    assert (len(first), len(second)) == (1, 0)

    assert importing.import_apply(job.pk).status == Status.DONE
    assert importing.import_apply(job.pk).status == Status.DONE  # a redelivered task
    assert Ticket.objects.count() == 2
    # Two jobs of the same sheet, both checked before either was imported: the second's import
    # checks again and skips what the first registered.
    one, two = checked(clerk_a, township_a, [order(3)]), checked(clerk_a, township_a, [order(3)])
    for job in (one, two):
        importing.import_start(actor=clerk_a, job=job)
        importing.import_apply(job.pk)
    assert (reload(one).summary["created"], reload(two).summary["created"]) == (1, 0)
    assert reload(two).summary["already"] == 1
    assert Ticket.objects.filter(external_ref="GD202612000003").count() == 1


def test_the_database_refuses_an_order_number_twice_in_a_county(clerk_a, township_a, township_b, category):
    from django.core.exceptions import ValidationError

    from proposals import services

    fields = {"title": "t", "content": "c", "category": category, "source": "hotline", "external_ref": "GD1"}
    services.ticket_register(actor=clerk_a, township=township_a, **fields)

    with pytest.raises(ValidationError) as refused:
        services.ticket_register(actor=None, township=township_b, **fields)
    assert refused.value.message_dict == {"external_ref": ["本县已有该工单编号的建议意见。"]}
    assert Ticket.objects.count() == 1


def _apply_queries(user, region, rows: int, first: int) -> int:
    job = checked(user, region, [order(i) for i in range(first, first + rows)])
    importing.import_start(actor=user, job=job)
    with CaptureQueriesContext(connection) as queries:
        assert importing.import_apply(job.pk).status == Status.DONE
    return len(queries)


def test_the_apply_costs_the_same_queries_per_row(clerk_a, township_a, category):
    """The writer registers each order through ``ticket_register``, the one way a ticket is born
    (tracking code, proposers, the timeline's first event): a fixed number of queries per row,
    not a constant for the sheet."""
    q10 = _apply_queries(clerk_a, township_a, 10, first=0)
    q20 = _apply_queries(clerk_a, township_a, 20, first=100)
    q100 = _apply_queries(clerk_a, township_a, 100, first=200)

    per_row = (q20 - q10) // 10
    assert per_row == PER_ROW
    assert (q20 - q10, q100 - q10) == (10 * per_row, 90 * per_row)
    assert Ticket.objects.count() == 130


# Per order: the INSERTs of the ticket, its proposer and its registration event, and the two
# savepoints ticket_register opens (its own atomic block, and the one around the tracking code
# that keeps a collision retryable), each opened and released.
PER_ROW = 7


# --- the pages ----------------------------------------------------------------------------


def test_staff_find_the_import_next_to_registering_a_ticket(client, clerk_a, liaison_office, rep_a):
    for user in (clerk_a, liaison_office):
        client.force_login(user)
        page = client.get(reverse("proposals:workspace")).content.decode()
        assert f'id="hotline-import" href="{reverse("proposals:hotline_import")}"' in page
        assert client.get(reverse("proposals:hotline_import")).status_code == 200
    client.force_login(rep_a)
    assert 'id="hotline-import"' not in client.get(reverse("proposals:workspace")).content.decode()
    assert client.get(reverse("proposals:hotline_import")).status_code == 403
    assert client.get(reverse("proposals:hotline_import_template")).status_code == 403
    response = client.post(
        reverse("proposals:hotline_import_upload"), {"hotline-file": upload(xlsx([order(1)]))}
    )
    assert response.status_code == 403 and not ImportJob.objects.exists()


def test_the_template_has_the_hotlines_columns(client, clerk_a):
    client.force_login(clerk_a)
    response = client.get(reverse("proposals:hotline_import_template"))

    book = load_workbook(io.BytesIO(response.content))
    assert response["Content-Type"] == XLSX
    assert [c.value for c in book.worksheets[0][1]] == [
        "工单编号",
        "来电时间",
        "来电人",
        "联系电话",
        "所属镇街",
        "问题分类",
        "诉求标题",
        "诉求内容",
        "地址",
    ]
    assert book.worksheets[0].title == "12345工单"


def test_uploading_a_sheet_starts_its_check_and_the_preview_lists_the_orders(
    client, clerk_a, township_a, category, django_capture_on_commit_callbacks
):
    client.force_login(clerk_a)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("proposals:hotline_import_upload"),
            {"hotline-region": township_a.pk, "hotline-file": upload(xlsx([order(1), order(2)]))},
        )
    job = ImportJob.objects.get()
    assert response.url == reverse("proposals:hotline_import_job", args=[job.pk])
    assert (job.kind, job.region, job.status, len(callbacks)) == (HOTLINE, township_a, Status.UPLOADED, 1)
    status = client.get(reverse("proposals:hotline_import_status", args=[job.pk])).json()
    assert (status["status"], status["running"]) == ("uploaded", True)

    importing.import_check(job.pk)  # what the task sent above does
    html = client.get(reverse("proposals:hotline_import_job", args=[job.pk])).content.decode()
    assert reverse("proposals:hotline_import_apply", args=[job.pk]) in html
    assert "<td>3</td><td>GD202612000001</td><td>路灯不亮1</td><td>城关镇</td><td>交通出行</td>" in html
    # The representatives' import pages do not show a hotline job, and the other way round.
    assert client.get(reverse("reps:import_job", args=[job.pk])).status_code == 404


def test_the_title_column_may_be_headed_plain_biaoti(clerk_a, township_a, category):
    header = ["标题" if h == "诉求标题" else h for h in HEADER]
    job = importing.import_check(new_job(clerk_a, township_a, xlsx([order(1)], header=header)).pk)

    assert job.status == Status.READY and job.summary["orders"][0]["title"] == "路灯不亮1"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.4 not a spreadsheet", "无法读取该文件，它不是 Excel .xlsx 文件。"),
        (xlsx([["GD1", "城关镇"]], header=["工单编号", "所属镇街"]), "表格缺少以下列：问题分类、诉求内容"),
    ],
    ids=["not-xlsx", "missing-columns"],
)
def test_an_upload_that_is_not_a_work_order_sheet_is_refused(client, clerk_a, township_a, content, message):
    client.force_login(clerk_a)
    response = client.post(
        reverse("proposals:hotline_import_upload"),
        {"hotline-region": township_a.pk, "hotline-file": upload(content)},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_oversized_upload_is_refused(client, clerk_a, township_a, monkeypatch):
    monkeypatch.setattr(importing, "MAX_UPLOAD_BYTES", 1000)
    client.force_login(clerk_a)
    response = client.post(
        reverse("proposals:hotline_import_upload"),
        {"hotline-region": township_a.pk, "hotline-file": upload(xlsx([order(1)]))},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert response.status_code == 400 and "文件大小为" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_ticket_page_shows_the_order_number_on_its_timeline(client, clerk_a, township_a, category):
    imported(clerk_a, township_a, [order(7)])
    ticket = Ticket.objects.get()
    client.force_login(clerk_a)

    html = client.get(
        reverse("proposals:detail", args=[ticket.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()

    assert "GD202612000007" in html and "12345 热线" in html


def test_staff_find_an_imported_ticket_by_its_order_number(client, clerk_a, township_a, category):
    imported(clerk_a, township_a, [order(1), order(2)])
    client.force_login(clerk_a)

    page = client.get(reverse("proposals:workspace"), {"queue": "all", "q": "GD202612000002"})

    assert [t.external_ref for t in page.context["page"].object_list] == ["GD202612000002"]


def test_categories_are_matched_by_their_name(clerk_a, township_a, category):
    Category.objects.filter(name="城乡建设").update(is_active=False)
    job = checked(clerk_a, township_a, [order(1, 问题分类="城乡建设")])

    assert [(e["column"], e["message"]) for e in job.errors] == [
        ("问题分类", "There is no category %(name)s; use one of: %(names)s.")
    ]
    assert (
        "城乡建设" not in job.errors[0]["params"]["names"] and "交通出行" in job.errors[0]["params"]["names"]
    )


# --- a real worker ------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.skipif(LITE, reason="needs the test Redis")
def test_a_real_worker_checks_and_imports_a_sheet(worker, clerk_a, township_a, category):
    job = new_job(clerk_a, township_a, xlsx([order(i) for i in range(150)]))

    assert tasks.import_check.delay(job.pk).get(timeout=60) == Status.READY
    assert importing.import_start(actor=clerk_a, job=reload(job))
    assert tasks.import_apply.delay(job.pk).get(timeout=60) == Status.DONE
    assert tasks.import_apply.delay(job.pk).get(timeout=60) == Status.DONE  # sent twice
    assert Ticket.objects.filter(source="hotline").count() == 150
    assert TicketEvent.objects.filter(move="register").count() == 150
    assert Proposer.objects.count() == 150
    assert reload(job).processed_rows == 150

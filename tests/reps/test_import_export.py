"""Excel import of representatives and contacts (check, then all-or-nothing import), and the
scoped Excel export of the admin lists, in the same columns."""

import datetime
import functools
import io
import os

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from liaison.exports import XLSX
from reps import importing, tasks
from reps.importing import checking, jobs
from reps.models import Contact, ContactLink, ImportJob, Mandate, Representative
from tests.factories import ContactFactory, ContactLinkFactory, RepresentativeFactory, active_rep
from tests.helpers import reload

Status = ImportJob.Status
REPS, CONTACTS = ImportJob.Kind.REPRESENTATIVES, ImportJob.Kind.CONTACTS
REP_HEADER = [c.header for c in importing.REP_COLUMNS]
CONTACT_HEADER = [c.header for c in importing.CONTACT_COLUMNS]
ROWS = 2000
LITE = os.environ.get("LIAISON_TEST_LITE") == "1"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploaded sheets go to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"


def xlsx(header: list[str], rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(data: bytes, name: str = "名单.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=XLSX)


def rep_row(i: int, changes: dict | None = None) -> list:
    values = {
        "姓名": f"代表{i:04d}",
        "性别": "男" if i % 2 else "女",
        "镇/街道": "城关镇",
        "职务": "村党支部书记",
        "所在党组织": "东街社区党委",
        "界别": "基层",
        "电话": f"137{i:08d}",
        "公开电话": "否",
        "层级": "镇",
        "届次": "第十五次党代会",
        "任期开始": datetime.date(2026, 1, 1),
        "任期结束": datetime.date(2030, 12, 31),
        "选区": "东街选区",
        **(changes or {}),
    }
    return [values[h] for h in REP_HEADER]


def contact_row(name: str, changes: dict | None = None) -> list:
    values = dict.fromkeys(importing.CATEGORY_COLUMNS, "否")
    values.update(
        {
            "姓名": name,
            "类别": "群众",
            "电话": "",
            "村/社区": "东街社区",
            "地址": "东街 1 号",
            "联系代表": "",
            "代表电话": "",
            "结对": "否",
            **(changes or {}),
        }
    )
    return [values[h] for h in CONTACT_HEADER]


# Five bad rows, one of each kind; Excel numbers them from 2 (row 1 is the header).
BAD = {
    12: ("电话", {"电话": "12345"}),  # not a phone number
    22: ("镇/街道", {"镇/街道": "不存在镇"}),  # no such township in the uploader's area
    32: ("姓名", "duplicate"),  # the same person and mandate as the row above
    42: ("姓名", {"姓名": ""}),  # a required field left empty
    52: ("任期结束", {"任期结束": datetime.date(2020, 1, 1)}),  # the term ends before it starts
}
MOVED = 60  # a person already in the database, in another township: updated, not an error


@functools.cache
def big_sheet(*, with_errors: bool) -> bytes:
    rows = []
    for i in range(ROWS):
        bad = BAD.get(i + 2) if with_errors else None
        if bad == ("姓名", "duplicate"):
            rows.append(rows[-1])
        else:
            rows.append(rep_row(i, bad[1] if bad else None))
    return xlsx(REP_HEADER, rows)


def new_job(user, region, kind, data: bytes) -> ImportJob:
    return importing.import_upload(actor=user, kind=kind, region=region, upload=upload(data))


def counts() -> tuple[int, int, int, int]:
    return (
        Representative.objects.count(),
        Mandate.objects.count(),
        Contact.objects.count(),
        ContactLink.objects.count(),
    )


@pytest.fixture
def moved_person(township_b):
    return RepresentativeFactory(
        name=f"代表{MOVED:04d}", phone=f"137{MOVED:08d}", region=township_b, title="旧职务"
    )


# --- representatives ----------------------------------------------------------------------


def test_the_check_lists_exactly_the_bad_rows_and_writes_nothing(
    liaison_office, county, township_a, moved_person
):
    before = counts()
    job = new_job(liaison_office, county, REPS, big_sheet(with_errors=True))

    with CaptureQueriesContext(connection) as queries:
        job = importing.import_check(job.pk)

    assert job.status == Status.INVALID
    assert {(e["row"], e["column"]) for e in job.errors} == {
        (row, column) for row, (column, _) in BAD.items()
    }
    assert job.summary["error_rows"] == 5
    assert (job.total_rows, job.processed_rows) == (ROWS, ROWS)
    assert counts() == before
    progress = [q for q in queries if q["sql"].startswith('UPDATE "reps_importjob"')]
    assert len(progress) >= ROWS // importing.PROGRESS_EVERY  # the bar moves every ~100 rows


def test_a_sheet_with_errors_cannot_be_imported(liaison_office, county, township_a):
    job = importing.import_check(new_job(liaison_office, county, REPS, big_sheet(with_errors=True)).pk)
    before = counts()

    assert importing.import_start(actor=liaison_office, job=job) is False
    assert importing.import_apply(job.pk).status == Status.INVALID
    assert counts() == before


def test_the_fixed_sheet_imports_every_row_and_a_second_import_adds_nothing(
    liaison_office, county, township_a, moved_person
):
    job = importing.import_check(new_job(liaison_office, county, REPS, big_sheet(with_errors=False)).pk)
    assert job.status == Status.READY, job.errors
    assert job.summary["created"] == ROWS - 1
    assert job.summary["updated"] == 1

    job = importing.import_apply(job.pk)

    assert job.status == Status.DONE
    assert Representative.objects.count() == ROWS  # 1,999 new and the one already there
    assert Mandate.objects.count() == ROWS
    moved_person.refresh_from_db()
    assert (moved_person.region, moved_person.title) == (township_a, "村党支部书记")
    rep = Representative.objects.get(name="代表0007")
    assert (rep.phone, rep.gender, rep.name_initials) == ("13700000007", "m", "db0007")
    mandate = rep.mandates.get()
    assert (mandate.level, mandate.congress, mandate.region) == ("township", "第十五次党代会", township_a)

    after = counts()
    again = importing.import_check(new_job(liaison_office, county, REPS, big_sheet(with_errors=False)).pk)
    assert again.status == Status.READY
    assert (again.summary["created"], again.summary["updated"], again.summary["unchanged"]) == (0, 0, ROWS)
    assert importing.import_apply(again.pk).status == Status.DONE
    assert counts() == after


def test_applying_twice_writes_nothing_twice(clerk_a, township_a):
    job = importing.import_check(new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, [rep_row(1)])).pk)
    importing.import_apply(job.pk)
    after = counts()
    # A retried task finds the job done; the same sheet imported again matches everyone (the
    # job's own sheet is deleted once it is done, so it is uploaded again).
    assert importing.import_apply(job.pk).status == Status.DONE
    again = importing.import_check(new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, [rep_row(1)])).pk)
    assert importing.import_apply(again.pk).status == Status.DONE
    assert counts() == after


def test_one_person_on_two_rows_is_one_representative_with_two_mandates(clerk_a, township_a, county):
    rows = [rep_row(1), rep_row(1, {"层级": "县", "届次": "第十四次党代会"})]
    job = importing.import_apply(
        importing.import_check(new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, rows)).pk).pk
    )

    assert job.status == Status.DONE
    rep = Representative.objects.get()
    assert {(m.level, m.region_id) for m in rep.mandates.all()} == {
        ("township", township_a.pk),
        ("county", county.pk),
    }


def test_two_rows_of_one_person_must_agree(clerk_a, township_a):
    rows = [rep_row(1), rep_row(1, {"层级": "县", "职务": "另一个职务"})]
    job = importing.import_check(new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, rows)).pk)

    assert job.status == Status.INVALID
    assert [(e["row"], e["column"], e["params"]) for e in job.errors] == [(3, "职务", {"row": 2})]


def test_the_check_notices_a_person_registered_in_another_township(clerk_a, township_a, township_b):
    RepresentativeFactory(name="代表0001", phone="13700000001", region=township_b)
    job = importing.import_check(new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, [rep_row(1)])).pk)

    assert job.status == Status.INVALID
    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "电话")]


def test_a_file_without_the_required_columns_is_refused_as_a_whole(clerk_a, township_a):
    job = importing.import_check(
        new_job(clerk_a, township_a, REPS, xlsx(["姓名", "电话"], [["张三", ""]])).pk
    )

    assert job.status == Status.INVALID
    assert job.errors[0]["row"] is None and "层级" in job.errors[0]["params"]["columns"]


# --- contacts -----------------------------------------------------------------------------


@pytest.fixture
def rep_in_a(township_a):
    return active_rep(township_a, name="陈志强", phone="13912345678")


def test_contacts_are_imported_with_their_links_and_pairings(clerk_a, township_a, village_a, rep_in_a):
    rows = [
        contact_row("刘大爷", {"联系代表": "陈志强", "结对": "是", "困难群众": "是", "电话": "13800000001"}),
        contact_row(
            "王阿姨", {"类别": "党员", "老党员": "是", "联系代表": "陈志强", "代表电话": "13912345678"}
        ),
        contact_row("赵小弟"),
    ]
    job = importing.import_check(new_job(clerk_a, township_a, CONTACTS, xlsx(CONTACT_HEADER, rows)).pk)
    assert job.status == Status.READY, job.errors

    assert importing.import_apply(job.pk).status == Status.DONE

    assert Contact.objects.count() == 3
    liu = Contact.objects.get(name="刘大爷")
    assert (liu.village, liu.phone, liu.is_difficult_household, liu.kind) == (
        village_a,
        "13800000001",
        True,
        "resident",
    )
    assert ContactLink.objects.get(contact=liu).is_pairing
    wang = Contact.objects.get(name="王阿姨")
    assert (wang.kind, wang.is_old_party_member) == ("party_member", True)
    assert set(rep_in_a.contact_links.values_list("contact__name", flat=True)) == {"刘大爷", "王阿姨"}

    again = importing.import_apply(
        importing.import_check(new_job(clerk_a, township_a, CONTACTS, xlsx(CONTACT_HEADER, rows)).pk).pk
    )
    assert again.summary["unchanged"] == 3
    assert (Contact.objects.count(), ContactLink.objects.count()) == (3, 2)


def test_a_contact_in_an_unknown_village_is_a_bad_row(clerk_a, township_a, village_a, rep_in_a):
    rows = [
        contact_row("刘大爷"),
        contact_row("王阿姨", {"村/社区": "没有这个村"}),
        contact_row("赵小弟", {"联系代表": "不认识的人"}),
        contact_row("钱二", {"结对": "是"}),
    ]
    before = counts()
    job = importing.import_check(new_job(clerk_a, township_a, CONTACTS, xlsx(CONTACT_HEADER, rows)).pk)

    assert job.status == Status.INVALID
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "村/社区"), (4, "联系代表"), (5, "结对")]
    assert counts() == before


# --- roles and scope ----------------------------------------------------------------------


def test_a_clerk_cannot_import_into_another_township(clerk_a, township_a, township_b, village_b):
    with pytest.raises(PermissionDenied):
        new_job(clerk_a, township_b, REPS, xlsx(REP_HEADER, [rep_row(1)]))

    rows = [rep_row(1, {"镇/街道": "河口镇"}), rep_row(2)]
    job = importing.import_check(new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, rows)).pk)
    assert [(e["row"], e["column"], e["message"]) for e in job.errors] == [
        (2, "镇/街道", "%(name)s is not a township or street in your area.")
    ]
    contacts = xlsx(CONTACT_HEADER, [contact_row("刘大爷", {"村/社区": "河口村"})])
    job = importing.import_check(new_job(clerk_a, township_a, CONTACTS, contacts).pk)
    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "村/社区")]


def test_apply_checks_the_scope_again(clerk_a, township_a):
    job = importing.import_check(new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, [rep_row(1)])).pk)
    assert job.status == Status.READY
    clerk_a.roles.all().delete()  # the clerk left the township before the import ran

    job = importing.import_apply(job.pk)

    assert job.status == Status.FAILED
    assert Representative.objects.count() == 0


def test_a_clerk_cannot_see_or_poll_another_clerks_job(client, clerk_a, clerk_b, township_b):
    job = new_job(clerk_b, township_b, REPS, xlsx(REP_HEADER, [rep_row(1, {"镇/街道": "河口镇"})]))
    importing.import_check(job.pk)
    client.force_login(clerk_a)

    assert client.get(reverse("reps:import_job", args=[job.pk])).status_code == 404
    assert client.get(reverse("reps:import_status", args=[job.pk])).status_code == 404
    assert client.post(reverse("reps:import_apply", args=[job.pk])).status_code == 404
    assert reload(job).status == Status.READY


def test_a_representative_may_not_import(client, rep_a):
    client.force_login(rep_a)
    sheet = upload(xlsx(REP_HEADER, [rep_row(1)]))

    assert client.get(reverse("reps:import")).status_code == 403
    assert client.get(reverse("reps:import_template", args=[REPS])).status_code == 403
    assert client.post(reverse("reps:import_upload", args=[REPS]), {"reps-file": sheet}).status_code == 403
    assert not ImportJob.objects.exists()


# --- the pages ----------------------------------------------------------------------------


def test_uploading_a_sheet_starts_its_check(client, clerk_a, township_a, django_capture_on_commit_callbacks):
    client.force_login(clerk_a)
    assert "reps:import" in {item["url_name"] for item in client.get(reverse("home")).context["nav_items"]}
    page = client.get(reverse("reps:import"))
    assert (
        page.status_code == 200 and reverse("reps:import_template", args=[CONTACTS]).encode() in page.content
    )

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("reps:import_upload", args=[REPS]),
            {"reps-region": township_a.pk, "reps-file": upload(xlsx(REP_HEADER, [rep_row(1)]))},
        )

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("reps:import_job", args=[job.pk])
    assert (job.kind, job.region, job.created_by, job.status, job.file_name) == (
        REPS,
        township_a,
        clerk_a,
        Status.UPLOADED,
        "名单.xlsx",
    )
    assert len(callbacks) == 1  # the check task, sent once the job is committed
    status = client.get(reverse("reps:import_status", args=[job.pk])).json()
    assert (status["status"], status["running"]) == ("uploaded", True)
    assert b'id="import-progress"' in client.get(reverse("reps:import_job", args=[job.pk])).content


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a spreadsheet", "xlsx"),
        (xlsx(["姓名", "电话"], [["张三", ""]]), "层级"),
    ],
    ids=["not-a-workbook", "missing-columns"],
)
def test_an_upload_that_is_not_a_usable_xlsx_is_refused(client, clerk_a, township_a, content, message):
    client.force_login(clerk_a)
    response = client.post(
        reverse("reps:import_upload", args=[REPS]),
        {"reps-region": township_a.pk, "reps-file": upload(content)},
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_upload_over_the_size_cap_is_refused(client, clerk_a, township_a, monkeypatch):
    monkeypatch.setattr(importing, "MAX_UPLOAD_BYTES", 1000)
    client.force_login(clerk_a)
    response = client.post(
        reverse("reps:import_upload", args=[REPS]),
        {"reps-region": township_a.pk, "reps-file": upload(xlsx(REP_HEADER, [rep_row(1)]))},
    )

    assert response.status_code == 400 and not ImportJob.objects.exists()


def test_the_job_page_lists_the_bad_rows_and_a_clean_sheet_can_be_started(
    client, clerk_a, township_a, django_capture_on_commit_callbacks
):
    client.force_login(clerk_a)
    bad = importing.import_check(
        new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, [rep_row(1, {"电话": "123"})])).pk
    )
    page = client.get(reverse("reps:import_job", args=[bad.pk])).content.decode()
    assert "<td>2</td><td>电话</td>" in page

    good = importing.import_check(new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, [rep_row(1)])).pk)
    page = client.get(reverse("reps:import_job", args=[good.pk])).content.decode()
    assert reverse("reps:import_apply", args=[good.pk]) in page and "<table" not in page
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("reps:import_apply", args=[good.pk]))
    assert response.status_code == 302 and len(callbacks) == 1
    assert reload(good).status == Status.IMPORTING
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(reverse("reps:import_apply", args=[good.pk]))  # a second click sends nothing
    assert callbacks == []
    importing.import_apply(good.pk)  # what the task sent above does
    page = client.get(reverse("reps:import_job", args=[good.pk])).content.decode()
    assert "alert-success" in page and 'id="import-progress"' not in page


def test_the_template_has_the_columns_of_its_kind(client, clerk_a):
    client.force_login(clerk_a)
    for kind, header in ((REPS, REP_HEADER), (CONTACTS, CONTACT_HEADER)):
        response = client.get(reverse("reps:import_template", args=[kind]))
        sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
        assert [c.value for c in sheet[1]] == header


# --- tasks --------------------------------------------------------------------------------


def test_the_tasks_run_the_services(clerk_a, township_a):
    job = new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, [rep_row(1), rep_row(2)]))

    assert tasks.import_check.run(job.pk) == Status.READY
    assert tasks.import_apply.run(job.pk) == Status.DONE
    assert Representative.objects.count() == 2


def test_a_task_that_breaks_marks_the_job_failed(clerk_a, township_a, monkeypatch):
    job = new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, [rep_row(1)]))
    monkeypatch.setattr(checking, "check_rows", lambda *args: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        tasks.import_check.run(job.pk)
    assert reload(job).status == Status.FAILED


@pytest.mark.worker
@pytest.mark.skipif(LITE, reason="needs the test Redis")
def test_a_real_worker_checks_and_imports_a_sheet(worker, clerk_a, township_a):
    job = new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, [rep_row(i) for i in range(300)]))

    assert tasks.import_check.delay(job.pk).get(timeout=60) == Status.READY
    assert tasks.import_apply.delay(job.pk).get(timeout=60) == Status.DONE
    assert Representative.objects.count() == 300
    assert reload(job).processed_rows == 300


@pytest.mark.skipif(LITE, reason="SQLite has one writer: the count shows when the import is done")
@pytest.mark.django_db(transaction=True)
def test_the_import_progress_shows_while_its_transaction_is_open(clerk_a, township_a, monkeypatch):
    rows = [rep_row(i) for i in range(250)]
    job = importing.import_check(new_job(clerk_a, township_a, REPS, xlsx(REP_HEADER, rows)).pk)
    seen, count = [], jobs.Progress.__call__

    def watch(progress, done):
        count(progress, done)
        if progress.own_connection is None:
            return  # the check before the writes counts nothing
        other = connections.create_connection(DEFAULT_DB_ALIAS)  # what the status page reads
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT processed_rows FROM reps_importjob WHERE id = %s", [job.pk])
                seen.append(cursor.fetchone()[0])
        finally:
            other.close()

    monkeypatch.setattr(jobs.Progress, "__call__", watch)
    assert importing.import_apply(job.pk).status == Status.DONE
    assert seen == [100, 200, 200]


# --- exports ------------------------------------------------------------------------------


def read_xlsx(response) -> list[list]:
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_a_clerks_export_holds_only_their_township(client, clerk_a, township_a, township_b):
    for name in ("甲一", "甲二"):
        active_rep(township_a, name=name, levels=("county", "township"))
    for name in ("乙一", "乙二"):
        active_rep(township_b, name=name)
    client.force_login(clerk_a)

    rows = read_xlsx(client.get(reverse("admin:reps_representative_export")))

    assert rows[0] == REP_HEADER
    assert sorted((r[0], r[2], r[8]) for r in rows[1:]) == [
        ("甲一", "城关镇", "县"),
        ("甲一", "城关镇", "镇"),
        ("甲二", "城关镇", "县"),
        ("甲二", "城关镇", "镇"),
    ]
    filtered = read_xlsx(client.get(reverse("admin:reps_representative_export") + "?q=甲一"))
    assert {r[0] for r in filtered[1:]} == {"甲一"}


def test_the_export_runs_the_same_queries_for_10_and_200_reps(client, liaison_office, township_a, village_a):
    client.force_login(liaison_office)
    url = reverse("admin:reps_representative_export")

    def measure():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        return len(queries), len(read_xlsx(response))

    reps = [active_rep(township_a, levels=("county", "township")) for _ in range(10)]
    client.get(url)  # warm the caches (content types, sessions) first
    ten = measure()
    reps += [active_rep(township_a, levels=("county", "township")) for _ in range(190)]
    two_hundred = measure()

    assert ten[1] == 1 + 2 * 10 and two_hundred[1] == 1 + 2 * 200
    assert ten[0] == two_hundred[0]

    for rep in reps[:10]:
        ContactLinkFactory(representative=rep, contact=ContactFactory(village=village_a))
    contacts_url = reverse("admin:reps_contact_export")
    client.get(contacts_url)
    with CaptureQueriesContext(connection) as few:
        client.get(contacts_url)
    for rep in reps[10:]:
        ContactLinkFactory(representative=rep, contact=ContactFactory(village=village_a))
    with CaptureQueriesContext(connection) as many:
        assert len(read_xlsx(client.get(contacts_url))) == 201
    assert len(few) == len(many)


def test_the_export_action_exports_the_selected_rows(client, clerk_a, township_a):
    chosen = active_rep(township_a, name="甲一")
    active_rep(township_a, name="甲二")
    client.force_login(clerk_a)

    response = client.post(
        reverse("admin:reps_representative_changelist"),
        {"action": "export_xlsx", "_selected_action": [chosen.pk]},
    )

    assert [r[0] for r in read_xlsx(response)[1:]] == ["甲一"]
    changelist = client.get(reverse("admin:reps_representative_changelist")).content.decode()
    assert reverse("admin:reps_representative_export") in changelist


def test_an_export_imports_back_without_changes(client, liaison_office, county, township_a, village_a):
    for i in range(5):
        rep = active_rep(township_a, levels=("county", "township"), sector="基层", gender="f")
        ContactLinkFactory(
            representative=rep,
            contact=ContactFactory(village=village_a, phone=f"1380000000{i}", is_low_income=True),
            is_pairing=True,
        )
    ContactFactory(village=village_a, name="没有联系代表")
    client.force_login(liaison_office)

    for kind, url in ((REPS, "admin:reps_representative_export"), (CONTACTS, "admin:reps_contact_export")):
        exported = client.get(reverse(url)).content
        job = importing.import_check(new_job(liaison_office, county, kind, exported).pk)
        assert job.status == Status.READY, job.errors
        assert (job.summary["created"], job.summary["updated"]) == (0, 0), kind

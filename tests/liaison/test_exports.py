"""Excel exports write what people typed as text, never as a formula.

A resident's title '=HYPERLINK("http://x","y")' in the weekly problem list must open in the clerk's
Excel as those words, not as a live link; so must a rep's, a contact's or a studio's name. Each
export is fetched as a user would, read back with openpyxl, and the hostile cell checked: still
text (data type "s") and unchanged. Numbers stay numbers.
"""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from liaison.exports import append_row, xlsx_bytes
from liaison.models import User

HOSTILE = '=HYPERLINK("http://x","y")'


def cells(content: bytes) -> list:
    book = load_workbook(io.BytesIO(content))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def hostile_cells(response) -> list:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    found = [
        cell for cell in cells(response.content) if isinstance(cell.value, str) and "HYPERLINK" in cell.value
    ]
    assert found, "the export did not contain the hostile text at all"
    return found


def assert_text(found: list, value: str = HOSTILE) -> None:
    assert [(cell.value, cell.data_type) for cell in found] == [(value, "s")] * len(found)


# --- the one helper -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [HOSTILE, "=1+2", "+86 138 0000 0000", "-5 元", "@SUM(A1)", "\tcmd", "=cmd|' /C calc'!A0"]
)
def test_text_that_looks_like_a_formula_is_written_as_text(value):
    [cell] = [c for c in cells(xlsx_bytes("t", ["h"], [[value]])) if c.row == 2]
    assert (cell.value, cell.data_type) == (value, "s")


def test_a_carriage_return_start_is_text_too():
    # XML turns a lone CR into a line feed on reading; what matters is that it is no formula.
    [cell] = [c for c in cells(xlsx_bytes("t", ["h"], [["\r=1+2"]])) if c.row == 2]
    assert cell.data_type == "s" and cell.value.endswith("=1+2")


def test_numbers_and_dates_stay_numbers_and_dates():
    day = datetime.date(2026, 3, 2)
    row = [
        cell
        for cell in cells(xlsx_bytes("t", ["a", "b", "c", "d"], [[-3, 2.5, day, "text"]]))
        if cell.row == 2
    ]
    assert [(cell.value, cell.data_type) for cell in row] == [
        (-3, "n"),
        (2.5, "n"),
        (datetime.datetime.combine(day, datetime.time()), "d"),  # Excel has no date-only type
        ("text", "s"),
    ]


def test_without_the_helper_openpyxl_would_write_a_formula():
    """Why the helper exists: openpyxl's own append makes '=...' a formula cell."""
    book = Workbook()
    book.active.append([HOSTILE])
    append_row(book.active, [HOSTILE])
    out = io.BytesIO()
    book.save(out)
    assert [cell.data_type for cell in cells(out.getvalue())] == ["f", "s"]


# --- every export, as a user gets it ----------------------------------------------------------------


@pytest.fixture
def demo(db):
    from liaison.demo import seed

    seed()


@pytest.fixture
def office(client, demo):
    client.force_login(User.objects.get(username="lianban"))
    return client


def test_the_workspace_list_writes_a_residents_title_as_text(office):
    from proposals.models import Ticket
    from proposals.queues import queues_for

    Ticket.objects.update(title=HOSTILE, place="+1 东街")
    found = []
    for queue in queues_for(User.objects.get(username="lianban")):
        response = office.get(reverse("proposals:export"), {"queue": queue.key, "closed": "1"})
        assert response.status_code == 200
        found += [c for c in cells(response.content) if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert found
    assert_text(found)


def test_the_weekly_problem_list_writes_a_residents_title_as_text(office):
    from proposals.models import Ticket

    ticket = Ticket.objects.order_by("created_at").first()
    Ticket.objects.filter(pk=ticket.pk).update(title=HOSTILE)
    week = timezone.localtime(ticket.created_at).date().isoformat()
    response = office.get(reverse("proposals:weekly_export"), {"township": ticket.township_id, "week": week})
    assert_text(hostile_cells(response))


def test_the_reception_statistics_write_a_studio_name_as_text_and_counts_as_numbers(office):
    from studios.models import Studio

    Studio.objects.filter(pk=Studio.objects.order_by("pk").first().pk).update(name=HOSTILE)
    response = office.get(reverse("studios:statistics"), {"kind": "year", "format": "xlsx"})
    found = hostile_cells(response)
    assert_text(found)
    [row] = {cell.row for cell in found}
    sheet = found[0].parent.title  # the table, not the by-meeting-kind sheet after it
    numbers = [
        c for c in cells(response.content) if c.parent.title == sheet and c.row == row and c.column == 3
    ]
    assert [c.data_type for c in numbers] == ["n"]  # the duty slots count


def test_the_duty_status_writes_a_reps_name_as_text(office):
    from reps.models import Representative

    Representative.objects.update(name=HOSTILE)
    assert_text(hostile_cells(office.get(reverse("reps:duty"), {"format": "xlsx"})))


def test_the_admin_exports_write_rep_and_contact_names_as_text(office):
    from reps.models import Contact, Representative

    Representative.objects.update(name=HOSTILE, title="-副主任")
    Contact.objects.update(name=HOSTILE, address="@东街 1 号")
    reps = office.get(reverse("admin:reps_representative_export"))
    assert_text(hostile_cells(reps))
    titles = [c for c in cells(reps.content) if c.value == "-副主任"]
    assert titles and {c.data_type for c in titles} == {"s"}
    contacts = office.get(reverse("admin:reps_contact_export"))
    # A contact's row also names the linked rep: both are hostile here.
    assert_text(hostile_cells(contacts))


@pytest.mark.parametrize("kind", ["reps", "contacts"])
def test_the_import_templates_are_all_text(client, liaison_office, kind):
    client.force_login(liaison_office)
    response = client.get(reverse("reps:import_template", args=[kind]))
    assert response.status_code == 200
    assert {cell.data_type for cell in cells(response.content) if cell.value is not None} == {"s"}


def test_the_audit_log_writes_a_records_name_as_text(office):
    from liaison import audit
    from reps.models import Representative

    rep = Representative.objects.order_by("pk").first()
    Representative.objects.filter(pk=rep.pk).update(name=HOSTILE)
    rep.refresh_from_db()
    audit.record(
        actor=User.objects.get(username="lianban"), verb="test.renamed", subject=rep, region=rep.region
    )
    assert_text(hostile_cells(office.get(reverse("audit_log"), {"format": "xlsx"})))

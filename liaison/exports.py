"""Excel exports: every list a user can filter can be downloaded as the .xlsx they work in."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from django.http import HttpResponse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Text that a spreadsheet would read as a formula (or, pasted on, as one): a resident's title
# '=HYPERLINK("http://…","请点击")' must reach the clerk's Excel as the words typed, not a live link.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def append_row(sheet, values: Iterable) -> None:
    """Append one row to an openpyxl sheet, every text cell as text and never as a formula.

    openpyxl turns a str starting with "=" into a formula cell; forcing the cell's data type to
    "s" writes it as a plain string whatever it starts with. Numbers and dates stay what they are.
    Every export goes through here (tests/liaison/test_exports.py checks each one).
    """
    from openpyxl.cell import Cell

    cells = []
    for value in values:
        cell = Cell(sheet, value=value)
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            cell.data_type = "s"
        cells.append(cell)
    sheet.append(cells)


def xlsx_bytes(
    title: str, header: Sequence[str], rows: Iterable[Sequence], *, more: Sequence[tuple] = ()
) -> bytes:
    """Write one sheet with a bold, frozen header row and sensible column widths, and then each
    ``(title, header, rows)`` of ``more`` as a further sheet of the same book."""
    from openpyxl import Workbook

    book = Workbook(write_only=False)
    _write_sheet(book.active, title, header, rows)
    for extra in more:
        _write_sheet(book.create_sheet(), *extra)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write_sheet(sheet, title: str, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    from openpyxl.styles import Font

    sheet.title = str(title)[:31]
    append_row(sheet, [str(h) for h in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    widths = [len(str(h)) for h in header]
    for row in rows:
        values = ["" if v is None else v for v in row]
        append_row(sheet, values)
        widths = [max(w, len(str(v))) for w, v in zip(widths, values, strict=False)]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(2 + width * 2, 60)


def xlsx_response(
    title: str, header: Sequence[str], rows: Iterable[Sequence], *, filename: str, more: Sequence[tuple] = ()
) -> HttpResponse:
    response = HttpResponse(xlsx_bytes(title, header, rows, more=more), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response

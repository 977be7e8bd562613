"""Read an uploaded .xlsx sheet: find its header row, keep its non-blank rows, turn cells into text."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from liaison.validators import clean_text

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
HEADER_SEARCH_ROWS = 5  # the header may sit below a title row or two
NAME = "姓名"  # the people's sheets' anchor: their header row is the first that has a name column


class UnreadableSheet(Exception):
    """The file is not an .xlsx workbook that openpyxl can read."""


class TooManyRows(Exception):
    pass


class CellError(Exception):
    """A cell's value is wrong: ``message`` is an English message id, ``params`` its values."""

    def __init__(self, message: str, /, **params):
        super().__init__(message)
        self.message, self.params = message, params


@dataclass
class Sheet:
    columns: dict[str, int]  # header → index of the column
    rows: list[tuple[int, tuple]]  # (row number as Excel shows it, cell values)

    def texts(self, header: str) -> list[str]:
        """Return the distinct non-blank values of a column, as text, sorted."""
        index = self.columns.get(header)
        if index is None:
            return []
        return sorted({as_text(v[index]) for _, v in self.rows if index < len(v) and not blank(v[index])})

    def read_aliases(self, columns: Sequence) -> None:
        """Read each column under its other headers too (a ``Column``'s ``aliases``: 标题 for
        诉求标题), where the sheet lacks its own header."""
        for column in columns:
            for other in column.aliases:
                if column.header not in self.columns and other in self.columns:
                    self.columns[column.header] = self.columns[other]


def header(value) -> str:
    """Return a header cell as the column's name: spaces, a required-marking star and full-width
    slashes are what people add by hand."""
    text = "" if value is None else str(value)
    return text.replace(" ", "").replace("\u3000", "").replace("／", "/").strip().strip("*＊")


def blank(value) -> bool:
    """An empty cell, or one with nothing but spaces and characters ``as_text`` drops."""
    return value is None or (isinstance(value, str) and not as_text(value))


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def as_text(value) -> str:
    """Return a cell as one line of text, as the user sees it in Excel."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number typed into a text column: 13812345678, not 13812345678.0
    if isinstance(value, datetime.datetime):
        value = value.date()
    # Control characters (NUL among them, which PostgreSQL refuses in any text) are never
    # what a person typed: they read as spaces. Direction controls go as in every form
    # (``liaison.validators.clean_text``).
    return " ".join(clean_text(CONTROL.sub(" ", str(value))).split())


def read_sheet(fileobj, *, max_rows: int = MAX_ROWS, header_only: bool = False, anchor: str = NAME) -> Sheet:
    """Read the first worksheet of an .xlsx file: its header row and its non-blank rows.

    The header is the first row, among the first few, that has the ``anchor`` column (姓名 for
    the people's sheets, each kind names its own); rows are numbered as Excel numbers them, so
    that messages point at the row the user sees.
    """
    from openpyxl import load_workbook

    try:
        fileobj.seek(0)
        book = load_workbook(fileobj, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, KeyError) on a bad file
        raise UnreadableSheet from exc
    columns: dict[str, int] = {}
    rows: list[tuple[int, tuple]] = []
    try:
        if not book.worksheets:
            raise UnreadableSheet
        for number, values in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            if not columns:
                headers = [header(v) for v in values]
                if anchor in headers:
                    for index, name in enumerate(headers):
                        if name:
                            columns.setdefault(name, index)
                    if header_only:
                        break
                elif number >= HEADER_SEARCH_ROWS:
                    break
                continue
            if all(blank(v) for v in values):
                continue
            rows.append((number, tuple(values)))
            if len(rows) > max_rows:
                raise TooManyRows
    except (UnreadableSheet, TooManyRows):
        raise
    except Exception as exc:  # a damaged part of the file shows only when its rows are read
        raise UnreadableSheet from exc
    finally:
        book.close()
        fileobj.seek(0)
    return Sheet(columns=columns, rows=rows)


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    """Yield ``items`` in slices of at most ``size`` (names looked up with one ``IN (...)`` each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]

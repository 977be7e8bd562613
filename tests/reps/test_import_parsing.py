"""Reading odd cells (Hypothesis): whatever a cell of an uploaded sheet holds, the import reads a
value or records one error for that row and column, never raises; numbers typed into text columns
read as typed; what an export writes reads back as the same value."""

import datetime
import io
import json
import re

import pytest
from django.utils import translation
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.datetime import to_excel

from reps.import_views import error_rows
from reps.importing import CONTACT_COLUMNS, REP_COLUMNS, checking
from reps.importing.exporting import GENDER_WORD, KIND_WORD, LEVEL_WORD
from reps.importing.reading import NAME, Sheet, as_text, blank, read_sheet
from reps.importing.specs import (
    CONTACTS,
    DATE_FORMATS,
    REPS,
    as_contact_kind,
    as_date,
    as_gender,
    as_level,
    as_phone,
    as_yes_no,
)
from reps.models import Contact, ImportJob, Level, Representative

COLUMNS = [*REP_COLUMNS, *CONTACT_COLUMNS]
PHONE_COLUMNS = [c for c in COLUMNS if c.parse is as_phone]
PHONE_RE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-\d{7,8}(-\d{1,6})?", re.ASCII)
FULL_WIDTH = str.maketrans("0123456789-+()", "０１２３４５６７８９－＋（）")

odd_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789０１２３４５６７８９ \u3000\n\t-－+＋()（）.转#", max_size=30),
    st.sampled_from(
        [
            "=1+1",
            "=SUM(A1:A3)",
            "#DIV/0!",
            "#N/A",
            "１３８００１３８０００",
            "138 0013 8000",
            "+86 138-0013-8000",
            "（0513）88123456 转 12",
            "2026年1月31日",
            "20260131",
            "2026-02-30",
            "乡镇代表",
            "县（区）",
            "中共党员",
            "√",
            "TRUE",
            "\u3000是\u3000",
            "男性\n",
        ]
    ),
    st.builds("\n".join, st.lists(st.text(max_size=8), min_size=2, max_size=4)),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=3), st.integers(100, 3000)),  # very long
)
cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.integers(10**9, 10**12).map(float),  # phones and ID numbers in cells formatted as numbers
    st.dates(),
    st.datetimes(),
    st.times(),
    st.timedeltas(),
    odd_text,
)


def read(column, cell, errors=None):
    errors = [] if errors is None else errors
    return checking.Row(2, (cell,), {column.header: 0}, errors).read(column)


def shown(errors: list[dict]) -> list[dict]:
    """The errors as the job page shows them (in Chinese), after the round trip through JSON."""
    with translation.override("zh-hans"):
        return error_rows(ImportJob(errors=json.loads(json.dumps(errors))))


def assert_read(column, value) -> None:
    """A value read without error is of the kind its column holds."""
    parse = column.parse
    if parse is as_phone:
        assert PHONE_RE.fullmatch(value), value
    elif parse is as_yes_no:
        assert isinstance(value, bool)
    elif parse is as_date:
        assert type(value) is datetime.date
    elif parse is as_gender:
        assert value in Representative.Gender.values
    elif parse is as_level:
        assert value in Level.values
    elif parse is as_contact_kind:
        assert value in Contact.Kind.values
    else:
        assert isinstance(value, str) and value == " ".join(value.split()) and value
        assert column.max_length is None or len(value) <= column.max_length


@given(column=st.sampled_from(COLUMNS), cell=cells)
def test_any_cell_in_any_column_reads_as_a_value_or_one_clean_error(column, cell):
    errors = []

    value = read(column, cell, errors)

    if errors:
        assert [(e["row"], e["column"]) for e in errors] == [(2, column.header)]
        assert value == column.default
        [row] = shown(errors)
        assert row["text"] and row["text"] != errors[0]["message"]  # formatted, and in Chinese
    elif blank(cell):
        assert value == column.default
    else:
        assert_read(column, value)


@given(st.integers(0, 2**53))
def test_a_whole_number_in_a_number_cell_reads_without_a_decimal_point(number):
    assert as_text(float(number)) == as_text(number) == str(number)


@given(
    number=st.integers(13_000_000_000, 19_999_999_999),
    as_number=st.booleans(),
    column=st.sampled_from(PHONE_COLUMNS),
)
def test_a_mobile_number_in_a_number_cell_reads_as_its_eleven_digits(number, as_number, column):
    errors = []
    assert read(column, float(number) if as_number else number, errors) == str(number)
    assert errors == []


@given(
    number=st.integers(13_000_000_000, 19_999_999_999),
    separator=st.sampled_from(["", " ", "-", "\u3000", " - "]),
    prefix=st.sampled_from(["", "86", "+86", "+86 "]),
    full_width=st.booleans(),
)
def test_a_mobile_number_typed_any_usual_way_reads_as_its_eleven_digits(
    number, separator, prefix, full_width
):
    digits = str(number)
    typed = f"{prefix}{digits[:3]}{separator}{digits[3:7]}{separator}{digits[7:]}"
    if full_width:
        typed = typed.translate(FULL_WIDTH)  # a Chinese input method in full-width mode

    assert as_phone(typed) == digits
    assert as_phone(digits) == digits  # exported, then imported again


@given(
    area=st.sampled_from(["010", "021", "0513", "0755"]),
    number=st.integers(1_000_000, 99_999_999),
    ext=st.one_of(st.none(), st.integers(1, 999_999)),
    style=st.sampled_from(["{a}-{n}", "({a}){n}", "{a} {n}"]),
    full_width=st.booleans(),
)
def test_a_landline_reads_in_one_form_that_reads_back_the_same(area, number, ext, style, full_width):
    typed = style.format(a=area, n=number) + (f" 转 {ext}" if ext else "")
    if full_width:
        typed = typed.translate(FULL_WIDTH)
    canonical = f"{area}-{number}" + (f"-{ext}" if ext else "")

    assert as_phone(typed) == canonical
    assert as_phone(canonical) == canonical


@given(
    day=st.dates(datetime.date(1000, 1, 1), datetime.date(9999, 12, 31)), fmt=st.sampled_from(DATE_FORMATS)
)
def test_a_date_reads_back_from_every_way_it_is_written(day, fmt):
    assert as_date(day) == day
    assert as_date(datetime.datetime.combine(day, datetime.time(13, 45))) == day
    assert as_date(day.strftime(fmt)) == day


@given(day=st.dates(datetime.date(1955, 1, 1), datetime.date(2118, 12, 31)), as_float=st.booleans())
def test_a_date_stored_as_an_excel_serial_number_reads_as_that_date(day, as_float):
    serial = to_excel(day)
    assert as_date(float(serial) if as_float else int(serial)) == day


def test_control_characters_read_as_spaces():
    assert as_text("\x00王\x01建国\x7f") == "王 建国"


@given(cell=cells)
def test_reading_a_cell_as_text_twice_changes_nothing(cell):
    text = as_text(cell)
    assert as_text(text) == text
    assert "\n" not in text and text == text.strip()


@pytest.mark.parametrize(
    ("words", "parse"),
    [(LEVEL_WORD, as_level), (GENDER_WORD, as_gender), (KIND_WORD, as_contact_kind)],
    ids=["level", "gender", "kind"],
)
def test_the_words_an_export_writes_read_back_as_the_same_values(words, parse):
    assert {value: parse(word) for value, word in words.items()} == {value: value for value in words}
    assert (as_yes_no("是"), as_yes_no("否")) == (True, False)


@pytest.mark.parametrize(
    ("parse", "typed", "value"),
    [
        (
            as_level,
            ["省级", "市级", "区", "县（区）", "乡镇", "街道", "镇党代表", "县代表"],
            "province city county county township township township county",
        ),
        (as_gender, ["男性", "女性"], "m f"),
        (as_contact_kind, ["中共党员", "居民"], "party_member resident"),
        (as_yes_no, ["√", "Y", "true", "1", "有", "×", "No", "0", "无"], "1 1 1 1 1 0 0 0 0"),
    ],
    ids=["level", "gender", "kind", "yes-no"],
)
def test_the_other_words_people_type_read_as_their_values(parse, typed, value):
    expected = [bool(int(v)) if parse is as_yes_no else v for v in value.split()]
    assert [parse(word) for word in typed] == expected


def xlsx(rows: list[list]) -> io.BytesIO:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out


@settings(max_examples=25)  # an .xlsx written and read per example
@given(
    st.lists(
        st.text(max_size=30).filter(lambda s: not ILLEGAL_CHARACTERS_RE.search(s) and not s.startswith("=")),
        min_size=1,
        max_size=5,
    )
)
def test_text_cells_read_back_from_an_xlsx_as_written(texts):
    sheet = read_sheet(xlsx([["标题"], [NAME, *(f"列{i}" for i in range(len(texts)))], ["", *texts]]))

    assert sheet.columns == {NAME: 0, **{f"列{i}": i + 1 for i in range(len(texts))}}
    if all(blank(t) for t in texts):
        assert sheet.rows == []  # a blank row is skipped (control characters alone are blank)
    else:
        [(number, values)] = sheet.rows
        assert number == 3
        assert [None if blank(v) else as_text(v) for v in values[1:]] == [
            None if blank(t) else as_text(t) for t in texts
        ]


# --- a whole row of odd cells, checked against the database -----------------------------------

VALID = {
    REPS: {"姓名": "张三", "镇/街道": "城关镇", "层级": "镇", "届次": "第十五次党代会"}
    | {"任期开始": "2026-01-01", "任期结束": "2030-12-31"},
    CONTACTS: {"姓名": "刘大爷", "村/社区": "东街社区"},
}


def rows_of(spec):
    """A row whose every cell is odd or, now and then, a value that passes."""
    return st.tuples(*(st.one_of(st.just(VALID[spec].get(c.header)), cells) for c in spec.columns))


@pytest.fixture
def places(clerk_a, township_a, village_a):
    return checking.Places(ImportJob(created_by=clerk_a, region=township_a))


@pytest.mark.parametrize("spec", [REPS, CONTACTS], ids=["reps", "contacts"])
def test_a_row_of_odd_cells_is_planned_or_refused_row_by_row(spec, places):
    headers = {c.header: index for index, c in enumerate(spec.columns)}

    @settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(rows_of(spec))
    # Found on PostgreSQL: a NUL in the name reached a query, which PostgreSQL refuses.
    @example(("\x00", *(VALID[spec].get(c.header) for c in spec.columns[1:])))
    def check(values):
        plan = checking.check_rows(
            spec, Sheet(headers, [(2, values), (3, values)]), places, lambda done: None
        )

        bad_rows = {e["row"] for e in plan.errors}
        # The copy is refused: as bad as the first, or the same person and child again.
        assert 3 in bad_rows and bad_rows <= {2, 3}
        assert {e["column"] for e in plan.errors} <= set(headers)
        assert len(shown(plan.errors)) == len(plan.errors)
        if 2 not in bad_rows:
            [person] = plan.people
            assert person.rows == 1 and person.fields["name"] == as_text(values[0])

    check()

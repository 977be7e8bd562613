"""Import representatives and contacts from the .xlsx sheets staff keep, and export them back.

An import is an ``ImportJob``. A worker checks the sheet (``import_check``): every row is read
and validated against the database and the uploader's scope, bad rows are recorded with their
row number, column and reason, and nothing but the job is written. When the sheet is clean the
uploader starts the import, and a worker writes every row or none (``import_apply``). The
sheet's columns are Chinese, as the sheets staff already keep; an export uses the same columns,
so an exported list can be edited and imported again.

Who a row is: a person is matched on name + phone (name + township or village when the row has
no phone). A person already in the database is updated, not duplicated, so importing the same
sheet twice creates nothing new; a person on several rows of a representatives' sheet is one
representative with one mandate per row.
"""

from __future__ import annotations

import datetime
import io
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model, Prefetch, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from liaison import audit
from liaison.models import Region
from liaison.validators import normalize_phone
from reps.models import Contact, ContactLink, ImportJob, Level, Mandate, Representative
from reps.pinyin import initials

log = logging.getLogger(__name__)

Kind = ImportJob.Kind
Status = ImportJob.Status

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
MAX_STORED_ERRORS = 1_000
PROGRESS_EVERY = 100  # rows between two progress writes
BATCH = 100  # rows written per bulk insert
HEADER_SEARCH_ROWS = 5  # the header may sit below a title row or two

PERMISSIONS = {Kind.REPRESENTATIVES: "reps.add_representative", Kind.CONTACTS: "reps.add_contact"}

# The lifecycle: which statuses each status may move to. A status may move to itself where a
# retried task runs the same step again.
ALLOWED = {
    Status.UPLOADED: {Status.CHECKING, Status.FAILED},
    Status.CHECKING: {Status.CHECKING, Status.READY, Status.INVALID, Status.FAILED},
    Status.READY: {Status.IMPORTING, Status.FAILED},
    Status.IMPORTING: {Status.IMPORTING, Status.DONE, Status.FAILED},
}


# --- the sheets' columns ------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    required: bool = False
    note: str = ""  # shown on the template's notes sheet; the sheet format itself is Chinese
    choices: tuple[str, ...] = ()  # offered as a drop-down in the template
    text: bool = False  # formatted as text in the template (phone numbers keep their leading 0)


NAME, GENDER, TOWNSHIP, TITLE, BRANCH, SECTOR = "姓名", "性别", "镇/街道", "职务", "所在党组织", "界别"
PHONE, PHONE_PUBLIC, LEVEL, CONGRESS = "电话", "公开电话", "层级", "届次"
TERM_START, TERM_END, ELECTORAL_UNIT = "任期开始", "任期结束", "选区"
KIND, VILLAGE, ADDRESS, REP_NAME, REP_PHONE, PAIRING = (
    "类别",
    "村/社区",
    "地址",
    "联系代表",
    "代表电话",
    "结对",
)

YES_NO = ("是", "否")
CATEGORY_COLUMNS = {
    "低收入": "is_low_income",
    "业务骨干": "is_business_backbone",
    "致富带头人": "is_wealth_leader",
    "困难群众": "is_difficult_household",
    "老党员": "is_old_party_member",
    "困难党员": "is_poor_party_member",
}

REP_COLUMNS = (
    Column(NAME, required=True, note="必填"),
    Column(GENDER, note="男 或 女", choices=("男", "女")),
    Column(TOWNSHIP, required=True, note="必填；本辖区内镇或街道的名称（县级机关代表填县名）"),
    Column(TITLE),
    Column(BRANCH),
    Column(SECTOR),
    Column(PHONE, note="手机 11 位，或带区号的座机，如 0513-88123456", text=True),
    Column(PHONE_PUBLIC, note="是 或 否；公开须经本人同意", choices=YES_NO),
    Column(LEVEL, required=True, note="必填；省、市、县 或 镇", choices=("省", "市", "县", "镇")),
    Column(CONGRESS, required=True, note="必填；如 第十五次党代会"),
    Column(TERM_START, required=True, note="必填；日期，如 2026-01-01"),
    Column(TERM_END, required=True, note="必填；日期，如 2030-12-31"),
    Column(ELECTORAL_UNIT),
)
CONTACT_COLUMNS = (
    Column(NAME, required=True, note="必填"),
    Column(KIND, note="党员 或 群众（不填为群众）", choices=("党员", "群众")),
    Column(PHONE, note="手机 11 位，或带区号的座机", text=True),
    Column(VILLAGE, required=True, note="必填；本辖区内村或社区的名称"),
    Column(ADDRESS),
    *(Column(header, note="是 或 否", choices=YES_NO) for header in CATEGORY_COLUMNS),
    Column(REP_NAME, note="联系该群众的党代表姓名，可不填"),
    Column(REP_PHONE, note="同名代表时填写代表电话以区分", text=True),
    Column(PAIRING, note="是 或 否；结对帮扶须填联系代表", choices=YES_NO),
)
COLUMNS = {Kind.REPRESENTATIVES: REP_COLUMNS, Kind.CONTACTS: CONTACT_COLUMNS}

LEVEL_WORDS = {
    Level.PROVINCE: ("省", "省级"),
    Level.CITY: ("市", "市级"),
    Level.COUNTY: ("县", "区", "县区", "县级", "县（区）", "县(区)", "区县"),
    Level.TOWNSHIP: ("镇", "乡", "乡镇", "镇级", "街道"),
}
LEVEL_BY_WORD = {word: level for level, words in LEVEL_WORDS.items() for word in (*words, level.value)}
LEVEL_ORDER = [Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP]
YES = {"是", "√", "✓", "y", "yes", "true", "1", "有"}
NO = {"否", "×", "n", "no", "false", "0", "无"}


def columns_for(kind: str) -> Sequence[Column]:
    return COLUMNS[Kind(kind)]


def missing_columns(kind: str, headers: Iterable[str]) -> list[str]:
    """Return the required columns that ``headers`` lacks."""
    present = set(headers)
    return [c.header for c in columns_for(kind) if c.required and c.header not in present]


# --- reading a sheet ----------------------------------------------------------------------


class UnreadableSheet(Exception):
    """The file is not an .xlsx workbook that openpyxl can read."""


class TooManyRows(Exception):
    pass


@dataclass
class Sheet:
    columns: dict[str, int]  # header → index of the column
    rows: list[tuple[int, tuple]]  # (row number as Excel shows it, cell values)


def _header(value) -> str:
    text = "" if value is None else str(value)
    return text.replace(" ", "").replace("\u3000", "").replace("／", "/").strip().strip("*＊")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_sheet(fileobj, *, max_rows: int = MAX_ROWS, header_only: bool = False) -> Sheet:
    """Read the first worksheet of an .xlsx file: its header row and its non-blank rows.

    The header is the first row, among the first few, that has a 姓名 column; rows are
    numbered as Excel numbers them, so that messages point at the row the user sees.
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
                headers = [_header(v) for v in values]
                if NAME in headers:
                    for index, header in enumerate(headers):
                        if header:
                            columns.setdefault(header, index)
                    if header_only:
                        break
                elif number >= HEADER_SEARCH_ROWS:
                    break
                continue
            if all(_blank(v) for v in values):
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


# --- cell values --------------------------------------------------------------------------


class CellError(Exception):
    """A cell's value is wrong: ``message`` is an English message id, ``params`` its values."""

    def __init__(self, message: str, /, **params):
        super().__init__(message)
        self.message, self.params = message, params


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number typed into a text column: 13812345678, not 13812345678.0
    if isinstance(value, datetime.datetime):
        value = value.date()
    return " ".join(str(value).split())


def _phone(value) -> str:
    try:
        return normalize_phone(_text(value))
    except ValidationError as exc:
        # The validator's message, as its English id: it is translated when it is shown.
        with translation.override(None):
            raise CellError(str(exc.messages[0])) from None


def _yes_no(value) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise CellError(gettext_noop("Enter 是 or 否."))


def _gender(value) -> str:
    text = _text(value)
    if text in ("男", "男性"):
        return Representative.Gender.MALE
    if text in ("女", "女性"):
        return Representative.Gender.FEMALE
    raise CellError(gettext_noop("Enter 男 or 女."))


def _level(value) -> str:
    level = LEVEL_BY_WORD.get(_text(value).removesuffix("党代表").removesuffix("代表"))
    if level is None:
        raise CellError(gettext_noop("Enter one of 省, 市, 县 or 镇."))
    return level


def _contact_kind(value) -> str:
    text = _text(value)
    if text in ("党员", "中共党员"):
        return Contact.Kind.PARTY_MEMBER
    if text in ("群众", "居民"):
        return Contact.Kind.RESIDENT
    raise CellError(gettext_noop("Enter 党员 or 群众."))


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


def _date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and 20_000 < value < 80_000:
        from openpyxl.utils.datetime import from_excel

        return from_excel(value).date()  # an Excel date serial in a cell formatted as a number
    text = _text(value)
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise CellError(gettext_noop("Enter a date such as 2026-01-31."))


class _Row:
    """One sheet row being read: its cells by header, and the errors found in it."""

    def __init__(self, number: int, values: tuple, columns: dict[str, int], errors: list[dict]):
        self.number, self.values, self.columns, self.errors = number, values, columns, errors
        self.bad = False

    def has(self, header: str) -> bool:
        return header in self.columns

    def raw(self, header: str):
        index = self.columns.get(header)
        return self.values[index] if index is not None and index < len(self.values) else None

    def get(self, header: str, parse: Callable = _text, *, required=False, max_length=None, default=None):
        raw = self.raw(header)
        if _blank(raw):
            if required:
                self.error(header, gettext_noop("This field is required."))
            return default
        try:
            value = parse(raw)
        except CellError as exc:
            self.error(header, exc.message, **exc.params)
            return default
        if max_length and isinstance(value, str) and len(value) > max_length:
            self.error(header, gettext_noop("At most %(max)s characters."), max=max_length)
            return default
        return value

    def error(self, column: str, message: str, /, **params) -> None:
        self.bad = True
        self.errors.append({"row": self.number, "column": column, "message": message, "params": params})


# --- the uploader's scope -----------------------------------------------------------------


class _Places:
    """The regions a job may name: those the uploader sees now, under the job's region."""

    def __init__(self, job: ImportJob):
        regions = Region.objects.visible_to(job.created_by).filter(path__startswith=job.region.path)
        self.by_id: dict[int, Region] = {}
        self.by_name: dict[tuple[str, str], list[Region]] = defaultdict(list)
        for region in regions.only("id", "name", "level", "path"):
            self.by_id[region.pk] = region
            group = "village" if region.level == Region.Level.VILLAGE else "area"
            self.by_name[(group, region.name)].append(region)
        self.root_path = job.region.path

    def covers(self, region_id: int | None) -> bool:
        return region_id in self.by_id

    def find(self, row: _Row, header: str, name: str, *, group: str, unknown: str) -> Region | None:
        found = self.by_name.get((group, name), [])
        if len(found) == 1:
            return found[0]
        if found:
            row.error(header, gettext_noop("Several places are called %(name)s."), name=name)
        else:
            row.error(header, unknown, name=name)
        return None


# --- checking: the plan of what an import would write -------------------------------------


@dataclass
class _Person:
    """One person of the sheet (possibly on several rows) and what to write for them."""

    first_row: int
    fields: dict  # model field → value, for the columns the sheet has
    existing: Model | None
    rows: int = 0
    children: dict = field(default_factory=dict)  # mandates or contact links, by their key
    changed: list[str] = field(default_factory=list)  # fields of ``existing`` the sheet changes


@dataclass
class Plan:
    kind: str
    total: int
    errors: list[dict]
    people: list[_Person]

    @property
    def error_rows(self) -> int:
        return len({e["row"] for e in self.errors})

    def summary(self) -> dict:
        created = sum(1 for p in self.people if p.existing is None)
        updated = sum(1 for p in self.people if p.existing is not None and _person_changes(p))
        return {
            "rows": self.total,
            "people": len(self.people),
            "created": created,
            "updated": updated,
            "unchanged": len(self.people) - created - updated,
            "error_rows": self.error_rows,
            "errors": len(self.errors),
        }


def _person_changes(person: _Person) -> bool:
    return bool(person.changed) or any(
        c["existing"] is None or c["changed"] for c in person.children.values()
    )


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _names(sheet: Sheet, header: str) -> list[str]:
    index = sheet.columns.get(header)
    if index is None:
        return []
    return sorted({_text(v[index]) for _, v in sheet.rows if index < len(v) and not _blank(v[index])})


def _existing_people(model, names: list[str], related: str) -> tuple[dict, dict]:
    """Load the people of ``model`` with these names: by (name, phone), and by (name, place)
    for those without a phone."""
    by_phone, without_phone = {}, defaultdict(list)
    for chunk in _chunks(names, 500):
        for person in model.objects.filter(name__in=chunk).select_related(related).order_by("pk"):
            if person.phone:
                by_phone[(person.name, person.phone)] = person
            else:
                without_phone[(person.name, getattr(person, f"{related}_id"))].append(person)
    return by_phone, without_phone


def _match(row: _Row, places: _Places, key: tuple, by_phone: dict, without_phone: dict, label: str):
    """Return (matched, existing person or None) for a new key of the sheet."""
    if key[1]:
        existing = by_phone.get(key[:2])
        if existing is not None and not places.covers(getattr(existing, label)):
            row.error(
                PHONE,
                gettext_noop("%(name)s with this phone number is already registered outside your area."),
                name=key[0],
            )
            return False, None
        return True, existing
    found = without_phone.get((key[0], key[2]), [])
    if len(found) > 1:
        row.error(
            NAME,
            gettext_noop(
                "There are already several people called %(name)s here without a phone number; add the phone."
            ),
            name=key[0],
        )
        return False, None
    return True, (found[0] if found else None)


def _same_profile(row: _Row, person: _Person, profile: dict, headers: dict) -> bool:
    """Whether a further row of a person agrees with their first row; if not, say where."""
    for name, value in profile.items():
        if person.fields.get(name) != value:
            row.error(
                headers[name],
                gettext_noop("Row %(row)s has the same person with a different value here."),
                row=person.first_row,
            )
            return False
    return True


REP_HEADERS = {
    "name": NAME,
    "gender": GENDER,
    "region_id": TOWNSHIP,
    "title": TITLE,
    "party_branch": BRANCH,
    "sector": SECTOR,
    "phone": PHONE,
    "phone_public": PHONE_PUBLIC,
}


def _check_reps(sheet: Sheet, places: _Places, progress: Callable) -> Plan:
    errors: list[dict] = []
    by_phone, without_phone = _existing_people(Representative, _names(sheet, NAME), "region")
    people: dict[tuple, _Person] = {}
    for done, (number, values) in enumerate(sheet.rows, start=1):
        progress(done)
        row = _Row(number, values, sheet.columns, errors)
        name = row.get(NAME, required=True, max_length=32)
        region_name = row.get(TOWNSHIP, required=True)
        region = None
        if region_name:
            region = places.find(
                row,
                TOWNSHIP,
                region_name,
                group="area",
                unknown=gettext_noop("%(name)s is not a township or street in your area."),
            )
        profile = {
            "name": name,
            "gender": row.get(GENDER, _gender, default=""),
            "region_id": region.pk if region else None,
            "title": row.get(TITLE, max_length=100, default=""),
            "party_branch": row.get(BRANCH, max_length=100, default=""),
            "sector": row.get(SECTOR, max_length=50, default=""),
            "phone": row.get(PHONE, _phone, default=""),
            "phone_public": row.get(PHONE_PUBLIC, _yes_no, default=False),
        }
        level = row.get(LEVEL, _level, required=True)
        congress = row.get(CONGRESS, required=True, max_length=64)
        start = row.get(TERM_START, _date, required=True)
        end = row.get(TERM_END, _date, required=True)
        electoral_unit = row.get(ELECTORAL_UNIT, max_length=100, default="")
        if start and end and end < start:
            row.error(TERM_END, gettext_noop("The term cannot end before it starts."))
        if profile["phone_public"] and not profile["phone"]:
            row.error(PHONE_PUBLIC, gettext_noop("There is no phone number to publish."))
        mandate_region = None
        if level == Level.TOWNSHIP and region:
            if region.level != Region.Level.TOWNSHIP:
                row.error(
                    LEVEL,
                    gettext_noop("A township mandate needs a township in the column %(column)s."),
                    column=TOWNSHIP,
                )
            mandate_region = region.pk
        elif level == Level.COUNTY and region:
            mandate_region = int(region.path.strip("/").split("/")[0])  # the county at the root
        if row.bad:
            continue
        profile = {f: v for f, v in profile.items() if row.has(REP_HEADERS[f]) or f == "phone"}
        key = (name, profile["phone"]) if profile["phone"] else (name, "", region.pk)
        person = people.get(key)
        if person is None:
            matched, existing = _match(row, places, key, by_phone, without_phone, "region_id")
            if not matched:
                continue
            person = people[key] = _Person(number, profile, existing)
        elif not _same_profile(row, person, profile, REP_HEADERS):
            continue
        if (level, congress) in person.children:
            row.error(
                NAME,
                gettext_noop("Row %(row)s has the same person with the same mandate."),
                row=person.children[(level, congress)]["row"],
            )
            continue
        mandate = {"term_start": start, "term_end": end}
        if row.has(ELECTORAL_UNIT):
            mandate["electoral_unit"] = electoral_unit
        # The mandate's region is the congress's county or township, set when the mandate is
        # created; a person who later moves keeps the mandate of the congress that elected them.
        person.children[(level, congress)] = {
            "row": number,
            "fields": mandate,
            "region_id": mandate_region,
            "existing": None,
            "changed": [],
        }
        person.rows += 1
    plan = Plan(Kind.REPRESENTATIVES, len(sheet.rows), errors, list(people.values()))
    _compare(plan, Mandate, "representative_id", lambda m: (m.level, m.congress))
    return plan


CONTACT_HEADERS = {
    "name": NAME,
    "kind": KIND,
    "phone": PHONE,
    "village_id": VILLAGE,
    "address": ADDRESS,
    **{f: header for header, f in CATEGORY_COLUMNS.items()},
}


def _check_contacts(sheet: Sheet, places: _Places, progress: Callable) -> Plan:
    errors: list[dict] = []
    by_phone, without_phone = _existing_people(Contact, _names(sheet, NAME), "village")
    reps_by_name: dict[str, list[Representative]] = defaultdict(list)
    for chunk in _chunks(_names(sheet, REP_NAME), 500):
        for rep in (
            Representative.objects.filter(name__in=chunk, region__path__startswith=places.root_path)
            .select_related("region")
            .order_by("pk")
        ):
            if places.covers(rep.region_id):
                reps_by_name[rep.name].append(rep)
    people: dict[tuple, _Person] = {}
    for done, (number, values) in enumerate(sheet.rows, start=1):
        progress(done)
        row = _Row(number, values, sheet.columns, errors)
        name = row.get(NAME, required=True, max_length=32)
        village_name = row.get(VILLAGE, required=True)
        village = None
        if village_name:
            village = places.find(
                row,
                VILLAGE,
                village_name,
                group="village",
                unknown=gettext_noop("%(name)s is not a village or community in your area."),
            )
        profile = {
            "name": name,
            "kind": row.get(KIND, _contact_kind, default=Contact.Kind.RESIDENT),
            "phone": row.get(PHONE, _phone, default=""),
            "village_id": village.pk if village else None,
            "address": row.get(ADDRESS, max_length=200, default=""),
            **{f: row.get(header, _yes_no, default=False) for header, f in CATEGORY_COLUMNS.items()},
        }
        rep = None
        rep_name = row.get(REP_NAME, max_length=32)
        rep_phone = row.get(REP_PHONE, _phone, default="")
        is_pairing = row.get(PAIRING, _yes_no, default=False)
        if rep_name:
            candidates = [r for r in reps_by_name.get(rep_name, []) if not rep_phone or r.phone == rep_phone]
            if len(candidates) == 1:
                rep = candidates[0]
                if village and not village.is_within(rep.region):
                    row.error(
                        VILLAGE,
                        gettext_noop("%(village)s is outside the area of representative %(name)s."),
                        village=village.name,
                        name=rep.name,
                    )
            elif candidates:
                row.error(
                    REP_PHONE,
                    gettext_noop(
                        "Several representatives are called %(name)s; add the representative's phone."
                    ),
                    name=rep_name,
                )
            else:
                row.error(
                    REP_NAME,
                    gettext_noop("There is no representative called %(name)s in your area."),
                    name=rep_name,
                )
        elif is_pairing:
            row.error(
                PAIRING,
                gettext_noop("A pairing needs a representative in the column %(column)s."),
                column=REP_NAME,
            )
        if row.bad:
            continue
        profile = {f: v for f, v in profile.items() if row.has(CONTACT_HEADERS[f]) or f == "phone"}
        key = (name, profile["phone"]) if profile["phone"] else (name, "", village.pk)
        person = people.get(key)
        if person is None:
            matched, existing = _match(row, places, key, by_phone, without_phone, "village_id")
            if not matched:
                continue
            person = people[key] = _Person(number, profile, existing)
        elif not _same_profile(row, person, profile, CONTACT_HEADERS):
            continue
        link_key = rep.pk if rep else None
        if link_key in person.children:
            row.error(
                NAME, gettext_noop("Row %(row)s has the same person."), row=person.children[link_key]["row"]
            )
            continue
        link = {"is_pairing": is_pairing} if row.has(PAIRING) else {}
        person.children[link_key] = {"row": number, "fields": link, "existing": None, "changed": []}
        person.rows += 1
    plan = Plan(Kind.CONTACTS, len(sheet.rows), errors, list(people.values()))
    for person in plan.people:
        person.children.pop(None, None)  # a row without a representative links nobody
    _compare(plan, ContactLink, "contact_id", lambda link: link.representative_id)
    return plan


def _compare(plan: Plan, child_model, parent_field: str, child_key: Callable) -> None:
    """Find what the sheet changes in existing people and their mandates or links."""
    existing = {p.existing.pk: p for p in plan.people if p.existing is not None}
    for person in existing.values():
        person.changed = [f for f, v in person.fields.items() if getattr(person.existing, f) != v]
    for chunk in _chunks(list(existing), 500):
        for child in child_model.objects.filter(**{f"{parent_field}__in": chunk}):
            entry = existing[getattr(child, parent_field)].children.get(child_key(child))
            if entry is not None:
                entry["existing"] = child
                entry["changed"] = [f for f, v in entry["fields"].items() if getattr(child, f) != v]


def _check(job: ImportJob, progress: _Progress) -> Plan:
    """Read and validate the job's sheet as of now: the uploader's current scope and data."""
    try:
        with job.file.open("rb") as fileobj:
            sheet = read_sheet(fileobj)
    except UnreadableSheet:
        return _file_error(job, gettext_noop("The file is not an Excel .xlsx workbook that can be read."))
    except TooManyRows:
        return _file_error(
            job,
            gettext_noop("The sheet has more than %(max)s rows; split it into smaller files."),
            max=MAX_ROWS,
        )
    except FileNotFoundError:
        return _file_error(job, gettext_noop("The uploaded file is no longer there; upload it again."))
    missing = missing_columns(job.kind, sheet.columns)
    if missing:
        return _file_error(
            job,
            gettext_noop("The sheet lacks the columns: %(columns)s. Start from the template."),
            columns="、".join(missing),
        )
    if not sheet.rows:
        return _file_error(job, gettext_noop("The sheet has no rows to import."))
    progress.start(len(sheet.rows))
    places = _Places(job)
    checker = _check_reps if job.kind == Kind.REPRESENTATIVES else _check_contacts
    plan = checker(sheet, places, progress)
    plan.errors.sort(key=lambda e: e["row"] or 0)
    return plan


def _file_error(job: ImportJob, message: str, **params) -> Plan:
    return Plan(job.kind, 0, [{"row": None, "column": "", "message": message, "params": params}], [])


# --- progress -----------------------------------------------------------------------------


class _Progress:
    """Write the job's processed rows every PROGRESS_EVERY rows, where the page's poll sees them.

    While an import writes its rows it is inside one transaction, whose writes no one sees
    before it commits; there the count goes through a second connection of its own (and the
    import leaves the job's row alone until its last statement, so the two never wait on each
    other). SQLite allows one writer at a time, and a caller's own transaction may hold the
    job's row: in both cases the count shows only when the import is done.
    """

    def __init__(self, job_id: int, *, in_transaction: bool = False):
        self.job_id, self.last = job_id, 0
        self.own_connection = None
        self.enabled = True
        if in_transaction:
            default = connections[DEFAULT_DB_ALIAS]
            if default.vendor == "postgresql" and not default.in_atomic_block:
                self.own_connection = connections.create_connection(DEFAULT_DB_ALIAS)
            else:
                self.enabled = False

    def start(self, total: int) -> None:
        if self.enabled and self.own_connection is None:
            ImportJob.objects.filter(pk=self.job_id).update(
                total_rows=total, processed_rows=0, updated_at=timezone.now()
            )

    def __call__(self, done: int) -> None:
        if not self.enabled or done - self.last < PROGRESS_EVERY:
            return
        self.last = done
        now = timezone.now()
        if self.own_connection is None:
            ImportJob.objects.filter(pk=self.job_id).update(processed_rows=done, updated_at=now)
            return
        table = self.own_connection.ops.quote_name(ImportJob._meta.db_table)
        with self.own_connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET processed_rows = %s, updated_at = %s WHERE id = %s",  # noqa: S608
                [done, now, self.job_id],
            )

    def close(self) -> None:
        if self.own_connection is not None:
            self.own_connection.close()


class _Silent(_Progress):
    def __init__(self):
        super().__init__(0)
        self.enabled = False


# --- the lifecycle ------------------------------------------------------------------------


def _move(job_id: int, *, to: str, only_from: str | None = None, **fields) -> bool:
    """Move the job to ``to`` if its status allows it (compare-and-set); False if it did not."""
    sources = [status for status, targets in ALLOWED.items() if to in targets]
    if only_from is not None:
        sources = [only_from] if only_from in sources else []
    moved = ImportJob.objects.filter(pk=job_id, status__in=sources).update(
        status=to, updated_at=timezone.now(), **fields
    )
    return bool(moved)


def _may_import(job: ImportJob) -> bool:
    user = job.created_by
    return user.is_active and user.has_perm(PERMISSIONS[job.kind])


def _stored(errors: list[dict]) -> list[dict]:
    return errors[:MAX_STORED_ERRORS]


@transaction.atomic
def import_upload(*, actor, kind: str, region: Region, upload) -> ImportJob:
    """Store an uploaded sheet as a new job in ``region`` and have a worker check it."""
    from reps import tasks

    if not actor.has_perm(PERMISSIONS[Kind(kind)]):
        raise PermissionDenied
    if not Region.objects.visible_to(actor).filter(pk=region.pk).exists():
        raise PermissionDenied
    job = ImportJob(kind=kind, region=region, created_by=actor, file_name=str(upload.name)[:200])
    # Our own file name: the user's may be anything; the original is kept in file_name.
    job.file.save(f"{uuid.uuid4().hex}.xlsx", upload, save=False)
    job.save()
    transaction.on_commit(lambda: tasks.import_check.delay(job.pk), robust=True)
    return job


def import_check(job_id: int) -> ImportJob:
    """Check every row of the job's sheet; record the bad rows, or mark the job ready.

    Writes nothing but the job. Safe to run again (a retried task): it only reads.
    """
    if not _move(job_id, to=Status.CHECKING, processed_rows=0):
        return ImportJob.objects.get(pk=job_id)  # checked already, or moved on
    job = ImportJob.objects.select_related("created_by", "region").get(pk=job_id)
    if not _may_import(job):
        _move(
            job_id,
            to=Status.FAILED,
            errors=[_general(gettext_noop("You may not import this kind of sheet."))],
        )
        return ImportJob.objects.get(pk=job_id)
    progress = _Progress(job_id)
    plan = _check(job, progress)
    _move(
        job_id,
        to=Status.INVALID if plan.errors else Status.READY,
        total_rows=plan.total,
        processed_rows=plan.total,
        errors=_stored(plan.errors),
        summary=plan.summary(),
    )
    return ImportJob.objects.get(pk=job_id)


@transaction.atomic
def import_start(*, actor, job: ImportJob) -> bool:
    """Have a worker import a checked sheet; False if the job is not ready (or started already)."""
    from reps import tasks

    if job.created_by_id != actor.pk or not _may_import(job):
        raise PermissionDenied
    if not _move(job.pk, to=Status.IMPORTING, only_from=Status.READY, processed_rows=0):
        return False  # not ready, or a second click
    transaction.on_commit(lambda: tasks.import_apply.delay(job.pk), robust=True)
    return True


def import_apply(job_id: int) -> ImportJob:
    """Write every row of a checked sheet, or none.

    1. Claim the job (ready, or importing for a retried task); a finished job is left alone.
    2. In one transaction: take the job's lock (a duplicate delivery finds it taken and leaves
       the job to the first worker); check the sheet again as of now (the uploader's scope may
       have shrunk, someone may have added the same person meanwhile); write every row, or on
       any error write nothing.
    3. People are matched on name + phone, so running this again writes nothing twice.
    """
    if not _move(job_id, to=Status.IMPORTING, processed_rows=0):
        return ImportJob.objects.get(pk=job_id)
    job = ImportJob.objects.select_related("created_by", "region").get(pk=job_id)
    if not _may_import(job):
        _move(
            job_id,
            to=Status.FAILED,
            errors=[_general(gettext_noop("You may not import this kind of sheet."))],
        )
        return ImportJob.objects.get(pk=job_id)
    progress = _Progress(job_id, in_transaction=True)
    try:
        with transaction.atomic():
            if not _lock(job_id):
                return ImportJob.objects.get(pk=job_id)  # another worker is importing it now
            plan = _check(job, _Silent())
            if plan.errors:
                refused = plan
            else:
                refused = None
                summary = plan.summary()
                writer = _write_reps if job.kind == Kind.REPRESENTATIVES else _write_contacts
                writer(plan, progress)
                audit.record(
                    actor=job.created_by, verb="import.applied", subject=job, region=job.region, **summary
                )
                if not _move(
                    job_id,
                    to=Status.DONE,
                    processed_rows=plan.total,
                    total_rows=plan.total,
                    summary=summary,
                    errors=[],
                    finished_at=timezone.now(),
                ):
                    raise RuntimeError(f"import job {job_id} was moved while it was being imported")
    finally:
        progress.close()
    if refused is not None:
        _move(
            job_id,
            to=Status.FAILED,
            errors=_stored(refused.errors),
            summary=refused.summary(),
            finished_at=timezone.now(),
        )
    return ImportJob.objects.get(pk=job_id)


def import_fail(job_id: int) -> None:
    """Record that a job stopped on an unexpected error (its transaction wrote nothing)."""
    _move(
        job_id,
        to=Status.FAILED,
        errors=[
            _general(
                gettext_noop(
                    "The import stopped on an unexpected error; nothing was written. Upload the file again."
                )
            )
        ],
        finished_at=timezone.now(),
    )


def _general(message: str) -> dict:
    return {"row": None, "column": "", "message": message, "params": {}}


def _lock(job_id: int) -> bool:
    """Take the job's lock for this transaction: False when another transaction holds it.

    PostgreSQL has advisory locks; SQLite lets one transaction write at a time anyway.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql":
        return True
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, job_id])
        return bool(cursor.fetchone()[0])


LOCK_NAMESPACE = 7301  # the first key of the job locks, apart from any other advisory lock


def _update_fields(changed: list[str]) -> list[str]:
    return [f.removesuffix("_id") for f in changed]


def _write_reps(plan: Plan, progress: Callable) -> None:
    done = 0
    for batch in _chunks(plan.people, BATCH):
        new = [p for p in batch if p.existing is None]
        reps = [Representative(name_initials=initials(p.fields["name"]), **p.fields) for p in new]
        # bulk_create skips save(), so the pinyin initials are set here, as save() would.
        Representative.objects.bulk_create(reps)
        for person, rep in zip(new, reps, strict=True):
            person.existing = rep
        mandates = []
        for person in batch:
            if person.changed:
                for name in person.changed:
                    setattr(person.existing, name, person.fields[name])
                person.existing.save(update_fields=_update_fields(person.changed))
            for (level, congress), child in person.children.items():
                if child["existing"] is None:
                    mandates.append(
                        Mandate(
                            representative=person.existing,
                            level=level,
                            congress=congress,
                            region_id=child["region_id"],
                            **child["fields"],
                        )
                    )
                elif child["changed"]:
                    for name in child["changed"]:
                        setattr(child["existing"], name, child["fields"][name])
                    child["existing"].save(update_fields=_update_fields(child["changed"]))
        Mandate.objects.bulk_create(mandates)
        done += sum(p.rows for p in batch)
        progress(done)


def _write_contacts(plan: Plan, progress: Callable) -> None:
    done = 0
    for batch in _chunks(plan.people, BATCH):
        new = [p for p in batch if p.existing is None]
        contacts = [Contact(**p.fields) for p in new]
        Contact.objects.bulk_create(contacts)
        for person, contact in zip(new, contacts, strict=True):
            person.existing = contact
        links = []
        for person in batch:
            if person.changed:
                for name in person.changed:
                    setattr(person.existing, name, person.fields[name])
                person.existing.save(update_fields=_update_fields(person.changed))
            for rep_id, child in person.children.items():
                if child["existing"] is None:
                    links.append(
                        ContactLink(representative_id=rep_id, contact=person.existing, **child["fields"])
                    )
                elif child["changed"]:
                    for name in child["changed"]:
                        setattr(child["existing"], name, child["fields"][name])
                    child["existing"].save(update_fields=_update_fields(child["changed"]))
        ContactLink.objects.bulk_create(links)
        done += sum(p.rows for p in batch)
        progress(done)


# --- templates and exports: the same columns ----------------------------------------------

SHEET_TITLES = {Kind.REPRESENTATIVES: "党代表", Kind.CONTACTS: "联系群众"}
LEVEL_WORD = {level: words[0] for level, words in LEVEL_WORDS.items()}
GENDER_WORD = {Representative.Gender.MALE: "男", Representative.Gender.FEMALE: "女"}
KIND_WORD = {Contact.Kind.PARTY_MEMBER: "党员", Contact.Kind.RESIDENT: "群众"}


def _yes(value: bool) -> str:
    return "是" if value else "否"


def template_bytes(kind: str) -> bytes:
    """Return an empty sheet of ``kind`` with its headers, drop-downs and a notes sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = columns_for(kind)
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLES[Kind(kind)]
    sheet.append([c.header for c in columns])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index).font = Font(bold=True, color="C00000" if column.required else None)
        sheet.column_dimensions[letter].width = max(10, 2 + 2 * len(column.header))
        if column.text:
            sheet.column_dimensions[letter].number_format = "@"
        if column.choices:
            choice = DataValidation(type="list", formula1=f'"{",".join(column.choices)}"', allow_blank=True)
            choice.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.add_data_validation(choice)
    notes = book.create_sheet("填写说明")
    notes.append(["列", "必填", "说明"])
    for column in columns:
        notes.append([column.header, "是" if column.required else "", column.note])
    notes.append([])
    notes.append(["一行为一人；同一人在多行出现时按姓名和电话合并，重复导入不会产生重复记录。"])
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["C"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_rows(kind: str, queryset: QuerySet, *, user) -> tuple[list[str], Iterator[list]]:
    """Return the header and rows of an export, in the import's columns (a constant number of queries).

    A representative has one row per mandate, a contact one row per current link to a
    representative the user may see; people without either have one row.
    """
    header = [c.header for c in columns_for(kind)]
    if Kind(kind) == Kind.REPRESENTATIVES:
        people = queryset.select_related("region").prefetch_related(None).prefetch_related("mandates")
        return header, _rep_rows(people)
    links = (
        ContactLink.objects.active(timezone.localdate())
        .filter(representative__in=Representative.objects.visible_to(user))
        .select_related("representative")
        .order_by("id")
    )
    people = (
        queryset.select_related("village").prefetch_related(None).prefetch_related(Prefetch("links", links))
    )
    return header, _contact_rows(people)


def _rep_rows(reps: QuerySet) -> Iterator[list]:
    for rep in reps:
        profile = [
            rep.name,
            GENDER_WORD.get(rep.gender, ""),
            rep.region.name,
            rep.title,
            rep.party_branch,
            rep.sector,
            rep.phone,
            _yes(rep.phone_public),
        ]
        mandates = sorted(rep.mandates.all(), key=lambda m: (LEVEL_ORDER.index(m.level), m.term_start))
        if not mandates:
            yield [*profile, "", "", None, None, ""]
        for m in mandates:
            yield [*profile, LEVEL_WORD[m.level], m.congress, m.term_start, m.term_end, m.electoral_unit]


def _contact_rows(contacts: QuerySet) -> Iterator[list]:
    for contact in contacts:
        profile = [
            contact.name,
            KIND_WORD.get(contact.kind, ""),
            contact.phone,
            contact.village.name,
            contact.address,
            *(_yes(getattr(contact, f)) for f in CATEGORY_COLUMNS.values()),
        ]
        links = list(contact.links.all())
        if not links:
            yield [*profile, "", "", ""]
        for link in links:
            yield [*profile, link.representative.name, link.representative.phone, _yes(link.is_pairing)]

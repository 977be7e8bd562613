"""The kinds of sheet, each described once: its columns, how each cell is read, the rows' rules.

Every kind is a ``SheetKind``, registered here (``register``): the job, the upload checks, the
template and the pages read it, so a kind that belongs to a higher app (the 12345 hotline's work
orders, ``proposals.hotline``) registers itself from its app's ``ready()`` and reuses them all,
and this app never imports it. The two people's kinds below are ``Spec``s.

A ``Spec`` says everything the one check (``checking.check_rows``) and the one writer
(``writing.write``) need: the person's model and the child each row adds (a representative's
mandate, a contact's link to a representative), the columns and which field each fills, how each
cell is parsed, the place column, and the rules that look at a row as a whole. Who a row is (the
natural key that makes a second import of the same sheet create nothing) is the same for both:
name + phone, or name + place for a person without a phone (``Spec.key``).

The columns are Chinese, as the sheets staff already keep; the template and the export use them
too, so an exported list can be edited and imported again.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import translation
from django.utils.translation import gettext_noop

from liaison.models import Region
from liaison.validators import normalize_phone
from reps.importing.reading import NAME, CellError, Sheet, as_text, chunks
from reps.models import Contact, ContactLink, ImportJob, Level, Mandate, Representative
from reps.pinyin import initials

if TYPE_CHECKING:
    from reps.importing.checking import Places, Row, SheetPlan

Kind = ImportJob.Kind

# --- reading a cell as a value --------------------------------------------------------------

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
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


def as_phone(value) -> str:
    try:
        return normalize_phone(as_text(value))
    except ValidationError as exc:
        # The validator's message, as its English id: it is translated when it is shown.
        with translation.override(None):
            raise CellError(str(exc.messages[0])) from None


def as_yes_no(value) -> bool:
    if isinstance(value, bool):
        return value
    text = as_text(value).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise CellError(gettext_noop("Enter 是 or 否."))


def as_gender(value) -> str:
    text = as_text(value)
    if text in ("男", "男性"):
        return Representative.Gender.MALE
    if text in ("女", "女性"):
        return Representative.Gender.FEMALE
    raise CellError(gettext_noop("Enter 男 or 女."))


def as_level(value) -> str:
    level = LEVEL_BY_WORD.get(as_text(value).removesuffix("党代表").removesuffix("代表"))
    if level is None:
        raise CellError(gettext_noop("Enter one of 省, 市, 县 or 镇."))
    return level


def as_contact_kind(value) -> str:
    text = as_text(value)
    if text in ("党员", "中共党员"):
        return Contact.Kind.PARTY_MEMBER
    if text in ("群众", "居民"):
        return Contact.Kind.RESIDENT
    raise CellError(gettext_noop("Enter 党员 or 群众."))


def as_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and 20_000 < value < 80_000:
        from openpyxl.utils.datetime import from_excel

        return from_excel(value).date()  # an Excel date serial in a cell formatted as a number
    text = as_text(value)
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise CellError(gettext_noop("Enter a date such as 2026-01-31."))


# --- columns ------------------------------------------------------------------------------

PERSON, CHILD, RULES = "person", "child", "rules"  # where a column's value goes


@dataclass(frozen=True)
class Column:
    """One column of a sheet: where its value goes, how a cell is read, what the template shows."""

    header: str
    field: str  # the model field it fills (of the person or the child), or the name the rules read
    part: str = PERSON  # PERSON, CHILD, or RULES: read only by the kind's rules
    parse: Callable[[Any], Any] = as_text  # raises CellError on a wrong value
    required: bool = False
    max_length: int | None = None
    default: Any = None  # the value of a blank cell
    note: str = ""  # shown on the template's notes sheet; the sheet format itself is Chinese
    choices: tuple[str, ...] = ()  # offered as a drop-down in the template
    text: bool = False  # formatted as text in the template (phone numbers keep their leading 0)
    aliases: tuple[str, ...] = ()  # other headers the column is read under (标题 for 诉求标题)


GENDER, TOWNSHIP, TITLE, BRANCH, SECTOR = "性别", "镇/街道", "职务", "所在党组织", "界别"
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
    Column(NAME, "name", required=True, max_length=32, note="必填"),
    Column(GENDER, "gender", parse=as_gender, default="", note="男 或 女", choices=("男", "女")),
    Column(TOWNSHIP, "region_id", required=True, note="必填；本辖区内镇或街道的名称（县级机关代表填县名）"),
    Column(TITLE, "title", max_length=100, default=""),
    Column(BRANCH, "party_branch", max_length=100, default=""),
    Column(SECTOR, "sector", max_length=50, default=""),
    Column(
        PHONE,
        "phone",
        parse=as_phone,
        default="",
        note="手机 11 位，或带区号的座机，如 0513-88123456",
        text=True,
    ),
    Column(
        PHONE_PUBLIC,
        "phone_public",
        parse=as_yes_no,
        default=False,
        note="是 或 否；公开须经本人同意",
        choices=YES_NO,
    ),
    Column(
        LEVEL,
        "level",
        RULES,
        as_level,
        required=True,
        note="必填；省、市、县 或 镇",
        choices=("省", "市", "县", "镇"),
    ),
    Column(CONGRESS, "congress", RULES, required=True, max_length=64, note="必填；如 第十五次党代会"),
    Column(TERM_START, "term_start", CHILD, as_date, required=True, note="必填；日期，如 2026-01-01"),
    Column(TERM_END, "term_end", CHILD, as_date, required=True, note="必填；日期，如 2030-12-31"),
    Column(ELECTORAL_UNIT, "electoral_unit", CHILD, max_length=100, default=""),
)
CONTACT_COLUMNS = (
    Column(NAME, "name", required=True, max_length=32, note="必填"),
    Column(
        KIND,
        "kind",
        parse=as_contact_kind,
        default=Contact.Kind.RESIDENT,
        note="党员 或 群众（不填为群众）",
        choices=("党员", "群众"),
    ),
    Column(PHONE, "phone", parse=as_phone, default="", note="手机 11 位，或带区号的座机", text=True),
    Column(VILLAGE, "village_id", required=True, note="必填；本辖区内村或社区的名称"),
    Column(ADDRESS, "address", max_length=200, default=""),
    *(
        Column(header, field, parse=as_yes_no, default=False, note="是 或 否", choices=YES_NO)
        for header, field in CATEGORY_COLUMNS.items()
    ),
    Column(REP_NAME, "rep_name", RULES, max_length=32, note="联系该群众的党代表姓名，可不填"),
    Column(
        REP_PHONE, "rep_phone", RULES, as_phone, default="", note="同名代表时填写代表电话以区分", text=True
    ),
    Column(
        PAIRING,
        "is_pairing",
        CHILD,
        as_yes_no,
        default=False,
        note="是 或 否；结对帮扶须填联系代表",
        choices=YES_NO,
    ),
)


# --- the rules of a row as a whole ----------------------------------------------------------


def _mandate_rules(row: Row, values: dict, township: Region | None, lookups: None) -> dict:
    """Check a representative's row as a whole; return what makes its mandate."""
    level, start, end = values["level"], values["term_start"], values["term_end"]
    if start and end and end < start:
        row.error(TERM_END, gettext_noop("The term cannot end before it starts."))
    if values["phone_public"] and not values["phone"]:
        row.error(PHONE_PUBLIC, gettext_noop("There is no phone number to publish."))
    # The mandate's region is the congress's county or township, set when the mandate is
    # created; a person who later moves keeps the mandate of the congress that elected them.
    mandate_region = None
    if level == Level.TOWNSHIP and township:
        if township.level != Region.Level.TOWNSHIP:
            row.error(
                LEVEL,
                gettext_noop("A township mandate needs a township in the column %(column)s."),
                column=TOWNSHIP,
            )
        mandate_region = township.pk
    elif level == Level.COUNTY and township:
        mandate_region = township.county_id
    return {"level": level, "congress": values["congress"], "region_id": mandate_region}


def _reps_named(sheet: Sheet, places: Places) -> dict[str, list[Representative]]:
    """Load the representatives a contacts' sheet names, in the uploader's area, by name."""
    reps_by_name: dict[str, list[Representative]] = defaultdict(list)
    for chunk in chunks(sheet.texts(REP_NAME), 500):
        for rep in (
            Representative.objects.filter(name__in=chunk, region__path__startswith=places.root_path)
            .select_related("region")
            .order_by("pk")
        ):
            if places.covers(rep.region_id):
                reps_by_name[rep.name].append(rep)
    return reps_by_name


def _link_rules(row: Row, values: dict, village: Region | None, reps_by_name: dict) -> dict:
    """Check a contact's row as a whole; return what makes its link (no representative: none)."""
    rep = None
    rep_name, rep_phone = values["rep_name"], values["rep_phone"]
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
                gettext_noop("Several representatives are called %(name)s; add the representative's phone."),
                name=rep_name,
            )
        else:
            row.error(
                REP_NAME,
                gettext_noop("There is no representative called %(name)s in your area."),
                name=rep_name,
            )
    elif values["is_pairing"]:
        row.error(
            PAIRING,
            gettext_noop("A pairing needs a representative in the column %(column)s."),
            column=REP_NAME,
        )
    return {"representative_id": rep.pk if rep else None}


def _new_rep(fields: dict) -> Representative:
    # bulk_create skips save(), so the pinyin initials are set here, as save() would.
    return Representative(name_initials=initials(fields["name"]), **fields)


# --- the kinds ----------------------------------------------------------------------------


class SheetKind(Protocol):
    """What the job, the upload checks, the template and the pages need of a kind of sheet."""

    kind: str
    columns: tuple[Column, ...]
    anchor: str  # the header that marks the header row
    sheet_title: str  # the template's worksheet title
    template_notes: tuple[str, ...]  # the lines below the columns on the template's notes sheet

    def may_import(self, user) -> bool: ...

    def check_rows(self, sheet: Sheet, places: Places, progress: Callable[[int], None]) -> SheetPlan:
        """Validate every row and plan what an import would write, writing nothing."""
        ...

    def write(self, plan: SheetPlan, progress: Callable[[int], None]) -> None:
        """Write a plan without errors; the caller holds the transaction."""
        ...


@dataclass(frozen=True)
class Spec:
    """A people's kind of sheet: a person per name + phone, and a child (mandate or link) per row."""

    kind: str
    permission: str
    columns: tuple[Column, ...]
    model: type[Model]  # the person
    build: Callable[[dict], Model]  # a new person from their fields, for bulk_create
    place: str  # the header of the place column, looked up among the uploader's regions
    place_group: str  # "area" (county, township) or "village" (village, community)
    unknown_place: str  # the message when the place is not in the uploader's area
    child_model: type[Model]
    child_parent: str  # the child's foreign key to the person
    child_key: tuple[str, ...]  # the child's fields that tell a person's children apart
    same_child: str  # the message for a second row of the same person and child
    rules: Callable[[Row, dict, Region | None, Any], dict]  # a row as a whole → the child's key fields
    lookups: Callable[[Sheet, Places], Any] = lambda sheet, places: None  # loaded once for the rules
    sheet_title: str = ""
    anchor: str = NAME
    template_notes: tuple[str, ...] = (
        "一行为一人；同一人在多行出现时按姓名和电话合并，重复导入不会产生重复记录。",
    )

    def may_import(self, user) -> bool:
        return user.has_perm(self.permission)

    def check_rows(self, sheet: Sheet, places: Places, progress: Callable[[int], None]) -> SheetPlan:
        from reps.importing import checking

        return checking.check_rows(self, sheet, places, progress)

    def write(self, plan: SheetPlan, progress: Callable[[int], None]) -> None:
        from reps.importing import writing

        writing.write(plan, progress)  # type: ignore[arg-type]  # a people's kind plans people

    @property
    def place_field(self) -> str:
        return self.column(self.place).field  # region_id or village_id

    def column(self, header: str) -> Column:
        return next(c for c in self.columns if c.header == header)

    def key(self, fields: dict) -> tuple:
        """Who a person is: (name, phone), or (name, "", place) for a person without a phone."""
        if fields["phone"]:
            return (fields["name"], fields["phone"])
        return (fields["name"], "", fields[self.place_field])


REPS = Spec(
    kind=Kind.REPRESENTATIVES,
    permission="reps.add_representative",
    columns=REP_COLUMNS,
    model=Representative,
    build=_new_rep,
    place=TOWNSHIP,
    place_group="area",
    unknown_place=gettext_noop("%(name)s is not a township or street in your area."),
    child_model=Mandate,
    child_parent="representative",
    child_key=("level", "congress"),
    same_child=gettext_noop("Row %(row)s has the same person with the same mandate."),
    rules=_mandate_rules,
    sheet_title="党代表",
)
CONTACTS = Spec(
    kind=Kind.CONTACTS,
    permission="reps.add_contact",
    columns=CONTACT_COLUMNS,
    model=Contact,
    build=lambda fields: Contact(**fields),
    place=VILLAGE,
    place_group="village",
    unknown_place=gettext_noop("%(name)s is not a village or community in your area."),
    child_model=ContactLink,
    child_parent="contact",
    child_key=("representative_id",),
    same_child=gettext_noop("Row %(row)s has the same person."),
    rules=_link_rules,
    lookups=_reps_named,
    sheet_title="联系群众",
)
PEOPLE = (REPS, CONTACTS)  # the kinds of the representatives' import page
COLUMNS = {spec.kind: spec.columns for spec in PEOPLE}
SPECS: dict[str, SheetKind] = {}


def register(spec: SheetKind) -> None:
    """Add a kind of sheet (a higher app's, from its ``ready()``)."""
    SPECS[Kind(spec.kind)] = spec


for _spec in PEOPLE:
    register(_spec)


def spec_for(kind: str) -> SheetKind:
    return SPECS[Kind(kind)]


def people_spec(kind: str) -> Spec:
    return next(spec for spec in PEOPLE if spec.kind == kind)


def may_import(kind: str, user) -> bool:
    """Whether ``user`` may import sheets of ``kind``: its rule, for an active user."""
    return user.is_active and spec_for(kind).may_import(user)


def columns_for(kind: str) -> Sequence[Column]:
    return spec_for(kind).columns


def missing_columns(kind: str, headers: Iterable[str]) -> list[str]:
    """Return the required columns that ``headers`` lacks (under their own header or an alias)."""
    present = set(headers)
    return [
        c.header
        for c in columns_for(kind)
        if c.required and c.header not in present and not present.intersection(c.aliases)
    ]

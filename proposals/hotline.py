"""Import 12345 hotline work orders (工单) from the hotline's Excel sheet as tickets.

A kind of sheet of ``reps.importing`` (registered from ``ProposalsConfig.ready``), so the upload
checks, the job (a worker checks the sheet, writing nothing; the uploader starts the import; a
worker writes every row or none), the preview of the bad rows and the template are that
machinery's. What is the hotline's is here: the columns of a typical work-order sheet, the rules
of a row, and the writer, which registers each order through ``services.ticket_register`` (the
one way a ticket is born, with its timeline's first event) with the source "12345 hotline".

An order is its 工单编号 (``Ticket.external_ref``, once per county): a row whose number the county
already has is listed as "already imported" and skipped, so importing the same sheet again, or
applying one job twice, creates nothing twice.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext_noop

from liaison.models import Category, Region
from liaison.regions import county_id_of_path
from liaison.roles import STAFF_ROLES
from proposals.models import Ticket, format_code
from proposals.views_create import title_from  # the registration form's first title
from reps.importing import Column
from reps.importing.checking import Places, Row, SheetPlan
from reps.importing.reading import CellError, Sheet, as_text, chunks
from reps.importing.specs import DATE_FORMATS, Kind, as_date, as_phone

ORDER_NO, CALLED_AT, CALLER, PHONE = "工单编号", "来电时间", "来电人", "联系电话"
TOWNSHIP, CATEGORY, TITLE, CONTENT, ADDRESS = "所属镇街", "问题分类", "诉求标题", "诉求内容", "地址"
MAX_LISTED = 200  # the preview lists at most this many orders to import, and as many already imported

DATETIME_FORMATS = tuple(
    f"{day}{sep}{clock}"
    for day in DATE_FORMATS
    for sep in (" ", "")
    for clock in ("%H:%M:%S", "%H:%M", "%H时%M分", "%H点%M分")
)


def as_datetime(value) -> datetime.datetime:
    """A call's date and time, in the server's time zone (Beijing); a date alone is its midnight."""
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, int | float) and 20_000 < value < 80_000:
        from openpyxl.utils.datetime import from_excel

        moment = from_excel(value)  # an Excel date-time serial in a cell formatted as a number
    else:
        text = as_text(value)
        for fmt in DATETIME_FORMATS:
            try:
                moment = datetime.datetime.strptime(text, fmt)  # noqa: DTZ007 - made aware below
                break
            except ValueError:
                continue
        else:
            try:
                day = as_date(value)
            except CellError:
                raise CellError(gettext_noop("Enter a date and time such as 2026-01-31 09:30.")) from None
            moment = datetime.datetime.combine(day, datetime.time())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


COLUMNS = (
    Column(
        ORDER_NO, "external_ref", required=True, max_length=32, note="必填；12345 热线的工单编号", text=True
    ),
    Column(CALLED_AT, "received_at", parse=as_datetime, note="如 2026-01-31 09:30"),
    Column(CALLER, "caller", max_length=32, default="", note="填了联系电话时必填"),
    Column(
        PHONE,
        "phone",
        parse=as_phone,
        default="",
        note="手机 11 位，或带区号的座机，如 0513-88123456",
        text=True,
    ),
    Column(TOWNSHIP, "township", required=True, note="必填；本辖区内镇或街道的名称"),
    Column(CATEGORY, "category", required=True, note="必填；系统中的问题分类名称，如 交通出行"),
    Column(TITLE, "title", max_length=100, default="", note="不填时取诉求内容的第一句", aliases=("标题",)),
    Column(CONTENT, "content", required=True, max_length=4000, note="必填"),
    Column(ADDRESS, "place", max_length=200, default=""),
)


@dataclass
class Order:
    """A work order to register as a ticket."""

    row: int
    external_ref: str
    township: Region
    category: Category
    title: str
    content: str
    place: str
    caller: str
    phone: str
    received_at: datetime.datetime | None


@dataclass
class HotlinePlan(SheetPlan):
    actor: object = None  # the uploader, who registers the tickets
    orders: list[Order] = field(default_factory=list)
    already: list[dict] = field(default_factory=list)  # rows whose order the county has: skipped

    def summary(self) -> dict:
        return {
            **super().summary(),
            "created": len(self.orders),
            "already": len(self.already),
            "orders": [
                {
                    "row": o.row,
                    "ref": o.external_ref,
                    "title": o.title,
                    "township": o.township.name,
                    "category": o.category.name,
                }
                for o in self.orders[:MAX_LISTED]
            ],
            "already_rows": self.already[:MAX_LISTED],
        }


@dataclass(frozen=True)
class HotlineSheet:
    """The 12345 hotline's work-order sheet: one ticket per row, known by its order number."""

    kind: str = Kind.HOTLINE
    columns: tuple[Column, ...] = COLUMNS
    anchor: str = ORDER_NO
    sheet_title: str = "12345工单"
    template_notes: tuple[str, ...] = (
        "一行为一张工单，导入后成为一件建议意见（来源：12345 热线），在所属镇街待分拣。",
        "按工单编号识别：本县已有的工单编号显示为“已导入”并跳过，重复导入不会产生重复记录。",
        "任何一行有错误时整张表都不会导入：按预览中的行号和列名改正后重新上传。",
    )

    def may_import(self, user) -> bool:
        """Township staff (into their township) and the liaison office (into its county)."""
        scope = user.scope
        return scope.sees_all or bool(scope.roles & STAFF_ROLES)

    def check_rows(self, sheet: Sheet, places: Places, progress: Callable[[int], None]) -> HotlinePlan:
        """Validate every row and plan the tickets, writing nothing.

        1. Load, a few queries for the whole sheet, the county's tickets with the sheet's order
           numbers and the active categories.
        2. Read each row: a number the county already has is "already imported" and goes no
           further; a number on an earlier row of the sheet is an error.
        3. The township is looked up among the uploader's places (another township's name is
           unknown to a township's clerk), the category among the categories, then the other
           cells; a row with any error goes no further.
        """
        errors: list[dict] = []
        county_id = county_id_of_path(places.root_path)
        imported: dict[str, str] = {}
        for chunk in chunks(sheet.texts(ORDER_NO), 500):
            imported.update(
                Ticket.objects.filter(external_county_id=county_id, external_ref__in=chunk).values_list(
                    "external_ref", "tracking_code"
                )
            )
        categories = {c.name: c for c in Category.objects.filter(is_active=True)}
        by_header = {c.header: c for c in self.columns}
        plan = HotlinePlan(self.kind, len(sheet.rows), errors, actor=places.user)
        first_row: dict[str, int] = {}
        for done, (number, values) in enumerate(sheet.rows, start=1):
            progress(done)
            row = Row(number, values, sheet.columns, errors)
            ref = row.read(by_header[ORDER_NO])
            if ref in imported:
                plan.already.append({"row": number, "ref": ref, "code": format_code(imported[ref])})
                continue
            if ref in first_row:
                row.error(
                    ORDER_NO, gettext_noop("Row %(row)s has the same order number."), row=first_row[ref]
                )
                continue
            if ref:
                first_row[ref] = number
            township = self._township(row, places, row.read(by_header[TOWNSHIP]))
            category = None
            if name := row.read(by_header[CATEGORY]):
                category = categories.get(name)
                if category is None:
                    row.error(
                        CATEGORY,
                        gettext_noop("There is no category %(name)s; use one of: %(names)s."),
                        name=name,
                        names="、".join(categories),
                    )
            read = {
                c.field: row.read(c) for c in self.columns if c.header not in (ORDER_NO, TOWNSHIP, CATEGORY)
            }
            if read["received_at"] is not None and read["received_at"] > timezone.now():
                row.error(CALLED_AT, gettext_noop("The call cannot be in the future."))
            if read["phone"] and not read["caller"]:
                row.error(CALLER, gettext_noop("A phone number needs the caller's name."))
            if row.bad or township is None or category is None:
                continue
            plan.orders.append(
                Order(
                    row=number,
                    external_ref=ref,
                    township=township,
                    category=category,
                    title=read["title"] or title_from(read["content"]),
                    content=read["content"],
                    place=read["place"],
                    caller=read["caller"],
                    phone=read["phone"],
                    received_at=read["received_at"],
                )
            )
        return plan

    @staticmethod
    def _township(row: Row, places: Places, name: str) -> Region | None:
        if not name:
            return None
        township = places.find(
            row,
            TOWNSHIP,
            name,
            group="area",
            unknown=gettext_noop("%(name)s is not a township or street in your area."),
        )
        if township is not None and township.level != Region.Level.TOWNSHIP:
            row.error(TOWNSHIP, gettext_noop("%(name)s is not a township or street in your area."), name=name)
            return None
        return township

    def write(self, plan: SheetPlan, progress: Callable[[int], None]) -> None:
        """Register each order as a ticket; the caller's transaction makes it all or nothing."""
        from proposals.services import ticket_register

        assert isinstance(plan, HotlinePlan)
        for done, order in enumerate(plan.orders, start=1):
            ticket_register(
                actor=plan.actor,
                township=order.township,
                title=order.title,
                content=order.content,
                category=order.category,
                source=Ticket.Source.HOTLINE,
                place=order.place,
                proposers=[(order.caller, order.phone)] if order.caller else [],
                external_ref=order.external_ref,
                received_at=order.received_at,
            )
            progress(done)


HOTLINE = HotlineSheet()

"""The reception statistics page (接访统计表): on screen, as Excel, and ready to print.

Staff see the studios of their region, a studio liaison officer their own studios; anyone
else gets 403. The figures come from ``studios.statistics`` in a fixed number of queries.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _

from liaison.exports import xlsx_response
from liaison.models import Region
from liaison.roles import STAFF_ROLES, Role
from reps.duties import MONTH, QUARTER, YEAR, Period
from studios.models import Studio
from studios.statistics import (
    KIND_FIGURES,
    KINDS,
    SPLIT,
    Row,
    by_township,
    period_label,
    period_number,
    period_of,
    quarter_names,
    split_names,
    studio_statistics,
    total,
)

BY_STUDIO, BY_TOWNSHIP = "studio", "township"


def _require_statistics_role(user) -> None:
    scope = user.scope
    if not (scope.sees_all or scope.roles & (STAFF_ROLES | {Role.STUDIO_OFFICER})):
        raise PermissionDenied


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def chosen_period(params, today: datetime.date) -> Period:
    """Read ``kind``, ``year`` and ``n`` from the query string; default to this quarter.

    A value out of range falls back to the one that contains today.
    """
    kind = params.get("kind") if params.get("kind") in KINDS else QUARTER
    year = _int(params.get("year"))
    if year is None or not 2000 <= year <= today.year + 1:
        year = today.year
    n = _int(params.get("n"))
    current = period_number(Period.containing(kind, today))
    try:
        return period_of(kind, year, n if n is not None else current)
    except ValueError:
        return period_of(kind, year, current)


def _params(period: Period, group: str) -> dict[str, str | int]:
    params: dict[str, str | int] = {"kind": period.kind, "year": period.start.year}
    if period.kind != YEAR:
        params["n"] = period_number(period)
    if group != BY_STUDIO:
        params["by"] = group
    return params


def _place(user, studio_rows: list[Row]) -> str:
    """Name the area the table covers: the user's county or township, or their studios."""
    scope = user.scope
    if scope.region_paths:
        regions = Region.objects.filter(path__in=scope.region_paths).order_by("path")
    elif scope.sees_all:
        regions = Region.objects.counties().order_by("path")
    else:
        return "、".join(row.name for row in studio_rows[:3]) + ("…" if len(studio_rows) > 3 else "")
    return "、".join(region.name for region in regions)


def _header(group: str) -> list[str]:
    first = [_("studio"), _("township")] if group == BY_STUDIO else [_("township"), _("number of studios")]
    return [
        *first,
        _("duties scheduled"),
        _("attendance rate"),
        _("people received"),
        _("matters raised"),
        _("answered on the spot"),
        _("turned into tickets"),
        *(_("receptions: %(kind)s") % {"kind": name} for name in split_names().values()),
    ]


def _kind_header() -> list[str]:
    return [
        _("meeting kind"),
        _("receptions held"),
        _("people received"),
        _("matters raised"),
        _("answered on the spot"),
        _("turned into tickets"),
    ]


def by_kind(totals: Row) -> list[tuple[str, list[int]]]:
    """The table split by meeting kind: each kind's figures for the whole table, then the total."""
    names = split_names()
    lines = [(names[key], [getattr(totals.by_kind[key], f) for f in KIND_FIGURES]) for key, _kinds in SPLIT]
    lines.append((_("Total"), [totals.receptions, *(getattr(totals, f) for f in KIND_FIGURES[1:])]))
    return lines


def _second_cell(row: Row, group: str) -> str | int:
    if group == BY_STUDIO:
        return row.township.name if row.township else ""
    return len(row.studios)


def _xlsx(rows: list[Row], totals: Row, group: str, period: Period) -> HttpResponse:
    header = _header(group)
    header[3] = _("attendance rate (%)")
    body = [
        [
            row.name,
            _second_cell(row, group) if row is not totals or group == BY_TOWNSHIP else "",
            row.slots,
            float(row.attendance_rate) if row.attendance_rate is not None else "—",
            row.people,
            row.matters,
            row.answered,
            row.tickets,
            *(part.receptions for part in row.parts),
        ]
        for row in [*rows, totals]
    ]
    # A second sheet: the whole table split by meeting kind.
    return xlsx_response(
        _("Reception statistics"),
        header,
        body,
        filename=f"{_('Reception statistics')}-{period_label(period)}.xlsx",
        more=[
            (_("By meeting kind"), _kind_header(), [[name, *figures] for name, figures in by_kind(totals)])
        ],
    )


@login_required
def statistics(request):
    _require_statistics_role(request.user)
    today = timezone.localdate()
    period = chosen_period(request.GET, today)
    group = BY_TOWNSHIP if request.GET.get("by") == BY_TOWNSHIP else BY_STUDIO
    studio_rows = studio_statistics(
        Studio.objects.visible_to(request.user), start=period.start, end=period.end
    )
    rows = by_township(studio_rows) if group == BY_TOWNSHIP else studio_rows
    totals = total(rows)
    if request.GET.get("format") == "xlsx":
        return _xlsx(rows, totals, group, period)
    place = _place(request.user, studio_rows)
    label = period_label(period)
    params = _params(period, group)
    # Switching the kind keeps the place in time: quarter 3 → July, month 8 → quarter 3.
    kinds = [
        (kind, name, urlencode(_params(Period.containing(kind, period.start), group)))
        for kind, name in ((MONTH, _("Month")), (QUARTER, _("Quarter")), (YEAR, _("Year")))
    ]
    before, after = period.start - datetime.timedelta(days=1), period.end + datetime.timedelta(days=1)
    if period.kind == YEAR:
        numbers = []
    elif period.kind == QUARTER:
        numbers = list(quarter_names().items())
    else:
        numbers = [(n, MONTHS[n]) for n in range(1, 13)]
    context = {
        "rows": rows,
        "totals": totals,
        "group": group,
        "period": period,
        "period_label": label,
        "place": place,
        "title": " ".join(part for part in (_("Reception statistics"), label, place) if part),
        "header": _header(group),
        "kind_header": _kind_header(),
        "by_kind": by_kind(totals),
        "kinds": kinds,
        "number": period_number(period),
        "numbers": numbers,
        "years": range(today.year + 1, today.year - 6, -1),
        "query": urlencode(params),
        "previous_query": urlencode(_params(Period.containing(period.kind, before), group))
        if before.year >= 2000
        else "",
        "next_query": urlencode(_params(Period.containing(period.kind, after), group))
        if after.year <= today.year + 1
        else "",
        "today": today,
    }
    template = "studios/statistics_print.html" if request.GET.get("print") else "studios/statistics.html"
    return render(request, template, context)

"""The suggestion statistics page (``/tickets/statistics/``), its Excel export and print view."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from liaison.exports import xlsx_response
from liaison.roles import Role
from proposals import overview as overview_figures
from proposals import statistics

PERIODS = ("month", "quarter", "year", "custom")


def may_see_statistics(user) -> bool:
    scope = user.scope
    return scope.sees_all or bool(scope.roles & {Role.LIAISON_OFFICE, Role.TOWNSHIP_STAFF})


def _int(value: str, default: int, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if low <= number <= high else default


def _date(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def period_from(params) -> dict:
    """The chosen period as local dates: ``start``, ``end`` (both included) and the query keeping it.

    A bad value falls back to the current month (never an error page)."""
    today = timezone.localdate()
    kind = params.get("period") if params.get("period") in PERIODS else "month"
    year = _int(params.get("year"), today.year, 2000, 2100)
    if kind == "custom":
        start, end = _date(params.get("start")), _date(params.get("end"))
        if start and end and start <= end:
            return {
                "kind": kind,
                "start": start,
                "end": end,
                "query": {"period": kind, "start": start, "end": end},
            }
        kind = "month"
    if kind == "year":
        start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        return {
            "kind": kind,
            "start": start,
            "end": end,
            "year": year,
            "query": {"period": kind, "year": year},
        }
    if kind == "quarter":
        quarter = _int(params.get("quarter"), (today.month - 1) // 3 + 1, 1, 4)
        start = datetime.date(year, 3 * quarter - 2, 1)
        end = _month_end(year, 3 * quarter)
        query = {"period": kind, "year": year, "quarter": quarter}
        return {"kind": kind, "start": start, "end": end, "year": year, "quarter": quarter, "query": query}
    if params.get("year") is None and params.get("month") is None:
        year = today.year
    month = _int(params.get("month"), today.month, 1, 12)
    start, end = datetime.date(year, month, 1), _month_end(year, month)
    query = {"period": "month", "year": year, "month": month}
    return {"kind": "month", "start": start, "end": end, "year": year, "month": month, "query": query}


def _month_end(year: int, month: int) -> datetime.date:
    first_next = datetime.date(year + month // 12, month % 12 + 1, 1)
    return first_next - datetime.timedelta(days=1)


def row_urls(breakdown, start: datetime.date, end: datetime.date, workspace: str):
    """The workspace list of exactly the tickets a count holds, as a function of the row's group
    and the column's key; None where no filter says it (a group of tickets without a unit or
    rep). The part every cell shares is encoded once (a province's page has 30,000 cells)."""
    common = urlencode({"queue": "all", "closed": "1", "registered_from": start, "registered_to": end})

    def url(group, key: str) -> str | None:
        if group is None and breakdown is not None:
            return None
        narrowed = f"&{urlencode({breakdown.param: group})}" if breakdown is not None else ""
        stat = "" if key == "collected" else f"&{urlencode({'stat': key})}"
        return f"{workspace}?{common}{narrowed}{stat}"

    return url


def _cells_html(cells: list[dict], rates: list[dict]) -> str:
    """A row's figures as table cells: a count links to its list, a rate says its percent. Drawn
    here rather than by a template loop per cell: a province's page has 1,500 rows of 21 cells,
    and the template's lookups and tags per cell took about half a second."""
    parts = []
    for cell in cells:
        text = escape(cell["text"])
        if cell["url"]:
            link = f'<a href="{escape(cell["url"])}" data-stat="{cell["key"]}" data-count="{text}">{text}</a>'
            parts.append(f'<td class="text-end">{link}</td>')
        else:
            parts.append(f'<td class="text-end"><span data-stat="{cell["key"]}">{text}</span></td>')
    for rate in rates:
        value = "—" if rate["value"] is None else f"{escape(localize(rate['value']))}%"
        parts.append(f'<td class="text-end" data-rate="{rate["key"]}">{value}</td>')
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped, keys are ours


def _context(request) -> dict:
    user = request.user
    if not may_see_statistics(user):
        raise PermissionDenied
    period = period_from(request.GET)
    by = request.GET.get("by") if request.GET.get("by") in statistics.BREAKDOWN_BY_KEY else "township"
    breakdown = statistics.BREAKDOWN_BY_KEY[by]
    rows = statistics.suggestion_statistics(user, start=period["start"], end=period["end"], by=by)
    workspace = reverse("proposals:workspace")  # once, not per cell: a province has 30,000 cells
    group_url = row_urls(breakdown, period["start"], period["end"], workspace)
    total_url = row_urls(None, period["start"], period["end"], workspace)
    for row in rows:
        url = total_url if row["total"] else group_url
        # Counts are whole numbers, drawn as they are (no thousands separator is configured):
        # written once here rather than localised twice per cell by the template.
        row["cells"] = [
            {"key": key, "value": row[key], "text": str(row[key]), "url": url(row["group"], key)}
            for key, _label in statistics.TICKET_COLUMNS
        ] + [
            {"key": key, "value": row[key], "text": str(row[key]), "url": None}
            for key, _label in statistics.RATING_COLUMNS
        ]
        row["rates"] = [{"key": key, "value": row[key]} for key, *_rest in statistics.RATES]
        row["cells_html"] = _cells_html(row["cells"], row["rates"])
    query = {**period["query"], "by": by}
    return {
        "period": period,
        "by": by,
        "breakdown": breakdown,
        "breakdowns": statistics.BREAKDOWNS,
        "rows": rows,
        "columns": statistics.TICKET_COLUMNS + statistics.RATING_COLUMNS,
        "rates": statistics.RATES,
        "definitions": statistics.rate_definitions(),
        "months": range(1, 13),
        "quarters": range(1, 5),
        "export_url": f"{reverse('proposals:statistics_export')}?{urlencode(query)}",
    }


@login_required
def suggestion_statistics(request):
    return render(request, "proposals/statistics.html", _context(request))


@login_required
def statistics_export(request):
    context = _context(request)
    header = [str(context["breakdown"].label)]
    header += [str(label) for _key, label in context["columns"]]
    header += [f"{label} (%)" for _key, label, *_rest in context["rates"]]
    rows = [
        [str(row["name"] or _("(none)"))]
        + [cell["value"] for cell in row["cells"]]
        + [rate["value"] for rate in row["rates"]]
        for row in context["rows"]
    ]
    period = context["period"]
    return xlsx_response(
        _("Suggestion statistics"),
        header,
        rows,
        filename=f"{_('suggestion-statistics')}-{period['start']:%Y%m%d}-{period['end']:%Y%m%d}.xlsx",
    )


@login_required
def overview(request):
    """The county overview: headline figures with 同比/环比, and charts that link to their lists."""
    if not may_see_statistics(request.user):
        raise PermissionDenied
    # The overview opens on the current year; the statistics page on the current month.
    period = period_from(request.GET if "period" in request.GET else {"period": "year"})
    context = overview_figures.county_overview(request.user, period)
    return render(
        request,
        "proposals/overview.html",
        {
            **context,
            "period": period,
            "months": range(1, 13),
            "quarters": range(1, 5),
            "statistics_url": f"{reverse('proposals:statistics')}?{urlencode(period['query'])}",
        },
    )

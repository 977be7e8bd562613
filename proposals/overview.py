"""The county overview (``/overview/``): the figures an office is judged by, as charts that link.

What it shows, for the user's scope (a township its township, the office its county) and a
period (a month, quarter, year or custom range of registration dates, as on the statistics page):

1. Headline figures, each with its change on the previous period (环比) and on the same period
   last year (同比): collected, closed, closure rate, on-time rate, the two satisfaction rates
   (``proposals.statistics``: cohort of the tickets registered in the period), and the studios'
   duties held, attendance rate and people received (``studios.statistics``).
2. Tickets of the period by status now.
3. A monthly trend over the twelve months ending with the period: registered vs closed, each
   counted in the month it happened.
4. Handling units ranked by tickets overdue now, then by replies late in the period.
5. Satisfaction by unit (resident and rep, last round's ratings of the period's tickets).
6. Reps' duty standing by township: behind / on track / met (``reps.duties.standing``, the
   rep's worst cell, as on the duty status page).
7. Studio activity by township: duties held, attendance rate, people received.

Every bar links to the list it counts. The number of queries does not depend on the number of
tickets, reps or studios.
"""

from __future__ import annotations

import datetime
import functools
import heapq
import operator
from collections import Counter, defaultdict
from urllib.parse import urlencode

from django.db import connections
from django.db.models import Case, Count, DateField, Q, Value, When
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from liaison import charts
from liaison.models import HandlingUnit, Region
from proposals import statistics
from proposals.models import Ticket
from proposals.queues import overdue_by_unit, timeliness_filter
from proposals.transitions import Status
from reps import duties
from reps.models import Representative
from studios.models import Studio
from studios.statistics import by_township, studio_statistics, total, totals

# A chart draws at most this many units or townships (a province has thousands): the most
# concerning ones; the rest are counted under it, with a link to the whole list.
SHOWN = 20


def _top(items: list) -> tuple[list, int]:
    """The first ``SHOWN`` of ``items`` (already in the order of concern) and how many are left."""
    return items[:SHOWN], max(len(items) - SHOWN, 0)


def _most(items: list, key) -> tuple[list, int]:
    """The first ``SHOWN`` of ``items`` in the order of ``key`` (of concern) and how many are left:
    ``_top(sorted(items, key=key))`` without sorting them all (a province's 5,000 units)."""
    shown = heapq.nsmallest(SHOWN, items, key=key)
    return shown, len(items) - len(shown)


def shifted(period: dict, *, years: int = 0) -> tuple[datetime.date, datetime.date]:
    """The previous period (``years=0``) or the same period ``years`` years back."""
    start, end = period["start"], period["end"]
    if years:
        return _minus_years(start, years), _minus_years(end, years)
    if period["kind"] == "month":
        last = start - datetime.timedelta(days=1)
        return last.replace(day=1), last
    if period["kind"] == "quarter":
        last = start - datetime.timedelta(days=1)
        return datetime.date(last.year, last.month - 2, 1), last
    if period["kind"] == "year":
        return datetime.date(start.year - 1, 1, 1), datetime.date(start.year - 1, 12, 31)
    length = end - start + datetime.timedelta(days=1)
    return start - length, start - datetime.timedelta(days=1)


def _minus_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _figures(tickets: dict, studio) -> dict:
    """The headline figures of one period: the tickets' totals (``statistics.total``) and the
    studios' (``studios.statistics.total``)."""
    rate = studio.attendance_rate
    return {
        **{key: tickets[key] for key in ("collected", "closed", "closure_rate", "on_time_rate")},
        "res_satisfaction": tickets["res_satisfaction"],
        "rep_satisfaction": tickets["rep_satisfaction"],
        "slots": studio.slots,
        "attendance_rate": float(rate) if rate is not None else None,
        "people": studio.people,
    }


def _period_figures(rows: list[dict], start: datetime.date, end: datetime.date, studios, now) -> dict:
    """The headline figures of a period compared with: its tickets' counted rows, its studios'
    totals (slots, attendance, people: what the headlines read)."""
    return _figures(statistics.total(rows, COUNTED), totals(studios, start=start, end=end, now=now))


# The headline figures: key, label, and whether it is a rate (its change is in percentage points).
HEADLINES = [
    ("collected", gettext_lazy("collected"), False),
    ("closed", gettext_lazy("closed"), False),
    ("closure_rate", gettext_lazy("closure rate"), True),
    ("on_time_rate", gettext_lazy("on-time rate"), True),
    ("res_satisfaction", gettext_lazy("resident satisfaction"), True),
    ("rep_satisfaction", gettext_lazy("rep satisfaction"), True),
    ("slots", gettext_lazy("studio duties held"), False),
    ("attendance_rate", gettext_lazy("attendance rate"), True),
    ("people", gettext_lazy("people received"), False),
]


def definitions() -> list[tuple[str, str]]:
    """How each rate is defined here (places define them differently, so the page says it): the
    statistics' rates, and the studios' attendance rate."""
    return [
        *statistics.rate_definitions(),
        (
            _("attendance rate"),
            _(
                "duty assignments marked attended or substituted over those marked at all, for duties "
                "of published rosters that have ended"
            ),
        ),
    ]


def _change(now: float | int | None, before: float | int | None, is_rate: bool) -> dict | None:
    """The change from ``before`` to ``now``: points for a rate, count and percent for a count."""
    if now is None or before is None:
        return None
    diff = round(now - before, 1)
    sign = "+" if diff > 0 else ""
    if is_rate:
        text = _("%(sign)s%(diff)s pts") % {"sign": sign, "diff": f"{diff:g}"}
    elif before:
        text = f"{sign}{diff:g} ({sign}{100 * diff / before:.1f}%)"
    else:
        text = f"{sign}{diff:g}"
    return {"text": text, "direction": "up" if diff > 0 else "down" if diff < 0 else "flat"}


def headlines(current: dict, previous: dict | None, last_year: dict) -> list[dict]:
    return [
        {
            "key": key,
            "label": label,
            "value": current[key],
            "text": "—" if current[key] is None else f"{current[key]:g}" + ("%" if is_rate else ""),
            "mom": _change(current[key], previous[key], is_rate) if previous else None,
            "yoy": _change(current[key], last_year[key], is_rate),
        }
        for key, label, is_rate in HEADLINES
    ]


def _workspace(**params) -> str:
    return f"{_workspace_path(get_script_prefix())}?{urlencode({'queue': 'all', 'closed': '1', **params})}"


@functools.cache
def _workspace_path(script_prefix: str) -> str:
    # A hundred links per overview: reversed once per deployment path, not once per link.
    return reverse("proposals:workspace")


def _status_chart(rows: list[dict], start, end) -> charts.Chart:
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["status"]] += row["collected"]
    names = dict(Status.choices)
    shown = [s for s in Status.values if counts.get(s)]
    dates = {"registered_from": start, "registered_to": end}
    return charts.bars(
        "chart-status",
        _("Tickets registered in the period, by status now"),
        [str(names[s]) for s in shown],
        [
            charts.Series(
                "count",
                _("tickets"),
                [counts[s] for s in shown],
                [_workspace(status=s, **dates) for s in shown],
            )
        ],
    )


def _months(end: datetime.date, n: int = 12) -> list[datetime.date]:
    first = end.replace(day=1)
    months = []
    for _i in range(n):
        months.append(first)
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return months[::-1]


# The tickets counted for the overview, in one scan (``count``): which period each belongs to.
CURRENT, PREVIOUS, LAST_YEAR = 0, 1, 2


def _registered(start: datetime.date, end: datetime.date) -> Q:
    return Q(
        created_at__gte=statistics.day_start(start),
        created_at__lt=statistics.day_start(end + datetime.timedelta(days=1)),
    )


def count(
    user, period: dict, now: datetime.datetime
) -> tuple[dict[int, list[dict]], list[dict], dict[int, int]]:
    """The tickets of the overview, counted: those registered in the period, in the previous period
    and in the same period last year (``tally`` rows by lead unit and status, for each of the
    three), those registered or closed in the trend's twelve months (rows of the month registered,
    the month closed, and ``in_window``: how many), and the tickets overdue now by lead unit.

    For a county (its tickets fetched through indexes) the first two in one scan of the tickets the
    user may see (``tally_sets``), the overdue apart (``overdue_by_unit``). For a user who sees all
    (a province's whole table, where aggregating costs more than reading): the periods' tally and
    the overdue in one scan, the trend from the indexes on the registration and closing times."""
    start, end = period["start"], period["end"]
    # The trend's twelve months: from the first day of the first to the last day of the period's last.
    months = (_months(end)[0], (end.replace(day=1) + datetime.timedelta(days=32)).replace(day=1))
    first, stop = statistics.day_start(months[0]), statistics.day_start(months[1])
    periods = {CURRENT: (start, end), LAST_YEAR: shifted(period, years=1)}
    if period["kind"] != "year":
        periods[PREVIOUS] = shifted(period)
    which = Case(*(When(_registered(*dates), then=Value(key)) for key, dates in periods.items()))
    tickets = Ticket.objects.visible_to(user)
    # "closed" is told by the status grouped on, not counted (each aggregate costs every row).
    counts = statistics.aggregates(keys=set(COUNTED) - {"closed"})
    overdue: dict[int, int] = defaultdict(int)
    if user.scope.sees_all:
        # Overdue as the workspace's filter says (queues.timeliness_filter): every lead unit is the user's.
        late = timeliness_filter("overdue", now)
        counted = statistics.fetch_rows(
            tickets.filter(_registered_in(periods.values()) | (late & Q(lead_unit__isnull=False)))
            .annotate(period=which)
            .values("period", "lead_unit_id", "status")
            .annotate(**counts, overdue=Count("pk", filter=late))
            .order_by()
        )
        for row in counted:
            if row["lead_unit_id"] is not None:
                overdue[row["lead_unit_id"]] += row["overdue"]
        trend = _trend_from_indexes(tickets, months)
    else:
        closed_in_window = Q(closed_at__gte=first, closed_at__lt=stop)
        in_window = Q(created_at__gte=first, created_at__lt=stop) | closed_in_window
        anywhere = closed_in_window | _registered_in(
            [*periods.values(), (months[0], months[1] - datetime.timedelta(days=1))]
        )
        counted, trend = statistics.tally_sets(
            tickets.filter(anywhere).annotate(
                period=which,
                registered_in=_month_of("created_at", months),
                closed_in=_month_of("closed_at", months),
            ),
            [
                (("period", "lead_unit_id", "status"), counts),
                (("registered_in", "closed_in"), {"in_window": Count("pk", filter=in_window)}),
            ],
        )
        for row in overdue_by_unit(user, now):
            overdue[row["lead_unit"]] = row["overdue"]
    by_period: dict[int, list[dict]] = {key: [] for key in periods}
    for row in counted:
        if row["period"] is not None:
            row["closed"] = row["collected"] if row["status"] in statistics.CLOSED else 0
            by_period[row["period"]].append(row)
    return by_period, [row for row in trend if row["in_window"]], overdue


def _registered_in(ranges) -> Q:
    """Registered on any of the date ranges, as the fewest ranges (a year and the one before it are one)."""
    ranges = sorted(ranges)
    merged = [list(ranges[0])]
    for low, high in ranges[1:]:
        if low <= merged[-1][1] + datetime.timedelta(days=1):
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    found = _registered(*merged[0])
    for low, high in merged[1:]:
        found |= _registered(low, high)
    return found


def _trend_from_indexes(tickets, window: tuple[datetime.date, datetime.date]) -> list[dict]:
    """The trend's rows (as ``count``'s) from one statement of 24 counts, each over one month's range
    of an index: the tickets registered in each month (the index on ``created_at``) and closed in
    each (``ticket_closed``). Over a whole table this reads two small indexes instead of a second
    scan of the table (a million tickets, on a loaded machine: 300-430 -> 100-110 ms). Each count
    is a scalar subquery, which PostgreSQL runs one after the other, each on parallel workers (a
    UNION ALL of them gives each count one worker: a month holding most tickets is slow)."""
    months = _month_starts(window)
    bounds = [*months[1:], window[1]]
    found = []
    for field, key in (("created_at", "registered_in"), ("closed_at", "closed_in")):
        for month, bound in zip(months, bounds, strict=True):
            in_month = {
                f"{field}__gte": statistics.day_start(month),
                f"{field}__lt": statistics.day_start(bound),
            }
            found.append((key, month, tickets.filter(**in_month)))
    parts, params = [], []
    for _key, _month, in_month in found:
        # COUNT(*) alone: grouped by a constant, which Django leaves out of the GROUP BY.
        counted = in_month.annotate(one=Value(1)).values("one").annotate(n=Count("*")).values("n").order_by()
        sql, sql_params = counted.query.get_compiler(tickets.db).as_sql()
        parts.append(f"({sql})")
        params.extend(sql_params)
    with connections[tickets.db].cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        counts = cursor.fetchone()
    return [
        {"registered_in": None, "closed_in": None, key: month, "in_window": n}
        for (key, month, _in_month), n in zip(found, counts, strict=True)
    ]


# What the overview reads of the tickets it counts: the headlines' and the unit charts' rates.
COUNTED = sorted({key for _key, _label, part, whole in statistics.RATES for key in (part, whole)})


def _month_starts(window: tuple[datetime.date, datetime.date]) -> list[datetime.date]:
    """The first day of each month from ``window[0]`` up to (not including) ``window[1]``."""
    months = []
    month = window[0]
    while month < window[1]:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def _month_of(field: str, window: tuple[datetime.date, datetime.date]) -> Case:
    """The first day of the (local) month of ``field`` within the trend's ``window`` of months, None
    outside it: a CASE over the months' first instants, which PostgreSQL compares about twice as fast
    as it converts each row's time to local time and truncates it (``TruncMonth``)."""
    months = _month_starts(window)
    bounds = [*months[1:], window[1]]
    return Case(
        When(**{f"{field}__lt": statistics.day_start(months[0])}, then=None),
        *(
            When(**{f"{field}__lt": statistics.day_start(bound)}, then=Value(month))
            for month, bound in zip(months, bounds, strict=True)
        ),
        default=None,
        output_field=DateField(),
    )


def _trend_chart(rows: list[dict], end: datetime.date) -> charts.Chart:
    months = _months(end)
    collected: dict[datetime.date, int] = defaultdict(int)
    closed: dict[datetime.date, int] = defaultdict(int)
    for row in rows:
        # Each ticket counted in the month it was registered and in the month it was closed.
        for month, series in ((row["registered_in"], collected), (row["closed_in"], closed)):
            if month is not None:
                series[month] += row["in_window"]

    def month_end(month: datetime.date) -> datetime.date:
        return (month + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)

    return charts.columns(
        "chart-trend",
        _("Registered and closed, month by month"),
        [f"{m:%Y-%m}" for m in months],
        [
            charts.Series(
                "collected",
                _("registered"),
                [collected.get(m, 0) for m in months],
                [_workspace(registered_from=m, registered_to=month_end(m)) for m in months],
            ),
            charts.Series(
                "closed",
                _("closed"),
                [closed.get(m, 0) for m in months],
                [_workspace(closed_from=m, closed_to=month_end(m)) for m in months],
            ),
        ],
    )


def _unit_charts(
    rows: list[dict], overdue: dict[int, int], start, end, period_query: dict
) -> tuple[charts.Chart, charts.Chart]:
    # Each unit's rows (a province counts 5,000 units, 13,000 rows); the four sums it is ranked by,
    # column by column; every sum and rate for the units drawn only.
    per_unit: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        per_unit[row["lead_unit_id"]].append(row)
    per_unit.pop(None, None)  # not assigned to a unit
    ranking = operator.itemgetter("replied", "on_time", "res_ratings", "rep_ratings")
    late, ratings = {}, {}
    for pk, group in per_unit.items():
        replied, on_time, res_ratings, rep_ratings = map(sum, zip(*map(ranking, group), strict=True))
        late[pk] = replied - on_time
        ratings[pk] = res_ratings + rep_ratings
    ranked, more_late = _most(
        [pk for pk in {*per_unit, *overdue} if overdue.get(pk) or late.get(pk)],
        key=lambda pk: (-overdue.get(pk, 0), -late.get(pk, 0), pk),
    )
    rated, more_rated = _most([pk for pk, n in ratings.items() if n], key=lambda pk: (-ratings[pk], pk))
    rated = [statistics.total(per_unit[pk], COUNTED, group=pk) for pk in rated]
    # The names of the units drawn only (a province counts thousands): one query.
    names = dict(
        HandlingUnit.objects.filter(pk__in={*ranked, *(r["group"] for r in rated)}).values_list("pk", "name")
    )
    for row in rated:
        row["name"] = names[row["group"]]
    dates = {"registered_from": start, "registered_to": end}
    by_unit_url = f"{reverse('proposals:statistics')}?{urlencode({**period_query, 'by': 'unit'})}"
    timeliness = charts.bars(
        "chart-units-late",
        _("Handling units: overdue now and replies late in the period"),
        [names[pk] for pk in ranked],
        [
            charts.Series(
                "overdue",
                _("overdue now"),
                [overdue.get(pk, 0) for pk in ranked],
                [_workspace(unit=pk, timeliness="overdue") for pk in ranked],
            ),
            charts.Series(
                "late",
                _("replied late"),
                [late.get(pk, 0) for pk in ranked],
                [_workspace(lead=pk, stat="late", **dates) for pk in ranked],
            ),
        ],
        more=more_late,
        more_url=by_unit_url,
    )
    satisfaction = charts.bars(
        "chart-units-satisfaction",
        _("Satisfaction by handling unit (last round's ratings)"),
        [row["name"] for row in rated],
        [
            charts.Series(
                "resident",
                _("resident satisfaction"),
                [row["res_satisfaction"] for row in rated],
                [_workspace(lead=row["group"], stat="closed", **dates) for row in rated],
                suffix="%",
            ),
            charts.Series(
                "rep",
                _("rep satisfaction"),
                [row["rep_satisfaction"] for row in rated],
                [_workspace(lead=row["group"], stat="closed", **dates) for row in rated],
                suffix="%",
            ),
        ],
        top=100,
        more=more_rated,
        more_url=by_unit_url,
    )
    return timeliness, satisfaction


def _duty_chart(user, today: datetime.date, year: int) -> charts.Chart:
    reference = duties.reference_day(today, year if year < today.year else None)
    reps = Representative.objects.visible_to(user).serving_between(
        reference.replace(month=1, day=1), reference
    )
    _quotas, rows = duties.standing(reps, today=today, year=year if year < today.year else None)
    # The townships of the reps counted (a rep's region is a township or a village under one), not
    # every township the user may see (a province's 1,500 as objects: 10-25 ms).
    regions = [row.rep.region for row in rows]
    ids = {region.pk for region in regions} | {region.parent_id for region in regions if region.parent_id}
    townships = Region.objects.visible_to(user).townships().in_bulk(ids)
    counts: dict[int, Counter] = defaultdict(Counter)
    places: dict[int, Region] = {}
    for row in rows:
        region = row.rep.region  # a township, or a village under one
        township = townships.get(region.pk) or townships.get(region.parent_id) or region
        places[township.pk] = township
        counts[township.pk][row.worst] += 1
    order = sorted(places, key=lambda pk: places[pk].path)
    if len(order) > SHOWN:  # a province: the townships with the most reps behind
        order.sort(key=lambda pk: (-counts[pk]["behind"], places[pk].path))
    order, more = _top(order)
    duty_url = reverse("reps:duty")

    def urls(status: str) -> list[str | None]:
        query = {"status": status, **({"year": year} if year < today.year else {})}
        return [f"{duty_url}?{urlencode({'township': pk, **query})}" for pk in order]

    return charts.bars(
        "chart-duties",
        _("Representatives' duties by township (each rep's worst duty)"),
        [places[pk].name for pk in order],
        [
            charts.Series("behind", _("behind"), [counts[pk]["behind"] for pk in order], urls("behind")),
            charts.Series("due", _("on track"), [counts[pk]["due"] for pk in order], urls("due")),
            charts.Series("ok", _("met"), [counts[pk]["ok"] for pk in order], urls("ok")),
        ],
        stacked=True,
        more=more,
        more_url=duty_url,
    )


def _studio_chart(studio_rows, period: dict) -> charts.Chart:
    rows = by_township(studio_rows)
    if len(rows) > SHOWN:  # a province: the busiest townships
        rows.sort(key=lambda row: (-row.people, row.region.path))
    rows, more = _top(rows)
    url = None
    if period["kind"] != "custom":
        kinds = {"month": duties.MONTH, "quarter": duties.QUARTER, "year": duties.YEAR}
        query = {"kind": kinds[period["kind"]], "year": period["start"].year, "by": "township"}
        if period["kind"] == "month":
            query["n"] = period["start"].month
        elif period["kind"] == "quarter":
            query["n"] = period["quarter"]
        url = f"{reverse('studios:statistics')}?{urlencode(query)}"
    return charts.bars(
        "chart-studios",
        _("Studio activity by township"),
        [row.name for row in rows],
        [
            charts.Series("slots", _("duties held"), [row.slots for row in rows], [url] * len(rows)),
            charts.Series("people", _("people received"), [row.people for row in rows], [url] * len(rows)),
            charts.Series(
                "attendance",
                _("attendance rate"),
                [float(r.attendance_rate) if r.attendance_rate is not None else None for r in rows],
                [url] * len(rows),
                suffix="%",
            ),
        ],
        more=more,
        more_url=url,
    )


def county_overview(user, period: dict, *, now: datetime.datetime | None = None) -> dict:
    """Everything ``/overview/`` shows for ``user`` and ``period`` (see the module docstring)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    start, end = period["start"], period["end"]
    studios = Studio.objects.visible_to(user)
    # The tickets counted once: the headlines, the status chart and the unit charts add up the
    # period's rows (by lead unit and status), the trend its months'.
    by_period, trend, overdue = count(user, period, now)
    rows = by_period[CURRENT]
    studio_rows = studio_statistics(studios, start=start, end=end, now=now)
    current = _figures(statistics.total(rows, COUNTED), total(studio_rows))
    previous = (
        None
        if period["kind"] == "year"
        else _period_figures(by_period[PREVIOUS], *shifted(period), studios, now)
    )
    last_year = _period_figures(by_period[LAST_YEAR], *shifted(period, years=1), studios, now)
    timeliness, satisfaction = _unit_charts(rows, overdue, start, end, period["query"])
    return {
        "headlines": headlines(current, previous, last_year),
        "previous": None if previous is None else shifted(period),
        "last_year": shifted(period, years=1),
        "charts": [
            _status_chart(rows, start, end),
            _trend_chart(trend, end),
            timeliness,
            satisfaction,
            _duty_chart(user, today, end.year),
            _studio_chart(studio_rows, period),
        ],
        "definitions": definitions(),
    }

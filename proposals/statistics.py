"""Suggestion statistics (建议办理统计): the figures an office is judged by, for a period and a breakdown.

``suggestion_statistics(user, start=, end=, by=)`` counts the tickets the user may see that were
registered (collected) from ``start`` to ``end`` (local dates, both included), grouped by one
breakdown. Every other column counts among those same tickets, as they stand now (a cohort), so
each figure is a subset of "collected" and opens as a list in the workspace: ``column_q(key)`` is
the very filter that counted it, and the workspace applies it for ``?stat=key``.

One query whatever the number of tickets: a conditional aggregation over the ticket table alone,
reading the figures each ticket keeps on its row (``proposals.facts``: assigned, replied, first
reply on time, extended, returned, re-handled, its last round's ratings), set by each move.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Aggregate, Count, IntegerField, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from proposals import transitions
from proposals.models import Rating, Ticket

CLOSED = sorted(transitions.CLOSED)  # closed or archived, in a fixed order (the SQL is the same each time)
SATISFIED_SCORES = Rating.SATISFIED_SCORES  # read by the bulletins


@dataclass(frozen=True)
class Breakdown:
    key: str
    label: object
    field: str  # the Ticket field grouped on (its id)
    name: str  # the field giving the group's name
    param: str  # the workspace filter that narrows to one group


BREAKDOWNS = [
    Breakdown("township", _("township"), "township_id", "township__name", "township"),
    Breakdown("unit", _("handling unit"), "lead_unit_id", "lead_unit__name", "lead"),
    Breakdown("category", _("category"), "category_id", "category__name", "category"),
    Breakdown("source", _("source"), "source", "source", "source"),
    Breakdown("rep", _("responsible representative"), "representative_id", "representative__name", "rep"),
]
BREAKDOWN_BY_KEY = {b.key: b for b in BREAKDOWNS}


def column_q(key: str) -> Q | None:
    """The filter (over tickets) of one counted column; None for an unknown key."""
    rules = {
        "collected": lambda: Q(),
        "on_spot": lambda: Q(resolution=Ticket.Resolution.ON_SPOT),
        "explained": lambda: Q(resolution=Ticket.Resolution.EXPLAINED),
        "assigned": lambda: Q(stat_assigned=True),
        "closed": lambda: Q(status__in=CLOSED),
        "replied": lambda: Q(stat_replied=True),
        "on_time": lambda: Q(stat_first_reply_on_time=True),
        # Replied, and the first reply came late (the overview's late bars open this).
        "late": lambda: Q(stat_replied=True, stat_first_reply_on_time=False),
        "ext_asked": lambda: Q(stat_extension_asked=True),
        "ext_granted": lambda: Q(stat_extension_granted=True),
        "returned": lambda: Q(stat_returned=True),
        "rehandled": lambda: Q(stat_rehandled=True),
        "no_resident": lambda: Q(resolution=Ticket.Resolution.NO_RESIDENT_RATING),
        # Adopted (采纳) by the body it was put to, whenever that was recorded (services.ticket_adopt).
        "adopted": lambda: Q(adopted_on__isnull=False),
    }
    rule = rules.get(key)
    return rule() if rule else None


# The figures a workspace link may name besides the columns (the overview's "replied late").
OTHER_FIGURES = [("late", _("replied late"))]

TICKET_COLUMNS = [
    ("collected", _("collected")),
    ("on_spot", _("answered on the spot")),
    ("explained", _("explained")),
    ("assigned", _("assigned")),
    ("closed", _("closed")),
    ("replied", _("replied")),
    ("on_time", _("replied on time")),
    ("ext_asked", _("extension asked")),
    ("ext_granted", _("extension granted")),
    ("returned", _("returned (退回)")),
    ("rehandled", _("re-handled (重办)")),
    ("no_resident", _("closed without a resident rating")),
    ("adopted", _("adopted (采纳)")),
]
RATING_COLUMNS = [
    ("rep_ratings", _("rep ratings")),
    ("rep_satisfied", _("rep: satisfied or basically")),
    ("res_ratings", _("resident ratings")),
    ("res_satisfied", _("resident: satisfied or basically")),
]
RATES = [
    ("closure_rate", _("closure rate"), "closed", "collected"),
    ("on_time_rate", _("on-time rate"), "on_time", "replied"),
    ("rep_satisfaction", _("rep satisfaction"), "rep_satisfied", "rep_ratings"),
    ("res_satisfaction", _("resident satisfaction"), "res_satisfied", "res_ratings"),
]
COUNT_KEYS = [k for k, _label in TICKET_COLUMNS + RATING_COLUMNS]
# The ratings of each ticket's last round, kept on the ticket (proposals.facts).
RATING_SUMS = {
    "rep_ratings": "stat_rep_ratings",
    "rep_satisfied": "stat_rep_satisfied",
    "res_ratings": "stat_resident_ratings",
    "res_satisfied": "stat_resident_satisfied",
}


def rate_definitions() -> list[tuple[str, str]]:
    """How each rate is defined (places define 办结率, 按时办结率 and 满意率 differently, so each page
    that shows one says it): the statistics page and the overview read these."""
    return [
        (
            gettext("closure rate"),
            gettext(
                "tickets registered in the period that are closed now, over all tickets registered "
                "in the period"
            ),
        ),
        (
            gettext("on-time rate"),
            gettext(
                "tickets whose first reply came by the due time then in force (an approved extension "
                "counts), over the tickets of the period that were replied to; a re-handled ticket "
                "keeps its first reply's lateness"
            ),
        ),
        (
            gettext("resident satisfaction"),
            gettext(
                "residents' ratings 'satisfied' or 'basically satisfied' over all residents' ratings of "
                "the last handling round, for the tickets registered in the period"
            ),
        ),
        (
            gettext("rep satisfaction"),
            gettext("the same, over the responsible representatives' ratings"),
        ),
    ]


def day_start(day: datetime.date) -> datetime.datetime:
    """00:00 of ``day``, local (Beijing) time."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_default_timezone())


def period_tickets(user, start: datetime.date, end: datetime.date):
    """The tickets the user may see that were registered on ``start`` … ``end`` (local dates)."""
    return Ticket.objects.visible_to(user).filter(
        created_at__gte=day_start(start), created_at__lt=day_start(end + datetime.timedelta(days=1))
    )


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _with_rates(row: dict) -> dict:
    for key, _label, part, whole in RATES:
        row[key] = _rate(row[part], row[whole])
    return row


def aggregates(among: Q | None = None, *, keys: Iterable[str] | None = None) -> dict:
    """Every count of ``COUNT_KEYS`` (or of ``keys``) as an aggregate over tickets (one scan of the
    ticket table); with ``among``, counting only the tickets it matches (the rest of the scan serves
    another grouping: ``tally_sets``). Each aggregate costs time on every row scanned: a caller that
    reads a few figures asks for those."""
    among = among or Q()
    wanted = set(COUNT_KEYS if keys is None else keys)
    counted = {
        key: Count("pk", filter=column_q(key) & among) for key, _label in TICKET_COLUMNS if key in wanted
    }
    sums = {
        key: Coalesce(Sum(column, filter=among or None), 0)
        for key, column in RATING_SUMS.items()
        if key in wanted
    }
    return counted | sums


def tally(tickets, *fields: str) -> list[dict]:
    """The counts of ``tickets`` grouped by ``fields``, in one query: a dict per group."""
    return fetch_rows(tickets.values(*fields).annotate(**aggregates()).order_by())


class _Grouping(Aggregate):
    """PostgreSQL's GROUPING(a, b, ...): 0 in the rows of a grouping set that groups by all of them."""

    function = "GROUPING"
    output_field = IntegerField()


Grouping = tuple[tuple[str, ...], dict]  # the fields grouped by, the aggregates counted


def tally_sets(tickets, sets: list[Grouping], *, one_scan: bool = True) -> list[list[dict]]:
    """``tickets`` grouped by each of ``sets`` (fields or annotations, and the aggregates to count
    for that grouping): a list of rows (dicts) per set. On PostgreSQL and with ``one_scan``, one
    scan of the tickets for all the sets (``GROUP BY GROUPING SETS``, which Django does not write:
    the statement is Django's own GROUP BY query with its GROUP BY clause replaced, and its values
    converted as Django would); otherwise one query per set.

    One scan pays when reading the rows costs more than aggregating them (a county's tickets,
    fetched through indexes: 31 -> 20 ms at 1,000,000 tickets); but every aggregate is computed
    for every set, so over a whole table, where aggregating costs more than reading, one query
    per set is faster (855 vs 896 ms in bench_figures' data)."""
    if not one_scan or connections[tickets.db].vendor != "postgresql":
        return [fetch_rows(tickets.values(*fields).annotate(**counts).order_by()) for fields, counts in sets]
    fields = [field for group, _counts in sets for field in group]
    every = {key: aggregate for _group, counts in sets for key, aggregate in counts.items()}
    marks = {f"_set{i}": _Grouping(*group) for i, (group, _counts) in enumerate(sets)}
    compiler = tickets.values(*fields).annotate(**every, **marks).order_by().query.get_compiler(tickets.db)
    sql, params = compiler.as_sql()
    # Django groups a values() query by the select positions of its fields ("GROUP BY 2, 3, 1").
    position = {alias: n for n, (_expression, _sql, alias) in enumerate(compiler.select, 1)}
    clause = sql.rfind(" GROUP BY ")
    grouped = sql[clause + len(" GROUP BY ") :].split(", ")
    if sorted(grouped) != sorted(str(position[field]) for field in fields):
        raise ValueError(f"tally_sets: unexpected GROUP BY in {sql[clause:]!r}")
    sets_sql = ", ".join("(" + ", ".join(str(position[f]) for f in group) + ")" for group, _counts in sets)
    sql = f"{sql[:clause]} GROUP BY GROUPING SETS ({sets_sql})"
    names = [alias for _expression, _sql, alias in compiler.select]
    found: list[list[dict]] = [[] for _set in sets]
    for values in _fetch(compiler, sql, params):
        row = dict(zip(names, values, strict=True))
        which = next(i for i in range(len(sets)) if row[f"_set{i}"] == 0)
        group, counts = sets[which]
        found[which].append({key: row[key] for key in (*group, *counts)})
    return found


# Fields whose values PostgreSQL returns as Python ints already: integer columns, COUNT (bigint) and
# SUM of an integer column (bigint; a bigint column's SUM is numeric, a Decimal, and keeps its converter).
_INTS = {"IntegerField", "SmallIntegerField", "PositiveIntegerField", "PositiveSmallIntegerField"}


def _fetch(compiler, sql: str, params) -> list[tuple]:
    """The rows of ``compiler``'s ``sql``, in one fetch, converted as Django would: except, on
    PostgreSQL, the integers, which arrive as ints (Django's converter per value and row: 48 -> 8 ms
    for the 13,600 rows of a province's overview tally)."""
    connection = compiler.connection
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    expressions = [expression for expression, _sql, _alias in compiler.select]
    converters = compiler.get_converters(expressions)
    if connection.vendor == "postgresql":
        converters = {
            i: pair
            for i, pair in converters.items()
            if expressions[i].output_field.get_internal_type() not in _INTS
        }
    return list(compiler.apply_converters(found, converters)) if converters else found


def fetch_rows(queryset) -> list[dict]:
    """``list(queryset)`` of a ``values()`` queryset (a dict per row), fetched as ``_fetch`` does."""
    compiler = queryset.query.get_compiler(queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a filter nothing can match (an empty scope): no query
        return []
    names = [alias for _expression, _sql, alias in compiler.select]
    return [dict(zip(names, values, strict=True)) for values in _fetch(compiler, sql, params)]


def total(rows, keys: Iterable[str] = COUNT_KEYS, **fields) -> dict:
    """Add up rows of counts (``tally``'s, each with every key of ``keys``) into one, with its rates."""
    keys = list(keys)
    summed = dict.fromkeys(keys, 0)
    # Column by column (a province's overview adds up 13,000 rows); no rows, no columns: zeros stay.
    columns = zip(*([row[key] for key in keys] for row in rows), strict=True)
    summed.update(zip(keys, map(sum, columns), strict=False))
    return _with_rates({**fields, **summed})


def group_names(breakdown: Breakdown, groups: list) -> dict:
    """The name of each group (its id, or a source's value) of ``breakdown``: one query over the
    groups found. Counted apart, not joined into the count: grouping by the name too made
    PostgreSQL join and sort every ticket of the period before counting (a province's year, a
    whole table: 750 -> 360 ms)."""
    if breakdown.name == breakdown.field:  # the source: its label
        return {
            group: Ticket.Source(group).label if group in Ticket.Source.values else group for group in groups
        }
    relation, attribute = breakdown.name.split("__")
    model = Ticket._meta.get_field(relation).related_model
    ids = [group for group in groups if group is not None]
    return dict(model._base_manager.filter(pk__in=ids).values_list("pk", attribute)) if ids else {}


def suggestion_statistics(user, *, start: datetime.date, end: datetime.date, by: str) -> list[dict]:
    """One row per group (``group``: its id or value, ``name``), then a totals row (``group`` None,
    ``total`` True). Each row has every key of ``COUNT_KEYS`` and of ``RATES`` (percent, or None
    when there is nothing to divide by)."""
    breakdown = BREAKDOWN_BY_KEY[by]
    grouped = tally(period_tickets(user, start, end), breakdown.field)
    names = group_names(breakdown, [g[breakdown.field] for g in grouped])
    rows = []
    for g in grouped:
        group = g.pop(breakdown.field)
        rows.append(_with_rates({"group": group, "name": names.get(group), "total": False, **g}))
    rows.sort(key=lambda row: (row["name"] is None, str(row["name"] or "")))
    rows.append(total(rows, group=None, name=_("Total"), total=True))
    return rows

"""Charts drawn on the server as SVG: bars that are links, and the table behind each chart.

Why SVG from the server rather than a JavaScript library: the page works under the strict
Content-Security-Policy (no script at all), prints as it shows, needs no asset from a CDN on an
intranet, and a bar is an ``<a>`` to the list it counts. The geometry is computed here; the markup
is ``templates/includes/chart.html``, which draws every chart the same way; the many small parts
(bars, labels, grid lines, the table's rows) are written here in one pass (``Chart.drawing``,
``Chart.rows``): a template loop per bar and cell took most of the overview page's time.

Two shapes cover the overview:
- ``bars(...)``: one row per category, horizontal bars, one or more series side by side, or
  stacked (``stacked=True``: parts of a whole, e.g. behind / in progress / done);
- ``columns(...)``: one column group per category (months), series side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640  # the viewBox width; the SVG scales to its container
LABEL_WIDTH = 150  # horizontal bars: the category names' column
VALUE_GAP = 44  # room after the longest bar for its value
ROW = 26  # horizontal bars: height of one category's band
COLUMN_HEIGHT = 200  # columns: height of the plotting area


@dataclass(frozen=True)
class Series:
    key: str  # names the CSS class (``chart-<key>``) and the legend entry
    label: str
    values: list[float | int | None]
    urls: list[str | None] = field(default_factory=list)  # the list behind each value, or None
    suffix: str = ""  # printed after a value: "%" for rates

    def url(self, i: int) -> str | None:
        return self.urls[i] if i < len(self.urls) else None

    def text(self, i: int) -> str:
        value = self.values[i]
        if value is None:
            return "—"
        number = f"{value:g}" if isinstance(value, float) else str(value)
        return number + self.suffix


@dataclass
class Chart:
    """What the template draws: ``shapes`` (bars), ``labels`` (text), ``lines`` (grid) and the
    table behind it (``categories`` × ``series``)."""

    id: str
    title: str
    height: int
    categories: list[str]
    series: list[Series]
    shapes: list[dict] = field(default_factory=list)
    labels: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    width: int = WIDTH
    more: int = 0  # categories left out of the drawing and the table (the caller's cut)
    more_url: str | None = None  # where all of them are listed

    @property
    def empty(self) -> bool:
        return not any(v for s in self.series for v in s.values)

    @property
    def table(self) -> list[dict]:
        """One row per category: its name and each series' value with its link."""
        return [
            {
                "name": name,
                "cells": [{"text": s.text(i), "url": s.url(i)} for s in self.series],
            }
            for i, name in enumerate(self.categories)
        ]

    @cached_property
    def drawing(self) -> SafeString:
        """The SVG's grid lines, bars (each a link to its list when it has one) and labels."""
        parts = [
            f'<line class="chart-grid" x1="{line["x1"]}" x2="{line["x2"]}" '
            f'y1="{line["y"]}" y2="{line["y"]}"/>'
            for line in self.lines
        ]
        for s in self.shapes:
            title = escape(s["title"])
            bar = (
                f'<rect class="chart-bar {s["css"]}" x="{s["x"]}" y="{s["y"]}" width="{s["w"]}" '
                f'height="{s["h"]}" data-series="{s["series"]}" data-value="{s["value"]}">'
                f"<title>{title}</title></rect>"
            )
            parts.append(f'<a href="{escape(s["url"])}" aria-label="{title}">{bar}</a>' if s["url"] else bar)
        for label in self.labels:
            small = " chart-small" if label.get("small") else ""
            parts.append(
                f'<text class="chart-label{small}" x="{label["x"]}" y="{label["y"]}" '
                f'text-anchor="{label["anchor"]}">{escape(label["text"])}</text>'
            )
        return mark_safe("".join(parts))  # noqa: S308 - the texts and links are escaped, the rest are ours

    @cached_property
    def rows(self) -> SafeString:
        """The table's body: one row per category, each value a link to its list when it has one."""
        parts = []
        for row in self.table:
            cells = "".join(
                f'<td class="text-end"><a href="{escape(cell["url"])}">{escape(cell["text"])}</a></td>'
                if cell["url"]
                else f'<td class="text-end">{escape(cell["text"])}</td>'
                for cell in row["cells"]
            )
            parts.append(f'<tr><th scope="row">{escape(row["name"])}</th>{cells}</tr>')
        return mark_safe("\n".join(parts))  # noqa: S308 - the names, texts and links are escaped


def _scale_top(values: list[float]) -> float:
    """A round top of the axis at or above the largest value (1, 2, 2.5 or 5 × 10ⁿ)."""
    top = max(values, default=0) or 1
    magnitude = 10 ** math.floor(math.log10(top))
    for step in (1, 2, 2.5, 5, 10):
        if top <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _shape(series: Series, i: int, category: str, x: float, y: float, w: float, h: float) -> dict:
    return {
        "x": round(x, 1),
        "y": round(y, 1),
        "w": round(max(w, 0), 1),
        "h": round(max(h, 0), 1),
        "css": f"chart-{series.key}",
        "series": series.key,
        "value": series.values[i] if series.values[i] is not None else "",
        "url": series.url(i),
        "title": f"{category} · {series.label}: {series.text(i)}",
    }


def bars(
    id: str,
    title: str,
    categories: list[str],
    series: list[Series],
    *,
    stacked: bool = False,
    top: float | None = None,
    more: int = 0,
    more_url: str | None = None,
) -> Chart:
    """Horizontal bars, one band per category. ``top`` fixes the axis (100 for rates); ``more``
    categories were left out by the caller, all listed at ``more_url``."""
    lanes = 1 if stacked else len(series)
    band = ROW if lanes == 1 else 8 + 14 * lanes
    height = max(band * len(categories), band) + 8
    plot = WIDTH - LABEL_WIDTH - VALUE_GAP
    if stacked:
        totals = [sum(s.values[i] or 0 for s in series) for i in range(len(categories))]
    else:
        totals = [v or 0 for s in series for v in s.values]
    scale = plot / (top or _scale_top(totals))
    chart = Chart(id, title, height, categories, series, more=more, more_url=more_url)
    for i, category in enumerate(categories):
        y0 = 4 + i * band
        chart.labels.append(
            {"x": LABEL_WIDTH - 6, "y": y0 + band / 2 + 4, "text": _clip(category), "anchor": "end"}
        )
        x = LABEL_WIDTH
        for lane, s in enumerate(series):
            value = s.values[i] or 0
            if stacked:
                chart.shapes.append(_shape(s, i, category, x, y0 + 4, value * scale, band - 8))
                x += value * scale
            else:
                y = y0 + 4 + lane * 14
                chart.shapes.append(_shape(s, i, category, x, y, value * scale, 12))
                chart.labels.append(
                    {
                        "x": x + value * scale + 4,
                        "y": y + 10,
                        "text": s.text(i),
                        "anchor": "start",
                        "small": True,
                    }
                )
        if stacked:
            total = sum(s.values[i] or 0 for s in series)
            chart.labels.append(
                {"x": x + 4, "y": y0 + band / 2 + 4, "text": f"{total:g}", "anchor": "start", "small": True}
            )
    return chart


def columns(id: str, title: str, categories: list[str], series: list[Series]) -> Chart:
    """Vertical columns, one group per category (a month), the series side by side, with a grid."""
    left, bottom = 40, 24
    height = COLUMN_HEIGHT + bottom + 8
    # Counts: at least 4 on the axis, and 5 steps when the top divides by 5, so every step is whole.
    top = max(_scale_top([v or 0 for s in series for v in s.values]), 4)
    steps = 5 if top % 5 == 0 else 4
    scale = COLUMN_HEIGHT / top
    group = (WIDTH - left) / max(len(categories), 1)
    width = min(18, (group - 6) / max(len(series), 1))
    chart = Chart(id, title, height, categories, series)
    for tick in range(steps + 1):
        value = top * tick / steps
        y = 8 + COLUMN_HEIGHT - value * scale
        chart.lines.append({"x1": left, "x2": WIDTH, "y": round(y, 1)})
        chart.labels.append({"x": left - 4, "y": y + 4, "text": f"{value:g}", "anchor": "end", "small": True})
    for i, category in enumerate(categories):
        x0 = left + i * group + (group - width * len(series)) / 2
        for lane, s in enumerate(series):
            h = (s.values[i] or 0) * scale
            chart.shapes.append(
                _shape(s, i, category, x0 + lane * width, 8 + COLUMN_HEIGHT - h, width - 1, h)
            )
        chart.labels.append(
            {
                "x": left + (i + 0.5) * group,
                "y": height - 6,
                "text": category,
                "anchor": "middle",
                "small": True,
            }
        )
    return chart


def _clip(text: str, limit: int = 11) -> str:
    """Shorten a long category name in the drawing (the table behind it keeps the whole name)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"

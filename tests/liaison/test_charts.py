"""The charts' markup, written in Python (``Chart.drawing``, ``Chart.rows``): escaped, linked, complete."""

import re

from django.template.loader import render_to_string
from django.utils import translation

from liaison import charts


def chart() -> charts.Chart:
    return charts.bars(
        "chart-test",
        "Units",
        ['<b>"A" & Co</b>', "B"],
        [
            charts.Series("overdue", "overdue", [3, 0], ["/list/?unit=1&x=<y>", None]),
            charts.Series("rate", "rate", [12.5, None], [None, None], suffix="%"),
        ],
    )


def test_every_bar_label_and_cell_is_drawn_and_escaped():
    drawing, rows = str(chart().drawing), str(chart().rows)
    assert drawing.count("<rect ") == 4 and drawing.count("<text ") == 6  # 2 names + a value per bar
    assert drawing.count('<a href="/list/?unit=1&amp;x=&lt;y&gt;"') == 1  # only the bar with a list
    assert "<b>" not in drawing + rows and "&lt;b&gt;&quot;A&quot; &amp; Co&lt;/b&gt;" in rows
    assert 'data-series="rate" data-value="12.5"' in drawing and 'data-series="rate" data-value=""' in drawing
    assert re.findall(r"<td[^>]*>(.*?)</td>", rows) == [
        '<a href="/list/?unit=1&amp;x=&lt;y&gt;">3</a>',
        "12.5%",
        "0",
        "—",
    ]


def test_the_template_draws_the_parts_and_says_when_there_is_nothing():
    html = render_to_string("includes/chart.html", {"chart": chart()})
    assert html.count("<rect ") == 4 and html.count('<th scope="row">') == 2
    empty = charts.bars("chart-empty", "Units", [], [charts.Series("overdue", "overdue", [], [])])
    with translation.override("en"):
        html = render_to_string("includes/chart.html", {"chart": empty})
    assert "<svg" not in html and html.count("Nothing to show for this period.") == 2

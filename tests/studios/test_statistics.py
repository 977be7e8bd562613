"""The reception statistics (接访统计表): figures, cost, export, print view and who sees what."""

import datetime
import io
import re
from collections import Counter, defaultdict
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from liaison.roles import Role
from proposals.models import Ticket, new_tracking_code
from studios.models import (
    DutySlot,
    Reception,
    ReceptionMatter,
    RosterPeriod,
    SlotAssignment,
    Studio,
)
from studios.rosters import generate
from studios.services import period_publish
from studios.statistics import (
    Row,
    period_label,
    period_of,
    studio_statistics,
    total,
    totals,
    township_statistics,
)
from tests.factories import RuleFactory, active_rep, studio_with_reps, user_with_role

YEAR = 2026
LOCAL = ZoneInfo(settings.TIME_ZONE)
# "Now" for the selector: slots after it have not ended, so their marks must not count yet.
NOW = datetime.datetime(YEAR, 9, 15, 12, 0, tzinfo=LOCAL)
FIGURES = ("slots", "attended", "marked", "people", "matters", "answered", "tickets")
A = SlotAssignment.Attendance
KIND_CYCLE = ("regular", "thematic", "reception_day", "concentrated", "appointed")
# The hand tally's reading of the split: a reception day is part of the daily duty.
PART = {"regular": "duty", "reception_day": "duty", "thematic": "thematic"}
PART_FIGURES = ("receptions", "people", "matters", "answered", "tickets")


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=LOCAL)


def ticket_from(matter: ReceptionMatter, township, category) -> Ticket:
    """A suggestion ticket registered from ``matter`` (linked back to it, as the intake does)."""
    return Ticket.objects.create(
        title=matter.content[:20], content=matter.content, category=category, source="reception",
        township=township, tracking_code=new_tracking_code(), reception_matter=matter,
    )  # fmt: skip


def figures(row: Row) -> tuple[int, ...]:
    return tuple(getattr(row, name) for name in FIGURES)


@pytest.fixture
def county_year(county, township_a, township_b, village_a, village_b, liaison_office, category):
    """Two townships, four studios (two in villages), a generated 2026, three of four published.

    Returns the studios by key and the township each belongs to.
    """
    studios = {
        "a_town": studio_with_reps(township_a, 3, name="城关镇党代表工作室"),
        "a_village": studio_with_reps(village_a, 3, name="东街社区党代表工作室"),
        "b_town": studio_with_reps(township_b, 3, name="河口镇党代表工作室"),
        "b_village": studio_with_reps(village_b, 2, name="河口村党代表工作室"),
    }
    for studio in studios.values():
        RuleFactory(studio=studio)  # Saturday mornings
        RuleFactory(
            studio=studio,
            kind="reception_day",
            weekday=None,
            days_of_month="10,20",
            start_time=datetime.time(14, 0),
            end_time=datetime.time(16, 0),
        )
    RuleFactory(
        studio=studios["a_town"],
        kind="concentrated",
        weekday=None,
        reps_per_slot=2,
        start_time=datetime.time(8, 30),
        end_time=datetime.time(11, 0),
    )
    report = generate(
        actor=liaison_office,
        studios=Studio.objects.filter(pk__in=[s.pk for s in studios.values()]),
        start=datetime.date(YEAR, 1, 1),
        end=datetime.date(YEAR, 12, 31),
    )
    assert not report.problems and len(report.written) == 4
    for key in ("a_town", "a_village", "b_town"):  # 河口村 stays a draft
        period_publish(actor=liaison_office, period=RosterPeriod.objects.get(studio=studios[key]))

    # Attendance on a subset, the future and the draft included (neither may count).
    ids = list(SlotAssignment.objects.order_by("pk").values_list("pk", flat=True))
    marks = {A.ATTENDED: ids[0::6] + ids[1::6], A.ABSENT: ids[2::6], A.SUBSTITUTED: ids[3::6]}
    for attendance, chosen in marks.items():
        SlotAssignment.objects.filter(pk__in=chosen).update(attendance=attendance)

    # Receptions, some on the edges of months, quarters and the year (local time).
    times = [
        local(YEAR - 1, 12, 31, 23, 50),
        local(YEAR, 1, 1, 0, 5),
        local(YEAR, 3, 10, 14, 30),
        local(YEAR, 3, 31, 23, 30),
        local(YEAR, 4, 1, 0, 10),
        local(YEAR, 7, 18, 9, 30),
        local(YEAR, 9, 30, 23, 59),
        local(YEAR, 10, 1, 0, 0),
        local(YEAR, 12, 31, 23, 59),
        local(YEAR + 1, 1, 1, 0, 0),
    ]
    township_of = {
        "a_town": township_a,
        "a_village": township_a,
        "b_town": township_b,
        "b_village": township_b,
    }
    n = 0
    for key, studio in studios.items():
        for when in times:
            n += 1
            reception = Reception.objects.create(
                studio=studio,
                township=township_of[key],
                kind=KIND_CYCLE[n % len(KIND_CYCLE)],
                starts_at=when,
                people_received=n % 7 + 1,
                recorded_by=liaison_office,
            )
            matters = ReceptionMatter.objects.bulk_create(
                ReceptionMatter(
                    reception=reception,
                    content=f"事项{n}-{i}",
                    answered_on_spot=i % 3 == 0,
                    answer="已答复" if i % 3 == 0 else "",
                    for_ticket=i % 3 == 1,
                )
                for i in range(n % 4)
            )
            # Every other matter flagged for a ticket really became one; the rest wait to be
            # handed in (flagged, no ticket) and must not count as turned into tickets.
            for matter in matters:
                if matter.for_ticket and n % 2:
                    ticket_from(matter, township_of[key], category)
    # A home reception outside any studio counts for no studio.
    Reception.objects.create(
        studio=None,
        township=township_a,
        kind="appointed",
        starts_at=local(YEAR, 7, 1, 10, 0),
        people_received=50,
        recorded_by=liaison_office,
    )
    return studios, township_of


def expected_by_studio(start, end, now) -> dict[int, Counter]:
    """Tally the figures from the rows in plain Python, without the selector."""
    tally: dict[int, Counter] = defaultdict(Counter)
    for slot in DutySlot.objects.select_related("period").prefetch_related("assignments"):
        if slot.period.status != "published" or not start <= slot.date <= end:
            continue
        tally[slot.studio_id]["slots"] += 1
        if slot.ends_at > now:
            continue
        for assignment in slot.assignments.all():
            if assignment.attendance in (A.ATTENDED, A.SUBSTITUTED):
                tally[slot.studio_id]["attended"] += 1
            if assignment.attendance in (A.ATTENDED, A.SUBSTITUTED, A.ABSENT):
                tally[slot.studio_id]["marked"] += 1
    for reception in Reception.objects.prefetch_related("matters__ticket"):
        day = timezone.localtime(reception.starts_at).date()
        if reception.studio_id is None or not start <= day <= end:
            continue
        matters = list(reception.matters.all())
        part = PART.get(reception.kind, reception.kind)
        for prefix in ("", f"{part}."):
            tally[reception.studio_id][f"{prefix}people"] += reception.people_received
            tally[reception.studio_id][f"{prefix}matters"] += len(matters)
            tally[reception.studio_id][f"{prefix}answered"] += sum(m.answered_on_spot for m in matters)
            tally[reception.studio_id][f"{prefix}tickets"] += sum(hasattr(m, "ticket") for m in matters)
        tally[reception.studio_id][f"{part}.receptions"] += 1
    return tally


def as_tuple(counter: Counter) -> tuple[int, ...]:
    return tuple(counter[name] for name in FIGURES)


def split(row: Row) -> dict[str, int]:
    """The row's meeting-kind parts, as "kind.figure" keys (zeros left out)."""
    return {
        f"{key}.{name}": getattr(part, name)
        for key, part in row.by_kind.items()
        for name in PART_FIGURES
        if getattr(part, name)
    }


def expected_split(counter: Counter) -> dict[str, int]:
    return {name: n for name, n in counter.items() if "." in name and n}


PERIODS = [
    ("month", 3, datetime.date(YEAR, 3, 1), datetime.date(YEAR, 3, 31)),
    ("month", 4, datetime.date(YEAR, 4, 1), datetime.date(YEAR, 4, 30)),
    ("quarter", 1, datetime.date(YEAR, 1, 1), datetime.date(YEAR, 3, 31)),
    ("quarter", 3, datetime.date(YEAR, 7, 1), datetime.date(YEAR, 9, 30)),
    ("quarter", 4, datetime.date(YEAR, 10, 1), datetime.date(YEAR, 12, 31)),
    ("year", 1, datetime.date(YEAR, 1, 1), datetime.date(YEAR, 12, 31)),
]


@pytest.mark.parametrize(("kind", "n", "start", "end"), PERIODS)
def test_statistics_for_a_generated_year_equal_tallies_from_the_rows(county_year, kind, n, start, end):
    studios, township_of = county_year
    period = period_of(kind, YEAR, n)
    assert (period.start, period.end) == (start, end)
    expected = expected_by_studio(start, end, NOW)

    rows = studio_statistics(Studio.objects.all(), start=start, end=end, now=NOW)
    assert [r.studio.pk for r in rows] == [s.pk for s in Studio.objects.order_by("region__path", "name")]
    assert {r.studio.pk: figures(r) for r in rows} == {
        s.pk: as_tuple(expected[s.pk]) for s in studios.values()
    }
    # The split by meeting kind, against the hand tally; the parts add up to the row.
    assert {r.studio.pk: split(r) for r in rows} == {
        s.pk: expected_split(expected[s.pk]) for s in studios.values()
    }
    for r in rows:
        assert sum(p.people for p in r.parts) == r.people and sum(p.tickets for p in r.parts) == r.tickets
    # The overview's other periods read the totals in two queries: the same slots, attendance, people.
    whole = sum((expected[s.pk] for s in studios.values()), Counter())
    sums = totals(Studio.objects.all(), start=start, end=end, now=NOW)
    assert (sums.slots, sums.attended, sums.marked, sums.people) == (
        whole["slots"], whole["attended"], whole["marked"], whole["people"]
    )  # fmt: skip
    assert sums.attendance_rate == total(rows).attendance_rate

    by_township: dict[int, Counter] = defaultdict(Counter)
    for key, studio in studios.items():
        by_township[township_of[key].pk].update(expected[studio.pk])
    townships = township_statistics(Studio.objects.all(), start=start, end=end, now=NOW)
    assert {r.region.pk: figures(r) for r in townships} == {
        pk: as_tuple(counter) for pk, counter in by_township.items()
    }
    assert {r.region.pk: len(r.studios) for r in townships} == dict.fromkeys(by_township, 2)
    assert {r.region.pk: split(r) for r in townships} == {
        pk: expected_split(counter) for pk, counter in by_township.items()
    }


def test_the_year_has_real_figures_and_the_draft_counts_for_nothing(county_year):
    """Guard the tallies above against passing on empty data."""
    studios, _townships = county_year
    draft = studios["b_village"]
    start, end = datetime.date(YEAR, 1, 1), datetime.date(YEAR, 12, 31)
    rows = {r.studio.pk: r for r in studio_statistics(Studio.objects.all(), start=start, end=end, now=NOW)}
    assert DutySlot.objects.filter(studio=draft).count() > 50
    assert rows[draft.pk].slots == rows[draft.pk].marked == 0
    a_town = rows[studios["a_town"].pk]
    # 52 Saturdays + 24 reception days + 4 concentrated meetings.
    assert a_town.slots == 80
    assert 0 < a_town.attended < a_town.marked
    assert SlotAssignment.objects.filter(
        slot__studio=studios["a_town"], slot__ends_at__gt=NOW, attendance=A.ATTENDED
    ).exists()  # marked in the future, and left out
    assert a_town.people > 0 and 0 < a_town.answered < a_town.matters and a_town.tickets > 0
    # The reception outside a studio and those outside the year count nowhere.
    assert sum(r.people for r in rows.values()) < sum(
        Reception.objects.filter(studio__isnull=False).values_list("people_received", flat=True)
    )


def test_turned_into_tickets_counts_registered_tickets_not_the_flag(township_a, liaison_office, category):
    studio = studio_with_reps(township_a, 1, name="城关镇党代表工作室")
    reception = Reception.objects.create(
        studio=studio, township=township_a, kind="regular", starts_at=local(YEAR, 8, 5, 9, 30),
        people_received=3, recorded_by=liaison_office,
    )  # fmt: skip
    flagged = ReceptionMatter.objects.create(reception=reception, content="路灯不亮", for_ticket=True)
    ReceptionMatter.objects.create(reception=reception, content="答复", answered_on_spot=True, answer="已答")

    def tickets() -> int:
        [row] = studio_statistics(
            Studio.objects.filter(pk=studio.pk),
            start=datetime.date(YEAR, 8, 1),
            end=datetime.date(YEAR, 8, 31),
        )
        return row.tickets

    assert tickets() == 0  # flagged for a ticket, not yet registered: not turned into one
    ticket_from(flagged, township_a, category)
    assert tickets() == 1
    # A ticket registered from a matter that was never flagged counts too: the ticket is the fact.
    plain = ReceptionMatter.objects.create(reception=reception, content="井盖缺失")
    ticket_from(plain, township_a, category)
    assert tickets() == 2


def test_the_attendance_rate_is_a_percentage_or_a_dash():
    assert Row(name="x", attended=2, marked=3).attendance_display == "66.7%"
    assert Row(name="x", attended=3, marked=3).attendance_display == "100.0%"
    assert Row(name="x", attended=0, marked=0).attendance_display == "—"


def test_periods_are_named_for_their_kind():
    from django.utils import translation

    with translation.override("en"):
        assert period_label(period_of("quarter", 2026, 3)) == "2026, third quarter"
        assert period_label(period_of("month", 2026, 2)) == "2/2026"
        assert period_label(period_of("year", 2026)) == "year 2026"
    with translation.override("zh-hans"):
        assert period_label(period_of("quarter", 2026, 3)) == "2026年第三季度"
        assert period_label(period_of("month", 2026, 2)) == "2026年2月"
        assert period_label(period_of("year", 2026)) == "2026年度"
    assert period_of("month", 2028, 2).end == datetime.date(2028, 2, 29)
    with pytest.raises(ValueError):
        period_of("quarter", 2026, 5)


# --- the page ---------------------------------------------------------------------------------

URL = reverse("studios:statistics")


@pytest.fixture
def in_september():
    with time_machine.travel(datetime.datetime(YEAR, 9, 15, 12, 0, tzinfo=datetime.UTC), tick=False):
        yield


# Session, user, scope; studios, slots with attendance, people, matters, tickets; the place's name.
PAGE_QUERIES = 10  # nine for the table and its frame, one for the header's unread-notification badge


@pytest.mark.parametrize("size", [10, 500])
@pytest.mark.parametrize(
    ("params", "queries"),
    [
        ({"by": "studio"}, PAGE_QUERIES),
        ({"by": "township"}, PAGE_QUERIES),
        ({"print": 1}, PAGE_QUERIES - 1),  # the print view has no header, so no badge
        ({"format": "xlsx"}, PAGE_QUERIES - 2),  # the sheet has no title (no place) and no header badge
    ],
    ids=["by-studio", "by-township", "print", "xlsx"],
)
def test_the_page_runs_the_same_queries_for_10_and_500_studios(
    client,
    liaison_office,
    township_a,
    village_a,
    clerk_a,
    size,
    params,
    queries,
    django_assert_num_queries,
    in_september,
    category,
):
    studios = Studio.objects.bulk_create(
        Studio(
            name=f"工作室{i}",
            level=Studio.Level.AREA,
            region=village_a if i % 2 else township_a,
            address="村委会",
        )
        for i in range(size)
    )
    rep = active_rep(township_a)
    for studio in studios[:3]:
        period = RosterPeriod.objects.create(
            studio=studio,
            start=datetime.date(YEAR, 7, 1),
            end=datetime.date(YEAR, 9, 30),
            status=RosterPeriod.Status.PUBLISHED,
        )
        for day in (5, 12):
            slot = DutySlot.objects.create(
                period=period,
                studio=studio,
                kind="regular",
                date=datetime.date(YEAR, 8, day),
                starts_at=local(YEAR, 8, day, 9),
                ends_at=local(YEAR, 8, day, 11),
            )
            SlotAssignment.objects.create(slot=slot, representative=rep, attendance=A.ATTENDED)
        reception = Reception.objects.create(
            studio=studio,
            township=township_a,
            kind="regular",
            starts_at=local(YEAR, 8, 5, 9, 30),
            people_received=4,
            recorded_by=clerk_a,
        )
        matter = ReceptionMatter.objects.create(reception=reception, content="路灯", for_ticket=True)
        ticket_from(matter, township_a, category)
        ReceptionMatter.objects.create(reception=reception, content="井盖", for_ticket=True)  # not handed in
    client.force_login(liaison_office)
    with django_assert_num_queries(queries):
        response = client.get(URL, {"kind": "quarter", "year": YEAR, "n": 3, **params})
    assert response.status_code == 200
    if "format" in params:
        from openpyxl import load_workbook

        names = [
            row[0] for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)
        ]
        assert sorted(names[1:-1], key=lambda name: int(name[3:])) == [f"工作室{i}" for i in range(size)]
        return
    totals = response.context["totals"]
    assert (totals.slots, totals.attended, totals.people, totals.tickets) == (6, 6, 12, 3)
    assert len(totals.studios) == size
    assert len(response.context["rows"]) == (1 if params.get("by") == "township" else size)
    # Rendered, not only computed: every studio's row (or the one township's) is on the page.
    html = response.content.decode()
    if params.get("by") == "township":
        assert html.count(f"<td>{township_a.name}</td>") == 1
    else:
        assert sorted(set(re.findall(r">(工作室\d+)<", html)), key=lambda name: int(name[3:])) == [
            f"工作室{i}" for i in range(size)
        ]


def test_the_excel_export_equals_the_page(client, liaison_office, county_year, in_september):
    from openpyxl import load_workbook

    client.force_login(liaison_office)
    params = {"kind": "year", "year": YEAR}
    page = client.get(URL, params)
    export = client.get(URL, {**params, "format": "xlsx"})
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    assert export["Content-Disposition"] == "attachment; filename*=UTF-8''" + quote(
        "接访统计表-2026年度.xlsx"
    )
    sheet = load_workbook(io.BytesIO(export.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values[0]) == 12
    body, last = values[1:-1], values[-1]

    def numbers(row: Row) -> list:
        rate = float(row.attendance_rate) if row.attendance_rate is not None else "—"
        return [
            row.slots, rate, row.people, row.matters, row.answered, row.tickets,
            *(part.receptions for part in row.parts),
        ]  # fmt: skip

    rows = page.context["rows"]
    assert len(rows) == 4
    assert [[r[0], r[1], *r[2:]] for r in body] == [[r.name, r.township.name, *numbers(r)] for r in rows]
    assert list(last[2:]) == numbers(page.context["totals"])
    assert page.context["totals"].slots == sum(r.slots for r in rows) > 0
    # The second sheet: the whole table by meeting kind, the same as the page's by-kind table.
    book = load_workbook(io.BytesIO(export.content))
    kinds = list(book[book.sheetnames[1]].iter_rows(values_only=True))
    assert [list(line) for line in kinds[1:]] == [
        [name, *figures] for name, figures in page.context["by_kind"]
    ]
    totals = page.context["totals"]
    assert kinds[-1][1:] == (
        totals.receptions,
        totals.people,
        totals.matters,
        totals.answered,
        totals.tickets,
    )
    assert sum(line[1] for line in kinds[1:-1]) == totals.receptions > 0


def test_grouped_by_township_the_page_adds_up_the_studios(client, liaison_office, county_year, in_september):
    client.force_login(liaison_office)
    by_studio = client.get(URL, {"kind": "quarter", "year": YEAR, "n": 3}).context
    by_township = client.get(URL, {"kind": "quarter", "year": YEAR, "n": 3, "by": "township"}).context
    assert [r.name for r in by_township["rows"]] == ["城关镇", "河口镇"]
    assert figures(by_township["totals"]) == figures(by_studio["totals"])
    assert [len(r.studios) for r in by_township["rows"]] == [2, 2]
    assert len(by_township["totals"].studios) == 4
    assert by_township["rows"][0].people == sum(
        r.people for r in by_studio["rows"] if r.township.name == "城关镇"
    )


def test_the_print_view_renders_a_titled_table(client, liaison_office, county_year, in_september):
    client.force_login(liaison_office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(URL, {"kind": "quarter", "year": YEAR, "n": 3, "print": 1})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1" in html and "Reception statistics 2026, third quarter 和平县" in html
    assert "css/statistics-print.css" in html and "data-print" in html and "js/liaison.js" in html
    assert "城关镇党代表工作室" in html and "<nav" not in html
    # In Chinese (the default), the title keeps the place and the year.
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]
    title = client.get(URL, {"kind": "quarter", "year": YEAR, "n": 3, "print": 1}).context["title"]
    assert title == "接访统计表 2026年第三季度 和平县"


def test_the_page_defaults_to_this_quarter(client, liaison_office, county_year, in_september):
    client.force_login(liaison_office)
    response = client.get(URL, {"n": "99", "year": "abc"})
    period = response.context["period"]
    assert (period.kind, period.start, period.end) == (
        "quarter",
        datetime.date(YEAR, 7, 1),
        datetime.date(YEAR, 9, 30),
    )
    assert "studios:statistics" in [item["url_name"] for item in response.context["nav_items"]]


def test_a_clerk_sees_only_their_townships_studios(client, clerk_a, county_year, in_september):
    client.force_login(clerk_a)
    response = client.get(URL, {"kind": "year", "year": YEAR})
    assert response.status_code == 200
    assert {r.name for r in response.context["rows"]} == {"城关镇党代表工作室", "东街社区党代表工作室"}
    assert response.context["place"] == "城关镇"
    export = client.get(URL, {"kind": "year", "year": YEAR, "format": "xlsx"})
    from openpyxl import load_workbook

    names = [r[0] for r in load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True)]
    assert not any("河口" in str(name) for name in names)


def test_a_studio_officer_sees_only_their_studio(client, county_year, township_a, in_september):
    studios, _townships = county_year
    officer = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan")
    Studio.objects.filter(pk=studios["a_village"].pk).update(liaison_officer=officer)
    client.force_login(officer)
    response = client.get(URL, {"kind": "year", "year": YEAR})
    assert response.status_code == 200
    assert [r.name for r in response.context["rows"]] == ["东街社区党代表工作室"]
    assert response.context["place"] == "东街社区党代表工作室"


def test_a_representative_is_refused(client, rep_a, county_year):
    client.force_login(rep_a)
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"format": "xlsx"}).status_code == 403


def test_handling_unit_staff_are_refused_and_visitors_sent_to_log_in(client, unit_staff):
    assert client.get(URL).status_code == 302
    client.force_login(unit_staff)
    assert client.get(URL, {"print": 1}).status_code == 403

"""The Excel exports: the weekly problem list of a township (每周梳理上报一次) and the current
filtered list of the workspace."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from tests.proposals.pages_helpers import assigned

TZ = timezone.get_default_timezone()


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def sheet(response) -> list[list]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    return [list(row) for row in book.active.iter_rows(values_only=True)]


@pytest.fixture
def week_of_tickets(make_ticket, clerk_b, township_b, clerk_a, unit_a):
    """Tickets around the week of Monday 2 March 2026 (Beijing time), in townships A and B."""
    made = {
        "sunday_before": make_ticket(title="上周日", now=at(2026, 3, 1, 23, 59, 59)),
        "monday": make_ticket(title="周一", now=at(2026, 3, 2, 0, 0), place="东街"),
        "sunday": make_ticket(title="周日", now=at(2026, 3, 8, 23, 59, 59)),
        "next_monday": make_ticket(title="下周一", now=at(2026, 3, 9, 0, 0)),
        "other_township": make_ticket(
            actor=clerk_b, township=township_b, representative=None, title="河口", now=at(2026, 3, 4, 10, 0)
        ),
    }
    with time_machine.travel(at(2026, 3, 3, 9, 0), tick=False):
        made["monday"] = assigned(made["monday"], clerk_a, unit_a)
    return made


def test_the_weekly_list_holds_exactly_that_weeks_tickets_of_the_township(
    client, week_of_tickets, clerk_a, township_a
):
    client.force_login(clerk_a)
    with time_machine.travel(at(2026, 3, 10, 9, 0), tick=False):
        rows = sheet(
            client.get(reverse("proposals:weekly_export"), {"township": township_a.pk, "week": "2026-03-05"})
        )
    header, body = rows[0], rows[1:]
    assert header == [
        "tracking code",
        "registered at",
        "category",
        "title",
        "place",
        "status",
        "lead unit",
        "reply due",
    ]
    assert [r[3] for r in body] == ["周一", "周日"]
    monday = week_of_tickets["monday"]
    assert body[0] == [
        monday.display_code,
        "2026-03-02 00:00",
        "交通出行",
        "周一",
        "东街",
        "assigned, awaiting signature",
        "城关镇社会事务办",
        "2026-03-13",
    ]


def test_any_day_of_the_week_names_the_week_and_the_default_is_this_week(
    client, week_of_tickets, clerk_a, township_a
):
    client.force_login(clerk_a)
    url = reverse("proposals:weekly_export")
    for day in ("2026-03-02", "2026-03-08"):
        assert [r[3] for r in sheet(client.get(url, {"township": township_a.pk, "week": day}))[1:]] == [
            "周一",
            "周日",
        ]
    with time_machine.travel(at(2026, 3, 9, 8, 0), tick=False):
        client.force_login(clerk_a)
        assert [r[3] for r in sheet(client.get(url))[1:]] == ["下周一"]  # their one township, this week


def test_a_bad_week_is_a_bad_request(client, clerk_a, township_a):
    client.force_login(clerk_a)
    response = client.get(
        reverse("proposals:weekly_export"), {"township": township_a.pk, "week": "last week"}
    )
    assert response.status_code == 400


def test_the_county_office_names_the_township(client, week_of_tickets, liaison_office, township_b):
    client.force_login(liaison_office)
    url = reverse("proposals:weekly_export")
    assert client.get(url, {"week": "2026-03-02"}).status_code == 404
    assert [r[3] for r in sheet(client.get(url, {"township": township_b.pk, "week": "2026-03-02"}))[1:]] == [
        "河口"
    ]


def test_the_county_office_may_take_all_its_townships_at_once(
    client, week_of_tickets, liaison_office, clerk_a, township_a
):
    client.force_login(liaison_office)
    rows = sheet(client.get(reverse("proposals:weekly_export"), {"township": "all", "week": "2026-03-02"}))
    assert rows[0][:2] == ["township", "tracking code"]
    assert [(r[0], r[4]) for r in rows[1:]] == [("城关镇", "周一"), ("城关镇", "周日"), ("河口镇", "河口")]
    workspace = client.get(reverse("proposals:workspace")).content.decode()
    assert '<option value="all">all townships</option>' in workspace
    client.force_login(clerk_a)  # one township: all of theirs is that one
    rows = sheet(client.get(reverse("proposals:weekly_export"), {"township": "all", "week": "2026-03-02"}))
    assert [(r[0], r[4]) for r in rows[1:]] == [("城关镇", "周一"), ("城关镇", "周日")]


def test_the_list_export_is_the_filtered_queue(client, week_of_tickets, liaison_office, clerk_b, township_a):
    client.force_login(liaison_office)
    url = reverse("proposals:export")
    rows = sheet(client.get(url, {"queue": "all", "township": township_a.pk}))
    assert rows[0][:3] == ["tracking code", "title", "category"]
    assert sorted(r[1] for r in rows[1:]) == sorted(["上周日", "周一", "周日", "下周一"])
    rows = sheet(client.get(url, {"queue": "all", "status": "assigned"}))
    assert [r[1] for r in rows[1:]] == ["周一"]
    assert rows[1][6] == "城关镇社会事务办"
    client.force_login(clerk_b)
    assert [r[1] for r in sheet(client.get(url, {"queue": "all"}))[1:]] == ["河口"]

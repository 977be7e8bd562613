"""The reception book (接待登记簿): one line per reception, by month and meeting kind; scope, cost."""

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from liaison.roles import Role
from studios.models import Reception, ReceptionMatter, Studio
from tests.factories import studio_with_reps, user_with_role

URL = reverse("studios:reception_book")
LOCAL = ZoneInfo(settings.TIME_ZONE)


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=LOCAL)


def receive(studio, township, kind, when, recorder, *, people=3, matters=()):
    reception = Reception.objects.create(
        studio=studio, township=township, kind=kind, starts_at=when, people_received=people, recorded_by=recorder
    )  # fmt: skip
    reception.representatives.set(studio.assignments.values_list("representative", flat=True)[:2])
    for content, answered in matters:
        ReceptionMatter.objects.create(
            reception=reception, content=content, answered_on_spot=answered, answer="已答复" if answered else "",
            for_ticket=not answered,
        )  # fmt: skip
    return reception


@pytest.fixture
def book(township_a, township_b, liaison_office):
    a = studio_with_reps(township_a, 2, name="城关镇党代表工作室")
    b = studio_with_reps(township_b, 2, name="河口镇党代表工作室")
    receive(a, township_a, "regular", at(2026, 8, 1, 9), liaison_office, matters=[("路灯不亮", False)])
    receive(a, township_a, "reception_day", at(2026, 8, 10, 14), liaison_office, people=5)
    receive(a, township_a, "thematic", at(2026, 8, 31, 23, 30), liaison_office, matters=[("医保", True)])
    receive(a, township_a, "concentrated", at(2026, 9, 1, 0, 10), liaison_office)  # next month
    receive(b, township_b, "appointed", at(2026, 8, 20, 10), liaison_office)
    gone = receive(a, township_a, "regular", at(2026, 8, 2, 9), liaison_office)
    Reception.objects.filter(pk=gone.pk).update(withdrawn_at=timezone.now(), withdrawn_by=liaison_office)
    return a, b


def kinds(response) -> list[str]:
    return [line["reception"].kind for line in response.context["lines"]]


def test_one_line_per_reception_of_the_month_in_time_order_withdrawn_left_out(client, liaison_office, book):
    client.force_login(liaison_office)
    response = client.get(URL, {"month": "2026-08"})
    assert response.status_code == 200
    assert kinds(response) == ["regular", "reception_day", "appointed", "thematic"]
    first = response.context["lines"][0]
    assert first["studio"] == "城关镇党代表工作室" and first["people"] == 3
    assert len(first["reps"].split("、")) == 2
    assert [content for content, _how in first["matters"]] == ["路灯不亮"]
    assert "路灯不亮" in response.content.decode()


def test_the_meeting_kind_filter_splits_as_the_statistics_do(client, liaison_office, book):
    client.force_login(liaison_office)
    assert kinds(client.get(URL, {"month": "2026-08", "kind": "duty"})) == ["regular", "reception_day"]
    assert kinds(client.get(URL, {"month": "2026-08", "kind": "thematic"})) == ["thematic"]
    assert kinds(client.get(URL, {"month": "2026-09", "kind": "concentrated"})) == ["concentrated"]
    assert kinds(client.get(URL, {"month": "2026-08", "kind": "bogus"})) == [
        "regular", "reception_day", "appointed", "thematic",
    ]  # fmt: skip


def test_a_clerk_sees_only_their_township_and_an_officer_their_studio(client, clerk_a, book, township_a):
    a, _b = book
    client.force_login(clerk_a)
    assert kinds(client.get(URL, {"month": "2026-08"})) == ["regular", "reception_day", "thematic"]
    # Another township's studio asked for by id: nothing.
    assert kinds(client.get(URL, {"month": "2026-08", "studio": _b.pk})) == []
    officer = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan")
    Studio.objects.filter(pk=a.pk).update(liaison_officer=officer)
    client.force_login(officer)
    assert kinds(client.get(URL, {"month": "2026-08"})) == ["regular", "reception_day", "thematic"]


def test_how_handled_says_whether_the_ticket_was_really_registered(client, liaison_office, book, category):
    from proposals.models import Ticket, new_tracking_code

    client.force_login(liaison_office)

    def handled() -> list[str]:
        lines = client.get(URL, {"month": "2026-08"}).context["lines"]
        return [how for line in lines for _content, how in line["matters"]]

    with translation.override("zh-hans"):
        flagged, registered = (
            gettext("to become a suggestion ticket"),
            gettext("registered as a suggestion ticket"),
        )
        answered = gettext("answered on the spot: %(answer)s") % {"answer": "已答复"}
    assert handled() == [flagged, answered]
    matter = ReceptionMatter.objects.get(content="路灯不亮")
    Ticket.objects.create(
        title="路灯", content="路灯不亮", category=category, source="reception", township=matter.reception.township,
        tracking_code=new_tracking_code(), reception_matter=matter,
    )  # fmt: skip
    assert handled() == [registered, answered]


def test_a_representative_is_refused(client, rep_a, book):
    client.force_login(rep_a)
    assert client.get(URL).status_code == 403


def test_the_excel_and_the_print_view_carry_the_same_lines(client, liaison_office, book):
    from openpyxl import load_workbook

    client.force_login(liaison_office)
    export = client.get(URL, {"month": "2026-08", "format": "xlsx"})
    assert export.status_code == 200
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 4
    assert rows[1][0] == "2026-08-01 09:00" and rows[1][1] == "城关镇党代表工作室" and rows[1][4] == 3
    assert rows[1][5] == "1. 路灯不亮"
    printed = client.get(URL, {"month": "2026-08", "print": 1})
    assert printed.status_code == 200
    assert len(printed.context["lines"]) == 4
    assert "医保" in printed.content.decode()


@pytest.mark.parametrize("size", [10, 1000])
def test_the_page_costs_the_same_queries_for_10_and_1000_receptions(
    client, liaison_office, township_a, size, django_assert_num_queries
):
    studio = studio_with_reps(township_a, 2, name="城关镇党代表工作室")
    reps = list(studio.assignments.values_list("representative", flat=True))
    receptions = Reception.objects.bulk_create(
        Reception(
            studio=studio, township=township_a, kind="regular", starts_at=at(2026, 8, 1 + i % 28, 9),
            people_received=1, recorded_by=liaison_office,
        )
        for i in range(size)
    )  # fmt: skip
    through = Reception.representatives.through
    through.objects.bulk_create(through(reception=r, representative_id=reps[0]) for r in receptions)
    ReceptionMatter.objects.bulk_create(ReceptionMatter(reception=r, content="事项") for r in receptions)
    client.force_login(liaison_office)
    # Session, user, scope, count, page, representatives, matters, header badge, studios filter.
    with django_assert_num_queries(9):
        response = client.get(URL, {"month": "2026-08"})
    assert response.status_code == 200
    assert len(response.context["lines"]) == min(size, 30)

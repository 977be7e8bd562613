"""The workspace's queues as to-do lists: closed tickets hidden until asked for, the most urgent
first, the rep's tab holding what awaits their rating or hand-in, every reply the liaison office
must review, the unit and date filters, and the overdue-by-unit view; each at a constant cost."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from proposals import services
from proposals.models import Assignment, Rating, Ticket
from proposals.transitions import Party, Status, parties
from reps.models import VisitMatter
from studios.models import StudioAssignment
from studios.receptions import MatterInput, reception_record
from tests.factories import CountyFactory, HandlingUnitFactory, TownshipFactory, visit
from tests.proposals.pages_helpers import post_move
from tests.proposals.ticket_rows import ticket_row

TZ = timezone.get_default_timezone()
NOW = datetime.datetime(2026, 3, 16, 10, 0, tzinfo=TZ)
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
ROW = re.compile(r'class="list-group-item list-group-item-action ticket-row"[^>]*data-code="(\w+)"')


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def workspace(client, expect=200, **params):
    response = client.get(reverse("proposals:workspace"), params)
    assert response.status_code == expect, response.status_code
    return response


def listed(response) -> list[str]:
    """The tracking codes of the rows rendered, in order."""
    return ROW.findall(response.content.decode())


def tab_counts(response) -> dict[str, int]:
    return {q.key: n for q, n, _capped in response.context["queues"]}


def made(*rows) -> list[Ticket]:
    """Save ticket rows, with a live lead assignment for those a unit holds."""
    tickets = Ticket.objects.bulk_create(rows)
    Assignment.objects.bulk_create(
        Assignment(ticket=t, unit_id=t.lead_unit_id, role=Assignment.Role.LEAD)
        for t in tickets
        if t.lead_unit_id
    )
    return tickets


def codes(tickets) -> list[str]:
    return [t.tracking_code for t in tickets]


# --- closed tickets hidden by default -------------------------------------------------------


class TestClosedHidden:
    @pytest.fixture
    def three(self, township_a, my_rep):
        return made(
            ticket_row(township=township_a, now=NOW, status=Status.REGISTERED, representative=my_rep),
            ticket_row(township=township_a, now=NOW, status=Status.CLOSED, representative=my_rep),
            ticket_row(township=township_a, now=NOW, status=Status.ARCHIVED, representative=my_rep),
        )

    def test_the_all_queue_hides_closed_and_archived_and_counts_what_it_shows(
        self, client, liaison_office, three
    ):
        open_one, closed, archived = three
        client.force_login(liaison_office)
        response = workspace(client, queue="all")
        assert listed(response) == [open_one.tracking_code]
        assert tab_counts(response)["all"] == 1
        html = response.content.decode()
        assert 'id="show-closed"' in html and "closed=1" in html

    def test_one_click_shows_them_and_the_counts_follow(self, client, liaison_office, three):
        client.force_login(liaison_office)
        link = re.search(
            r'href="\?([^"]+)" id="show-closed"', workspace(client, queue="all").content.decode()
        )
        response = client.get(reverse("proposals:workspace") + "?" + link[1].replace("&amp;", "&"))
        assert sorted(listed(response)) == sorted(codes(three))
        assert tab_counts(response)["all"] == 3
        html = response.content.decode()
        assert 'id="hide-closed"' in html
        assert 'name="closed" value="1"' in html  # filtering keeps them shown
        assert 'href="?queue=all&closed=1"' in html or 'href="?queue=all&amp;closed=1"' in html

    def test_asking_for_a_closed_status_shows_those(self, client, liaison_office, three):
        client.force_login(liaison_office)
        assert listed(workspace(client, queue="all", status="archived")) == [three[2].tracking_code]

    def test_the_linked_and_studio_queues_hide_them_too(
        self, client, three, committee_member, township_a, studio_officer, studio_a
    ):
        Ticket.objects.filter(pk__in=[t.pk for t in three]).update(studio=studio_a)
        for user, queue in ((committee_member, "linked"), (studio_officer, "studio")):
            client.force_login(user)
            assert listed(workspace(client, queue=queue)) == [three[0].tracking_code], queue
            assert len(listed(workspace(client, queue=queue, closed="1"))) == 3, queue


# --- the most urgent first ------------------------------------------------------------------


def test_the_list_puts_overdue_then_due_soon_then_by_due_time_then_the_rest_newest_first(
    client, liaison_office, township_a, unit_a
):
    def held(status, due, **fields):
        return ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=status, due_at=due, **fields)

    on_time, late, soon, stale, newer, older, latest_late = made(
        held(Status.SIGNED, NOW + 8 * DAY),
        held(Status.SIGNED, NOW - 2 * DAY),
        held(Status.ASSIGNED, NOW + DAY),
        # Replied long after its due time: the deadline no longer runs, it is not "overdue".
        held(Status.REPLIED, NOW - 10 * DAY, created_at=NOW - 20 * DAY),
        ticket_row(township=township_a, now=NOW, status=Status.REGISTERED, created_at=NOW - DAY),
        ticket_row(township=township_a, now=NOW, status=Status.REGISTERED, created_at=NOW - 3 * DAY),
        held(Status.PLANNED, NOW - HOUR),
    )
    client.force_login(liaison_office)
    assert listed(workspace(client, queue="all")) == codes(
        [late, latest_late, soon, on_time, newer, older, stale]
    )


# --- the rep's tab: what awaits their rating or hand-in ------------------------------------


@pytest.fixture
def rep_studio(township_a, my_rep, studio_officer, studio_a):
    StudioAssignment.objects.create(studio=studio_a, representative=my_rep, start=datetime.date(2024, 1, 1))
    return studio_a


def reception(officer, studio, reps, *matters):
    return reception_record(
        actor=officer,
        studio=studio,
        kind="regular",
        starts_at=NOW - 2 * DAY,
        place="工作室",
        representatives=reps,
        people_received=1,
        matters=list(matters),
    )


class TestRepTab:
    @pytest.fixture
    def rep_day(self, township_a, unit_a, my_rep, other_rep, my_contacts, rep_a, rep_studio, studio_officer):
        to_rate, rated, own_open, other = made(
            ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=Status.FORWARDED,
                       representative=my_rep),
            ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=Status.FORWARDED,
                       representative=my_rep),
            ticket_row(township=township_a, now=NOW, status=Status.REGISTERED, representative=my_rep),
            ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=Status.FORWARDED,
                       representative=other_rep),
        )  # fmt: skip
        Rating.objects.create(ticket=rated, round=1, representative=my_rep, score=Rating.Score.SATISFIED)
        home = visit(my_rep, my_contacts, NOW.date() - 4 * DAY, recorded_by=rep_a)
        to_hand_in = VisitMatter.objects.create(visit=home, content="屋顶漏雨需要维修")
        VisitMatter.objects.create(visit=home, content="咨询政策", answered_on_spot=True, answer="已解答")
        handed_in = VisitMatter.objects.create(visit=home, content="已经登记的事")
        Ticket.objects.filter(pk=own_open.pk).update(visit_matter=handed_in)
        at_studio = reception(
            studio_officer,
            rep_studio,
            [my_rep],
            MatterInput(content="小区道路坑洼", for_ticket=True),
            MatterInput(content="只是反映情况", answered_on_spot=True, answer="已答复"),
        )
        StudioAssignment.objects.create(
            studio=rep_studio, representative=other_rep, start=datetime.date(2024, 1, 1)
        )
        reception(
            studio_officer, rep_studio, [other_rep], MatterInput(content="别人接待的事", for_ticket=True)
        )
        return {
            "to_rate": to_rate,
            "own_open": own_open,
            "other": other,
            "visit_matter": to_hand_in,
            "reception_matter": at_studio.matters.get(for_ticket=True),
        }

    def test_it_lists_the_replies_awaiting_the_reps_rating_only(self, client, rep_a, rep_day):
        client.force_login(rep_a)
        response = workspace(client)
        assert response.context["current"].key == "mine"
        assert listed(response) == [rep_day["to_rate"].tracking_code]
        assert "reply to rate" in response.content.decode()
        # The rest stays one tab away.
        assert set(listed(workspace(client, queue="all"))) == {
            rep_day["own_open"].tracking_code,
            rep_day["to_rate"].tracking_code,
            Ticket.objects.get(status=Status.FORWARDED, ratings__isnull=False).tracking_code,
        }

    def test_it_lists_the_matters_awaiting_hand_in_each_opening_its_ticket_form(self, client, rep_a, rep_day):
        client.force_login(rep_a)
        response = workspace(client)
        rows = response.context["hand_in"]
        visit_url = reverse("proposals:from_visit_matter", args=[rep_day["visit_matter"].pk])
        reception_url = reverse("proposals:from_reception_matter", args=[rep_day["reception_matter"].pk])
        # Oldest first: the visit (4 days ago) before the reception (2 days ago).
        assert [r["url"] for r in rows] == [visit_url, reception_url]
        assert [r["day"] for r in rows] == [NOW.date() - 4 * DAY, NOW.date() - 2 * DAY]
        html = response.content.decode()
        assert html.count('class="list-group-item list-group-item-action matter-row"') == 2
        assert f'href="{visit_url}"' in html and f'href="{reception_url}"' in html
        assert "屋顶漏雨需要维修" in html and "已经登记的事" not in html and "别人接待的事" not in html
        assert tab_counts(response)["mine"] == 3  # one reply to rate, two matters to hand in
        assert client.get(visit_url).status_code == 200

    def test_a_rated_reply_and_a_handed_in_matter_leave_the_tab(self, client, rep_a, my_rep, rep_day):
        services.ticket_rate(ticket=rep_day["to_rate"], actor=rep_a, score="satisfied")
        Ticket.objects.filter(pk=rep_day["other"].pk).update(visit_matter=rep_day["visit_matter"])
        client.force_login(rep_a)
        response = workspace(client)
        assert listed(response) == []
        assert [r["kind"] for r in response.context["hand_in"]] == ["reception"]
        assert tab_counts(response)["mine"] == 1

    def test_the_home_to_do_and_the_tab_count_the_same_replies(self, client, rep_a, rep_day):
        client.force_login(rep_a)
        home = client.get(reverse("home")).content.decode()
        assert re.search(r'data-todo="to_rate" data-count="1"', home)


# --- the liaison office reviews every reply -----------------------------------------------


class TestOfficeReview:
    def test_a_reply_to_a_ticket_the_township_assigned_waits_in_the_office_queue(
        self, client, ticket, walk, liaison_office, clerk_a
    ):
        replied = walk(ticket, "replied", "township")
        assert replied.assigned_by == Ticket.AssignedBy.TOWNSHIP
        client.force_login(liaison_office)
        assert listed(workspace(client, queue="office")) == [ticket.tracking_code]
        client.force_login(clerk_a)  # the township that assigned it may review it as well
        assert listed(workspace(client, queue="township")) == [ticket.tracking_code]

    def test_the_permission_agrees_the_office_forwards_it(self, client, ticket, walk, liaison_office):
        replied = walk(ticket, "replied", "township")
        assert Party.REVIEWER in parties(replied, liaison_office)
        moves = {o.name: o.allowed for o in services.ticket_moves(replied, user=liaison_office, now=NOW)}
        assert moves["forward"] is True and moves["rework"] is True
        client.force_login(liaison_office)
        response = post_move(client, replied, "forward", summary="路灯已修复")
        assert response.status_code == 302
        assert Ticket.objects.get(pk=ticket.pk).status == Status.FORWARDED
        assert listed(workspace(client, queue="office")) == []

    def test_every_ticket_the_office_queue_lists_is_one_the_office_may_act_on(
        self, client, make_ticket, walk, liaison_office, unit_staff
    ):
        tickets = {
            "township replied": walk(make_ticket(title="一"), "replied", "township"),
            "county replied": walk(make_ticket(title="二"), "replied", "county"),
            "at county": walk(make_ticket(title="三"), "at_county", "county"),
            "township dissatisfied": walk(make_ticket(title="四"), "dissatisfied", "township"),
            "county dissatisfied": walk(make_ticket(title="五"), "dissatisfied", "county"),
            "township signed": walk(make_ticket(title="六"), "signed", "township"),
        }
        client.force_login(liaison_office)
        shown = set(listed(workspace(client, queue="office")))
        expected = {"township replied", "county replied", "at county", "county dissatisfied"}
        assert shown == {tickets[k].tracking_code for k in expected}
        for t in Ticket.objects.filter(tracking_code__in=shown).select_related("township", "representative"):
            allowed = {o.name for o in services.ticket_moves(t, user=liaison_office, now=NOW) if o.allowed}
            assert allowed & {"forward", "rework", "assign", "rehandle", "close"}, t.status

    def test_a_reply_in_another_county_is_not_the_offices(self, client, liaison_office, category):
        other_county = CountyFactory(name="邻县")
        elsewhere = TownshipFactory(name="邻镇", parent=other_county)
        unit = HandlingUnitFactory(name="邻县民政局", region=other_county)
        made(ticket_row(township=elsewhere, now=NOW, lead_unit=unit, status=Status.REPLIED))
        client.force_login(liaison_office)
        assert listed(workspace(client, queue="office")) == []


# --- filters: lead unit and registration dates --------------------------------------------


@pytest.fixture
def spread(township_a, township_b, unit_a, unit_b, county_unit):
    """One ticket per lead unit (and one with none), registered on different days."""
    return made(
        ticket_row(township=township_a, now=NOW, lead_unit=unit_a, due_at=NOW + 5 * DAY,
                   created_at=datetime.datetime(2026, 3, 1, 8, 0, tzinfo=TZ)),
        ticket_row(township=township_a, now=NOW, lead_unit=county_unit, due_at=NOW + 5 * DAY,
                   created_at=datetime.datetime(2026, 3, 5, 23, 30, tzinfo=TZ)),
        ticket_row(township=township_b, now=NOW, lead_unit=unit_b, due_at=NOW + 5 * DAY,
                   created_at=datetime.datetime(2026, 3, 6, 0, 30, tzinfo=TZ)),
        ticket_row(township=township_a, now=NOW, status=Status.REGISTERED,
                   created_at=datetime.datetime(2026, 3, 10, 12, 0, tzinfo=TZ)),
    )  # fmt: skip


class TestFilters:
    def test_by_lead_unit(self, client, liaison_office, spread, unit_a, county_unit):
        client.force_login(liaison_office)
        assert listed(workspace(client, queue="all", unit=county_unit.pk)) == [spread[1].tracking_code]
        response = workspace(client, queue="all", unit=unit_a.pk)
        assert listed(response) == [spread[0].tracking_code]
        assert f"unit={unit_a.pk}" in response.context["query"]  # pages and Excel keep it

    def test_the_unit_select_offers_the_units_the_user_may_see(
        self, client, liaison_office, clerk_a, spread, unit_a, unit_b, county_unit
    ):
        client.force_login(liaison_office)
        choices = workspace(client, queue="all").context["form"].fields["unit"].queryset
        assert set(choices) == {unit_a, unit_b, county_unit}
        client.force_login(clerk_a)
        response = workspace(client, queue="all")
        assert list(response.context["form"].fields["unit"].queryset) == [unit_a]
        assert 'name="unit"' in response.content.decode()

    def test_a_tampered_unit_is_not_found_as_a_tampered_township_is(
        self, client, clerk_a, spread, unit_b, county_unit, township_b
    ):
        client.force_login(clerk_a)
        for value in (unit_b.pk, county_unit.pk, 999999, "x"):
            workspace(client, 404, queue="all", unit=value)
        workspace(client, 404, queue="all", township=township_b.pk)

    def test_a_rep_has_no_unit_select_and_a_unit_id_is_not_found(self, client, rep_a, my_rep, unit_a):
        client.force_login(rep_a)
        assert 'name="unit"' not in workspace(client, queue="all").content.decode()
        workspace(client, 404, queue="all", unit=unit_a.pk)

    def test_by_registration_dates_whole_beijing_days(self, client, liaison_office, spread):
        client.force_login(liaison_office)
        between = workspace(client, queue="all", registered_from="2026-03-05", registered_to="2026-03-06")
        assert sorted(listed(between)) == sorted(codes(spread[1:3]))
        assert listed(workspace(client, queue="all", registered_to="2026-03-01")) == [spread[0].tracking_code]
        assert listed(workspace(client, queue="all", registered_from="2026-03-07")) == [
            spread[3].tracking_code
        ]

    def test_a_range_that_ends_before_it_starts_is_refused_on_the_end_date(
        self, client, liaison_office, spread
    ):
        client.force_login(liaison_office)
        response = workspace(client, queue="all", registered_from="2026-03-06", registered_to="2026-03-01")
        assert set(response.context["form"].errors) == {"registered_to"}
        assert "before the start date" in response.context["form"].errors["registered_to"][0]
        html = response.content.decode()
        assert 'aria-invalid="true"' in html and "The end date (2026-03-01) is before the start date" in html
        assert sorted(listed(response)) == sorted(codes(spread))  # neither date narrows the list

    def test_a_bad_date_is_an_error_on_its_field_not_an_error_page(self, client, liaison_office, spread):
        client.force_login(liaison_office)
        response = workspace(client, queue="all", registered_from="2026-02-30")
        assert set(response.context["form"].errors) == {"registered_from"}
        assert len(listed(response)) == 4


# --- overdue by unit ------------------------------------------------------------------------


def overdue_rows(response) -> dict[str, tuple[int, str]]:
    return {
        r["unit"]: (r["overdue"], r["oldest"].astimezone(TZ).date().isoformat())
        for r in response.context["rows"]
    }


@pytest.fixture
def late(township_a, township_b, unit_a, unit_b, county_unit):
    return made(
        ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=Status.SIGNED, due_at=NOW - DAY),
        ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=Status.PLANNED, due_at=NOW - 3 * DAY),
        ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=Status.SIGNED, due_at=NOW + DAY),
        # Replied after its due time: no longer overdue at the unit.
        ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=Status.REPLIED, due_at=NOW - 9 * DAY),
        ticket_row(township=township_a, now=NOW, lead_unit=county_unit, due_at=NOW - 2 * HOUR),
        ticket_row(township=township_b, now=NOW, lead_unit=unit_b, due_at=NOW - 5 * DAY),
    )  # fmt: skip


class TestOverdueByUnit:
    def test_the_office_sees_every_unit_of_its_county(self, client, liaison_office, late):
        client.force_login(liaison_office)
        response = client.get(reverse("proposals:overdue_by_unit"))
        assert response.status_code == 200
        assert overdue_rows(response) == {
            "城关镇社会事务办": (2, "2026-03-13"),
            "县民政局": (1, "2026-03-16"),
            "河口镇社会事务办": (1, "2026-03-11"),
        }
        assert [r["unit"] for r in response.context["rows"]][0] == "城关镇社会事务办"  # most overdue first
        html = response.content.decode()
        assert html.count('class="overdue-unit"') == 3
        assert 'id="overdue-total">4<' in html
        assert "overdue by 3 days" in html

    def test_each_number_opens_the_list_of_exactly_those_tickets(self, client, liaison_office, late):
        client.force_login(liaison_office)
        html = client.get(reverse("proposals:overdue_by_unit")).content.decode()
        links = re.findall(r'<a class="overdue-count" href="([^"]+)" data-count="(\d+)"', html)
        assert len(links) == 3
        for url, count in links:
            url = url.replace("&amp;", "&")
            assert "timeliness=overdue" in url and "unit=" in url
            assert len(listed(client.get(url))) == int(count), url

    def test_township_staff_see_their_townships_units(self, client, clerk_a, late):
        client.force_login(clerk_a)
        response = client.get(reverse("proposals:overdue_by_unit"))
        assert overdue_rows(response) == {"城关镇社会事务办": (2, "2026-03-13")}
        url = response.context["rows"][0]["url"]
        assert len(listed(client.get(url))) == 2
        assert 'id="overdue-by-unit"' in workspace(client).content.decode()

    def test_others_are_refused(self, client, rep_a, unit_staff, late):
        for user in (rep_a, unit_staff):
            client.force_login(user)
            assert client.get(reverse("proposals:overdue_by_unit")).status_code == 403
            assert 'id="overdue-by-unit"' not in workspace(client).content.decode()

    def test_nothing_overdue_says_so(self, client, liaison_office, township_a):
        client.force_login(liaison_office)
        assert 'id="no-overdue"' in client.get(reverse("proposals:overdue_by_unit")).content.decode()

    def test_it_costs_the_same_for_10_and_1000_overdue_tickets(
        self, client, liaison_office, township_a, unit_a, county_unit, django_assert_num_queries
    ):
        def overdue(n, unit):
            made(
                *(
                    ticket_row(township=township_a, now=NOW, lead_unit=unit, due_at=NOW - DAY)
                    for _ in range(n)
                )
            )

        overdue(5, unit_a)
        overdue(5, county_unit)
        client.force_login(liaison_office)
        url = reverse("proposals:overdue_by_unit")
        with CaptureQueriesContext(connection) as few:
            response = client.get(url)
        assert {r["overdue"] for r in response.context["rows"]} == {5}
        overdue(495, unit_a)
        overdue(495, county_unit)
        with django_assert_num_queries(len(few.captured_queries)):
            response = client.get(url)
        assert {r["overdue"] for r in response.context["rows"]} == {500}
        assert response.content.decode().count('class="overdue-unit"') == 2


# --- constant cost --------------------------------------------------------------------------


def test_the_filtered_office_list_costs_the_same_for_10_and_1000_tickets(
    client, liaison_office, township_a, unit_a, django_assert_num_queries
):
    def tickets(n, status):
        made(*(ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=status, due_at=NOW - DAY)
               for _ in range(n)))  # fmt: skip

    tickets(8, Status.SIGNED)
    tickets(2, Status.CLOSED)
    client.force_login(liaison_office)
    params = {"queue": "all", "unit": unit_a.pk, "registered_from": "2026-03-01", "timeliness": "overdue"}
    with CaptureQueriesContext(connection) as few:
        response = workspace(client, **params)
    assert len(listed(response)) == 8 == tab_counts(response)["all"]
    tickets(792, Status.SIGNED)
    tickets(198, Status.CLOSED)
    with django_assert_num_queries(len(few.captured_queries)):
        response = workspace(client, **params)
    assert len(listed(response)) == 30 and response.context["page"].paginator.count == 800
    assert tab_counts(response)["all"] == 800


def test_the_reps_tab_costs_the_same_for_10_and_1000_tickets(
    client, rep_a, my_rep, my_contacts, township_a, unit_a, django_assert_num_queries
):
    def to_rate(n):
        made(*(ticket_row(township=township_a, now=NOW, lead_unit=unit_a, status=Status.FORWARDED,
                          representative=my_rep) for _ in range(n)))  # fmt: skip

    home = visit(my_rep, my_contacts, NOW.date() - DAY, recorded_by=rep_a)
    VisitMatter.objects.bulk_create(VisitMatter(visit=home, content=f"事项{i}") for i in range(3))
    to_rate(10)
    client.force_login(rep_a)
    with CaptureQueriesContext(connection) as few:
        response = workspace(client)
    assert len(listed(response)) == 10 and len(response.context["hand_in"]) == 3
    to_rate(990)
    VisitMatter.objects.bulk_create(VisitMatter(visit=home, content=f"更多{i}") for i in range(100))
    with django_assert_num_queries(len(few.captured_queries)):
        response = workspace(client)
    assert len(listed(response)) == 30 and tab_counts(response)["mine"] == 1000 + 103
    assert len(response.context["hand_in"]) == 20 and response.context["hand_in_more"] == 83


# --- the home to-do links here ----------------------------------------------------------------


def home_items(client) -> dict[str, tuple[str, int]]:
    html = client.get(reverse("home")).content.decode()
    found = re.findall(r'href="([^"]+)" data-todo="([a-z_]+)" data-count="(\d+)"', html)
    return {key: (url.replace("&amp;", "&"), int(n)) for url, key, n in found}


@pytest.mark.parametrize("user", ["liaison_office", "clerk_a"])
def test_the_home_to_do_counts_the_overdue_by_unit_page_and_links_it(client, request, user, late):
    client.force_login(request.getfixturevalue(user))
    url, count = home_items(client)["overdue_by_unit"]
    assert url == reverse("proposals:overdue_by_unit")
    page = client.get(url)
    assert count == page.context["total"] == {"liaison_office": 4, "clerk_a": 2}[user]


def test_the_reps_home_to_do_counts_the_matters_to_hand_in_and_opens_the_tab(
    client, rep_a, my_rep, my_contacts
):
    home = visit(my_rep, my_contacts, NOW.date() - DAY, recorded_by=rep_a)
    VisitMatter.objects.create(visit=home, content="屋顶漏雨需要维修")
    VisitMatter.objects.create(visit=home, content="咨询政策", answered_on_spot=True, answer="已解答")
    client.force_login(rep_a)
    url, count = home_items(client)["to_hand_in"]
    assert count == 1
    response = client.get(url)
    assert response.context["current"].key == "mine"
    assert [r["content"] for r in response.context["hand_in"]] == ["屋顶漏雨需要维修"]
    assert 'id="hand-in"' in response.content.decode()

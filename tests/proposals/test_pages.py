"""The signed-in ticket pages: each role's workspace, a ticket's page and its moves, registering
by hand and from the field, editing; and what each page costs in queries."""

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

from liaison.idempotency import new_token
from liaison.roles import Role
from proposals import services
from proposals.models import Attachment, Category, Extension, Rating, Ticket, TicketEvent
from proposals.transitions import Status
from reps.services import MatterInput as VisitMatterInput
from reps.services import visit_record
from studios.models import StudioAssignment
from studios.receptions import MatterInput, VisitorInput, reception_record
from tests.factories import ContactFactory, ContactLinkFactory, StudioFactory, user_with_role
from tests.proposals.pages_helpers import (
    assigned,
    bulk_tickets,
    forwarded,
    fresh,
    png_upload,
    post_move,
    replied,
    signed,
    version,
)

TZ = timezone.get_default_timezone()
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(START, tick=False):
        yield


@pytest.fixture(autouse=True)
def _english(client):
    """Read the pages in the source language, so that the checks hold once translated."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def later(minutes: int = 1):
    """Another moment: with the clock frozen, a change would otherwise not change the version."""
    return time_machine.travel(START + datetime.timedelta(minutes=minutes), tick=False)


@pytest.fixture
def officer(township_a):
    return user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan", name="张敏")


@pytest.fixture
def studio(township_a, officer, my_rep):
    studio = StudioFactory(region=township_a, name="城关镇党代表工作室", liaison_officer=officer)
    StudioAssignment.objects.create(studio=studio, representative=my_rep, start=datetime.date(2024, 1, 1))
    return studio


@pytest.fixture
def ticket_b(make_ticket, clerk_b, township_b):
    return make_ticket(actor=clerk_b, township=township_b, representative=None, title="河口镇的事")


def page(client, name, *args, **params):
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200, response.status_code
    return response


def codes(response) -> set[str]:
    return set(
        re.findall(
            r'class="list-group-item list-group-item-action ticket-row"[^>]*data-code="(\w+)"',
            response.content.decode(),
        )
    )


def queue_counts(response) -> dict[str, int]:
    return {q.key: n for q, n, _capped in response.context["queues"]}


# --- the workspace ---------------------------------------------------------------------------


class TestWorkspace:
    def test_a_township_clerk_sees_the_new_matters_of_their_township_only(
        self, client, ticket, ticket_b, clerk_a, clerk_b
    ):
        client.force_login(clerk_a)
        response = page(client, "proposals:workspace")
        assert response.context["current"].key == "township"
        assert codes(response) == {ticket.tracking_code}
        client.force_login(clerk_b)
        assert codes(page(client, "proposals:workspace")) == {ticket_b.tracking_code}

    def test_an_assigned_ticket_leaves_triage_for_the_unit_inbox(
        self, client, ticket, clerk_a, unit_a, unit_a_staff, unit_staff
    ):
        assigned(ticket, clerk_a, unit_a)
        client.force_login(clerk_a)
        assert queue_counts(page(client, "proposals:workspace"))["township"] == 0
        client.force_login(unit_a_staff)
        response = page(client, "proposals:workspace")
        assert response.context["current"].key == "unit"
        assert codes(response) == {ticket.tracking_code}
        html = response.content.decode()
        assert "城关镇社会事务办" in html and "2026-03-12" in html and 'data-state="on_time"' in html
        client.force_login(unit_staff)  # another unit
        assert codes(page(client, "proposals:workspace", queue="all")) == set()

    def test_the_office_queue_holds_forwarded_matters_and_the_replies_of_county_units(
        self, client, ticket, clerk_a, liaison_office, county_unit, unit_staff, co_unit, co_unit_staff
    ):
        services.ticket_forward_to_county(actor=clerk_a, ticket=fresh(ticket))
        client.force_login(liaison_office)
        assert codes(page(client, "proposals:workspace", queue="office")) == {ticket.tracking_code}
        services.ticket_assign(
            actor=liaison_office, ticket=fresh(ticket), lead_unit=county_unit, co_units=[co_unit]
        )
        assert codes(page(client, "proposals:workspace", queue="office")) == set()
        client.force_login(co_unit_staff)
        response = page(client, "proposals:workspace", queue="unit")
        assert codes(response) == {ticket.tracking_code}
        assert "co-unit opinion to file" in response.content.decode()
        services.co_opinion_file(actor=co_unit_staff, ticket=fresh(ticket), text="同意")
        assert codes(page(client, "proposals:workspace", queue="unit")) == set()
        services.ticket_sign(actor=unit_staff, ticket=fresh(ticket))
        services.ticket_contact(actor=unit_staff, ticket=fresh(ticket), how="电话", contacted_on=START.date())
        services.ticket_plan(actor=unit_staff, ticket=fresh(ticket), plan="修", rep_consulted=True)
        services.ticket_reply(actor=unit_staff, ticket=fresh(ticket), text="已修")
        client.force_login(liaison_office)
        assert codes(page(client, "proposals:workspace", queue="office")) == {ticket.tracking_code}

    def test_an_extension_request_waits_in_the_assigning_office_queue(
        self, client, ticket, clerk_a, unit_a, unit_a_staff
    ):
        t = signed(ticket, clerk_a, unit_a, unit_a_staff)
        client.force_login(clerk_a)
        assert codes(page(client, "proposals:workspace")) == set()
        services.extension_request(
            actor=unit_a_staff, ticket=t, until=datetime.date(2026, 3, 20), reason="需招标"
        )
        assert codes(page(client, "proposals:workspace")) == {ticket.tracking_code}

    def test_the_rep_sees_their_tickets_and_the_replies_to_rate(
        self, client, ticket, ticket_b, clerk_a, unit_a, unit_a_staff, rep_a
    ):
        forwarded(ticket, clerk_a, unit_a, unit_a_staff)
        client.force_login(rep_a)
        response = page(client, "proposals:workspace")
        assert response.context["current"].key == "mine"
        assert codes(response) == {ticket.tracking_code}
        assert "reply to rate" in response.content.decode()
        services.ticket_rate(ticket=fresh(ticket), actor=rep_a, score="satisfied")
        assert "reply to rate" not in page(client, "proposals:workspace").content.decode()

    def test_a_rep_whose_role_is_withdrawn_no_longer_sees_their_tickets(
        self, client, ticket, make_ticket, rep_a, my_rep
    ):
        co_signed = make_ticket(representative=None, title="联名的事")
        co_signed.co_signers.add(my_rep)
        assert set(Ticket.objects.visible_to(rep_a)) == {ticket, co_signed}
        rep_a.roles.filter(role=Role.REPRESENTATIVE).delete()
        former = type(rep_a).objects.get(pk=rep_a.pk)
        assert not Ticket.objects.visible_to(former).exists()

    def test_a_committee_member_sees_the_tickets_of_their_linked_reps(
        self, client, ticket, make_ticket, other_rep, committee_member
    ):
        make_ticket(representative=other_rep, title="别的代表的事")
        client.force_login(committee_member)
        response = page(client, "proposals:workspace")
        assert response.context["current"].key == "linked"
        assert codes(response) == {ticket.tracking_code}
        assert codes(page(client, "proposals:workspace", queue="all")) == {ticket.tracking_code}

    def test_a_studio_officer_sees_their_studios_tickets(self, client, make_ticket, ticket, studio, officer):
        own = make_ticket(studio=studio, title="工作室收到的事")
        client.force_login(officer)
        response = page(client, "proposals:workspace")
        assert response.context["current"].key == "studio"
        assert codes(response) == {own.tracking_code}

    def test_the_filters_narrow_the_list(
        self, client, make_ticket, clerk_a, liaison_office, unit_a, unit_a_staff, township_b, clerk_b
    ):
        road = make_ticket(title="道路破损", category=Category.objects.get(name="城乡建设"))
        light = make_ticket(title="路灯不亮")
        late = assigned(make_ticket(title="排水不畅"), clerk_a, unit_a)
        other = make_ticket(actor=clerk_b, township=township_b, representative=None, title="河口的路")
        client.force_login(liaison_office)
        listed = lambda **p: codes(page(client, "proposals:workspace", queue="all", **p))  # noqa: E731
        assert listed() == {road.tracking_code, light.tracking_code, late.tracking_code, other.tracking_code}
        assert listed(q="排水") == {late.tracking_code}
        assert listed(q=light.display_code[:6].lower()) == {light.tracking_code}
        assert listed(status="assigned") == {late.tracking_code}
        assert listed(category=road.category_id) == {road.tracking_code}
        assert listed(township=township_b.pk) == {other.tracking_code}
        assert listed(timeliness="overdue") == set()
        assert listed(timeliness="on_time") == {late.tracking_code}
        with time_machine.travel(START + datetime.timedelta(days=8), tick=False):
            client.force_login(liaison_office)  # sessions do not last for days
            assert listed(timeliness="due_soon") == {late.tracking_code}
        with time_machine.travel(START + datetime.timedelta(days=12), tick=False):
            client.force_login(liaison_office)
            response = page(client, "proposals:workspace", queue="all", timeliness="overdue")
            assert codes(response) == {late.tracking_code}
            assert "overdue by 1 day" in response.content.decode()
        client.force_login(liaison_office)
        assert listed(status="nonsense") == listed()  # a bad filter is ignored, not an error

    def test_the_list_is_sorted_by_due_time_and_paginated(
        self, client, ticket, clerk_a, unit_a, liaison_office
    ):
        soon = assigned(ticket, clerk_a, unit_a)
        bulk_tickets(35, template=soon)
        client.force_login(liaison_office)
        response = page(client, "proposals:workspace", queue="all")
        rows = list(response.context["page"])
        assert len(rows) == 30 and rows[0].pk == soon.pk
        assert response.context["page"].paginator.count == 36
        second = page(client, "proposals:workspace", queue="all", page=2)
        assert len(list(second.context["page"])) == 6

    def test_the_counters_count_every_queue_of_the_user(self, client, make_ticket, clerk_a, rep_a):
        make_ticket()
        make_ticket()
        client.force_login(rep_a)
        # Nothing waits for the rep's rating or hand-in: their tab is empty, "all" has both.
        assert queue_counts(page(client, "proposals:workspace")) == {"mine": 0, "all": 2}

    def test_a_queue_the_user_does_not_have_is_not_found(self, client, clerk_a):
        client.force_login(clerk_a)
        assert client.get(reverse("proposals:workspace"), {"queue": "unit"}).status_code == 404

    def test_someone_without_a_role_is_refused(self, client, db):
        from tests.factories import UserFactory

        client.force_login(UserFactory())
        assert client.get(reverse("proposals:workspace")).status_code == 403

    def test_the_tickets_link_is_in_the_navigation_of_every_ticket_role(
        self, client, clerk_a, unit_staff, rep_a, committee_member, officer
    ):
        for user in (clerk_a, unit_staff, rep_a, committee_member, officer):
            client.force_login(user)
            items = {i["url_name"] for i in page(client, "home").context["nav_items"]}
            assert "proposals:workspace" in items, user


QUEUE_CASES = {
    "township": ("clerk_a", {}),
    "office": ("liaison_office", {"status": Status.AT_COUNTY}),
    "unit": ("unit_a_staff", {"status": Status.SIGNED, "unit": "unit_a"}),
    "mine": ("rep_a", {"status": Status.FORWARDED}),
    "linked": ("committee_member", {}),
    "studio": ("officer", {}),
    "all": ("liaison_office", {}),
}


@pytest.mark.parametrize("queue", list(QUEUE_CASES))
def test_each_queue_runs_the_same_queries_for_10_and_1000_tickets(
    client, ticket, queue, request, studio, django_assert_num_queries
):
    persona, options = QUEUE_CASES[queue]
    user = request.getfixturevalue(persona)
    request.getfixturevalue("committee_member")
    options = dict(options)
    if "unit" in options:
        options["unit"] = request.getfixturevalue(options["unit"])
    Ticket.objects.filter(pk=ticket.pk).update(studio=studio)
    template = Ticket.objects.get(pk=ticket.pk)
    bulk_tickets(9, template=template, **options)
    client.force_login(user)
    url = reverse("proposals:workspace")
    params = {"queue": queue}
    with CaptureQueriesContext(connection) as few:
        response = client.get(url, params)
    assert response.status_code == 200
    # The office's and the unit's queues hold only the 9 made in their status, not the first ticket.
    few_tickets = 9 if "status" in options else 10
    assert len(codes(response)) == queue_counts(response)[queue] == few_tickets  # every row rendered
    bulk_tickets(990, template=template, **options)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url, params)
    assert queue_counts(response)[queue] == few_tickets + 990
    assert len(codes(response)) == len(list(response.context["page"])) == 30  # a full page, rendered


def test_the_office_workspace_runs_the_same_queries_for_10_and_10000_tickets(
    client, ticket, liaison_office, django_assert_num_queries
):
    """Past ``COUNT_CAP`` a tab says "1000+" and the pages are counted up to a cap: no query
    counts (or reads) every ticket the office may see."""
    template = Ticket.objects.get(pk=ticket.pk)
    bulk_tickets(9, template=template, status=Status.AT_COUNTY)
    client.force_login(liaison_office)
    url = reverse("proposals:workspace")
    with CaptureQueriesContext(connection) as few:
        response = client.get(url, {"queue": "office"})
    assert len(codes(response)) == queue_counts(response)["office"] == 9  # every row rendered
    bulk_tickets(9_991, template=template, status=Status.AT_COUNTY)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url, {"queue": "office"})
    assert len(codes(response)) == len(list(response.context["page"])) == 30  # a full page, rendered
    tabs = {q.key: (n, capped) for q, n, capped in response.context["queues"]}
    assert tabs["office"] == (1000, True) and tabs["all"] == (1000, True)
    html = response.content.decode()
    assert re.search(r'data-queue="office".*?queue-count">1000\+</span>', html, re.S)
    assert "1000+" in html.split('id="queue-tabs"')[1].split("</ul>")[0]
    assert response.context["page"].paginator.capped is False  # 10,000 rows: within the cap


# --- a ticket's page -------------------------------------------------------------------------


def detail(client, ticket, status=200):
    response = client.get(reverse("proposals:detail", args=[ticket.pk]))
    assert response.status_code == status
    return response


def move_forms(response) -> set[str]:
    return set(re.findall(r"move-form move-(\w+)", response.content.decode()))


class TestTicketPage:
    def test_it_shows_the_matter_the_people_the_units_the_deadline_and_the_timeline(
        self, client, ticket, clerk_a, unit_a, unit_a_staff
    ):
        services.attach_files(ticket, [_clean_png()], purpose="matter")
        signed(ticket, clerk_a, unit_a, unit_a_staff)
        client.force_login(unit_a_staff)
        html = detail(client, ticket).content.decode()
        assert "13812345678" not in html  # masked: the full number only through the audited reveal
        for expected in ("村口路灯不亮", "东街社区村口三盏路灯坏了一个月", "张大爷", "138****5678", "城关镇社会事务办",
                         "2026-03-12", "on time, 10 days left", 'id="timeline"', 'id="attachments"', "photo.png"):  # fmt: skip
            assert expected in html, expected
        attachment = Attachment.objects.get()
        assert reverse("proposals:attachment", args=[attachment.pk]) in html
        timeline = html[html.index('id="timeline"') :]
        assert (
            timeline.index('data-move="register"')
            < timeline.index('data-move="assign"')
            < timeline.index('data-move="sign"')
        )
        assert "registered, awaiting triage → assigned, awaiting signature" in timeline
        assert "周强" in timeline  # the actor's name, with their unit
        assert move_forms(detail(client, ticket)) == {"contact", "request_extension"}

    def test_the_proposers_are_hidden_from_those_who_only_follow_the_ticket(
        self, client, make_ticket, studio, committee_member, officer, rep_a, clerk_a
    ):
        ticket = make_ticket(studio=studio)
        for user, sees in ((committee_member, False), (officer, False), (rep_a, True), (clerk_a, True)):
            client.force_login(user)
            html = detail(client, ticket).content.decode()
            assert ("138****5678" in html) is sees and ("张大爷" in html) is sees, user
            assert "13812345678" not in html

    def test_the_unknown_holiday_year_warning_is_for_staff(
        self, client, ticket, clerk_a, unit_a, unit_a_staff
    ):
        assigned(ticket, clerk_a, unit_a)
        Ticket.objects.filter(pk=ticket.pk).update(due_year_unknown=True)
        client.force_login(clerk_a)
        assert 'id="due-year-unknown"' in detail(client, ticket).content.decode()
        client.force_login(unit_a_staff)
        assert 'id="due-year-unknown"' not in detail(client, ticket).content.decode()

    def test_each_party_is_offered_the_moves_it_may_make_now(
        self, client, ticket, clerk_a, liaison_office, unit_a, unit_a_staff, rep_a, committee_member
    ):
        client.force_login(clerk_a)
        assert move_forms(detail(client, ticket)) == {
            "assign",
            "forward_to_county",
            "answer_on_spot",
            "explain",
            "merge",
            "set_rep",
        }
        client.force_login(rep_a)
        assert move_forms(detail(client, ticket)) == set()
        assigned(ticket, clerk_a, unit_a)
        client.force_login(unit_a_staff)
        assert move_forms(detail(client, ticket)) == {"sign", "return", "request_extension"}
        client.force_login(committee_member)
        assert 'id="no-moves"' in detail(client, ticket).content.decode()

    def test_the_page_costs_the_same_queries_however_long_the_ticket_history(
        self, client, make_ticket, liaison_office, county_unit, co_unit, co_unit_staff, unit_staff, clerk_a,
        django_assert_num_queries,
    ):  # fmt: skip
        short, long = make_ticket(), make_ticket(title="历史很长")
        for t in (short, long):
            services.ticket_forward_to_county(actor=clerk_a, ticket=fresh(t))
            services.ticket_assign(
                actor=liaison_office, ticket=fresh(t), lead_unit=county_unit, co_units=[co_unit]
            )
        services.co_opinion_file(actor=co_unit_staff, ticket=fresh(long), text="意见")
        services.ticket_sign(actor=unit_staff, ticket=fresh(long))
        services.extension_request(
            actor=unit_staff, ticket=fresh(long), until=datetime.date(2026, 3, 20), reason="需要"
        )
        services.attach_files(long, [_clean_png(), _clean_png()], purpose="matter")
        for i in range(5):
            services.ticket_edit(actor=liaison_office, ticket=fresh(long), title=f"历史很长{i}")
        client.force_login(liaison_office)
        with CaptureQueriesContext(connection) as few:
            detail(client, short)
        with django_assert_num_queries(len(few.captured_queries)):
            response = detail(client, long)
        assert "decide_extension" in move_forms(response)


def _clean_png():
    from proposals.files import clean_attachment

    return clean_attachment(png_upload())


# --- moves -----------------------------------------------------------------------------------


def events(ticket) -> int:
    return TicketEvent.objects.filter(ticket=ticket).count()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


class TestMoves:
    def test_a_ticket_goes_through_its_life_on_the_pages(
        self, client, ticket, clerk_a, unit_a, unit_a_staff, rep_a, liaison_office
    ):
        client.force_login(clerk_a)
        response = post_move(client, ticket, "assign", lead_unit=unit_a.pk, note="请尽快处理")
        assert response.status_code == 302 and response.url == reverse("proposals:detail", args=[ticket.pk])
        assert fresh(ticket).status == Status.ASSIGNED
        client.force_login(unit_a_staff)
        assert post_move(client, ticket, "sign").status_code == 302
        post_move(
            client, ticket, "contact", how="电话联系代表和张大爷", contacted_on="2026-03-02", note="了解情况"
        )
        post_move(client, ticket, "plan", plan="更换灯具", rep_consulted="on")
        response = client.post(
            reverse("proposals:act", args=[ticket.pk, "reply"]),
            {"reply-version": version(ticket), "reply-text": "已更换", "reply-summary": "路灯已修复",
             "reply-files": [png_upload("答复.png")]},
        )  # fmt: skip
        assert response.status_code == 302
        t = fresh(ticket)
        assert t.status == Status.REPLIED and t.reply == "已更换"
        assert Attachment.objects.get(ticket=t, purpose="reply").name == "答复.png"
        client.force_login(clerk_a)
        post_move(client, ticket, "forward", summary="路灯已全部修复")
        assert fresh(ticket).reply_summary == "路灯已全部修复"
        client.force_login(rep_a)
        assert move_forms(detail(client, ticket)) == {"rate"}
        post_move(client, ticket, "rate", score="satisfied", comment="很快")
        assert Rating.objects.get().score == "satisfied" and "rate" not in move_forms(detail(client, ticket))
        client.force_login(clerk_a)
        post_move(client, ticket, "conclude", confirmed="on")
        assert fresh(ticket).status == Status.CLOSED
        post_move(client, ticket, "archive", confirmed="on")
        assert fresh(ticket).status == Status.ARCHIVED
        moves = list(TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("move", flat=True))
        assert moves == ["register", "assign", "sign", "contact", "plan", "reply", "forward", "rate", "conclude",
                         "archive"]  # fmt: skip
        html = detail(client, ticket).content.decode()
        assert "电话联系代表和张大爷" in html and "很快" in html

    def test_a_missing_note_is_refused_and_what_was_typed_is_kept(
        self, client, ticket, clerk_a, unit_a, unit_a_staff
    ):
        assigned(ticket, clerk_a, unit_a)
        client.force_login(unit_a_staff)
        before = events(ticket)
        response = post_move(client, ticket, "return", reason="  ", confirmed="on")
        assert response.status_code == 200 and fresh(ticket).status == Status.ASSIGNED
        assert "This field is required" in response.content.decode() and events(ticket) == before
        services.ticket_sign(actor=unit_a_staff, ticket=fresh(ticket))
        services.ticket_contact(
            actor=unit_a_staff, ticket=fresh(ticket), how="电话", contacted_on=START.date()
        )
        before = events(ticket)
        response = post_move(client, ticket, "plan", plan="先修东边两盏灯")  # the rep was not consulted
        html = response.content.decode()
        assert response.status_code == 200 and "先修东边两盏灯" in html
        assert "Consult the representative on the plan first." in html
        assert events(ticket) == before and fresh(ticket).status == Status.CONTACTED

    def test_a_stale_page_loses_with_a_message_and_keeps_the_text(
        self, client, ticket, clerk_a, unit_a, unit_a_staff
    ):
        signed(ticket, clerk_a, unit_a, unit_a_staff)
        seen = version(ticket)
        with later():
            services.ticket_edit(actor=clerk_a, ticket=fresh(ticket), title="村口路灯不亮（更正）")
        client.force_login(unit_a_staff)
        before = events(ticket)
        response = post_move(client, ticket, "contact", stale=seen, how="上门走访", contacted_on="2026-03-02")
        assert response.status_code == 409
        assert any("Someone else acted on this ticket" in m for m in messages_of(response))
        html = response.content.decode()
        assert "上门走访" in html and "村口路灯不亮（更正）" in html
        assert events(ticket) == before and fresh(ticket).status == Status.SIGNED
        # The form shown again carries the new version: sending it once more goes through.
        sent_again = re.search(r'name="contact-version" value="([^"]+)"', html).group(1)
        assert sent_again == version(ticket)
        assert (
            post_move(
                client, ticket, "contact", stale=sent_again, how="上门走访", contacted_on="2026-03-02"
            ).status_code
            == 302
        )
        assert fresh(ticket).status == Status.CONTACTED

    def test_a_move_no_longer_possible_says_so_and_changes_nothing(
        self, client, ticket, clerk_a, unit_a, unit_a_staff
    ):
        signed(ticket, clerk_a, unit_a, unit_a_staff)
        client.force_login(unit_a_staff)
        before = events(ticket)
        response = post_move(client, ticket, "return", reason="不归我们管", confirmed="on")
        assert response.status_code == 409
        assert any("is not possible while the ticket is" in m for m in messages_of(response))
        assert "不归我们管" in response.content.decode()  # shown back, not lost
        assert events(ticket) == before and fresh(ticket).status == Status.SIGNED

    def test_a_move_that_is_never_the_users_is_forbidden(self, client, ticket, rep_a, unit_a):
        client.force_login(rep_a)
        assert post_move(client, ticket, "assign", lead_unit=unit_a.pk).status_code == 403
        assert fresh(ticket).status == Status.REGISTERED and events(ticket) == 1

    def test_an_unknown_move_is_not_found_and_get_is_not_allowed(self, client, ticket, clerk_a):
        client.force_login(clerk_a)
        assert client.post(reverse("proposals:act", args=[ticket.pk, "teleport"])).status_code == 404
        assert client.get(reverse("proposals:act", args=[ticket.pk, "assign"])).status_code == 405

    def test_what_cannot_be_undone_asks_for_confirmation(self, client, ticket, clerk_a):
        client.force_login(clerk_a)
        response = post_move(client, ticket, "explain", note="已有规划，明年统一改造")
        assert response.status_code == 200 and fresh(ticket).status == Status.REGISTERED
        assert "已有规划，明年统一改造" in response.content.decode()
        post_move(client, ticket, "explain", note="已有规划，明年统一改造", confirmed="on")
        t = fresh(ticket)
        assert t.status == Status.CLOSED and t.resolution == "explained"

    def test_a_duplicate_is_merged_by_the_code_of_the_other_ticket(
        self, client, ticket, make_ticket, clerk_a, ticket_b
    ):
        duplicate = make_ticket(title="路灯又坏了")
        client.force_login(clerk_a)
        response = post_move(client, duplicate, "merge", into=ticket_b.display_code, confirmed="on")
        assert "No ticket you can see has this code or number." in response.content.decode()
        post_move(client, duplicate, "merge", into=ticket.display_code.lower(), confirmed="on")
        t = fresh(duplicate)
        assert t.status == Status.CLOSED and t.merged_into_id == ticket.pk

    def test_an_extension_is_asked_for_and_decided(self, client, ticket, clerk_a, unit_a, unit_a_staff):
        signed(ticket, clerk_a, unit_a, unit_a_staff)
        client.force_login(unit_a_staff)
        post_move(client, ticket, "request_extension", until="2026-04-30", reason="需要招标采购")
        assert "request_extension" not in move_forms(detail(client, ticket))  # one request at a time
        client.force_login(clerk_a)
        assert "decide_extension" in move_forms(detail(client, ticket))
        post_move(client, ticket, "decide_extension", decision="approve")
        extension = Extension.objects.get()
        assert extension.decision == "approved"
        t = fresh(ticket)
        assert timezone.localtime(t.due_at).date() == datetime.date(2026, 4, 2)  # capped at one month
        html = detail(client, ticket).content.decode()
        assert "需要招标采购" in html and "granted until 2026-04-02" in html

    def test_the_lead_replies_once_the_co_unit_has_given_its_opinion(
        self, client, ticket, clerk_a, liaison_office, county_unit, co_unit, co_unit_staff, unit_staff
    ):
        services.ticket_forward_to_county(actor=clerk_a, ticket=fresh(ticket))
        client.force_login(liaison_office)
        post_move(client, ticket, "assign", lead_unit=county_unit.pk, co_units=[co_unit.pk])
        assert fresh(ticket).status == Status.ASSIGNED
        services.ticket_sign(actor=unit_staff, ticket=fresh(ticket))
        services.ticket_contact(actor=unit_staff, ticket=fresh(ticket), how="电话", contacted_on=START.date())
        services.ticket_plan(actor=unit_staff, ticket=fresh(ticket), plan="修", rep_consulted=True)
        client.force_login(unit_staff)
        response = post_move(client, ticket, "reply", text="已修复路灯")
        assert "Waiting for the opinion of: 县交通运输局" in response.content.decode()
        assert "已修复路灯" in response.content.decode() and fresh(ticket).status == Status.PLANNED
        client.force_login(co_unit_staff)
        post_move(client, ticket, "co_opinion", text="配合更换线路")
        assert "co_opinion" not in move_forms(detail(client, ticket))
        client.force_login(unit_staff)
        post_move(client, ticket, "reply", text="已修复路灯")
        assert fresh(ticket).status == Status.REPLIED

    def test_two_co_units_file_their_opinions_from_pages_loaded_side_by_side(
        self, client, ticket, clerk_a, liaison_office, county_unit, co_unit, co_unit_staff
    ):
        from tests.factories import HandlingUnitFactory

        second = HandlingUnitFactory(name="县住建局", region=county_unit.region)
        second_staff = user_with_role(Role.HANDLING_UNIT, unit=second, username="zhujian", name="吴敏")
        services.ticket_forward_to_county(actor=clerk_a, ticket=fresh(ticket))
        services.ticket_assign(
            actor=liaison_office, ticket=fresh(ticket), lead_unit=county_unit, co_units=[co_unit, second]
        )
        seen = version(ticket)
        for i, staff in enumerate((co_unit_staff, second_staff)):
            client.force_login(staff)
            with later(i + 1):
                response = post_move(client, ticket, "co_opinion", stale=seen, text=f"意见{i}")
            assert response.status_code == 302, staff
        assert TicketEvent.objects.filter(ticket=ticket, move="co_opinion").count() == 2

    def test_a_dissatisfied_reply_is_reworked_rehandled_or_closed(
        self, client, make_ticket, clerk_a, unit_a, unit_a_staff, rep_a
    ):
        first = replied(make_ticket(proposers=[]), clerk_a, unit_a, unit_a_staff)
        client.force_login(clerk_a)
        post_move(client, first, "rework", note="答复不完整")
        assert fresh(first).status == Status.PLANNED
        services.ticket_reply(actor=unit_a_staff, ticket=fresh(first), text="补充答复")
        post_move(client, first, "forward")
        client.force_login(rep_a)
        post_move(client, first, "rate", score="dissatisfied", comment="没修好")
        assert fresh(first).status == Status.DISSATISFIED
        client.force_login(clerk_a)
        post_move(client, first, "rehandle", note="重新办理")
        t = fresh(first)
        assert t.status == Status.SIGNED and t.round == 2
        second = forwarded(make_ticket(proposers=[]), clerk_a, unit_a, unit_a_staff)
        client.force_login(rep_a)
        post_move(client, second, "rate", score="dissatisfied")
        client.force_login(clerk_a)
        post_move(client, second, "close", note="已向代表解释资金安排", confirmed="on")
        assert fresh(second).resolution == "explained_after"

    def test_a_unit_that_returns_the_ticket_goes_back_to_its_workspace(
        self, client, ticket, clerk_a, unit_a, unit_a_staff
    ):
        assigned(ticket, clerk_a, unit_a)
        client.force_login(unit_a_staff)
        response = post_move(client, ticket, "return", reason="属于县级部门职责", confirmed="on")
        assert response.url == reverse("proposals:workspace")
        assert fresh(ticket).status == Status.REGISTERED
        detail(client, ticket, status=404)


# --- registering -----------------------------------------------------------------------------


def ticket_post(**fields) -> dict:
    data = {
        "kind": "suggestion",
        "source": "phone",
        "title": "菜市场噪音扰民",
        "content": "早上四点开始卸货",
        "category": Category.objects.get(name="生态环境").pk if Category.objects.filter(name="生态环境").exists()
        else Category.objects.first().pk,
        "place": "东街菜市场",
        "proposers-TOTAL_FORMS": "1",
        "proposers-INITIAL_FORMS": "0",
        "proposers-MIN_NUM_FORMS": "0",
        "proposers-MAX_NUM_FORMS": "20",
        "proposers-0-name": "李阿姨",
        "proposers-0-phone": "138 1234 0000",
        "token": new_token(),
    }  # fmt: skip
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


class TestRegistering:
    def test_a_clerk_registers_a_phone_call_with_a_proposer_and_a_photo(
        self, client, clerk_a, township_a, my_rep
    ):
        client.force_login(clerk_a)
        form = page(client, "proposals:create")
        assert form.context["form"].initial["township"] == township_a.pk
        response = client.post(
            reverse("proposals:create"),
            ticket_post(township=township_a.pk, representative=my_rep.pk, files=[png_upload()]),
        )
        ticket = Ticket.objects.get()
        assert response.url == reverse("proposals:detail", args=[ticket.pk])
        assert (ticket.source, ticket.representative, ticket.township) == ("phone", my_rep, township_a)
        assert list(ticket.proposers.values_list("name", "phone")) == [("李阿姨", "13812340000")]
        assert ticket.attachments.get().content_type == "image/png"

    def test_a_bad_phone_is_refused_and_nothing_is_saved(self, client, clerk_a, township_a):
        client.force_login(clerk_a)
        response = client.post(
            reverse("proposals:create"), ticket_post(township=township_a.pk, **{"proposers-0-phone": "12345"})
        )
        assert response.status_code == 200 and Ticket.objects.count() == 0
        assert [set(f.errors) for f in response.context["proposers"].forms] == [{"phone"}]
        html = response.content.decode()
        assert "菜市场噪音扰民" in html and "Enter a mainland mobile number" in html

    def test_a_township_of_another_clerk_is_not_a_choice(self, client, clerk_a, township_b):
        client.force_login(clerk_a)
        response = client.post(reverse("proposals:create"), ticket_post(township=township_b.pk))
        assert response.status_code == 200 and Ticket.objects.count() == 0
        assert set(response.context["form"].errors) == {"township"}

    def test_a_rep_registers_what_they_collected_as_its_representative(
        self, client, rep_a, my_rep, township_a
    ):
        client.force_login(rep_a)
        form = page(client, "proposals:create").context["form"]
        assert "representative" not in form.fields
        client.post(reverse("proposals:create"), ticket_post(township=township_a.pk, source="meeting"))
        assert Ticket.objects.get().representative == my_rep

    def test_a_formal_motion_needs_a_representative(self, client, clerk_a, township_a):
        client.force_login(clerk_a)
        response = client.post(
            reverse("proposals:create"), ticket_post(township=township_a.pk, kind="motion")
        )
        assert "A formal motion is made by a representative." in response.content.decode()
        assert set(response.context["form"].errors) == {"representative"}
        assert Ticket.objects.count() == 0

    def test_a_motion_is_co_signed_by_other_reps(self, client, rep_a, my_rep, other_rep, township_a):
        client.force_login(rep_a)
        client.post(
            reverse("proposals:create"),
            ticket_post(township=township_a.pk, kind="motion", co_signers=[other_rep.pk]),
        )
        assert list(Ticket.objects.get().co_signers.all()) == [other_rep]

    def test_a_studio_officer_registers_for_their_studio(self, client, officer, studio, township_a):
        client.force_login(officer)
        response = client.post(reverse("proposals:create"), ticket_post(township=township_a.pk))
        assert response.status_code == 200 and Ticket.objects.count() == 0
        assert set(response.context["form"].errors) == {"studio"}
        client.post(reverse("proposals:create"), ticket_post(township=township_a.pk, studio=studio.pk))
        assert Ticket.objects.get().studio == studio

    def test_a_handling_unit_or_a_committee_member_does_not_register(
        self, client, unit_staff, committee_member
    ):
        for user in (unit_staff, committee_member):
            client.force_login(user)
            assert client.get(reverse("proposals:create")).status_code == 403


@pytest.fixture
def reception(officer, studio, my_rep):
    return reception_record(
        actor=officer,
        studio=studio,
        kind="regular",
        starts_at=START - datetime.timedelta(hours=1),
        place="工作室",
        representatives=[my_rep],
        people_received=2,
        visitors=[VisitorInput(name="王大妈", phone="13900001111")],
        matters=[
            MatterInput(content="小区道路坑洼\n雨天积水严重", for_ticket=True),
            MatterInput(content="咨询医保政策", answered_on_spot=True, answer="已解答"),
        ],
    )


class TestFromTheField:
    def test_a_reception_matter_becomes_a_prefilled_ticket_linked_back(
        self, client, officer, reception, studio, my_rep
    ):
        matter, answered = reception.matters.order_by("id")
        client.force_login(officer)
        reception_page = page(client, "studios:reception", reception.pk).content.decode()
        url = reverse("proposals:from_reception_matter", args=[matter.pk])
        assert url in reception_page
        assert reverse("proposals:from_reception_matter", args=[answered.pk]) not in reception_page
        response = page(client, "proposals:from_reception_matter", matter.pk)
        form = response.context["form"]
        assert (
            form.initial["content"] == "小区道路坑洼\n雨天积水严重"
            and form.initial["title"] == "小区道路坑洼"
        )
        assert (form.initial["studio"], form.initial["source"]) == (studio.pk, "reception")
        assert response.context["proposers"].initial == [{"name": "王大妈", "phone": "13900001111"}]
        data = ticket_post(
            source="reception",
            township=reception.township_id,
            studio=studio.pk,
            title="小区道路坑洼",
            **{"proposers-0-name": "王大妈", "proposers-0-phone": "13900001111"},
        )
        response = client.post(url, data)
        ticket = Ticket.objects.get()
        assert ticket.reception_matter == matter and response.url == reverse(
            "proposals:detail", args=[ticket.pk]
        )
        assert client.get(url).url == reverse("proposals:detail", args=[ticket.pk])  # once only
        reception_page = page(client, "studios:reception", reception.pk).content.decode()
        assert ticket.display_code in reception_page and url not in reception_page

    def test_a_matter_answered_on_the_spot_needs_no_ticket(self, client, officer, reception):
        answered = reception.matters.get(answered_on_spot=True)
        client.force_login(officer)
        response = client.get(reverse("proposals:from_reception_matter", args=[answered.pk]))
        assert response.url == reverse("studios:reception", args=[reception.pk])

    def test_a_visit_matter_becomes_a_ticket_from_the_reps_page(
        self, client, rep_a, my_rep, village_a, township_a
    ):
        contact = ContactFactory(village=village_a, name="刘大爷", phone="13700002222", address="东街12号")
        ContactLinkFactory(representative=my_rep, contact=contact)
        visit_record(
            actor=rep_a,
            representative=my_rep,
            date=START.date(),
            kind="visit",
            contacts=[contact],
            matters=[VisitMatterInput(content="屋顶漏雨需要维修", for_ticket=True)],
        )
        matter = my_rep.visits.get().matters.get()
        client.force_login(rep_a)
        me = page(client, "reps:me").content.decode()
        url = reverse("proposals:from_visit_matter", args=[matter.pk])
        assert url in me
        response = page(client, "proposals:from_visit_matter", matter.pk)
        assert response.context["form"].initial["place"] == "东街12号"
        assert response.context["proposers"].initial == [{"name": "刘大爷", "phone": "13700002222"}]
        client.post(url, ticket_post(source="visit", township=township_a.pk, title="屋顶漏雨"))
        ticket = Ticket.objects.get()
        assert ticket.visit_matter == matter and ticket.representative == my_rep
        me = page(client, "reps:me").content.decode()
        assert ticket.display_code in me and url not in me

    def test_someone_who_cannot_see_the_record_cannot_turn_it_into_a_ticket(self, client, reception, clerk_b):
        client.force_login(clerk_b)
        matter = reception.matters.get(for_ticket=True)
        assert client.get(reverse("proposals:from_reception_matter", args=[matter.pk])).status_code == 404


# --- editing ---------------------------------------------------------------------------------


class TestEditing:
    def test_staff_correct_the_details_and_the_timeline_says_what_changed(self, client, ticket, clerk_a):
        client.force_login(clerk_a)
        form = page(client, "proposals:edit", ticket.pk).context["form"]
        data = {**{k: v for k, v in form.initial.items() if v is not None}, "title": "村口路灯全部不亮"}
        data["category"] = ticket.category_id
        data["is_public_interest"] = "on"
        response = client.post(reverse("proposals:edit", args=[ticket.pk]), data)
        assert response.url == reverse("proposals:detail", args=[ticket.pk])
        t = fresh(ticket)
        assert t.title == "村口路灯全部不亮" and t.is_public_interest
        html = detail(client, ticket).content.decode()
        assert "村口路灯不亮 → 村口路灯全部不亮" in html

    def test_a_stale_edit_page_is_refused_and_keeps_the_text(self, client, ticket, clerk_a, liaison_office):
        client.force_login(clerk_a)
        data = dict(page(client, "proposals:edit", ticket.pk).context["form"].initial)
        data.update(category=ticket.category_id, title="我的更正")
        with later():
            services.ticket_edit(actor=liaison_office, ticket=fresh(ticket), place="东街")
        response = client.post(reverse("proposals:edit", args=[ticket.pk]), data)
        assert response.status_code == 409 and "我的更正" in response.content.decode()
        assert fresh(ticket).title == "村口路灯不亮"

    def test_a_unit_or_a_rep_may_not_edit(self, client, ticket, clerk_a, unit_a, unit_a_staff, rep_a):
        assigned(ticket, clerk_a, unit_a)
        for user in (unit_a_staff, rep_a):
            client.force_login(user)
            assert client.get(reverse("proposals:edit", args=[ticket.pk])).status_code == 403

    def test_a_closed_ticket_is_no_longer_edited(self, client, ticket, clerk_a):
        services.ticket_answer_on_spot(actor=clerk_a, ticket=fresh(ticket), note="当场解答")
        client.force_login(clerk_a)
        response = client.get(reverse("proposals:edit", args=[ticket.pk]))
        assert response.url == reverse("proposals:detail", args=[ticket.pk])


# --- as a person sees it ---------------------------------------------------------------------


def test_the_pages_carry_the_stable_hooks_and_no_wide_tables(client, ticket, clerk_a, unit_a, tmp_path):
    """Render the workspace and a ticket page (kept in tmp_path to look at) and check the ids the
    browser tests rely on, and that nothing forces a phone screen to scroll sideways."""
    services.attach_files(ticket, [_clean_png()], purpose="matter")
    client.force_login(clerk_a)
    workspace = page(client, "proposals:workspace").content.decode()
    ticket_page = detail(client, ticket).content.decode()
    (tmp_path / "workspace.html").write_text(workspace)
    (tmp_path / "detail.html").write_text(ticket_page)
    for hook in ('id="queue-tabs"', 'id="tickets"', "ticket-row"):
        assert hook in workspace, hook
    for hook in ('id="timeline"', 'id="attachments"', "move-form move-assign", "move-form move-explain"):
        assert hook in ticket_page, hook
    for html in (workspace, ticket_page):
        assert "<table" not in html or "table-responsive" in html
        assert not re.search(r"width:\s*\d{3,}px", html)


def test_every_move_form_has_its_place_on_the_page():
    from proposals.forms import MOVE_FORMS
    from proposals.transitions import MOVES
    from proposals.views import ACTIONS, FORM_ORDER

    assert sorted(FORM_ORDER) == sorted(MOVE_FORMS) == sorted(ACTIONS)
    # editing, correcting the published summary and recording an adoption have pages of their own
    assert set(MOVES) - set(MOVE_FORMS) == {"edit", "correct_summary", "adopt"}


def test_the_many_options_select_writes_what_djangos_select_writes(db, county, township_a, township_b):
    """The workspace's township and unit filters, written in one pass, carry the same options,
    the same choice and escaped names."""
    from django import forms

    from liaison.models import HandlingUnit, Region
    from proposals.forms import ManyOptionsSelect

    HandlingUnit.objects.create(name='<b>"局"</b>', region=county)
    options = re.compile(r'<option value="([^"]*)"( selected)?>([^<]*)</option>')
    for queryset, chosen in (
        (Region.objects.filter(pk__in=[township_a.pk, township_b.pk]), township_b.pk),
        (HandlingUnit.objects.all(), None),
    ):
        field = forms.ModelChoiceField(queryset=queryset.order_by("pk"), required=False, empty_label="全部")
        fast = ManyOptionsSelect()
        fast.choices = field.choices
        plain = forms.Select()
        plain.choices = field.choices
        ours, django = fast.render("f", chosen, {"id": "id_f"}), plain.render("f", chosen, {"id": "id_f"})
        assert options.findall(ours) == options.findall(django) and len(options.findall(ours)) >= 2
        assert ours.startswith('<select name="f" id="id_f">') or ours.startswith(
            '<select id="id_f" name="f">'
        )
    assert "&lt;b&gt;&quot;局&quot;&lt;/b&gt;" in ours and "<b>" not in ours

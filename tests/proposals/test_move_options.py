"""One answer to "what may this user do to this ticket now": ``services.ticket_moves``.

The ticket page renders its forms from it, and the act view refuses from it, so the page must
offer exactly the moves the services accept. Proved here in two ways:

- for every status on both routes (plus states that trip each precondition) and every persona,
  the page offers exactly the moves of the hand-written matrix (``test_transitions.EXPECTED``)
  less the hand-written precondition refusals of that state, shown greyed with their reason
  (all but "no extension request to decide", the usual state);
  every move it offers succeeds when posted with valid data (one event, that move), and every
  move of ``MOVE_FORMS`` it does not offer is refused when posted (no event; 404 when the user
  cannot see the ticket, 403 when the move is never theirs, 409 with the reason otherwise).
  Every persona posts every move possible from the status; the moves impossible from it (which
  ``check`` refuses alike for everyone) are shared out among the personas and posted once per
  status, to keep this fast;
- each precondition on its own: its exact reason, from ``ticket_moves`` and from the service.

One ticket is walked per case; each post runs in a savepoint that is rolled back.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from liaison.roles import Role
from proposals import services, views
from proposals.forms import MOVE_FORMS
from proposals.models import Assignment, Extension, Ticket, TicketEvent
from proposals.transitions import MOVES, Status
from tests.factories import HandlingUnitFactory, user_with_role
from tests.proposals import test_transitions
from tests.proposals.conftest import ROUTE_STATUSES
from tests.proposals.pages_helpers import fresh, post_move
from tests.proposals.test_transitions import (
    CO,
    COMMITTEE,
    LEAD,
    OFFICE,
    OTHER_TOWNSHIP,
    REP,
    START,
    TOWNSHIP,
    _undone,
    allowed_roles,
)

LATER = START + datetime.timedelta(hours=1)
people = test_transitions.cast  # the persona fixture: route → role → user
# The signed-in page's users: each party, and two outsiders (one who sees the ticket, one who
# does not). The other outsiders of the matrix (another rep, a studio officer, an unrelated unit)
# are refused the same way as these two, and ``test_transitions`` holds them to it.
PAGE_ROLES = [OFFICE, TOWNSHIP, LEAD, CO, REP, COMMITTEE, OTHER_TOWNSHIP]

NO_REQUEST = "There is no extension request to decide."
PAST_DUE = "An extension must be asked for before the reply is due."
PENDING = "An extension request is already waiting for a decision."
AT_CAP = "The reply is already due on the latest date allowed: one month after assignment."
RATED = "This reply has already been rated by you."
FILED = "Your unit has already filed its opinion."
HAS_REP = "The ticket has a responsible representative: forward the reply to them."
NO_REP = "The ticket has no responsible representative: send the reply to the proposers' rating instead."
ALL_RATED = "Every proposer has rated this reply."
NO_PROPOSER = "No proposer was named: there is no rating to enter for one."
# Refusals the page does not show: no request to decide is the usual state, and of "forward to
# the rep" and "send to the proposers" the ticket's rep (or its lack) rules one out, the other is offered.
NOT_SHOWN = {"decide_extension", "forward", "to_proposers"}
CO_UNIT_NAME = {"township": "城关镇城建办", "county": "县交通运输局"}


def awaiting(route: str) -> str:
    return f"Waiting for the opinion of: {CO_UNIT_NAME[route]} (or for their time to pass)."


# --- states that trip the preconditions (applied after the walk, at START) --------------------


def _request_extension(ticket, people):
    services.extension_request(
        actor=people[LEAD], ticket=fresh(ticket), until=_until(ticket), reason="需协调多个部门"
    )


def _rep_rates(ticket, people):
    services.ticket_rate(ticket=fresh(ticket), actor=people[REP], score="satisfied")


def _co_unit_files(ticket, people):
    services.co_opinion_file(actor=people[CO], ticket=fresh(ticket), text="同意")


def _extended_to_the_cap(ticket, people):
    services.extension_request(
        actor=people[LEAD], ticket=fresh(ticket), until=datetime.date(2026, 5, 1), reason="需要招标采购"
    )
    extension = Extension.objects.get(ticket=ticket, decision="pending")
    services.extension_decide(actor=people[OFFICE], ticket=fresh(ticket), extension=extension, approve=True)
    extension.refresh_from_db()
    assert extension.granted_until < extension.requested_until  # capped: no later date is possible


VARIANTS = {
    "": None,
    "extension_pending": _request_extension,
    "rep_rated": _rep_rates,
    "co_opinion_filed": _co_unit_files,
    "at_cap": _extended_to_the_cap,
    "past_due": None,  # the page is looked at after the reply was due
}

CASES = [(route, status, "") for route, statuses in ROUTE_STATUSES.items() for status in statuses] + [
    ("township", "signed", "extension_pending"),
    ("county", "contacted", "extension_pending"),
    ("township", "forwarded", "rep_rated"),
    ("county", "signed", "co_opinion_filed"),
    ("township", "planned", "co_opinion_filed"),
    ("county", "planned", "co_opinion_filed"),
    ("township", "signed", "at_cap"),
    ("county", "contacted", "past_due"),
]
WITH_UNIT = ("assigned", "signed", "contacted", "planned")


def expected_refusals(route: str, status: str, variant: str) -> dict[tuple[str, str], str]:
    """(move, role) → the reason the page gives, for the moves the role may make but not now.

    Written out by hand from the rules, not computed from ``services.PRECONDITIONS``.
    """
    refused: dict[tuple[str, str], str] = {}
    reviewers = allowed_roles("decide_extension", "assigned", route)
    if status in WITH_UNIT:
        for role in reviewers:
            refused["decide_extension", role] = NO_REQUEST
    if status == "replied":
        for role in reviewers:
            refused["to_proposers", role] = HAS_REP  # the walked ticket has a rep: forward it
    if status == "planned" and variant != "co_opinion_filed":
        refused["reply", LEAD] = awaiting(route)  # the walk leaves the co-unit's opinion to come
    if variant == "extension_pending":
        refused["request_extension", LEAD] = PENDING
        for role in reviewers:
            del refused["decide_extension", role]
    if variant == "rep_rated":
        refused["rate", REP] = RATED
    if variant == "co_opinion_filed":
        refused["co_opinion", CO] = FILED
    if variant == "at_cap":
        refused["request_extension", LEAD] = AT_CAP
    if variant == "past_due":
        refused["request_extension", LEAD] = PAST_DUE
    return refused


def _until(ticket: Ticket) -> datetime.date:
    due = Ticket.objects.values_list("due_at", flat=True).get(pk=ticket.pk)
    return timezone.localdate(due or timezone.now()) + datetime.timedelta(days=5)


def _another_rep(form, ticket: Ticket) -> int:
    """A representative the form offers, other than the ticket's (0 when the page had no form)."""
    if form is None:
        return 0
    return form.fields["representative"].queryset.exclude(pk=ticket.representative_id).first().pk


def valid_data(move: str, ticket: Ticket, form, other: Ticket) -> dict:
    """Fields (without the move's prefix) that make ``move``'s form valid."""
    today = timezone.localdate()
    data = {
        "assign": lambda: {"lead_unit": form.fields["lead_unit"].queryset.first().pk if form else 0},
        "answer_on_spot": lambda: {"note": "已当场解答"},
        "explain": lambda: {"note": "已有政策，已解释", "confirmed": "on"},
        "merge": lambda: {"into": other.display_code, "confirmed": "on"},
        "return": lambda: {"reason": "不属于本单位职责", "confirmed": "on"},
        "contact": lambda: {"how": "电话", "contacted_on": today.isoformat()},
        "plan": lambda: {"plan": "更换灯具", "rep_consulted": "on"},
        "reply": lambda: {"text": "已更换三盏路灯"},
        "co_opinion": lambda: {"text": "同意牵头单位方案"},
        "request_extension": lambda: {"until": _until(ticket).isoformat(), "reason": "需协调多个部门"},
        "decide_extension": lambda: {"decision": "approve"},
        "rework": lambda: {"note": "答复不具体"},
        "rate": lambda: {"score": "satisfied"},
        "enter_rating": lambda: {"proposer": ticket.proposers.get().pk, "via": "paper", "score": "satisfied"},
        "set_rep": lambda: {"representative": _another_rep(form, ticket)},
        "conclude": lambda: {"confirmed": "on"},
        "rehandle": lambda: {"note": "重新办理"},
        "close": lambda: {"note": "已解释政策", "confirmed": "on"},
        "archive": lambda: {"confirmed": "on"},
    }.get(move)
    return data() if data else {}


def _errors(response) -> list[str]:
    """The error messages the response shows (the successes of earlier posts may still be queued)."""
    if not response.context:
        return []
    return [str(m) for m in response.context["messages"] if m.level == messages.ERROR]


@pytest.fixture(autouse=True)
def _english(client):
    """Read the pages and the reasons in the source language, so that the checks hold once translated."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def page_case(request, make_ticket, studio_a, walk, people):
    """A ticket (through studio A, for my_rep, one proposer) walked to the case's status and
    put in the case's state; and the time the page is looked at."""
    route, status, variant = request.param
    with time_machine.travel(START, tick=False):
        ticket = walk(make_ticket(studio=studio_a), status, route)
        if VARIANTS[variant]:
            VARIANTS[variant](ticket, people[route])
        other = make_ticket(title="同一路段路灯")
    ticket = fresh(ticket)
    at = ticket.due_at + datetime.timedelta(hours=1) if variant == "past_due" else LATER
    return route, status, variant, ticket, other, at


@pytest.mark.parametrize("page_case", CASES, indirect=True, ids=["-".join(filter(None, c)) for c in CASES])
def test_the_page_offers_exactly_what_the_services_accept(page_case, people, client):
    route, status, variant, ticket, other, at = page_case
    refusals = expected_refusals(route, status, variant)
    # Each role posts every move possible from this status. The moves that are not (refused alike,
    # whoever posts them and whatever the route or state, by ``check``) are shared out among the
    # roles, each posted once per status: in the township route's cases, and at_county.
    possible = [m for m in MOVE_FORMS if status in MOVES[m].paths]
    impossible = [m for m in MOVE_FORMS if status not in MOVES[m].paths]
    if variant or (route == "county" and status != "at_county"):
        impossible = []
    wrong = []
    with time_machine.travel(at, tick=False):
        for i, role in enumerate(PAGE_ROLES):
            client.force_login(people[route][role])
            page = client.get(reverse("proposals:detail", args=[ticket.pk]))
            if page.status_code == 404:
                offered, shown, forms = set(), {}, {}
            else:
                forms = {f.move: f for f in page.context["forms"]}
                offered = set(forms)
                shown = {r["move"]: r["reason"] for r in page.context["refused"]}
                html = page.content.decode()
                for move, reason in shown.items():  # greyed, with the reason, in place of a form
                    if f'data-move="{move}"' not in html or reason not in html:
                        wrong.append(f"{role}: the refused {move} is not on the page with its reason")
            may = {m for m in MOVE_FORMS if role in allowed_roles(m, status, route)}
            want_refused = {m: r for (m, who), r in refusals.items() if who == role}
            want_shown = {m: r for m, r in want_refused.items() if m not in NOT_SHOWN}
            if offered != may - set(want_refused) or shown != want_shown:
                wrong.append(f"{role}: offered {sorted(offered)}, shown refused {shown}; want "
                             f"{sorted(may - set(want_refused))}, shown refused {want_shown}")  # fmt: skip
                continue
            for move in [*possible, *impossible[i :: len(PAGE_ROLES)]]:
                data = valid_data(move, ticket, forms.get(move), other)
                last = TicketEvent.objects.filter(ticket=ticket).latest("id").id
                with _undone():
                    response = post_move(client, ticket, move, **data)
                    new = list(
                        TicketEvent.objects.filter(ticket=ticket, id__gt=last).values_list("move", flat=True)
                    )
                    problem = _judge(
                        move, role, status, page.status_code, offered, want_refused, response, new
                    )
                if problem:
                    wrong.append(f"{move} by {role}: {problem}")
    assert not wrong, "\n".join(wrong)


def _judge(move, role, status, page_status, offered, refused, response, new) -> str:
    """What is wrong with the outcome of posting ``move``, or ""."""
    if move in offered:
        # The last rating of the round concludes the feedback at once (another event).
        concluded = move in ("rate", "enter_rating") and new == [move, "conclude"]
        if response.status_code != 302 or (new != [move] and not concluded):
            return f"offered, but posting it gave {response.status_code}, events {new}: {_errors(response)}"
        return ""
    if new:
        return f"not offered, but posting it wrote {new}"
    if page_status == 404:
        want, reason = 404, None
    elif status not in MOVES[move].paths:
        want = 409
        reason = f"“{MOVES[move].label}” is not possible while the ticket is “{Status(status).label}”."
    elif move in refused:
        want, reason = 409, refused[move]
    else:
        want, reason = 403, None  # never this role's move
    if response.status_code != want:
        return f"not offered: expected {want}, got {response.status_code}"
    if reason is not None and _errors(response) != [reason]:
        return f"expected the reason {reason!r}, got {_errors(response)}"
    return ""


# --- each precondition on its own: the exact reason, from the page's answer and the service ------


def _option(ticket: Ticket, user, move: str, now=None):
    options = {o.name: o for o in services.ticket_moves(ticket, user=user, now=now or timezone.now())}
    return options[move]


def _raises(reason: str, call) -> None:
    events = TicketEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        call()
    assert caught.value.messages == [reason]
    assert TicketEvent.objects.count() == events


@pytest.fixture
def township_case(make_ticket, walk):
    def at(status: str) -> Ticket:
        with time_machine.travel(START, tick=False):
            return walk(make_ticket(), status)

    return at


@time_machine.travel(LATER, tick=False)
def test_a_second_rating_this_round_is_refused_and_a_new_round_may_be_rated(
    township_case, rep_a, clerk_a, unit_a_staff
):
    ticket = township_case("forwarded")
    assert _option(ticket, rep_a, "rate").allowed
    services.ticket_rate(ticket=fresh(ticket), actor=rep_a, score="dissatisfied")
    assert services.already_rated(fresh(ticket), proposer_id=None) == RATED
    proposer = ticket.proposers.get()
    assert services.already_rated(fresh(ticket), proposer_id=proposer.pk) == ""  # each rater once
    assert _option(fresh(ticket), rep_a, "rate").reason == RATED
    _raises(RATED, lambda: services.ticket_rate(ticket=fresh(ticket), actor=rep_a, score="satisfied"))
    services.ticket_rate(ticket=fresh(ticket), proposer=proposer, score="satisfied")  # the last: concluded
    assert services.already_rated(fresh(ticket), proposer_id=proposer.pk) == RATED
    services.ticket_rehandle(actor=clerk_a, ticket=fresh(ticket), note="重新办理")  # round 2
    assert services.already_rated(fresh(ticket), proposer_id=None) == ""


@time_machine.travel(LATER, tick=False)
def test_a_co_unit_files_one_opinion(township_case, unit_a2_staff):
    ticket = township_case("signed")
    option = _option(ticket, unit_a2_staff, "co_opinion")
    assert option.allowed and option.reason == ""
    services.co_opinion_file(actor=unit_a2_staff, ticket=fresh(ticket), text="同意")
    assignment = services.own_co_assignment(fresh(ticket), unit_a2_staff)
    assert assignment.unit.name == "城关镇城建办"
    assert services.opinion_already_filed(assignment) == FILED
    assert _option(fresh(ticket), unit_a2_staff, "co_opinion").reason == FILED
    _raises(FILED, lambda: services.co_opinion_file(actor=unit_a2_staff, ticket=fresh(ticket), text="再次"))


@time_machine.travel(LATER, tick=False)
def test_the_reply_waits_for_the_co_units_opinion_until_its_time_passes(
    township_case, unit_a_staff, unit_a2_staff
):
    ticket = township_case("planned")
    assert services.co_opinions_awaited(fresh(ticket), timezone.now()) == awaiting("township")
    assert _option(fresh(ticket), unit_a_staff, "reply").reason == awaiting("township")
    _raises(
        awaiting("township"),
        lambda: services.ticket_reply(actor=unit_a_staff, ticket=fresh(ticket), text="已更换"),
    )
    opinion_due = Assignment.objects.get(ticket=ticket, role="co").opinion_due_at
    assert services.co_opinions_awaited(fresh(ticket), opinion_due) != ""  # its last second still counts
    past = opinion_due + datetime.timedelta(seconds=1)
    assert services.co_opinions_awaited(fresh(ticket), past) == ""
    assert _option(fresh(ticket), unit_a_staff, "reply", now=past).allowed
    services.co_opinion_file(actor=unit_a2_staff, ticket=fresh(ticket), text="同意")
    assert services.co_opinions_awaited(fresh(ticket), timezone.now()) == ""
    services.ticket_reply(actor=unit_a_staff, ticket=fresh(ticket), text="已更换")
    assert fresh(ticket).status == Status.REPLIED


def test_an_extension_is_asked_for_before_the_reply_is_due(township_case, unit_a_staff):
    ticket = township_case("signed")
    due = ticket.due_at
    assert services.reply_past_due(ticket, due) == ""  # the due second itself is still in time
    assert services.reply_past_due(ticket, due + datetime.timedelta(microseconds=1)) == PAST_DUE
    with time_machine.travel(due + datetime.timedelta(minutes=1), tick=False):
        assert _option(fresh(ticket), unit_a_staff, "request_extension").reason == PAST_DUE
        _raises(
            PAST_DUE,
            lambda: services.extension_request(
                actor=unit_a_staff, ticket=fresh(ticket), until=_until(ticket), reason="需要"
            ),
        )


@time_machine.travel(LATER, tick=False)
def test_one_extension_request_waits_at_a_time(township_case, unit_a_staff, clerk_a):
    ticket = township_case("signed")
    assert services.extension_pending(fresh(ticket)) == ""
    services.extension_request(actor=unit_a_staff, ticket=fresh(ticket), until=_until(ticket), reason="需要")
    assert services.extension_pending(fresh(ticket)) == PENDING
    assert _option(fresh(ticket), unit_a_staff, "request_extension").reason == PENDING
    _raises(
        PENDING,
        lambda: services.extension_request(
            actor=unit_a_staff, ticket=fresh(ticket), until=_until(ticket), reason="再要"
        ),
    )
    services.extension_decide(
        actor=clerk_a,
        ticket=fresh(ticket),
        extension=services.pending_extension(fresh(ticket)),
        approve=False,
    )
    assert services.extension_pending(fresh(ticket)) == ""  # refused: a new request may be made


@time_machine.travel(LATER, tick=False)
def test_no_extension_goes_past_the_cap(township_case, unit_a_staff, clerk_a):
    ticket = township_case("signed")
    assert services.extension_at_cap(fresh(ticket), timezone.now()) == ""
    services.extension_request(
        actor=unit_a_staff, ticket=fresh(ticket), until=datetime.date(2026, 5, 1), reason="需要"
    )
    services.extension_decide(
        actor=clerk_a, ticket=fresh(ticket), extension=services.pending_extension(fresh(ticket)), approve=True
    )
    assert services.extension_at_cap(fresh(ticket), timezone.now()) == AT_CAP
    assert _option(fresh(ticket), unit_a_staff, "request_extension").reason == AT_CAP
    _raises(
        AT_CAP,
        lambda: services.extension_request(
            actor=unit_a_staff, ticket=fresh(ticket), until=datetime.date(2026, 5, 10), reason="再要"
        ),
    )


@time_machine.travel(LATER, tick=False)
def test_an_extension_is_decided_only_while_one_is_pending(township_case, unit_a_staff, clerk_a):
    ticket = township_case("signed")
    assert services.no_pending_extension(fresh(ticket)) == NO_REQUEST
    assert _option(fresh(ticket), clerk_a, "decide_extension").reason == NO_REQUEST
    request = services.extension_request(
        actor=unit_a_staff, ticket=fresh(ticket), until=_until(ticket), reason="需要"
    )
    assert services.pending_extension(fresh(ticket)) == request
    assert services.no_pending_extension(fresh(ticket)) == ""
    assert _option(fresh(ticket), clerk_a, "decide_extension").allowed
    services.extension_decide(actor=clerk_a, ticket=fresh(ticket), extension=request, approve=True)
    _raises(
        NO_REQUEST,
        lambda: services.extension_decide(
            actor=clerk_a, ticket=fresh(ticket), extension=Extension.objects.get(pk=request.pk), approve=True
        ),
    )


def test_the_answer_lists_the_moves_of_the_users_role_only(township_case, clerk_a, committee_member):
    ticket = township_case("registered")
    options = services.ticket_moves(ticket, user=clerk_a, now=LATER)
    assert [o.name for o in options] == [
        "answer_on_spot", "explain", "merge", "assign", "forward_to_county", "set_rep", "edit"
    ]  # fmt: skip
    assert all(o.allowed and o.reason == "" for o in options)
    assert options[3].label == "assigned"
    assert services.ticket_moves(ticket, user=committee_member, now=LATER) == []


@time_machine.travel(LATER, tick=False)
def test_the_units_page_costs_the_same_queries_however_many_co_units_and_requests(
    client, make_ticket, clerk_a, unit_a, unit_a_staff, county, django_assert_num_queries
):
    """The lead's and a co-unit's answers read what the page prefetched: more co-units and more
    decided requests add no query (the cap's deadline policy is read once)."""
    co = [HandlingUnitFactory(name=f"协办单位{i}", region=unit_a.region) for i in range(4)]
    co_staff = user_with_role(Role.HANDLING_UNIT, unit=co[0], username="xieban0", name="协办")
    short, long = make_ticket(), make_ticket(title="协办很多")
    services.ticket_assign(actor=clerk_a, ticket=fresh(short), lead_unit=unit_a, co_units=co[:1])
    services.ticket_assign(actor=clerk_a, ticket=fresh(long), lead_unit=unit_a, co_units=co)
    for _ in range(3):
        request = services.extension_request(
            actor=unit_a_staff, ticket=fresh(long), until=_until(long), reason="需要"
        )
        services.extension_decide(actor=clerk_a, ticket=fresh(long), extension=request, approve=False)
    for user, form in ((unit_a_staff, "move-request_extension"), (co_staff, "move-co_opinion")):
        client.force_login(user)
        with CaptureQueriesContext(connection) as few:
            assert form in client.get(reverse("proposals:detail", args=[short.pk])).content.decode()
        with django_assert_num_queries(len(few.captured_queries)):
            html = client.get(reverse("proposals:detail", args=[long.pk])).content.decode()
        assert form in html and html.count('class="list-group-item extension"') == 3
    # The answer itself, on the ticket as the page loads it: the co-unit's costs nothing, the
    # lead's one query (the county's deadline policy, for the cap), however many moves.
    for user, queries in ((co_staff, 0), (unit_a_staff, 1)):
        ticket = views._page_queryset(user).get(pk=long.pk)
        user.scope  # noqa: B018 (the roles are read once per request, before any page logic)
        with django_assert_num_queries(queries):
            options = services.ticket_moves(ticket, user=user, now=timezone.now())
        assert sum(o.allowed for o in options) == (1 if user == co_staff else 3)


def test_a_move_reads_only_what_it_needs_and_a_mistake_shows_the_whole_page(
    client, make_ticket, clerk_a, unit_a, unit_a_staff, django_assert_num_queries
):
    """A move's POST loads the ticket with what the move reads (its assignments, extensions and
    ratings), not the page's timeline, files and people: those are loaded again only when the form
    comes back with a mistake, to show the page."""
    first, second, third = (
        services.ticket_assign(actor=clerk_a, ticket=make_ticket(title=f"路灯{i}"), lead_unit=unit_a)
        for i in range(3)
    )
    client.force_login(unit_a_staff)
    assert post_move(client, fresh(first), "sign").status_code == 302  # sessions, caches: warm
    with CaptureQueriesContext(connection) as queries:
        response = post_move(client, fresh(second), "sign")
    assert response.status_code == 302 and fresh(second).status == Status.SIGNED
    read = " ".join(q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT"))
    assert 'FROM "proposals_assignment"' in read
    for table in ("proposals_ticketevent", "proposals_attachment", "proposals_proposer"):
        assert f'FROM "{table}"' not in read, table
    with django_assert_num_queries(len(queries.captured_queries)):
        post_move(client, fresh(third), "sign")
    # A contact without its way of contact: the page again, with the timeline, the form and its error.
    page = post_move(client, fresh(second), "contact", how="", contacted_on="")
    assert page.status_code == 200
    (contact,) = [form for form in page.context["forms"] if form.move == "contact"]
    assert "how" in contact.errors
    assert [row["event"].move for row in page.context["timeline"]] == ["register", "assign", "sign"]

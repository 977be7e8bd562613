"""The transition matrix: every status × every move × every role, allowed or refused exactly as
issue 5 says, and every allowed move writes one event (a refused one writes none and changes
nothing).

The expected table below is written out by hand from the issue text; it is deliberately not
computed from ``transitions.MOVES``, so that a wrong entry there makes these tests fail.

Reading of the issue that the table encodes:
- registered → triage (answer on the spot, explain, merge, assign, forward to the county) by the
  township, or by the county liaison office, which is over every township of its county;
- at the county (at_county) only the liaison office triages;
- the lead unit signs for, returns (to whoever assigned it), records steps 1–3, replies and asks
  for extensions; each co-unit files its opinion while the unit holds the ticket;
- whoever triages in a status (the township at registered, the office at either) also sets or
  changes the responsible representative (issue 10);
- review (extension decisions, rework, forward to the rep, or with no rep send the reply to the
  proposers' rating, re-handling, closing after dissatisfaction, ending the feedback, entering a
  proposer's paper or phone rating) is for the liaison office, and also for the township when the
  township assigned it;
- feedback: the responsible representative and each proposer rate;
- staff of the township and the office correct details of open tickets and archive closed ones;
- nobody else (another township, an unrelated unit, another rep, a committee member, a studio
  liaison officer, an anonymous visitor) makes any move.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import pickle

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from proposals import services, transitions
from proposals.models import Assignment, Extension, Rating, Ticket, TicketEvent
from proposals.transitions import Conflict, InvalidMove, Party, check, parties
from reps.models import Representative
from tests.helpers import reload
from tests.proposals.conftest import ROUTE_STATUSES

TZ = timezone.get_default_timezone()
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)

# Roles (persona names).
OFFICE, TOWNSHIP, OTHER_TOWNSHIP = "office", "township", "other_township"
LEAD, CO, UNRELATED_UNIT = "lead_unit", "co_unit", "unrelated_unit"
REP, OTHER_REP, COMMITTEE, STUDIO = "rep", "other_rep", "committee", "studio_officer"
PROPOSER, ANONYMOUS = "proposer", "anonymous"
ROLES = [OFFICE, TOWNSHIP, OTHER_TOWNSHIP, LEAD, CO, UNRELATED_UNIT, REP, OTHER_REP, COMMITTEE, STUDIO,
         PROPOSER, ANONYMOUS]  # fmt: skip

# The reviewers depend on the route: the office always, the township when it assigned.
REVIEWERS = {"township": {OFFICE, TOWNSHIP}, "county": {OFFICE}}
R = "reviewers"  # placeholder in the table for REVIEWERS[route]
STAFF = {OFFICE, TOWNSHIP}
WITH_UNIT = ("assigned", "signed", "contacted", "planned")
OPEN = ("registered", "at_county", *WITH_UNIT, "replied", "forwarded", "dissatisfied")

# move → {status it is possible from → the roles that may make it}
EXPECTED: dict[str, dict[str, set[str] | str]] = {
    "answer_on_spot": {"registered": STAFF, "at_county": {OFFICE}},
    "explain": {"registered": STAFF, "at_county": {OFFICE}},
    "merge": {"registered": STAFF, "at_county": {OFFICE}},
    "assign": {"registered": STAFF, "at_county": {OFFICE}},
    "forward_to_county": {"registered": STAFF},
    "set_rep": {"registered": STAFF, "at_county": {OFFICE}},
    "sign": {"assigned": {LEAD}},
    "return": {"assigned": {LEAD}},
    "contact": {"signed": {LEAD}},
    "plan": {"contacted": {LEAD}},
    "reply": {"planned": {LEAD}},
    "co_opinion": {s: {CO} for s in WITH_UNIT},
    "request_extension": {s: {LEAD} for s in WITH_UNIT},
    "decide_extension": dict.fromkeys(WITH_UNIT, R),
    "rework": {"replied": R},
    "forward": {"replied": R},
    "to_proposers": {"replied": R},
    "rate": {"forwarded": {REP, PROPOSER}},
    "enter_rating": {"forwarded": R},
    "conclude": {"forwarded": R},
    "rehandle": {"dissatisfied": R},
    "close": {"dissatisfied": R},
    "archive": {"closed": STAFF},
    "edit": dict.fromkeys(OPEN, STAFF),
    "correct_summary": {"closed": STAFF, "archived": STAFF},
    # Issue 13: a suggestion that went to a unit is adopted (采纳), recorded by the township or office.
    "adopt": dict.fromkeys((*WITH_UNIT, "replied", "forwarded", "dissatisfied", "closed", "archived"), STAFF),
}

SAME = "same"
# move → the status it leads to ("same": it records something and leaves the status alone).
TARGET = {
    "answer_on_spot": "closed",
    "explain": "closed",
    "merge": "closed",
    "assign": "assigned",
    "forward_to_county": "at_county",
    "set_rep": SAME,
    "sign": "signed",
    "return": {"township": "registered", "county": "at_county"},  # back to whoever assigned it
    "contact": "contacted",
    "plan": "planned",
    "reply": "replied",
    "co_opinion": SAME,
    "request_extension": SAME,
    "decide_extension": SAME,
    "rework": "planned",
    "forward": "forwarded",
    "to_proposers": "forwarded",
    "rate": SAME,
    "enter_rating": SAME,  # the rep is still to rate
    "conclude": "closed",  # nobody rated yet: closed as "no resident rating"
    "rehandle": "signed",
    "close": "closed",
    "archive": "archived",
    "edit": SAME,
    "correct_summary": SAME,
    "adopt": SAME,
}

CASES = [(route, status) for route, statuses in ROUTE_STATUSES.items() for status in statuses]


def allowed_roles(move: str, status: str, route: str) -> set[str]:
    roles = EXPECTED[move].get(status, set())
    return REVIEWERS[route] if roles == R else roles


def expected_refusal(move: str, status: str) -> type[Exception]:
    return PermissionDenied if status in EXPECTED[move] else InvalidMove


@pytest.fixture
def cast(
    liaison_office, clerk_a, clerk_b, unit_a_staff, unit_a2_staff, unit_staff, co_unit_staff, unit_b_staff,
    rep_a, other_rep_user, committee_member, studio_officer,
):  # fmt: skip
    """The users behind each role, per route (the lead and co-unit differ by route)."""
    common = {
        OFFICE: liaison_office,
        TOWNSHIP: clerk_a,
        OTHER_TOWNSHIP: clerk_b,
        UNRELATED_UNIT: unit_b_staff,
        REP: rep_a,
        OTHER_REP: other_rep_user,
        COMMITTEE: committee_member,
        STUDIO: studio_officer,
        ANONYMOUS: AnonymousUser(),
    }
    return {
        "township": {**common, LEAD: unit_a_staff, CO: unit_a2_staff},
        "county": {**common, LEAD: unit_staff, CO: co_unit_staff},
    }


@pytest.fixture
def case_ticket(request, make_ticket, studio_a, walk):
    """A ticket (through studio A, for my_rep, one proposer) walked to the case's status."""
    route, status = request.param
    with time_machine.travel(START, tick=False):
        return route, status, walk(make_ticket(studio=studio_a), status, route)


def test_the_table_names_every_move_and_nothing_else():
    assert set(EXPECTED) == set(transitions.MOVES)
    assert set(TARGET) == set(transitions.MOVES)


@pytest.mark.parametrize("case_ticket", CASES, indirect=True, ids=[f"{r}-{s}" for r, s in CASES])
def test_check_allows_exactly_the_moves_the_issue_gives_each_role(case_ticket, cast):
    route, status, ticket = case_ticket
    wrong = []
    for role in ROLES:
        acting_as = frozenset({Party.PROPOSER}) if role == PROPOSER else parties(ticket, cast[route][role])
        for move in transitions.MOVES:
            want = "allowed" if role in allowed_roles(move, status, route) else expected_refusal(move, status)
            try:
                check(ticket, move, acting_as)
                got = "allowed"
            except (InvalidMove, PermissionDenied) as exc:
                got = type(exc)
            if got != want:
                wrong.append(f"{move} by {role}: expected {want}, got {got}")
        shown = {m.name for m in transitions.allowed_moves(ticket, acting_as)}
        assert shown == {m for m in transitions.MOVES if role in allowed_roles(m, status, route)}, role
    assert not wrong, "\n".join(wrong)


# --- the same matrix through the services: the real code path -------------------------------


def _load(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_related("township", "representative", "lead_unit")
        .prefetch_related("assignments__unit")
        .get(pk=ticket.pk)
    )


def _until(ticket: Ticket) -> datetime.date:
    base = timezone.localdate(ticket.due_at) if ticket.due_at else timezone.localdate()
    return base + datetime.timedelta(days=5)


def _prepare_reply(ticket: Ticket, ctx) -> None:
    """The lead may reply once the co-unit's opinion is in (set up here, not a move under test)."""
    Assignment.objects.filter(ticket=ticket, role="co").update(opinion="同意", opinion_at=timezone.now())


def _prepare_decision(ticket: Ticket, ctx) -> None:
    ctx["extension"] = Extension.objects.create(
        ticket=ticket,
        requested_until=(ticket.due_at or timezone.now()) + datetime.timedelta(days=3),
        reason="需协调多个部门",
    )


def _assign(user, ticket, ctx):
    office_assigns = ticket.status == "at_county" or user == ctx["cast"][OFFICE]
    unit = ctx["county_unit"] if office_assigns else ctx["unit_a"]
    return services.ticket_assign(actor=user, ticket=ticket, lead_unit=unit)


def _without_rep(ticket: Ticket, ctx) -> None:
    """The reply goes to the proposers alone only on a ticket without a representative."""
    Ticket.objects.filter(pk=ticket.pk).update(representative=None)


def _set_rep(user, ticket, ctx):
    other = Representative.objects.get(user=ctx["cast"][OTHER_REP])
    return services.ticket_set_representative(actor=user, ticket=ticket, representative=other)


def _rate(user, ticket, ctx):
    if user == PROPOSER:
        return services.ticket_rate(ticket=ticket, proposer=ticket.proposers.get(), score="satisfied")
    return services.ticket_rate(ticket=ticket, actor=user, score="satisfied")


# move → (prepare, call): call(user, ticket, ctx) makes the move through its service with valid
# arguments; prepare(ticket, ctx) sets up what the move needs without being a move itself.
DISPATCH = {
    "answer_on_spot": (None, lambda u, t, c: services.ticket_answer_on_spot(actor=u, ticket=t, note="已当场解答")),
    "explain": (None, lambda u, t, c: services.ticket_explain(actor=u, ticket=t, note="已有政策，已解释")),
    "merge": (None, lambda u, t, c: services.ticket_merge(actor=u, ticket=t, into=c["other_ticket"])),
    "assign": (None, _assign),
    "forward_to_county": (None, lambda u, t, c: services.ticket_forward_to_county(actor=u, ticket=t)),
    "set_rep": (None, _set_rep),
    "sign": (None, lambda u, t, c: services.ticket_sign(actor=u, ticket=t)),
    "return": (None, lambda u, t, c: services.ticket_return(actor=u, ticket=t, reason="不属于本单位职责")),
    "contact": (None, lambda u, t, c: services.ticket_contact(
        actor=u, ticket=t, how="电话", contacted_on=timezone.localdate())),
    "plan": (None, lambda u, t, c: services.ticket_plan(actor=u, ticket=t, plan="更换灯具", rep_consulted=True)),
    "reply": (_prepare_reply, lambda u, t, c: services.ticket_reply(actor=u, ticket=t, text="已更换")),
    "co_opinion": (None, lambda u, t, c: services.co_opinion_file(actor=u, ticket=t, text="同意")),
    "request_extension": (None, lambda u, t, c: services.extension_request(
        actor=u, ticket=t, until=_until(t), reason="需协调多个部门")),
    "decide_extension": (_prepare_decision, lambda u, t, c: services.extension_decide(
        actor=u, ticket=t, extension=reload(c["extension"]), approve=True)),
    "rework": (None, lambda u, t, c: services.ticket_rework(actor=u, ticket=t, note="答复不具体")),
    "forward": (None, lambda u, t, c: services.ticket_forward(actor=u, ticket=t)),
    "to_proposers": (_without_rep, lambda u, t, c: services.ticket_to_proposers(actor=u, ticket=t)),
    "rate": (None, _rate),
    "enter_rating": (None, lambda u, t, c: services.rating_enter(
        actor=u, ticket=t, proposer=t.proposers.get(), score="satisfied", via="paper")),
    "conclude": (None, lambda u, t, c: services.ticket_conclude(actor=u, ticket=t)),
    "rehandle": (None, lambda u, t, c: services.ticket_rehandle(actor=u, ticket=t, note="重新办理")),
    "close": (None, lambda u, t, c: services.ticket_close(actor=u, ticket=t, note="已解释政策")),
    "archive": (None, lambda u, t, c: services.ticket_archive(actor=u, ticket=t)),
    "edit": (None, lambda u, t, c: services.ticket_edit(actor=u, ticket=t, title="村口路灯不亮（已核实）")),
    "correct_summary": (None, lambda u, t, c: services.ticket_correct_summary(
        actor=u, ticket=t, summary="已修复路灯（更正）", reason="数字写错")),
    "adopt": (None, lambda u, t, c: services.ticket_adopt(
        actor=u, ticket=t, adopted_by="镇党委", adopted_on=timezone.localdate())),
}  # fmt: skip


def _snapshot(ticket: Ticket):
    """The ticket's row and the rows of its events (their ids), assignments, extensions and ratings,
    as the database holds them."""
    with connection.cursor() as cursor:
        rows = []
        for sql, params in _snapshot_statements(ticket.pk):
            cursor.execute(sql, params)
            rows.append(cursor.fetchall())
    ticket_row, events, *others = rows
    return (ticket_row, [event_id for (event_id,) in events], *others)


@functools.cache
def _snapshot_statements(pk: int) -> list[tuple[str, tuple]]:
    """The snapshot's five statements, compiled once per ticket: the matrix below takes thousands
    of snapshots, and compiling the querysets cost more than running them."""
    return [
        queryset.query.sql_with_params()
        for queryset in (
            Ticket.objects.filter(pk=pk).values(),
            TicketEvent.objects.filter(ticket=pk).values_list("id"),
            Assignment.objects.filter(ticket=pk).values(),
            Extension.objects.filter(ticket=pk).values(),
            Rating.objects.filter(ticket=pk).values(),
        )
    ]


class _Undo(Exception):
    """Raised to roll a case back, so that every cell starts from the same ticket."""


@contextlib.contextmanager
def _undone():
    """Run the block in a savepoint and roll it back."""
    try:
        with transaction.atomic():
            yield
            raise _Undo
    except _Undo:
        pass


def test_every_move_has_a_service_call():
    assert set(DISPATCH) == set(transitions.MOVES)


@pytest.mark.parametrize("case_ticket", CASES, indirect=True, ids=[f"{r}-{s}" for r, s in CASES])
def test_the_services_allow_exactly_the_moves_the_issue_gives_each_role(
    case_ticket, cast, make_ticket, unit_a, county_unit
):
    route, status, ticket = case_ticket
    ctx = {"cast": cast[route], "unit_a": unit_a, "county_unit": county_unit}
    with time_machine.travel(START + datetime.timedelta(hours=1), tick=False):
        ctx["other_ticket"] = make_ticket(title="同一路段路灯")
        wrong = []
        for move, (prepare, call) in DISPATCH.items():
            with _undone():  # the move's preparation, undone after its roles
                if prepare:
                    prepare(ticket, ctx)
                before = _snapshot(ticket)
                # Every role starts from the same rows: loaded once, each role given its own copy
                # (pickled with what was prefetched, as a fresh load would be).
                loaded = pickle.dumps(_load(ticket))
                for role in ROLES:
                    if role == PROPOSER and move != "rate":
                        continue  # a proposer's only way in is the rating on the tracking page
                    user = PROPOSER if role == PROPOSER else cast[route][role]
                    allowed = role in allowed_roles(move, status, route)
                    with _undone():  # each role starts from the same ticket
                        copy = pickle.loads(loaded)  # noqa: S301 (pickled just above)
                        outcome = _attempt(call, user, copy, ctx, move, status, route, allowed, before)
                        if outcome:
                            wrong.append(f"{move} by {role}: {outcome}")
    assert not wrong, "\n".join(wrong)


def _attempt(call, user, ticket, ctx, move, status, route, allowed, before) -> str:
    """Make the move; return what was wrong about the outcome, or ""."""
    try:
        call(user, ticket, ctx)
    except Exception as exc:  # noqa: BLE001 (any failure is an outcome to compare)
        if allowed:
            return f"expected allowed, refused with {type(exc).__name__}: {exc}"
        want = expected_refusal(move, status)
        if type(exc) is not want:
            return f"expected {want.__name__}, got {type(exc).__name__}: {exc}"
        if _snapshot(ticket) != before:
            return "refused, but something changed"
        return ""
    if not allowed:
        return "expected refused, but it was allowed"
    new = TicketEvent.objects.filter(ticket=ticket).exclude(id__in=before[1])
    if [(e.move, e.from_status) for e in new] != [(move, status)]:
        return f"expected one {move} event from {status}, got {[(e.move, e.from_status) for e in new]}"
    target = TARGET[move]
    target = target[route] if isinstance(target, dict) else target
    want_status = status if target == SAME else target
    got_status = Ticket.objects.values_list("status", flat=True).get(pk=ticket.pk)
    if new[0].to_status != want_status or got_status != want_status:
        return f"expected to lead to {want_status}, the event says {new[0].to_status}, the row {got_status}"
    return ""


# --- the compare-and-set --------------------------------------------------------------------


@time_machine.travel(START, tick=False)
def test_a_page_loaded_before_a_rework_and_a_new_reply_loses_even_within_one_clock_tick(
    make_ticket, walk, clerk_a, liaison_office, unit_a_staff
):
    """The status alone is not enough (replied → planned → replied again looks unchanged):
    the version must differ even when the clock has not moved (frozen here, or two servers
    whose clocks disagree)."""
    ticket = make_ticket()  # registered within the frozen tick too
    replied = walk(ticket, "replied")
    stale = _load(replied)
    services.ticket_rework(actor=clerk_a, ticket=_load(replied), note="请补充整改时间")
    services.ticket_reply(actor=unit_a_staff, ticket=_load(replied), text="已补充：本月底前完成")
    with pytest.raises(Conflict):
        services.ticket_forward(actor=liaison_office, ticket=stale)
    assert list(TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("move", flat=True))[-3:] == [
        "reply", "rework", "reply"
    ]  # fmt: skip


def test_the_version_moves_forward_even_when_the_clock_goes_back(ticket, clerk_a, unit_a):
    loaded = _load(ticket)
    later = loaded.updated_at + datetime.timedelta(minutes=5)
    services.ticket_edit(actor=clerk_a, ticket=loaded, title="标题一", now=later)
    first = reload(ticket).updated_at
    services.ticket_edit(
        actor=clerk_a, ticket=loaded, title="标题二", now=later - datetime.timedelta(minutes=1)
    )
    second = reload(ticket).updated_at
    assert second > first == later
    assert loaded.updated_at == second  # the caller's copy carries the new version


def test_a_move_that_needs_a_note_is_refused_without_one_and_changes_nothing(ticket, clerk_a):
    before = _snapshot(ticket)
    with pytest.raises(InvalidMove):
        services.ticket_explain(actor=clerk_a, ticket=_load(ticket), note="   ")
    assert _snapshot(ticket) == before


def test_a_move_cannot_be_sent_to_a_status_its_path_does_not_lead_to(ticket, clerk_a):
    with pytest.raises(InvalidMove):
        transitions.transition(
            _load(ticket), move="forward_to_county", actor=clerk_a, acting_as=parties(ticket, clerk_a),
            to="closed",
        )  # fmt: skip
    assert reload(ticket).status == "registered"

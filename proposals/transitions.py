"""The one state machine of a ticket: its statuses, the moves between them, who may make each.

The workflow is the seeds' own (登记、接待、处理、回复、反馈、归档, and the three handling steps):

    registered ──triage──┬─ answer on the spot / explain / merge ───────────────────────→ closed
        │  (set the responsible rep: at registered or at_county, by whoever triages there)
        │                └─ assign (township unit) ─┐
        └─ forward to county → at_county ─ assign (county unit) ─┤
                                                    ↓
    assigned ─ sign → signed ─ step 1 → contacted ─ step 2 → planned ─ step 3 (reply) → replied
        └─ return (not our remit) → back to whoever assigned it      ↑ rework ←──────────┤
                                                                       forward to rep ──→ forwarded
                                        (no rep: send to the proposers' rating ──→ forwarded)
    forwarded ─ ratings in (online, or a paper or phone rating the reviewer enters for a
                proposer; or the window ends) → closed, or dissatisfied
    dissatisfied ─ re-handle (new deadline) → signed, or close with an explanation → closed
    closed ─ archive → archived

Who may move a ticket is said in terms of the *party* the user is to that ticket (the office
over it, the lead unit, ...), computed from their roles by ``parties()``. Moves that change no
status (a co-unit's opinion, an extension, a rating) go through the same ``transition()`` so that
each is checked, serialised with the others by the status compare-and-set, and recorded once.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import connection, models, transaction
from django.db.models import Case, CharField, DateTimeField, F, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from liaison.roles import Role
from proposals import facts, results_cache

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from liaison.models import User
    from proposals.models import Ticket, TicketEvent


class Status(models.TextChoices):
    REGISTERED = "registered", gettext_lazy("registered, awaiting triage")
    AT_COUNTY = "at_county", gettext_lazy("forwarded to the county liaison office")
    ASSIGNED = "assigned", gettext_lazy("assigned, awaiting signature")
    SIGNED = "signed", gettext_lazy("signed for")
    CONTACTED = "contacted", gettext_lazy("step 1: proposers contacted")
    PLANNED = "planned", gettext_lazy("step 2: plan agreed")
    REPLIED = "replied", gettext_lazy("replied, awaiting review")
    # Forwarded to the rep and the proposers, or, on a ticket without a rep, to the proposers alone.
    FORWARDED = "forwarded", gettext_lazy("replied, awaiting ratings")
    DISSATISFIED = "dissatisfied", gettext_lazy("dissatisfied, awaiting decision")
    CLOSED = "closed", gettext_lazy("closed")
    ARCHIVED = "archived", gettext_lazy("archived")


# What a proposer reads on the tracking page, in plain words.
PUBLIC_LABEL = {
    Status.REGISTERED: gettext_lazy("Received. Staff are deciding who will handle it."),
    Status.AT_COUNTY: gettext_lazy("Passed to the county liaison office, which will choose the unit."),
    Status.ASSIGNED: gettext_lazy("Sent to the unit that will handle it."),
    Status.SIGNED: gettext_lazy("The unit has taken it on."),
    Status.CONTACTED: gettext_lazy("The unit has contacted the representative and you."),
    Status.PLANNED: gettext_lazy("The unit has a plan and is carrying it out."),
    Status.REPLIED: gettext_lazy("The unit has replied; the reply is being reviewed."),
    Status.FORWARDED: gettext_lazy("Replied. Please tell us whether you are satisfied."),
    Status.DISSATISFIED: gettext_lazy("You were not satisfied; staff are deciding what happens next."),
    Status.CLOSED: gettext_lazy("Closed."),
    Status.ARCHIVED: gettext_lazy("Closed and archived."),
}

OPEN = frozenset(
    {
        Status.REGISTERED,
        Status.AT_COUNTY,
        Status.ASSIGNED,
        Status.SIGNED,
        Status.CONTACTED,
        Status.PLANNED,
        Status.REPLIED,
        Status.FORWARDED,
        Status.DISSATISFIED,
    }
)
# Statuses in which a unit holds the ticket and the reply deadline runs.
WITH_UNIT = frozenset({Status.ASSIGNED, Status.SIGNED, Status.CONTACTED, Status.PLANNED})


def running_due() -> Case:
    """The reply deadline while a unit holds the ticket, else NULL (a replied or closed ticket keeps
    a stale ``due_at``): the key of the urgency order (``TicketQuerySet.by_due``) and the expression
    of the index ``ticket_urgency`` that serves it. The statuses are sorted, so that every process
    writes the same SQL and PostgreSQL matches the query to the index."""
    return Case(When(status__in=sorted(WITH_UNIT), then=F("due_at")), output_field=DateTimeField())


CLOSED = frozenset({Status.CLOSED, Status.ARCHIVED})


class Party(models.TextChoices):
    """What a user is to one ticket."""

    OFFICE = "office", gettext_lazy("county liaison office")
    TOWNSHIP = "township", gettext_lazy("township staff")
    REVIEWER = "reviewer", gettext_lazy("the office that assigned it")
    LEAD_UNIT = "lead_unit", gettext_lazy("lead unit")
    CO_UNIT = "co_unit", gettext_lazy("co-unit")
    REPRESENTATIVE = "representative", gettext_lazy("responsible representative")
    PROPOSER = "proposer", gettext_lazy("proposer")
    SYSTEM = "system", gettext_lazy("the system")


@dataclass(frozen=True)
class Move:
    name: str
    label: StrOrPromise
    # from-status -> to-status; a move that changes nothing maps a status to itself.
    paths: dict[str, str]
    by: frozenset[str]
    public: bool = False  # shown on the proposer's tracking page
    note_required: bool = False
    extra_by: dict[str, frozenset[str]] = field(default_factory=dict)  # per-status override of `by`

    def allowed_for(self, status: str) -> frozenset[str]:
        return self.extra_by.get(status, self.by)


TRIAGE = frozenset({Party.TOWNSHIP, Party.OFFICE})
OFFICE = frozenset({Party.OFFICE})
LEAD = frozenset({Party.LEAD_UNIT})
REVIEW = frozenset({Party.REVIEWER})
HANDLING = (Status.SIGNED, Status.CONTACTED, Status.PLANNED)
WITH_UNIT_ORDER = (Status.ASSIGNED, *HANDLING)


def _moves(*moves: Move) -> dict[str, Move]:
    return {m.name: m for m in moves}


MOVES: dict[str, Move] = _moves(
    Move(
        "answer_on_spot",
        gettext_lazy("answered on the spot"),
        {Status.REGISTERED: Status.CLOSED, Status.AT_COUNTY: Status.CLOSED},
        TRIAGE,
        public=True,
        note_required=True,
        extra_by={Status.AT_COUNTY: OFFICE},
    ),
    Move(
        "explain",
        gettext_lazy("explained (unreasonable or already decided)"),
        {Status.REGISTERED: Status.CLOSED, Status.AT_COUNTY: Status.CLOSED},
        TRIAGE,
        public=True,
        note_required=True,
        extra_by={Status.AT_COUNTY: OFFICE},
    ),
    Move(
        "merge",
        gettext_lazy("merged into another ticket"),
        {Status.REGISTERED: Status.CLOSED, Status.AT_COUNTY: Status.CLOSED},
        TRIAGE,
        public=True,
        extra_by={Status.AT_COUNTY: OFFICE},
    ),
    Move(
        "assign",
        gettext_lazy("assigned"),
        {Status.REGISTERED: Status.ASSIGNED, Status.AT_COUNTY: Status.ASSIGNED},
        TRIAGE,
        public=True,
        extra_by={Status.AT_COUNTY: OFFICE},
    ),
    Move(
        "forward_to_county",
        gettext_lazy("forwarded to the county liaison office"),
        {Status.REGISTERED: Status.AT_COUNTY},
        TRIAGE,
        public=True,
    ),
    Move(
        # Part of triage: whoever triages in this status sets or changes the responsible rep.
        "set_rep",
        gettext_lazy("responsible representative set"),
        {Status.REGISTERED: Status.REGISTERED, Status.AT_COUNTY: Status.AT_COUNTY},
        TRIAGE,
        extra_by={Status.AT_COUNTY: OFFICE},
    ),
    Move("sign", gettext_lazy("signed for"), {Status.ASSIGNED: Status.SIGNED}, LEAD, public=True),
    Move(
        "return",
        gettext_lazy("returned as not its remit"),
        # Or AT_COUNTY (ALTERNATIVE_TARGETS): ``services.ticket_return`` sends it back to whoever assigned it.
        {Status.ASSIGNED: Status.REGISTERED},
        LEAD,
        note_required=True,
    ),
    Move(
        "contact",
        gettext_lazy("step 1: contacted the representative and proposers"),
        {Status.SIGNED: Status.CONTACTED},
        LEAD,
        public=True,
    ),
    Move(
        "plan",
        gettext_lazy("step 2: plan made, representative consulted"),
        {Status.CONTACTED: Status.PLANNED},
        LEAD,
        public=True,
        note_required=True,
    ),
    Move(
        "reply",
        gettext_lazy("step 3: carried out and replied in writing"),
        {Status.PLANNED: Status.REPLIED},
        LEAD,
        public=True,
    ),
    Move(
        "co_opinion",
        gettext_lazy("co-unit opinion filed"),
        {s: s for s in (Status.ASSIGNED, *HANDLING)},
        frozenset({Party.CO_UNIT}),
        note_required=True,
    ),
    Move(
        "request_extension",
        gettext_lazy("extension requested"),
        {s: s for s in (Status.ASSIGNED, *HANDLING)},
        LEAD,
        note_required=True,
    ),
    Move(
        "decide_extension",
        gettext_lazy("extension decided"),
        {s: s for s in (Status.ASSIGNED, *HANDLING)},
        REVIEW,
        public=True,
    ),
    Move(
        "rework",
        gettext_lazy("returned for rework"),
        {Status.REPLIED: Status.PLANNED},
        REVIEW,
        note_required=True,
    ),
    Move(
        "forward",
        gettext_lazy("reply forwarded to the representative"),
        {Status.REPLIED: Status.FORWARDED},
        REVIEW,
        public=True,
    ),
    Move(
        # Instead of "forward" when the ticket has no responsible rep (services.PRECONDITIONS).
        "to_proposers",
        gettext_lazy("reply sent to the proposers for their rating"),
        {Status.REPLIED: Status.FORWARDED},
        REVIEW,
        public=True,
    ),
    Move(
        "rate",
        gettext_lazy("rated"),
        {Status.FORWARDED: Status.FORWARDED},
        frozenset({Party.REPRESENTATIVE, Party.PROPOSER}),
        public=True,
    ),
    Move(
        # A proposer's rating given on paper or by phone (书面/电话), entered by the reviewing office.
        "enter_rating",
        gettext_lazy("a proposer's rating entered"),
        {Status.FORWARDED: Status.FORWARDED},
        REVIEW,
        public=True,
    ),
    Move(
        "conclude",
        gettext_lazy("feedback concluded"),
        # Or DISSATISFIED, by the ratings: ``services.ticket_conclude``, ``reminders._conclude_batch``.
        {Status.FORWARDED: Status.CLOSED},
        frozenset({Party.SYSTEM, Party.REVIEWER}),
        public=True,
    ),
    Move(
        "rehandle",
        gettext_lazy("re-handling ordered (重办)"),
        {Status.DISSATISFIED: Status.SIGNED},
        REVIEW,
        public=True,
        note_required=True,
    ),
    Move(
        "close",
        gettext_lazy("closed with an explanation"),
        {Status.DISSATISFIED: Status.CLOSED},
        REVIEW,
        public=True,
        note_required=True,
    ),
    Move("archive", gettext_lazy("archived"), {Status.CLOSED: Status.ARCHIVED}, TRIAGE),
    Move(
        "edit",
        gettext_lazy("details edited"),
        {s: s for s in OPEN},
        TRIAGE,
    ),
    # The public summary of a closed ticket, corrected (a typo, a wrong figure, a name that
    # should not be there): /results/ shows it as corrected; the reason is on the timeline.
    Move(
        "correct_summary",
        gettext_lazy("published summary corrected"),
        {Status.CLOSED: Status.CLOSED, Status.ARCHIVED: Status.ARCHIVED},
        TRIAGE,
        note_required=True,
    ),
    # A suggestion adopted (采纳) by the body it was put to, once a unit has it (seed 001: the county
    # committee, a township committee). Recorded by the township or the office; the record and the
    # points count it (issue 13).
    Move(
        "adopt",
        gettext_lazy("adopted (采纳)"),
        {
            s: s
            for s in (
                *WITH_UNIT_ORDER,
                Status.REPLIED,
                Status.FORWARDED,
                Status.DISSATISFIED,
                Status.CLOSED,
                Status.ARCHIVED,
            )
        },
        TRIAGE,
    ),
)

# Moves whose target can be one of several statuses, chosen by the service (the map above
# names the default). ``transition`` accepts these alternatives and no others.
ALTERNATIVE_TARGETS: dict[tuple[str, str], set[str]] = {
    ("return", Status.ASSIGNED): {Status.REGISTERED, Status.AT_COUNTY},
    ("conclude", Status.FORWARDED): {Status.CLOSED, Status.DISSATISFIED},
}


# The version (``updated_at``) of a moved ticket is greatest(now, previous version + this): it
# always moves forward, even within one clock tick or when this server's clock is behind the
# last writer's. ``transition`` computes it in Python, ``transition_many`` in SQL, from this.
VERSION_STEP = datetime.timedelta(microseconds=1)


class InvalidMove(Exception):
    """The move is not possible from the ticket's status."""


class Conflict(Exception):
    """Someone else moved the ticket since the user loaded it."""

    def __init__(self, message: str | None = None):
        super().__init__(
            message
            or _("Someone else acted on this ticket in the meantime. Reload the page to see what changed.")
        )


def parties(ticket: Ticket, user) -> frozenset[str]:
    """What ``user`` is to ``ticket``: computed from their roles, with no query beyond the
    ticket's own assignments (prefetched by the detail page)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    scope = user.scope
    found: set[str] = set()
    path = ticket.township.path
    if scope.sees_all:
        found |= {Party.OFFICE, Party.TOWNSHIP}
    else:
        for root in scope.anchor_paths.get(Role.LIAISON_OFFICE, ()):
            if path.startswith(root):
                found.add(Party.OFFICE)
        for root in scope.anchor_paths.get(Role.TOWNSHIP_STAFF, ()):
            if path.startswith(root):
                found.add(Party.TOWNSHIP)
    if Party.OFFICE in found or (Party.TOWNSHIP in found and ticket.assigned_by == "township"):
        found.add(Party.REVIEWER)
    if scope.unit_ids:
        for assignment in ticket.assignments.all():
            if assignment.ended_at is None and assignment.unit_id in scope.unit_ids:
                found.add(Party.LEAD_UNIT if assignment.role == "lead" else Party.CO_UNIT)
    if ticket.representative is not None and ticket.representative.user_id == user.pk:
        found.add(Party.REPRESENTATIVE)
    return frozenset(found)


def allowed_moves(ticket: Ticket, acting_as: frozenset[str]) -> list[Move]:
    """The moves these parties may make on the ticket now (for the buttons a page shows)."""
    return [
        m for m in MOVES.values() if ticket.status in m.paths and acting_as & m.allowed_for(ticket.status)
    ]


def check(ticket: Ticket, move_name: str, acting_as: frozenset[str]) -> Move:
    """Return the move, or raise: InvalidMove (not from this status), PermissionDenied (not you)."""
    move = MOVES[move_name]
    if ticket.status not in move.paths:
        raise InvalidMove(
            _("“%(move)s” is not possible while the ticket is “%(status)s”.")
            % {"move": move.label, "status": Status(ticket.status).label}
        )
    if not acting_as & move.allowed_for(ticket.status):
        raise PermissionDenied(_("You may not do this on this ticket."))
    return move


@transaction.atomic
def transition(
    ticket: Ticket,
    *,
    move: str,
    actor: User | None,
    acting_as: frozenset[str],
    note: str = "",
    to: str | None = None,
    data: dict | None = None,
    changes: dict | None = None,
    actor_label: str = "",
    now: datetime.datetime | None = None,
) -> TicketEvent:
    """Make ``move`` on ``ticket`` as ``actor`` (who is ``acting_as`` to it), or refuse.

    1. Check the move is allowed from the status the caller loaded, for these parties.
    2. Move the row with a compare-and-set on that status and on ``updated_at`` (the version):
       zero rows updated means another user moved it first, and this one gets ``Conflict``.
       The version always moves forward, even within one clock tick or when this server's clock
       is behind the last writer's: otherwise replied → rework → replied again would look
       unchanged to a page loaded at the first "replied".
    3. Write one append-only event (the timeline and the notification outbox).
    ``changes`` are further column updates made in the same UPDATE, with the statistics' figures
    the move changes (``proposals.facts.changes_for``).
    """
    from proposals.models import Ticket, TicketEvent

    spec = check(ticket, move, acting_as)
    note = (note or "").strip()
    if spec.note_required and not note:
        raise InvalidMove(_("Please give the reason or the details."))
    source = ticket.status
    target = _target(spec, source, to)
    now = now or timezone.now()
    version = max(now, ticket.updated_at + VERSION_STEP)
    # The statistics' figures the move changes (proposals.facts), in the same UPDATE.
    changes = {**facts.changes_for(ticket, move, data or {}), **(changes or {})}
    moved = Ticket.objects.filter(pk=ticket.pk, status=source, updated_at=ticket.updated_at).update(
        status=target, updated_at=version, **changes
    )
    if not moved:
        raise Conflict
    for name, value in changes.items():
        if not hasattr(value, "resolve_expression"):
            setattr(ticket, name, value)
    if any(hasattr(v, "resolve_expression") for v in changes.values()):
        ticket.refresh_from_db(fields=[k for k, v in changes.items() if hasattr(v, "resolve_expression")])
    ticket.status, ticket.updated_at = target, version
    # Tell the people concerned within seconds (the outbox sweep; beat runs it as a safety net).
    sweep_after_commit()
    if source in CLOSED or target in CLOSED:
        results_cache.bump()  # a ticket published, reopened or archived: /results/ changes
    return TicketEvent.objects.create(
        ticket=ticket,
        at=now,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label[:64],
        move=move,
        from_status=source,
        to_status=target,
        note=note,
        data=data or {},
        is_public=spec.public,
    )


def _target(spec: Move, source: str, to: str | None) -> str:
    """The status ``spec`` leads to from ``source``: its default, or an allowed alternative."""
    default = spec.paths[source]
    target = to or default
    if target != default and target not in ALTERNATIVE_TARGETS.get((spec.name, source), ()):
        raise InvalidMove(f"{spec.name} cannot lead from {source} to {target}")
    return target


def transition_many(
    ticket_ids: Collection[int],
    *,
    move: str,
    source: str,
    actor: User | None,
    acting_as: frozenset[str],
    now: datetime.datetime,
    to: str | None = None,
    note: str = "",
    data: dict | None = None,
    data_by_ticket: Mapping[int, dict] | None = None,
    changes: dict | None = None,
    actor_label: str = "",
) -> int:
    """Make ``move`` from ``source`` on every ticket of ``ticket_ids`` still there; return how many moved.

    The bulk ``transition()``, for sweeps: the same table of moves and targets, the same
    version rule, one event per ticket moved, the same notification on commit, in two queries
    whatever the number of tickets.

    1. Check the move is allowed from ``source`` for these parties, and ``to`` (as in ``transition``).
    2. One INSERT ... SELECT of the events of the tickets still in ``source``, which locks them
       (``FOR UPDATE``; on SQLite the transaction's write lock does it). Each event's ``data`` is
       ``data_by_ticket[id]``, else ``data``: a CASE over the few distinct values.
    3. One UPDATE of those tickets, guarded by ``status = source``: the status, ``changes``, and
       the version moved forward as in ``transition``. A ticket another writer moved first is
       neither updated nor recorded. The guard is the status alone, not the version a page
       loaded: a sweep acts on what the database says now.
    """
    from proposals.models import Ticket

    spec = check(Ticket(status=source), move, acting_as)
    if facts.changes_for(Ticket(status=source), move, data or {}):  # not per ticket's own state
        raise ValueError(f"{move} changes the statistics' figures: make it with transition()")
    note = (note or "").strip()
    if spec.note_required and not note:
        raise InvalidMove(_("Please give the reason or the details."))
    target = _target(spec, source, to)
    ids = list(ticket_ids)
    if not ids:
        return 0
    details: dict[str, list[int]] = {}
    for ticket_id, value in (data_by_ticket or {}).items():
        details.setdefault(json.dumps(value), []).append(ticket_id)
    event = {
        "at": connection.ops.adapt_datetimefield_value(now),
        "actor": actor.pk if actor is not None and actor.is_authenticated else None,
        "actor_label": actor_label[:64],
        "move": move,
        "from_status": source,
        "to_status": target,
        "note": note,
        "is_public": spec.public,
    }
    # No savepoint of its own: a sweep calls this inside its batch's transaction, which a failure
    # here rolls back anyway (a savepoint costs two queries); a refusal above breaks nothing.
    with transaction.atomic(savepoint=False):
        moved = _move_many(ids, source, target, event, details, json.dumps(data or {}), changes or {}, now)
        if moved:
            sweep_after_commit()
            if source in CLOSED or target in CLOSED:
                results_cache.bump()  # tickets closed (published) or archived in a sweep
    return moved


def _move_many(
    ids: list[int],
    source: str,
    target: str,
    event: dict,
    details: dict[str, list[int]],
    default_details: str,
    changes: dict,
    now: datetime.datetime,
) -> int:
    """Steps 2 and 3 of ``transition_many``: record the events, then move the tickets."""
    from proposals.models import Ticket, TicketEvent

    recorded = (
        Ticket.objects.filter(pk__in=ids, status=source)
        .select_for_update(of=("self",))
        .annotate(
            details=Case(
                *(When(pk__in=group, then=Value(text)) for text, group in details.items()),
                default=Value(default_details),
                output_field=CharField(),
            )
        )
        .order_by()
        .values("id", "details")
    )
    select_sql, select_params = recorded.query.sql_with_params()
    qn = connection.ops.quote_name
    column = {f.name: f.column for f in TicketEvent._meta.concrete_fields}
    columns = ", ".join(qn(str(column[name])) for name in ("ticket", *event, "data"))
    details_sql = "CAST(s.details AS jsonb)" if connection.vendor == "postgresql" else "s.details"
    placeholders = ", ".join(["%s"] * len(event))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(TicketEvent._meta.db_table)} ({columns}) "  # noqa: S608 - names from the model
            f"SELECT s.id, {placeholders}, {details_sql} FROM ({select_sql}) s",
            (*event.values(), *select_params),
        )
        recorded_count = cursor.rowcount
    version = Greatest(Value(now, output_field=DateTimeField()), F("updated_at") + VERSION_STEP)
    moved = Ticket.objects.filter(pk__in=ids, status=source).update(
        status=target, updated_at=version, **changes
    )
    if moved != recorded_count:  # the rows were locked in step 2: only a broken lock gets here
        raise Conflict(f"{event['move']}: {recorded_count} events recorded for {moved} tickets moved")
    return moved


def sweep_after_commit() -> None:
    """Ask for one run of the ticket-event outbox sweep when the transaction commits. One run
    sends every move's news, so a transaction of many moves (a batch, ``generate_year``) asks
    once, not once per move. Outside a transaction the sweep is asked for at once."""
    if any(entry[1] is _notify_ticket_events for entry in connection.run_on_commit):
        return  # already asked for in this transaction
    transaction.on_commit(_notify_ticket_events, robust=True)


def _notify_ticket_events() -> None:
    from proposals.tasks import notify_ticket_events  # lazy: tasks import the services

    notify_ticket_events.delay()


def bump(field_name: str):
    """An F() increment for ``changes`` (e.g. the handling round)."""
    return F(field_name) + 1

"""Ticket deadlines made to bite: set-based sweeps that tell the right people exactly once.

Two service functions, each run by a periodic Celery task (``proposals.tasks``) and by a
management command of the same name:

- ``ticket_reminders_send_due(now=...)``: what the clock makes owed. Due soon (each offset of
  the county's ``DeadlinePolicy.due_soon_days``) to the lead unit; overdue at the due time to
  the lead unit and the assigning office; escalation (``escalate_after_days``) to the township
  staff and the county liaison office; co-unit opinions overdue; matters not handed in within
  ``handin_days``; feedback not returned (a reminder to the representative, then the ticket is
  concluded when the policy says so); a daily overdue digest per office; on the 1st, the month's
  bulletin drafted (``proposals.bulletins``) and announced to each county's liaison office.
- ``ticket_events_notify(now=...)``: what a move makes owed, read from the ``TicketEvent``
  outbox (each transition also enqueues it on commit, so people hear within seconds); the
  same sweep records what integrating systems are owed by webhook (``proposals.webhooks``).

How it stays exactly-once and cheap:
1. Each rule is one ``liaison.notify.issue()`` per distinct policy value (counties are few,
   policies fewer; never a loop over tickets): the subjects and the recipients are each one
   SELECT, built with the ORM and run inside notify's INSERT ... SELECT.
2. The reminder key (subject, kind, period) is unique in the database, and the period says
   what the notice is about: the due date (an approved extension warns again for its new date,
   the same date never twice), the offset, the day of a digest, the month of a bulletin. A
   second sweep, a retried task or two workers at once insert nothing; after downtime the
   next sweep sends what is owed, once.
3. Offsets are windows, not thresholds: a sweep after a long gap sends the most urgent notice
   only (1 day before, not 3 and 1; overdue by 3 days, not by 1 and by 3).
4. Concluding feedback is the only write to tickets: bounded batches, claimed with SKIP LOCKED
   here, moved by ``transitions.transition_many`` (compare-and-set on the status, one bulk
   insert of their events), the one writer of a ticket's status.

Time: due times are the end of a day in Beijing time (``deadlines.end_of_day``); periods are
Beijing dates. Offsets count calendar days whatever the policy's day mode: "due within 3 days"
is a warning, not a deadline.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import health, notify
from liaison.models import Delivery, Heartbeat, Region, RoleAssignment
from liaison.roles import Role
from proposals import notifications as kinds
from proposals import webhooks
from proposals.models import Assignment, Bulletin, DeadlinePolicy, Rating, Ticket, TicketEvent
from proposals.queues import RECEPTION_MATTER_TO_HAND_IN, VISIT_MATTER_TO_HAND_IN
from proposals.services import feedback_outcome
from proposals.transitions import Party, Status, transition_many
from reps.models import VisitMatter
from studios.models import ReceptionMatter

log = logging.getLogger(__name__)

# After the feedback window ends, the representative is reminded; when the county's policy
# closes tickets without feedback, the ticket is concluded this long after the window ended.
FEEDBACK_CLOSE_GRACE = datetime.timedelta(days=3)
# Tickets concluded per transaction, and at most per sweep (the rest wait five minutes).
CONCLUDE_BATCH = 1000
CONCLUDE_MAX_PER_SWEEP = 20 * CONCLUDE_BATCH
# Matters recorded longer ago than this are history, not owed: a first sweep on old data does
# not flood the representatives (and the sweep reads only recent receptions and visits).
HANDIN_LOOKBACK = datetime.timedelta(days=60)
# The daily overdue digest goes out from this hour (Beijing time) on, once per office and day.
DIGEST_HOUR = 8
# The monthly bulletin for the month just ended is drafted and announced from the 1st; a sweep up
# to this day of the month still does it (catch-up after downtime), later ones start no backlog.
BULLETIN_CATCH_UP_DAYS = 7
# Events this recent are always read: a window wide enough for an event committed late (the
# sweep ran in between), narrow enough that the sweep reads a bounded slice of the outbox.
# After a longer outage the sweep reads back to where the last sweep stopped, at most
# settings.EVENT_CATCH_UP_DAYS; older events are skipped with a warning (log and /healthz).
EVENT_WINDOW = datetime.timedelta(days=3)

TICKET, ASSIGNMENT, EVENT, REGION = (
    "proposals.ticket",
    "proposals.assignment",
    "proposals.ticketevent",
    "liaison.region",
)


# --- building blocks -------------------------------------------------------------------------


def _local_date(field: str):
    """The Beijing date of a datetime column, as text: "2026-03-29"."""
    return Cast(TruncDate(field, tzinfo=timezone.get_default_timezone()), CharField())


def _period(prefix: str, field: str):
    return Concat(Value(prefix), _local_date(field), output_field=CharField())


def _subjects(qs: QuerySet, period) -> QuerySet:
    if isinstance(period, str):
        period = Value(period, output_field=CharField())
    return qs.values(subject_id=F("pk"), period=period)


def _unit_staff(qs: QuerySet, unit: str) -> QuerySet:
    """(subject, user) for the staff of the unit at ``unit`` (a path from qs's model)."""
    return qs.filter(**{f"{unit}__staff_roles__role": Role.HANDLING_UNIT}).values(
        subject_id=F("pk"), user_id=F(f"{unit}__staff_roles__user")
    )


def _region_staff(qs: QuerySet, region: str, role: str) -> QuerySet:
    """(subject, user) for the holders of ``role`` anchored at the region at ``region``."""
    return qs.filter(**{f"{region}__role_assignments__role": role}).values(
        subject_id=F("pk"), user_id=F(f"{region}__role_assignments__user")
    )


def _township_staff(qs: QuerySet, township: str) -> QuerySet:
    return _region_staff(qs, township, Role.TOWNSHIP_STAFF)


def _county_office(qs: QuerySet, county: str) -> QuerySet:
    return _region_staff(qs, county, Role.LIAISON_OFFICE)


def _assigning_office(qs: QuerySet, ticket: str = "") -> QuerySet:
    """The office that assigned the ticket (and reviews its reply): the township's staff when
    the township assigned it, else the county liaison office."""
    return _union(
        _township_staff(
            qs.filter(**{f"{ticket}assigned_by": Ticket.AssignedBy.TOWNSHIP}), f"{ticket}township"
        ),
        _county_office(
            qs.filter(**{f"{ticket}assigned_by": Ticket.AssignedBy.COUNTY}), f"{ticket}township__parent"
        ),
    )


def _union(first: QuerySet, *rest: QuerySet) -> QuerySet:
    """UNION ALL of ``.values()`` querysets (notify de-duplicates): still one SELECT."""
    return first.order_by().union(*(qs.order_by() for qs in rest), all=True)


def _issue(kind: str, subject_type: str, subjects: QuerySet, recipients: QuerySet, now) -> int:
    return notify.issue(
        kind=kind, subject_type=subject_type, subjects=subjects, recipients=recipients, now=now
    )


class Policies:
    """The policy in force today in every county, and the counties grouped by a policy value.

    Two queries, whatever the number of tickets; a county without a policy has the defaults.
    """

    def __init__(self, today: datetime.date):
        counties = list(Region.objects.filter(level=Region.Level.COUNTY).values_list("pk", flat=True))
        in_force: dict[int, DeadlinePolicy] = {}
        for policy in DeadlinePolicy.objects.filter(effective_from__lte=today).order_by(
            "county_id", "-effective_from"
        ):
            in_force.setdefault(policy.county_id, policy)
        self.by_county = {c: in_force.get(c) or DeadlinePolicy(county_id=c) for c in counties}

    def groups(self, values_of: Callable[[DeadlinePolicy], Iterable]) -> dict[object, list[int]]:
        """Each value ``values_of(policy)`` yields → the counties whose policy yields it."""
        groups: dict[object, list[int]] = defaultdict(list)
        for county_id, policy in self.by_county.items():
            for value in values_of(policy):
                groups[value].append(county_id)
        return groups

    def within(self, qs: QuerySet, county: str, counties: list[int]) -> QuerySet:
        """``qs`` limited to ``counties`` (no condition at all when that is every county)."""
        if len(counties) == len(self.by_county):
            return qs
        return qs.filter(**{f"{county}__in": counties})


def _windows_before(days: list[int]) -> list[tuple[int, int]]:
    """[1, 3] → [(1, 0), (3, 1)]: warn d days before, until the next, nearer warning is due."""
    days = sorted(d for d in days if d > 0)
    return list(zip(days, [0, *days[:-1]], strict=True))


def _windows_after(days: list[int]) -> list[tuple[int, int | None]]:
    """[1, 3] → [(1, 3), (3, None)]: escalate d days late, until the next escalation is due."""
    days = sorted(d for d in days if d > 0)
    return list(zip(days, [*days[1:], None], strict=True))


# --- the clock -------------------------------------------------------------------------------


def ticket_reminders_send_due(*, now: datetime.datetime) -> dict[str, int]:
    """Send every deadline notice owed at ``now``, once; return how many were new, by rule.

    Each rule commits on its own (notify.issue is atomic), so a sweep interrupted half-way
    has done half the work and the next one does the rest (what it issued is sent when its
    hold would have ended: ``notify.held_dispatch``).
    """
    today = timezone.localdate(now)
    policies = Policies(today)
    # What the sweep owes goes out when it is done: one message per person and channel
    # (notify.held_dispatch, notify.digest), an escalation standing for the overdue notice.
    with notify.held_dispatch(now):
        sent = {
            "due_soon": _due_soon(now, policies),
            "overdue": _overdue(now),
            "escalated": _escalated(now, policies),
            "co_opinion_overdue": _co_opinion_overdue(now),
            "handin_overdue": _handin_overdue(now, policies),
            "concluded": _conclude_feedback(now, policies),
            "feedback_overdue": _feedback_overdue(now, policies),
            "overdue_digest": _overdue_digest(now),
            "bulletin": _bulletin(now),
        }
    log.info("ticket reminders at %s: %s", now.isoformat(), sent)
    return sent


def _due_soon(now, policies: Policies) -> int:
    issued = 0
    for (days, nearer), counties in policies.groups(
        lambda p: _windows_before(p.day_list(p.due_soon_days))
    ).items():
        tickets = policies.within(
            Ticket.objects.with_unit().filter(
                due_at__gt=now + datetime.timedelta(days=nearer),
                due_at__lte=now + datetime.timedelta(days=days),
            ),
            "township__parent_id",
            counties,
        )
        issued += _issue(
            kinds.DUE_SOON,
            TICKET,
            _subjects(tickets, _period(f"{days}d:", "due_at")),
            _unit_staff(tickets, "lead_unit"),
            now,
        )
    return issued


def _overdue(now) -> int:
    tickets = Ticket.objects.overdue(now)
    return _issue(
        kinds.OVERDUE,
        TICKET,
        _subjects(tickets, _local_date("due_at")),
        _union(_unit_staff(tickets, "lead_unit"), _assigning_office(tickets)),
        now,
    )


def _escalated(now, policies: Policies) -> int:
    issued = 0
    for (days, later), counties in policies.groups(
        lambda p: _windows_after(p.day_list(p.escalate_after_days))
    ).items():
        tickets = Ticket.objects.with_unit().filter(due_at__lte=now - datetime.timedelta(days=days))
        if later is not None:
            tickets = tickets.filter(due_at__gt=now - datetime.timedelta(days=later))
        tickets = policies.within(tickets, "township__parent_id", counties)
        issued += _issue(
            kinds.ESCALATED,
            TICKET,
            _subjects(tickets, _period(f"+{days}d:", "due_at")),
            _union(_township_staff(tickets, "township"), _county_office(tickets, "township__parent")),
            now,
        )
    return issued


def _co_opinion_overdue(now) -> int:
    """A co-unit's opinion past its time, while the lead unit still holds the ticket."""
    from proposals.transitions import WITH_UNIT

    late = Assignment.objects.filter(
        role=Assignment.Role.CO,
        ended_at__isnull=True,
        opinion_at__isnull=True,
        opinion_due_at__lt=now,
        ticket__status__in=WITH_UNIT,
    )
    return _issue(
        kinds.CO_OPINION_OVERDUE,
        ASSIGNMENT,
        _subjects(late, _local_date("opinion_due_at")),
        _union(_unit_staff(late, "unit"), _unit_staff(late, "ticket__lead_unit")),
        now,
    )


def _handin_overdue(now, policies: Policies) -> int:
    """Matters collected for a ticket (reception or home visit) and not handed in in time."""
    issued = 0
    for days, counties in policies.groups(lambda p: [p.handin_days]).items():
        cutoff = now - datetime.timedelta(days=days)
        received = policies.within(
            ReceptionMatter.objects.filter(
                RECEPTION_MATTER_TO_HAND_IN,
                # The clock runs from the reception itself, not from when its card was typed in.
                reception__starts_at__lt=cutoff,
                reception__starts_at__gte=now - HANDIN_LOOKBACK,
            ),
            "reception__township__parent_id",
            counties,
        )
        issued += _issue(
            kinds.HANDIN_OVERDUE,
            "studios.receptionmatter",
            _subjects(received, ""),
            _union(
                received.filter(reception__representatives__user__isnull=False).values(
                    subject_id=F("pk"), user_id=F("reception__representatives__user")
                ),
                received.filter(reception__studio__liaison_officer__isnull=False).values(
                    subject_id=F("pk"), user_id=F("reception__studio__liaison_officer")
                ),
            ),
            now,
        )
        visited = policies.within(
            VisitMatter.objects.filter(
                VISIT_MATTER_TO_HAND_IN,
                # A visit has a date, not a time: its days run to the end of the last one.
                visit__date__lt=timezone.localdate(cutoff),
                visit__date__gte=timezone.localdate(now - HANDIN_LOOKBACK),
            ),
            "visit__township__parent_id",
            counties,
        )
        issued += _issue(
            kinds.HANDIN_OVERDUE,
            "reps.visitmatter",
            _subjects(visited, ""),
            visited.filter(visit__representatives__user__isnull=False).values(
                subject_id=F("pk"), user_id=F("visit__representatives__user")
            ),
            now,
        )
    return issued


def _feedback_overdue(now, policies: Policies) -> int:
    """The representative has not rated a forwarded reply in the feedback window.

    Where the policy closes such tickets, only until they are due to be concluded: after a gap
    (or while another sweep is concluding them) they are closed, not reminded as well.
    """
    tickets = Ticket.objects.filter(
        status=Status.FORWARDED, feedback_due_at__lt=now, representative__user__isnull=False
    )
    closing = policies.groups(lambda p: [True] if p.close_without_feedback else []).get(True, [])
    if closing:
        before_close = Q(feedback_due_at__gte=now - FEEDBACK_CLOSE_GRACE)
        if len(closing) < len(policies.by_county):
            before_close |= ~Q(township__parent_id__in=closing)
        tickets = tickets.filter(before_close)
    return _issue(
        kinds.FEEDBACK_OVERDUE,
        TICKET,
        _subjects(tickets, _local_date("feedback_due_at")),
        tickets.values(subject_id=F("pk"), user_id=F("representative__user")),
        now,
    )


def _conclude_feedback(now, policies: Policies) -> int:
    """Conclude forwarded tickets whose feedback window ended ``FEEDBACK_CLOSE_GRACE`` ago, in
    counties whose policy says so, as ``services.ticket_conclude`` would."""
    counties = policies.groups(lambda p: [True] if p.close_without_feedback else []).get(True, [])
    if not counties:
        return 0
    due = policies.within(
        Ticket.objects.filter(status=Status.FORWARDED, feedback_due_at__lt=now - FEEDBACK_CLOSE_GRACE),
        "township__parent_id",
        counties,
    )
    concluded = 0
    while concluded < CONCLUDE_MAX_PER_SWEEP:
        done, claimed = _conclude_batch(due, now)
        concluded += done
        if claimed < CONCLUDE_BATCH:
            break
    return concluded


@transaction.atomic
def _conclude_batch(due: QuerySet, now) -> tuple[int, int]:
    """Conclude one batch; return (concluded, claimed).

    1. Claim up to CONCLUDE_BATCH tickets with ``SELECT ... FOR UPDATE SKIP LOCKED``. A user
       rating one at this moment either holds its row already (it is skipped: their rating
       may conclude it, else the next sweep does) or waits for this transaction and then
       finds the status moved (their compare-and-set fails: a clean Conflict).
    2. Read the round's ratings: dissatisfied if anyone was, else closed ("replied and rated"
       if a proposer rated, "no resident rating" if none did): ``services.feedback_outcome``.
    3. Move each outcome's tickets with ``transitions.transition_many`` (the status, the
       version, the "conclude" events with the round's scores; actor: none, shown as
       "System"): two queries per outcome, so 4 to 8 queries per batch.
    """
    claimed = list(
        due.order_by("pk")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", "round")[:CONCLUDE_BATCH]
    )
    if not claimed:
        return 0, 0
    rounds = dict(claimed)
    scores: dict[int, set[str]] = defaultdict(set)
    residents_rated: set[int] = set()
    for ticket_id, round_, score, proposer_id in Rating.objects.filter(ticket_id__in=rounds).values_list(
        "ticket_id", "round", "score", "proposer_id"
    ):
        if rounds[ticket_id] == round_:
            scores[ticket_id].add(score)
            if proposer_id is not None:
                residents_rated.add(ticket_id)
    outcomes: dict[tuple[str, str], list[int]] = defaultdict(list)
    for ticket_id in rounds:
        outcome = feedback_outcome(scores[ticket_id], residents_rated=ticket_id in residents_rated)
        outcomes[outcome].append(ticket_id)
    concluded = 0
    for (target, resolution), ids in outcomes.items():
        concluded += transition_many(
            ids,
            move="conclude",
            source=Status.FORWARDED,
            to=target,
            actor=None,
            acting_as=frozenset({Party.SYSTEM}),
            actor_label=_("System"),
            now=now,
            # As ``services.ticket_conclude`` records them (the timeline shows the scores).
            changes={"resolution": resolution, "closed_at": now} if target == Status.CLOSED else {},
            data_by_ticket={ticket_id: {"scores": sorted(scores[ticket_id])} for ticket_id in ids},
        )
    return concluded, len(claimed)


def _overdue_digest(now) -> int:
    """Each office with overdue tickets hears once a day, from DIGEST_HOUR: a township of the
    tickets it assigned, the county liaison office of those it assigned."""
    local = timezone.localtime(now)
    if local.hour < DIGEST_HOUR:
        return 0
    # Read from the overdue tickets (an index range), not region by region.
    overdue = Ticket.objects.overdue(now)
    day = local.date().isoformat()
    offices = _union(
        overdue.filter(assigned_by=Ticket.AssignedBy.TOWNSHIP).values(
            subject_id=F("township_id"), period=Value(day, output_field=CharField())
        ),
        overdue.filter(assigned_by=Ticket.AssignedBy.COUNTY).values(
            subject_id=F("township__parent_id"), period=Value(day, output_field=CharField())
        ),
    )
    staff = RoleAssignment.objects.filter(
        Q(role=Role.TOWNSHIP_STAFF, region__level=Region.Level.TOWNSHIP)
        | Q(role=Role.LIAISON_OFFICE, region__level=Region.Level.COUNTY)
    ).values("user_id", subject_id=F("region_id"))
    return _issue(kinds.OVERDUE_DIGEST, REGION, offices, staff, now)


def _bulletin(now) -> int:
    """Tell each county's liaison office, once, that last month's bulletin is drafted, from the
    1st (``bulletins.bulletins_draft_due`` drafts it; the office edits and publishes it)."""
    today = timezone.localdate(now)
    if today.day > BULLETIN_CATCH_UP_DAYS:
        return 0
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    month = last_month.strftime("%Y-%m")
    drafted = Bulletin.objects.filter(kind=Bulletin.Kind.MONTH, year=last_month.year, number=last_month.month)
    counties = Region.objects.filter(level=Region.Level.COUNTY, pk__in=drafted.values("county_id"))
    office = RoleAssignment.objects.filter(
        role=Role.LIAISON_OFFICE, region__level=Region.Level.COUNTY
    ).values("user_id", subject_id=F("region_id"))
    return _issue(kinds.BULLETIN, REGION, _subjects(counties, month), office, now)


# --- the outbox ------------------------------------------------------------------------------


def _event_recipients(move: str, events: QuerySet) -> QuerySet:
    """Who hears of a move: (event, user) pairs, one SELECT."""
    if move == "assign":
        # The units this assignment sent it to (lead and co-units: their rows carry the event's
        # time), unless one has already handed it back.
        return events.filter(
            ticket__assignments__assigned_at=F("at"),
            ticket__assignments__ended_at__isnull=True,
            ticket__assignments__unit__staff_roles__role=Role.HANDLING_UNIT,
        ).values(subject_id=F("pk"), user_id=F("ticket__assignments__unit__staff_roles__user"))
    if move == "return":
        # The ticket is back with whoever assigned it (its assigned_by is cleared by now).
        return _union(
            _township_staff(events.filter(to_status=Status.REGISTERED), "ticket__township"),
            _county_office(events.filter(to_status=Status.AT_COUNTY), "ticket__township__parent"),
        )
    if move in ("reply", "request_extension"):
        return _assigning_office(events, "ticket__")
    if move in ("decide_extension", "rework", "rehandle"):
        return _unit_staff(events, "ticket__lead_unit")
    if move == "forward":
        return events.filter(ticket__representative__user__isnull=False).values(
            subject_id=F("pk"), user_id=F("ticket__representative__user")
        )
    raise ValueError(f"no recipients for move {move!r}")


def _proposer_events(recent: QuerySet) -> dict[str, tuple[str, QuerySet]]:
    """The events a consenting proposer hears of by SMS: key → (kind, events)."""
    return {
        "sms_receipt": (kinds.PROPOSER_RECEIPT, recent.filter(move="register")),
        # Whatever move brings the reply to the proposers' rating (to the rep and them, or,
        # with no rep, to them alone): read by status, not by the move's name.
        "sms_reply_ready": (
            kinds.PROPOSER_REPLY,
            recent.filter(from_status=Status.REPLIED, to_status=Status.FORWARDED),
        ),
        "sms_rehandled": (kinds.PROPOSER_REHANDLED, recent.filter(move="rehandle")),
    }


def _events_since(now: datetime.datetime) -> datetime.datetime:
    """Where the event sweep starts reading: EVENT_WINDOW back, or further back to the last
    sweep after an outage, but never more than ``settings.EVENT_CATCH_UP_DAYS``; the events
    before that are skipped, and a warning says which (in the log and on /healthz)."""
    start = now - EVENT_WINDOW
    last = Heartbeat.objects.filter(name=health.EVENT_SWEEP).values_list("seen_at", flat=True).first()
    if last is None or last >= start:
        return start  # the first sweep ever, or no outage: the window
    floor = min(start, now - datetime.timedelta(days=settings.EVENT_CATCH_UP_DAYS))
    if last >= floor:
        return last  # catching up after an outage
    skipped = TicketEvent.objects.filter(at__gt=last, at__lte=floor).count()
    if skipped:
        log.warning(
            "ticket events: %d events after %s up to %s were not notified: the sweep had not run for "
            "longer than EVENT_CATCH_UP_DAYS (%d days)",
            skipped,
            timezone.localtime(last).isoformat(),
            timezone.localtime(floor).isoformat(),
            settings.EVENT_CATCH_UP_DAYS,
        )
        health.note_skipped_events(since=last, until=floor)
    return floor


def _mark_swept(now: datetime.datetime) -> None:
    """Remember how far the event sweep has read (only ever forward; two sweeps at once agree)."""
    if Heartbeat.objects.filter(name=health.EVENT_SWEEP, seen_at__lt=now).update(seen_at=now):
        return
    try:
        with transaction.atomic():
            Heartbeat.objects.get_or_create(name=health.EVENT_SWEEP, defaults={"seen_at": now})
    except IntegrityError:
        pass  # another sweep created it at the same moment


def ticket_events_notify(*, now: datetime.datetime) -> dict[str, int]:
    """Tell the people concerned about each move since the last sweep (at least EVENT_WINDOW,
    at most EVENT_CATCH_UP_DAYS back), once per event.

    One ``issue()`` per move kind; the subject is the event, so each is told at most once
    however often this runs (on commit of each transition, and by beat as a safety net).
    Proposers who consented get three of them by SMS (``sms_*``: the phones written to): only
    events of tickets with such a proposer get a reminder, each consenting phone one message.
    Integrating systems subscribed to a kind of event get a webhook delivery each
    (``webhooks``: the new ledger rows), sent by the dispatch that follows.
    """
    recent = TicketEvent.objects.filter(at__gt=_events_since(now), at__lte=now)
    sent = {}
    for move, kind in kinds.EVENT_KINDS.items():
        events = recent.filter(move=move)
        sent[move] = _issue(kind, EVENT, _subjects(events, ""), _event_recipients(move, events), now)
    for key, (kind, events) in _proposer_events(recent).items():
        consenting = events.filter(ticket__proposers__sms_consent=True)
        sent[key] = notify.issue_to_addresses(
            kind=kind,
            subject_type=EVENT,
            subjects=_subjects(consenting, ""),
            recipients=consenting.values(subject_id=F("pk"), address=F("ticket__proposers__phone")),
            channel=Delivery.Channel.SMS,
            now=now,
        ).notifications
    sent["webhooks"] = webhooks.webhook_deliveries_issue(events=recent, now=now)
    webhooks.webhook_deliveries_dispatch(now=now)
    _mark_swept(now)
    return sent

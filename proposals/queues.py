"""The workspace's queues: which tickets wait for which user, read as filters over
``Ticket.objects.visible_to(user)``.

A queue is a named ``Q`` (plus the roles that see it). The workspace counts the open work of
each queue the user has (one capped count per queue: "1,000+" past ``COUNT_CAP``) and lists one
of them, filtered and sorted by due time, so the page costs the same number of queries for ten
tickets as for a million, and each query reads the work waiting, not every ticket the user may
see: a queue's statuses are read through an index (``ticket_staff_queue``, ``ticket_status_due``),
the extension requests waiting for a decision through ``extension_pending``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, F, Min, OuterRef, Q, Value
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _

from liaison.models import HandlingUnit
from liaison.roles import Role
from liaison.scoping import NOTHING
from proposals.models import Assignment, Extension, Rating, Ticket
from proposals.transitions import CLOSED, WITH_UNIT, Status
from reps.models import CommitteeLink, HomeVisit, VisitMatter
from studios.models import Reception, ReceptionMatter

if TYPE_CHECKING:
    from liaison.scoping import Scope

# A reply due within this many days is "due soon" (the policy's first warning, by default).
SOON_DAYS = 3
# Statuses in which a reviewer (the office that assigned the ticket) has something to decide.
TO_REVIEW = (Status.REPLIED, Status.DISSATISFIED)
# A matter raised at a reception or on a home visit that awaits hand-in (3日内报送) as a ticket:
# marked for a ticket (a visit's matter: not answered on the spot, as visits recorded before
# for_ticket existed were) and not yet one. The one rule, read by the rep's tab, the matters page
# (``proposals.matters``) and the hand-in reminders (``proposals.reminders._handin_overdue``).
RECEPTION_MATTER_TO_HAND_IN = Q(for_ticket=True, ticket__isnull=True)
VISIT_MATTER_TO_HAND_IN = Q(answered_on_spot=False, ticket__isnull=True)


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    roles: frozenset[str] | None  # None: every signed-in user with a ticket role
    help: str = ""


QUEUES: tuple[Queue, ...] = (
    Queue(
        "township",
        _("Township triage"),
        frozenset({Role.TOWNSHIP_STAFF}),
        _("New matters of your township, and the replies and extension requests of the units it assigned."),
    ),
    Queue(
        "office",
        _("Liaison office"),
        frozenset({Role.LIAISON_OFFICE}),
        _("Matters forwarded to the county, and the replies and extension requests of county units."),
    ),
    Queue(
        "unit",
        _("Unit inbox"),
        frozenset({Role.HANDLING_UNIT}),
        _("Tickets your unit holds: to sign for, in handling, or awaiting your co-unit opinion."),
    ),
    Queue(
        "mine",
        _("My to-do"),
        frozenset({Role.REPRESENTATIVE}),
        _(
            "The replies forwarded to you to rate, and the matters you collected that await hand-in. "
            "Every ticket you are responsible for or co-signed is under “All I can see”."
        ),
    ),
    Queue(
        "linked",
        _("Linked representatives"),
        frozenset({Role.COMMITTEE_MEMBER}),
        _("The tickets of the representatives linked to you."),
    ),
    Queue(
        "studio",
        _("My studios"),
        frozenset({Role.STUDIO_OFFICER}),
        _("The tickets of the studios you are the liaison officer of."),
    ),
    Queue("all", _("All I can see"), None, _("Every ticket you may see.")),
)
BY_KEY = {q.key: q for q in QUEUES}
TICKET_ROLES = frozenset(Role)


def queues_for(user) -> list[Queue]:
    """The queues a user's roles give them, work queues first and "all" last."""
    scope = user.scope
    if not (scope.sees_all or scope.roles & TICKET_ROLES):
        return []
    return [q for q in QUEUES if q.roles is None or scope.sees_all or scope.roles & q.roles]


def _under(scope: Scope, role: str) -> Q:
    """Tickets whose township lies under one of the places ``role`` is anchored at."""
    if scope.sees_all:
        return Q()
    q = NOTHING
    for path in scope.anchor_paths.get(role, ()):
        q |= Q(township__path__startswith=path)
    return q


def pending_extension() -> Exists:
    return Exists(Extension.objects.filter(ticket=OuterRef("pk"), decision=Extension.Decision.PENDING))


def pending_extension_ids(user) -> list[int]:
    """The tickets with an extension request awaiting a decision, read once per request (a few:
    the partial index ``extension_pending``). A literal list, not a subquery: ``id IN (…)`` in
    an OR is read through the primary key, where an EXISTS would be tested on every ticket."""
    ids = getattr(user, "_pending_extension_ids", None)
    if ids is None:
        ids = list(
            Extension.objects.filter(decision=Extension.Decision.PENDING)
            .order_by("ticket_id")
            .values_list("ticket_id", flat=True)
            .distinct()
        )
        user._pending_extension_ids = ids
    return ids


def _reviewing(assigned_by: str, user) -> Q:
    return Q(assigned_by=assigned_by) & (
        Q(status__in=TO_REVIEW) | Q(status__in=WITH_UNIT, pk__in=pending_extension_ids(user))
    )


def unit_holds(unit_ids, *, role: str, opinion_pending: bool = False) -> Exists:
    held = Assignment.objects.filter(
        ticket=OuterRef("pk"), unit_id__in=unit_ids, ended_at__isnull=True, role=role
    )
    if opinion_pending:
        held = held.filter(opinion_at__isnull=True)
    return Exists(held)


def co_opinion_pending(scope: Scope) -> Exists | None:
    """Whether one of the user's units is a co-unit that has not filed its opinion (per row)."""
    if not scope.unit_ids:
        return None
    return unit_holds(scope.unit_ids, role=Assignment.Role.CO, opinion_pending=True)


def rep_to_rate(user) -> Q:
    """Replies forwarded to the user as the responsible representative and not rated yet."""
    rated = Rating.objects.filter(ticket=OuterRef("pk"), round=OuterRef("round"), proposer__isnull=True)
    return Q(status=Status.FORWARDED, representative__user_id=user.pk) & ~Q(Exists(rated))


def queue_filter(key: str, user) -> Q:
    """The ``Q`` of one queue for ``user`` (to apply on top of ``visible_to(user)``)."""
    scope = user.scope
    if key == "township":
        return _under(scope, Role.TOWNSHIP_STAFF) & (
            Q(status=Status.REGISTERED) | _reviewing(Ticket.AssignedBy.TOWNSHIP, user)
        )
    if key == "office":
        # Every reply comes to the liaison office, which forwards it to the representative
        # (DOMAIN: handling step 3), whoever assigned the ticket: ``parties()`` makes the office
        # the reviewer of every ticket of its county. Extensions and dissatisfaction stay with
        # the office that assigned the ticket.
        return _under(scope, Role.LIAISON_OFFICE) & (
            Q(status__in=(Status.AT_COUNTY, Status.REPLIED)) | _reviewing(Ticket.AssignedBy.COUNTY, user)
        )
    if key == "unit":
        if not scope.unit_ids:
            return NOTHING
        return Q(status__in=WITH_UNIT) & (
            Q(unit_holds(scope.unit_ids, role=Assignment.Role.LEAD))
            | Q(unit_holds(scope.unit_ids, role=Assignment.Role.CO, opinion_pending=True))
        )
    if key == "mine":
        # A to-do, not everything the rep may see (that is "all"): the replies awaiting their
        # rating. The matters awaiting their hand-in are not tickets yet: ``matters_to_hand_in``.
        return rep_to_rate(user)
    if key == "linked":
        return Q(
            Exists(CommitteeLink.objects.filter(member_id=user.pk, representative=OuterRef("representative")))
        )
    if key == "studio":
        return Q(studio__liaison_officer_id=user.pk)
    if key == "all":
        return Q()
    raise KeyError(key)


# A queue's count stops here: past it the tab says "1,000+" (``capped_count``).
COUNT_CAP = 1000


def capped_count(tickets) -> int:
    """How many rows ``tickets`` holds, up to ``COUNT_CAP + 1`` (``SELECT COUNT(*) FROM (… LIMIT
    1001)``): reads as many rows as it counts, never the whole list."""
    return tickets.order_by()[: COUNT_CAP + 1].count()


def counts(user, queues: list[Queue], *, with_closed: bool = False) -> dict[str, int]:
    """How many tickets each queue holds, as the list shows them (closed and archived ones only
    ``with_closed``): one capped count per queue, each over that queue's own predicate, so a
    queue with little waiting is counted from an index, not by reading every ticket the user
    may see, and a big one stops at ``COUNT_CAP + 1``."""
    visible = Ticket.objects.visible_to(user)
    if not with_closed:
        visible = visible.exclude(status__in=CLOSED)
    return {q.key: capped_count(visible.filter(queue_filter(q.key, user))) for q in queues}


def matters_to_hand_in(user):
    """The matters ``user`` (a representative) collected at a reception or on a visit they took
    part in and has not handed in as a ticket yet, oldest first: one queryset of
    ``(kind, pk, day, content)`` rows over both kinds of matter."""
    # Through subqueries, not joins: a person with mandates at two levels is one row each.
    visits = (
        VisitMatter.objects.filter(
            VISIT_MATTER_TO_HAND_IN,
            visit__in=HomeVisit.objects.active().filter(representatives__user_id=user.pk).values("pk"),
        )
        .annotate(kind=Value("visit"), day=F("visit__date"))
        .values_list("kind", "pk", "day", "content")
        .order_by()
    )
    receptions = (
        ReceptionMatter.objects.filter(
            RECEPTION_MATTER_TO_HAND_IN,
            reception__in=Reception.objects.active().filter(representatives__user_id=user.pk).values("pk"),
        )
        .annotate(kind=Value("reception"), day=TruncDate("reception__starts_at"))
        .values_list("kind", "pk", "day", "content")
        .order_by()
    )
    return visits.union(receptions, all=True).order_by("day", "pk")


def timeliness_filter(value: str, now: datetime.datetime) -> Q:
    """On time / due soon / overdue: only tickets a unit holds, whose reply deadline runs."""
    soon = now + datetime.timedelta(days=SOON_DAYS)
    running = Q(status__in=WITH_UNIT, due_at__isnull=False)
    if value == "overdue":
        return running & Q(due_at__lt=now)
    if value == "due_soon":
        return running & Q(due_at__gte=now, due_at__lte=soon)
    if value == "on_time":
        return running & Q(due_at__gt=soon)
    return Q()


def overdue_by_unit(user, now: datetime.datetime):
    """Per handling unit the user may see: how many of the tickets it holds as lead unit are
    overdue, and the oldest due time among them. One aggregate query (GROUP BY the unit) over
    the user's visible tickets, most overdue first."""
    units = HandlingUnit.objects.visible_to(user).values("pk")
    # Counted from the index ticket_unit_running alone (count(*), no column outside it); the
    # units' names are not joined to every ticket: the caller looks up those it shows.
    return (
        Ticket.objects.visible_to(user)
        .filter(timeliness_filter("overdue", now), lead_unit__in=units)
        .values("lead_unit")
        .annotate(overdue=Count("*"), oldest=Min("due_at"))
        .order_by("-overdue", "oldest", "lead_unit")
    )

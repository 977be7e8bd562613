"""The tickets part of the home to-do (``liaison.todo``): per role, what waits for the user.

Each item is a named filter (``TODO``) applied inside one of the workspace's queues; the home
page counts all of a user's items in one aggregate query, and the workspace lists an item's
tickets with the same filter (``?queue=…&todo=…``), so the count and the list cannot differ.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from liaison import todo
from liaison.models import HandlingUnit
from liaison.roles import Role
from proposals.models import Assignment, Ticket
from proposals.queues import (
    co_opinion_pending,
    matters_to_hand_in,
    pending_extension,
    queue_filter,
    rep_to_rate,
    timeliness_filter,
    unit_holds,
)
from proposals.transitions import HANDLING, Status


@dataclass(frozen=True)
class TodoItem:
    key: str
    role: str
    queue: str
    label: str
    rule: Callable[..., Q]  # rule(user, now) -> Q over the queue's tickets
    tone: str = todo.NORMAL


def _returned() -> Exists:
    """A unit sent it back as not its remit (its lead assignment ended before any reply)."""
    return Exists(
        Assignment.objects.filter(ticket=OuterRef("pk"), role=Assignment.Role.LEAD, ended_at__isnull=False)
    )


def _lead(user) -> Q:
    return Q(unit_holds(user.scope.unit_ids, role=Assignment.Role.LEAD))


TODO: tuple[TodoItem, ...] = (
    # Township staff: new matters to triage, returns, replies and extensions of the units it assigned.
    TodoItem(
        "triage",
        Role.TOWNSHIP_STAFF,
        "township",
        _("to triage"),
        lambda user, now: Q(status=Status.REGISTERED) & ~Q(_returned()),
    ),
    TodoItem(
        "returned",
        Role.TOWNSHIP_STAFF,
        "township",
        _("returned by a unit"),
        lambda user, now: Q(status=Status.REGISTERED) & Q(_returned()),
        todo.WARNING,
    ),
    TodoItem(
        "township_review",
        Role.TOWNSHIP_STAFF,
        "township",
        _("replies to review"),
        lambda user, now: Q(status=Status.REPLIED),
    ),
    TodoItem(
        "township_extensions",
        Role.TOWNSHIP_STAFF,
        "township",
        _("extension requests to decide"),
        lambda user, now: Q(pending_extension()),
    ),
    TodoItem(
        "township_dissatisfied",
        Role.TOWNSHIP_STAFF,
        "township",
        _("dissatisfied, awaiting your decision"),
        lambda user, now: Q(status=Status.DISSATISFIED),
        todo.WARNING,
    ),
    TodoItem(
        "township_overdue",
        Role.TOWNSHIP_STAFF,
        "all",
        _("overdue at the units"),
        lambda user, now: timeliness_filter("overdue", now),
        todo.DANGER,
    ),
    # The county liaison office.
    TodoItem(
        "county_assign",
        Role.LIAISON_OFFICE,
        "office",
        _("to assign at county level"),
        lambda user, now: Q(status=Status.AT_COUNTY),
    ),
    TodoItem(
        "office_review",
        Role.LIAISON_OFFICE,
        "office",
        _("replies to review"),
        lambda user, now: Q(status=Status.REPLIED),
    ),
    TodoItem(
        "office_extensions",
        Role.LIAISON_OFFICE,
        "office",
        _("extension requests to decide"),
        lambda user, now: Q(pending_extension()),
    ),
    TodoItem(
        "office_dissatisfied",
        Role.LIAISON_OFFICE,
        "office",
        _("dissatisfied, awaiting your decision"),
        lambda user, now: Q(status=Status.DISSATISFIED),
        todo.WARNING,
    ),
    TodoItem(
        "office_overdue",
        Role.LIAISON_OFFICE,
        "all",
        _("overdue at the units"),
        lambda user, now: timeliness_filter("overdue", now),
        todo.DANGER,
    ),
    # A handling unit's staff.
    TodoItem(
        "to_sign",
        Role.HANDLING_UNIT,
        "unit",
        _("to sign for"),
        lambda user, now: Q(status=Status.ASSIGNED) & _lead(user),
    ),
    TodoItem(
        "handling",
        Role.HANDLING_UNIT,
        "unit",
        _("in handling"),
        lambda user, now: Q(status__in=HANDLING) & _lead(user),
    ),
    TodoItem(
        "due_soon",
        Role.HANDLING_UNIT,
        "unit",
        _("due soon"),
        lambda user, now: timeliness_filter("due_soon", now) & _lead(user),
        todo.WARNING,
    ),
    TodoItem(
        "unit_overdue",
        Role.HANDLING_UNIT,
        "unit",
        _("overdue"),
        lambda user, now: timeliness_filter("overdue", now) & _lead(user),
        todo.DANGER,
    ),
    TodoItem(
        "co_opinion",
        Role.HANDLING_UNIT,
        "unit",
        _("co-unit opinions to give"),
        lambda user, now: Q(co_opinion_pending(user.scope)),
    ),
    # A representative.
    TodoItem(
        "to_rate",
        Role.REPRESENTATIVE,
        "mine",
        _("replies awaiting my rating"),
        lambda user, now: rep_to_rate(user),
        todo.WARNING,
    ),
)
BY_KEY = {item.key: item for item in TODO}
BY_UNIT = "overdue_by_unit"
ROLE_TITLES = {
    Role.TOWNSHIP_STAFF: _("Township: tickets"),
    Role.LIAISON_OFFICE: _("Liaison office: tickets"),
    Role.HANDLING_UNIT: _("Handling unit: tickets"),
    Role.REPRESENTATIVE: _("My tickets"),
}


def items_for(user) -> list[TodoItem]:
    """The items the user's roles give them (a superuser has no to-do of their own)."""
    scope = user.scope
    if scope.sees_all:
        return []
    return [item for item in TODO if item.role in scope.roles]


def todo_filter(key: str, user, now: datetime.datetime) -> Q:
    """The filter the workspace applies for ``?todo=key`` (KeyError for an unknown key)."""
    return BY_KEY[key].rule(user, now)


# The overdue-by-unit page, after the overdue item of these roles' sections (staff of both
# roles see it once, in the office's section).
BY_UNIT_AFTER = {Role.LIAISON_OFFICE: "office_overdue", Role.TOWNSHIP_STAFF: "township_overdue"}


def sections(user, *, now: datetime.datetime) -> list[todo.Section]:
    """One section per role, all counted in one aggregate query."""
    items = items_for(user)
    if not items:
        return []
    by_unit_after = next((BY_UNIT_AFTER[r] for r in BY_UNIT_AFTER if r in user.scope.roles), None)
    extra = {}
    if by_unit_after:
        # What the overdue-by-unit page totals: the overdue tickets of the units the user sees.
        units = HandlingUnit.objects.visible_to(user).values("pk")
        extra[BY_UNIT] = Count("pk", filter=timeliness_filter("overdue", now) & Q(lead_unit__in=units))
    counted = Ticket.objects.visible_to(user).aggregate(
        # Inside the queue's own filter, as the workspace lists it: the count equals the list.
        **{
            item.key: Count("pk", filter=queue_filter(item.queue, user) & item.rule(user, now))
            for item in items
        },
        **extra,
    )
    workspace = reverse("proposals:workspace")
    result: dict[str, todo.Section] = {}
    for item in items:
        section = result.setdefault(item.role, todo.Section(str(ROLE_TITLES[item.role])))
        section.items.append(
            todo.Item(
                key=item.key,
                label=str(item.label),
                url=f"{workspace}?{urlencode({'queue': item.queue, 'todo': item.key})}",
                count=counted[item.key],
                tone=item.tone,
            )
        )
        if item.key == "to_rate":
            # The rep's other to-do on the same tab: matters collected and not yet handed in.
            section.items.append(
                todo.Item(
                    key="to_hand_in",
                    label=str(_("matters to hand in as tickets")),
                    url=f"{workspace}?{urlencode({'queue': 'mine'})}#hand-in",
                    count=matters_to_hand_in(user).count(),
                    tone=todo.WARNING,
                )
            )
        if item.key == by_unit_after:
            section.items.append(
                todo.Item(
                    key=BY_UNIT,
                    label=str(_("overdue, by unit")),
                    url=reverse("proposals:overdue_by_unit"),
                    count=counted[BY_UNIT],
                    tone=todo.DANGER,
                )
            )
    return list(result.values())

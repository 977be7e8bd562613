"""Build many tickets fast, straight into the tables (bulk_create, no services), for sweeps."""

from __future__ import annotations

import datetime
import itertools

from liaison.models import Notification
from proposals.models import Assignment, Category, Ticket
from proposals.transitions import Status

_codes = itertools.count(1)

DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)


def told(**filters) -> list[tuple[str, str, str]]:
    """Every notification as (kind, recipient username, period), sorted."""
    return sorted(
        Notification.objects.filter(**filters).values_list("kind", "user__username", "reminder__period")
    )


def category() -> Category:
    # Transactional tests flush the categories the data migration made: make one if needed.
    return Category.objects.get_or_create(name="交通出行")[0]


def ticket_row(*, township, now, lead_unit=None, status=Status.ASSIGNED, **fields) -> Ticket:
    """An unsaved ticket held by ``lead_unit`` (or not), with sensible defaults for the rest."""
    number = next(_codes)
    values = {
        "title": f"批量事项{number}",
        "content": "批量测试",
        "category": fields.pop("category", None) or category(),
        "source": Ticket.Source.PHONE,
        "township": township,
        "tracking_code": f"T{number:011d}",
        "status": status,
        "lead_unit": lead_unit,
        "assigned_by": Ticket.AssignedBy.TOWNSHIP if lead_unit else "",
        "assigned_at": now - 5 * DAY if lead_unit else None,
        "created_at": now - 6 * DAY,
        "updated_at": now - 5 * DAY,
    }
    values.update(fields)
    return Ticket(**values)


def open_tickets(n: int, *, township, unit, co_unit, rep, now) -> list[Ticket]:
    """``n`` tickets, a twentieth in each state a sweep cares about, the rest quiet.

    Every twentieth: due within a day, due within three, overdue by hours, by two days and by
    five, forwarded with the feedback late, forwarded and past the grace, holding a late co-unit
    opinion; the rest on time, closed or awaiting triage. ``rep`` is responsible for them all. Half are assigned by the township, half
    by the county, so both offices get notices.
    """
    cat = category()
    rows = []
    for i in range(n):
        slot, by = i % 20, (Ticket.AssignedBy.TOWNSHIP if (i // 20) % 2 == 0 else Ticket.AssignedBy.COUNTY)
        fields: dict = {
            "lead_unit": unit,
            "assigned_by": by,
            "due_at": now + 8 * DAY,
            "category": cat,
            "representative": rep,
        }
        if slot == 0:
            fields["due_at"] = now + 12 * HOUR
        elif slot == 1:
            fields["due_at"] = now + 2 * DAY + 12 * HOUR
        elif slot == 2:
            fields["due_at"] = now - 2 * HOUR
        elif slot == 3:
            fields["due_at"] = now - 2 * DAY
        elif slot == 4:
            fields["due_at"] = now - 5 * DAY
        elif slot == 5:
            fields |= {"status": Status.FORWARDED, "feedback_due_at": now - DAY}
        elif slot == 6:
            fields |= {"status": Status.FORWARDED, "feedback_due_at": now - 4 * DAY}
        elif slot in (7, 8):
            fields["status"] = Status.SIGNED
        elif slot in (9, 10):
            fields |= {"status": Status.CLOSED, "resolution": Ticket.Resolution.SATISFIED}
        elif slot == 11:
            fields = {"status": Status.REGISTERED, "category": cat, "representative": rep}
        rows.append(ticket_row(township=township, now=now, **fields))
    tickets = Ticket.objects.bulk_create(rows, batch_size=2000)
    Assignment.objects.bulk_create(
        [
            Assignment(ticket=t, unit=unit, role=Assignment.Role.LEAD, assigned_at=now - 5 * DAY)
            for t in tickets
            if t.lead_unit_id
        ]
        + [
            Assignment(
                ticket=t,
                unit=co_unit,
                role=Assignment.Role.CO,
                assigned_at=now - 5 * DAY,
                opinion_due_at=now - DAY,
            )
            for i, t in enumerate(tickets)
            if i % 20 == 7
        ],
        batch_size=2000,
    )
    return tickets

"""Helpers for the tests of the signed-in ticket pages: tickets in a given state, made through
the real services, posting a move as the page's form does, and many tickets at once."""

from __future__ import annotations

import datetime
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from proposals import services
from proposals.models import Assignment, Ticket, TicketEvent, new_tracking_code
from proposals.transitions import Status
from tests.helpers import reload

# The name test_pages and test_move_options import.
fresh = reload


def version(ticket: Ticket) -> str:
    return Ticket.objects.get(pk=ticket.pk).updated_at.isoformat()


def post_move(client, ticket: Ticket, move: str, *, stale: str | None = None, **fields):
    """Post a move's form as the ticket page does (fields prefixed with the move's name)."""
    data = {f"{move}-{name}": value for name, value in fields.items()}
    data[f"{move}-version"] = stale or version(ticket)
    return client.post(reverse("proposals:act", args=[ticket.pk, move]), data)


def assigned(ticket: Ticket, clerk, unit, **kwargs) -> Ticket:
    """Assigned by the township to ``unit``."""
    services.ticket_assign(actor=clerk, ticket=fresh(ticket), lead_unit=unit, **kwargs)
    return fresh(ticket)


def signed(ticket: Ticket, clerk, unit, unit_staff) -> Ticket:
    services.ticket_sign(actor=unit_staff, ticket=assigned(ticket, clerk, unit))
    return fresh(ticket)


def planned(ticket: Ticket, clerk, unit, unit_staff) -> Ticket:
    t = signed(ticket, clerk, unit, unit_staff)
    services.ticket_contact(actor=unit_staff, ticket=t, how="电话", contacted_on=timezone.localdate())
    services.ticket_plan(actor=unit_staff, ticket=fresh(ticket), plan="更换灯具", rep_consulted=True)
    return fresh(ticket)


def replied(ticket: Ticket, clerk, unit, unit_staff) -> Ticket:
    t = planned(ticket, clerk, unit, unit_staff)
    services.ticket_reply(actor=unit_staff, ticket=t, text="已更换三盏路灯", summary="路灯已修复")
    return fresh(ticket)


def forwarded(ticket: Ticket, clerk, unit, unit_staff) -> Ticket:
    services.ticket_forward(actor=clerk, ticket=replied(ticket, clerk, unit, unit_staff))
    return fresh(ticket)


def png_upload(name: str = "photo.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def bulk_tickets(
    n: int, *, template: Ticket, status: str = Status.REGISTERED, unit=None, role="lead", **fields
):
    """``n`` tickets like ``template`` in ``status`` (with a live assignment to ``unit``), in bulk."""
    now = timezone.now()
    base = {
        "kind": template.kind,
        "title": "批量工单",
        "content": "批量内容",
        "category_id": template.category_id,
        "source": template.source,
        "township_id": template.township_id,
        "studio_id": template.studio_id,
        "representative_id": template.representative_id,
        "status": status,
        "created_at": now,
        "updated_at": now,
    }
    if unit is not None:
        base |= {
            "lead_unit": unit if role == "lead" else None,
            "assigned_at": now,
            "due_at": now + datetime.timedelta(days=10),
            "assigned_by": "county",
        }
    base |= fields
    tickets = Ticket.objects.bulk_create(Ticket(tracking_code=new_tracking_code(), **base) for _ in range(n))
    if unit is not None:
        Assignment.objects.bulk_create(
            Assignment(ticket=t, unit=unit, role=role, assigned_at=now) for t in tickets
        )
    TicketEvent.objects.bulk_create(
        TicketEvent(ticket=t, move="register", to_status=Status.REGISTERED, at=now) for t in tickets
    )
    return tickets

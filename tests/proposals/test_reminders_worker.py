"""The ticket sweeps on a real Celery worker, against the test Redis and database."""

import datetime
import time

import pytest
from django.utils import timezone

from liaison.models import Notification
from liaison.roles import Role
from proposals import services
from proposals.models import Ticket
from tests.factories import user_with_role
from tests.proposals.ticket_rows import ticket_row, told


@pytest.mark.worker
def test_a_worker_runs_the_deadline_sweep_end_to_end(worker, county, township_a, unit_a):
    user_with_role(Role.HANDLING_UNIT, unit=unit_a, username="unit_a_staff")
    user_with_role(Role.TOWNSHIP_STAFF, region=township_a, username="clerk_a")
    now = timezone.now()
    overdue = ticket_row(
        township=township_a, now=now, lead_unit=unit_a, due_at=now - datetime.timedelta(hours=2)
    )
    overdue.save()
    from proposals.tasks import send_ticket_reminders

    sent = send_ticket_reminders.delay().get(timeout=60)
    assert sent["overdue"] == 1
    period = timezone.localtime(overdue.due_at).date().isoformat()
    assert told(kind="ticket.overdue") == [
        ("ticket.overdue", "clerk_a", period),
        ("ticket.overdue", "unit_a_staff", period),
    ]
    assert send_ticket_reminders.delay().get(timeout=60)["overdue"] == 0


@pytest.mark.worker
def test_a_move_is_notified_by_the_worker_right_after_it_commits(worker, county, township_a, unit_a):
    """No beat here: the transition's on-commit task alone brings the news to the unit."""
    clerk = user_with_role(Role.TOWNSHIP_STAFF, region=township_a, username="clerk_a")
    user_with_role(Role.HANDLING_UNIT, unit=unit_a, username="unit_a_staff")
    registered = ticket_row(township=township_a, now=timezone.now(), status="registered")
    registered.save()
    ticket = Ticket.objects.select_related("township").get(pk=registered.pk)
    services.ticket_assign(actor=clerk, ticket=ticket, lead_unit=unit_a)
    deadline = time.monotonic() + 30
    while not Notification.objects.filter(kind="ticket.assigned").exists():
        assert time.monotonic() < deadline, "the worker never notified the assignment"
        time.sleep(0.2)
    assert told() == [("ticket.assigned", "unit_a_staff", "")]

"""Residents' names and phones are erased from tickets closed more than the county's
``SecurityPolicy.anonymise_after_years`` ago; every statistic reads the same afterwards."""

import datetime
import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from liaison.celery import app
from liaison.models import AuditEvent, SecurityPolicy
from proposals.anonymise import ANONYMOUS, anonymise_closed_send_due
from proposals.models import Proposer, Rating, Ticket
from proposals.public_views import published_results

NOW = timezone.now()


def closed_ago(ticket, years: float) -> Ticket:
    """Move the ticket's closing back in time (test setup: the services close it now)."""
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=NOW - datetime.timedelta(days=365.25 * years))
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def old_and_recent(make_ticket, walk):
    old = closed_ago(walk(make_ticket(is_public_interest=True), "closed", "township"), 6)
    recent = closed_ago(
        walk(
            make_ticket(is_public_interest=True, proposers=[("李阿姨", "13912345678")]), "closed", "township"
        ),
        4,
    )
    return old, recent


def page(client, url: str) -> str:
    """The page's text without its per-request CSRF token."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", client.get(url).content.decode())


def figures(client) -> dict:
    """What the statistics read: the published results (list and pages, with satisfaction and
    time taken), the staff's ticket export, the ratings, the counts by category, unit, status."""
    results = page(client, reverse("public:results"))
    pages = [page(client, reverse("public:result_detail", args=[t.pk])) for t in Ticket.objects.all()]
    sheet = load_workbook(
        io.BytesIO(client.get(reverse("proposals:export") + "?all=1").content), read_only=True
    )
    exported = [list(r) for r in sheet.worksheets[0].iter_rows(values_only=True)]
    return {
        "results": results,
        "pages": pages,
        "export": exported,
        "published": list(
            published_results().values("pk", "ratings_total", "ratings_satisfied", "closed_at")
        ),
        "ratings": list(
            Rating.objects.order_by("pk").values_list("ticket_id", "proposer_id", "score", "round")
        ),
        "tickets": sorted(
            Ticket.objects.values_list(
                "pk", "category_id", "lead_unit_id", "status", "resolution", "created_at"
            )
        ),
        "proposers": Proposer.objects.count(),
    }


def test_the_default_five_years_erases_only_the_old_ticket_and_the_figures_stay(old_and_recent, clerk_a):
    old, recent = old_and_recent
    staff = Client()
    staff.force_login(clerk_a)
    before = figures(staff)

    assert anonymise_closed_send_due(now=NOW) == {"proposers": 1, "tickets": 1}

    assert list(old.proposers.values_list("name", "phone", "sms_consent")) == [(ANONYMOUS, "", False)]
    assert old.proposers.get().anonymised_at == NOW
    assert list(recent.proposers.values_list("name", "phone")) == [("李阿姨", "13912345678")]
    assert figures(staff) == before
    row = AuditEvent.objects.get(verb="pii.anonymised")
    assert (row.region_id, row.data["proposers"], row.data["tickets"], row.data["years"]) == (
        old.township.parent_id,
        1,
        1,
        5,
    )


def test_it_is_idempotent(old_and_recent):
    anonymise_closed_send_due(now=NOW)
    assert anonymise_closed_send_due(now=NOW) == {"proposers": 0, "tickets": 0}
    assert AuditEvent.objects.filter(verb="pii.anonymised").count() == 1  # the empty run writes none


def test_the_countys_policy_decides(old_and_recent, county):
    SecurityPolicy.objects.create(county=county, anonymise_after_years=3)
    assert anonymise_closed_send_due(now=NOW) == {"proposers": 2, "tickets": 2}
    assert set(Proposer.objects.values_list("name", flat=True)) == {ANONYMOUS}


def test_an_open_ticket_is_never_erased(make_ticket):
    ticket = make_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(created_at=NOW - datetime.timedelta(days=3650))
    assert anonymise_closed_send_due(now=NOW) == {"proposers": 0, "tickets": 0}


def test_the_command_has_a_dry_run_and_beat_runs_it_daily(old_and_recent, capsys):
    old, _recent = old_and_recent
    call_command("anonymise_closed", "--dry-run")
    assert "proposers: 1" in capsys.readouterr().out
    assert (
        old.proposers.get().name != ANONYMOUS
        and not AuditEvent.objects.filter(verb="pii.anonymised").exists()
    )
    call_command("anonymise_closed")
    assert old.proposers.get().name == ANONYMOUS
    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == "proposals.tasks.anonymise_closed"]
    assert len(entries) == 1

"""manage.py generate_year: a county year through the services, of the shape asked, reproducible."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from liaison.models import Region
from proposals import generate
from proposals.models import Rating, Ticket, TicketEvent
from reps.models import Mandate, Representative
from studios.models import Studio

SMALL = ["--townships", "2", "--studios", "3", "--county-reps", "4", "--township-reps", "6",
         "--tickets", "40", "--closed", "0.75", "--satisfied", "0.9", "--year", "2025"]  # fmt: skip
FLAG = "--i-know-this-is-not-production"


def run(*args) -> str:
    out = io.StringIO()
    with translation.override("en"):  # the messages asserted below, whatever the catalogue says
        call_command("generate_year", *args, stdout=out)
    return out.getvalue()


def tally(code: str) -> dict[str, int]:
    """The figures counted in plain SQL, independently of the ORM and of ``generate.figures``."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE t.status IN ('closed', 'archived')),
                   (SELECT count(*) FROM proposals_rating r JOIN proposals_ticket c ON c.id = r.ticket_id
                     WHERE c.id IN (SELECT t2.id FROM proposals_ticket t2 JOIN liaison_region tw2
                                      ON tw2.id = t2.township_id JOIN liaison_region co2 ON co2.id = tw2.parent_id
                                     WHERE co2.code = %s AND t2.status IN ('closed', 'archived'))
                       AND r.proposer_id IS NOT NULL AND r.round = c.round),
                   (SELECT count(*) FROM proposals_rating r JOIN proposals_ticket c ON c.id = r.ticket_id
                     WHERE c.id IN (SELECT t2.id FROM proposals_ticket t2 JOIN liaison_region tw2
                                      ON tw2.id = t2.township_id JOIN liaison_region co2 ON co2.id = tw2.parent_id
                                     WHERE co2.code = %s AND t2.status IN ('closed', 'archived'))
                       AND r.proposer_id IS NOT NULL AND r.round = c.round
                       AND r.score IN ('satisfied', 'basically'))
              FROM proposals_ticket t
              JOIN liaison_region tw ON tw.id = t.township_id
              JOIN liaison_region co ON co.id = tw.parent_id
             WHERE co.code = %s
            """,
            [code, code, code],
        )
        tickets, closed, rated, satisfied = cursor.fetchone()
    return {"tickets": tickets, "closed": closed, "rated": rated, "satisfied": satisfied}


def test_a_small_year_has_the_figures_asked_for(db):
    output = run(*SMALL, FLAG)
    assert tally("990200") == {"tickets": 40, "closed": 30, "rated": 30, "satisfied": 27}  # 27 / 30 = 90 %
    county = Region.objects.get(code="990200", name="海安样例县")
    assert generate.figures(county)["satisfied_share"] == 0.9
    assert Region.objects.filter(parent=county).count() == 2
    assert Studio.objects.filter(region__path__startswith=county.path).count() == 3
    assert Mandate.objects.filter(region=county).count() == 4
    assert Mandate.objects.filter(region__parent=county, level="township").count() == 6
    assert Representative.objects.filter(region__parent=county).count() == 10
    assert "Tickets: 40 of 40" in output


def test_every_ticket_state_is_what_its_timeline_says_and_the_year_is_spread(db):
    run(*SMALL, FLAG)
    tickets = Ticket.objects.filter(township__parent__code="990200")
    for ticket in tickets:
        last = TicketEvent.objects.filter(ticket=ticket).order_by("at", "pk").last()
        assert last.to_status == ticket.status, ticket.pk
        assert ticket.created_at.year == 2025
    months = {t.created_at.month for t in tickets}
    assert len(months) >= 6  # spread over the year, not all on one day
    moves = set(TicketEvent.objects.filter(ticket__in=tickets).values_list("move", flat=True))
    # The dissatisfied ones were re-handled (重办), then closed with an explanation.
    assert {
        "register",
        "assign",
        "sign",
        "contact",
        "plan",
        "reply",
        "rate",
        "conclude",
        "rehandle",
        "close",
    } <= moves
    assert Rating.objects.filter(ticket__in=tickets, round=2).exists()


def test_the_same_seed_gives_the_same_year_and_another_seed_another(db):
    def shape(code: str) -> list[tuple]:
        return list(
            Ticket.objects.filter(township__parent__code=code)
            .order_by("submission_token")
            .values_list("status", "title", "category_id", "township__name", "created_at", "round")
        )

    run(*SMALL, "--seed", "7", "--county", "甲县", "--code", "990300", FLAG)
    run(*SMALL, "--seed", "7", "--county", "乙县", "--code", "990400", FLAG)
    run(*SMALL, "--seed", "8", "--county", "丙县", "--code", "990500", FLAG)
    assert tally("990300") == tally("990400")
    assert shape("990300") == shape("990400")
    assert shape("990300") != shape("990500")


def test_refused_with_debug_off_without_the_flag(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--i-know-this-is-not-production"):
        run(*SMALL)
    assert not Region.objects.filter(code="990200").exists()


def test_runs_with_debug_on_without_the_flag(db, settings):
    settings.DEBUG = True
    run("--townships", "1", "--studios", "1", "--tickets", "3", "--year", "2025")
    assert tally("990200")["tickets"] == 3


def test_a_second_run_for_the_same_county_is_refused_and_changes_nothing(db):
    run(*SMALL, FLAG)
    before = tally("990200"), Representative.objects.count()
    with pytest.raises(CommandError, match="already exists"):
        run(*SMALL, FLAG)
    with pytest.raises(CommandError, match="already exists"):
        run(*SMALL, "--code", "990900", FLAG)  # same name, another code
    assert (tally("990200"), Representative.objects.count()) == before

"""The rep's home-visit form sent twice (a double tap, a resend on a weak signal) records one
visit, one toward the duties; a tampered or expired form is refused without losing what was
typed; what is typed is cleaned of direction controls, and a too-long field says so plainly."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from liaison.idempotency import ALREADY_SAVED, EXPIRED, new_token, read_token
from liaison.models import AuditEvent
from reps import duties
from reps.models import HomeVisit, Representative, VisitMatter
from reps.services import visit_record
from tests.reps.test_rep_pages import visit_post
from tests.twice import messages_of, page_token, post_at_once, refusals

URL = "/reps/visits/new/"


@pytest.fixture
def as_rep(client, rep_a, my_rep):
    client.force_login(rep_a)
    return client


def visits_cell(rep):
    _quotas, [row] = duties.standing(Representative.objects.filter(pk=rep.pk), today=timezone.localdate())
    return row.cells["visits"]


def test_the_url_is_the_visit_form():
    assert reverse("reps:visit_new") == URL


def test_the_form_posted_twice_records_one_visit_and_both_land_on_the_same_page(as_rep, my_rep, my_contacts):
    data = visit_post(my_contacts, token=page_token(as_rep.get(URL)))
    first = as_rep.post(URL, data)
    cell_after_one = visits_cell(my_rep)
    second = as_rep.post(URL, data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("reps:me")
    assert messages_of(second)[-1] == str(ALREADY_SAVED)
    visit = HomeVisit.objects.get()
    assert visit.submission_token == read_token(data["token"])
    assert VisitMatter.objects.filter(visit=visit).count() == 2 and visit.contacts.count() == 2
    assert AuditEvent.objects.filter(verb="visit.recorded").count() == 1
    assert visits_cell(my_rep) == cell_after_one  # the duties count the one visit


def test_each_new_form_is_a_new_visit(as_rep, my_contacts):
    for _ in range(2):
        as_rep.post(URL, visit_post(my_contacts, token=page_token(as_rep.get(URL))))
    assert HomeVisit.objects.count() == 2


@pytest.mark.parametrize("token", ["", "forged", new_token("proposals.intake.submission")])
def test_a_missing_or_tampered_token_is_refused_and_nothing_typed_is_lost(as_rep, my_contacts, token):
    response = as_rep.post(URL, visit_post(my_contacts, token=token, notes="了解到老人独居"))
    assert response.status_code == 200 and not HomeVisit.objects.exists()
    form = response.context["form"]
    assert form.token_refused and set(form.errors) == {"__all__"}
    page = response.content.decode()
    assert "了解到老人独居" in page and "村口路灯不亮" in page  # the notes and the matters are still there
    again = visit_post(my_contacts, token=page_token(response), notes="了解到老人独居")
    assert as_rep.post(URL, again).status_code == 302  # sent again from the page: saved once
    assert HomeVisit.objects.get().notes == "了解到老人独居"


def test_a_form_left_open_over_two_days_is_refused(as_rep, my_contacts):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=3)):
        old = page_token(as_rep.get(URL))
    response = as_rep.post(URL, visit_post(my_contacts, token=old))
    assert response.status_code == 200 and response.context["form"].non_field_errors() == [str(EXPIRED)]
    assert not HomeVisit.objects.exists()


def test_another_persons_token_does_not_show_them_the_visit(as_rep, my_contacts, clerk_a):
    data = visit_post(my_contacts)
    assert as_rep.post(URL, data).status_code == 302
    with pytest.raises(ValidationError) as refused:
        visit_record(
            actor=clerk_a,
            representative=HomeVisit.objects.get().representatives.get(),
            date=datetime.date(2026, 11, 20),
            kind="visit",
            contacts=my_contacts,
            submission_token=read_token(data["token"]),
        )
    assert refused.value.messages == [str(EXPIRED)]
    assert HomeVisit.objects.count() == 1


def test_direction_controls_are_dropped_from_the_notes_and_the_matters(as_rep, my_contacts):
    data = visit_post(
        my_contacts, notes="老人\u202e独居\u202c", **{"matters-0-content": "\u2067路灯\u2069不亮"}
    )
    assert as_rep.post(URL, data).status_code == 302
    visit = HomeVisit.objects.get()
    assert visit.notes == "老人独居"
    assert visit.matters.order_by("id").first().content == "路灯不亮"


def test_a_100000_character_notes_field_is_answered_plainly_and_nothing_else_is_lost(as_rep, my_contacts):
    response = as_rep.post(URL, visit_post(my_contacts, notes="记" * 100_000))
    assert response.status_code == 200 and not HomeVisit.objects.exists()
    [message] = response.context["form"].errors["notes"]
    assert "4000" in message and "100000" in message and "确保" not in message
    assert message in response.content.decode()
    assert "村口路灯不亮" in response.content.decode()  # the matters typed are still there


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_form_sent_twice_at_the_same_instant_records_one_visit(client, rep_a, my_rep, my_contacts):
    if connection.vendor != "postgresql":
        pytest.fail("this race is checked on PostgreSQL: run it with `make test`")
    from django.test import Client

    data = visit_post(my_contacts)
    tabs = [Client(), Client()]
    for tab in tabs:
        tab.force_login(rep_a)
    responses = post_at_once([(tab, URL, data) for tab in tabs])
    assert [r.status_code for r in responses] == [302, 302], refusals(responses)
    assert {r["Location"] for r in responses} == {reverse("reps:me")}
    assert sorted(messages_of(r)[-1] == str(ALREADY_SAVED) for r in responses) == [False, True]
    visit = HomeVisit.objects.get()
    assert visit.matters.count() == 2
    assert AuditEvent.objects.filter(verb="visit.recorded").count() == 1
    assert my_rep.visits.count() == 1  # one toward the duties

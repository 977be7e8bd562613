"""The reception card sent twice (a double tap, a resend on a weak signal), ad hoc or from a
duty, makes one record, one reception toward the duties; a tampered token is refused without
losing what was typed; direction controls are dropped and a too-long field says so plainly."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse

from liaison.idempotency import ALREADY_SAVED, EXPIRED, read_token
from liaison.models import AuditEvent
from liaison.roles import Role
from reps import duties
from reps.models import Representative
from studios.models import (
    DutySlot,
    Reception,
    ReceptionMatter,
    RosterPeriod,
    SlotAssignment,
    StudioAssignment,
    Visitor,
)
from tests.factories import StudioFactory, user_with_role
from tests.studios.test_receptions import TODAY, local, reception_post
from tests.twice import messages_of, page_token, post_at_once, refusals


@pytest.fixture
def officer(township_a):
    return user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan", name="张敏")


@pytest.fixture
def studio(township_a, officer, my_rep, other_rep):
    studio = StudioFactory(region=township_a, name="城关镇党代表工作室", liaison_officer=officer)
    for rep in (my_rep, other_rep):
        StudioAssignment.objects.create(studio=studio, representative=rep, start=datetime.date(2024, 1, 1))
    return studio


@pytest.fixture
def slot(studio, my_rep, other_rep):
    period = RosterPeriod.objects.create(
        studio=studio,
        start=datetime.date(2026, 4, 1),
        end=datetime.date(2026, 6, 30),
        status=RosterPeriod.Status.PUBLISHED,
    )
    slot = DutySlot.objects.create(
        period=period,
        studio=studio,
        kind="regular",
        date=datetime.date(2026, 5, 16),
        starts_at=local(2026, 5, 16, 9, 0),
        ends_at=local(2026, 5, 16, 11, 30),
    )
    for rep in (my_rep, other_rep):
        SlotAssignment.objects.create(slot=slot, representative=rep)
    return slot


def receptions_cell(rep):
    _quotas, [row] = duties.standing(Representative.objects.filter(pk=rep.pk), today=TODAY)
    return row.cells["receptions"]


@pytest.fixture
def frozen():
    with time_machine.travel(local(2026, 5, 20, 10, 0), tick=False):
        yield


@pytest.fixture
def new_url(studio):
    return f"{reverse('studios:reception_new')}?studio={studio.pk}"


@pytest.fixture
def slot_url(slot):
    return reverse("studios:slot_reception", args=[slot.pk])


@pytest.mark.usefixtures("frozen")
class TestSentTwice:
    def test_an_ad_hoc_card_posted_twice_makes_one_record_counted_once(
        self, client, officer, my_rep, new_url
    ):
        client.force_login(officer)
        data = reception_post([my_rep], kind="appointed", token=page_token(client.get(new_url)))
        first, second = client.post(new_url, data), client.post(new_url, data)
        reception = Reception.objects.get()
        assert first.status_code == second.status_code == 302
        assert first["Location"] == second["Location"] == reverse("studios:reception", args=[reception.pk])
        assert messages_of(second)[-1] == str(ALREADY_SAVED)
        assert reception.submission_token == read_token(data["token"])
        assert Visitor.objects.count() == 1 and ReceptionMatter.objects.count() == 2
        assert AuditEvent.objects.filter(verb="reception.recorded").count() == 1
        assert receptions_cell(my_rep).value == 1

    def test_a_duty_card_posted_twice_lands_on_its_record_not_on_the_refusal(
        self, client, officer, my_rep, other_rep, slot_url
    ):
        client.force_login(officer)
        data = reception_post([my_rep, other_rep], token=page_token(client.get(slot_url)))
        first, second = client.post(slot_url, data), client.post(slot_url, data)
        reception = Reception.objects.get()
        assert first.status_code == second.status_code == 302
        assert second["Location"] == reverse("studios:reception", args=[reception.pk])
        assert messages_of(second)[-1] == str(ALREADY_SAVED)
        assert receptions_cell(my_rep).value == receptions_cell(other_rep).value == 1

    def test_another_card_for_a_recorded_duty_still_says_it_has_one(self, client, officer, my_rep, slot_url):
        client.force_login(officer)
        assert client.post(slot_url, reception_post([my_rep])).status_code == 302
        response = client.post(slot_url, reception_post([my_rep]))  # a second, different card
        assert response.status_code == 200 and response.templates[0].name == "studios/reception_exists.html"
        assert Reception.objects.count() == 1

    def test_a_tampered_token_is_refused_and_nothing_typed_is_lost(self, client, officer, my_rep, new_url):
        client.force_login(officer)
        response = client.post(new_url, reception_post([my_rep], token="x", notes="群众反映公交太少"))
        assert response.status_code == 200 and not Reception.objects.exists()
        assert response.context["form"].non_field_errors() == [str(EXPIRED)]
        page = response.content.decode()
        assert "群众反映公交太少" in page and "张大爷" in page and "希望增设公交站" in page
        resent = reception_post([my_rep], token=page_token(response), notes="群众反映公交太少")
        assert client.post(new_url, resent).status_code == 302 and Reception.objects.count() == 1

    def test_direction_controls_are_dropped_everywhere_on_the_card(self, client, officer, my_rep, new_url):
        client.force_login(officer)
        data = reception_post(
            [my_rep],
            notes="\u202e站交公\u202c",
            place="\u2066城关镇\u2069",
            **{"visitors-0-name": "张\u200f大爷", "matters-1-content": "希望\u202d增设\u202c公交站"},
        )
        assert client.post(new_url, data).status_code == 302
        reception = Reception.objects.get()
        assert (reception.notes, reception.place) == ("站交公", "城关镇")
        assert reception.visitors.get().name == "张大爷"
        assert reception.matters.filter(content="希望增设公交站").exists()

    def test_a_100000_character_note_is_answered_plainly(self, client, officer, my_rep, new_url):
        client.force_login(officer)
        response = client.post(new_url, reception_post([my_rep], notes="记" * 100_000))
        assert response.status_code == 200 and not Reception.objects.exists()
        [message] = response.context["form"].errors["notes"]
        assert "4000" in message and "100000" in message and "确保" not in message
        assert "张大爷" in response.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["new_url", "slot_url"])
def test_the_card_sent_twice_at_the_same_instant_makes_one_record(where, request, officer, my_rep):
    if connection.vendor != "postgresql":
        pytest.fail("this race is checked on PostgreSQL: run it with `make test`")
    url = request.getfixturevalue(where)
    data = reception_post([my_rep])
    tabs = [Client(), Client()]
    for tab in tabs:
        tab.force_login(officer)
    with time_machine.travel(local(2026, 5, 20, 10, 0), tick=False):
        responses = post_at_once([(tab, url, data) for tab in tabs])
        reception = Reception.objects.get()
        assert [r.status_code for r in responses] == [302, 302], refusals(responses)
        assert {r["Location"] for r in responses} == {reverse("studios:reception", args=[reception.pk])}
        assert reception.matters.count() == 2 and reception.visitors.count() == 1
        assert AuditEvent.objects.filter(verb="reception.recorded").count() == 1
        assert receptions_cell(my_rep).value == 1

"""Ticket forms sent twice: staff registering by hand (/tickets/new/, from a reception or a
visit matter) make one ticket and land on it; ratings (the rep's, the resident's, one staff
enter) count once and the second post says so, never 500. And what every form does with what is
typed: direction controls dropped, a 100,000-character field answered plainly, nothing lost."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from liaison.idempotency import ALREADY_SAVED, EXPIRED, read_token
from proposals.models import Rating, Ticket
from proposals.public_forms import new_submission_token
from reps.services import MatterInput as VisitMatterInput
from reps.services import visit_record
from tests.factories import ContactFactory, ContactLinkFactory
from tests.helpers import reload
from tests.proposals.pages_helpers import post_move, version
from tests.proposals.public_helpers import visitor, walk_to_forwarded
from tests.proposals.test_pages import ticket_post
from tests.twice import messages_of, page_token, post_at_once, refusals

CREATE = "/tickets/new/"
TRACK_PAGE = "/track/ticket/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def as_clerk(client, clerk_a):
    client.force_login(clerk_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_the_url_is_the_staff_form():
    assert reverse("proposals:create") == CREATE


class TestStaffRegistering:
    def test_the_form_posted_twice_makes_one_ticket_and_both_land_on_it(self, as_clerk, township_a):
        data = ticket_post(township=township_a.pk, token=page_token(as_clerk.get(CREATE)))
        first, second = as_clerk.post(CREATE, data), as_clerk.post(CREATE, data)
        ticket = Ticket.objects.get()
        assert first.status_code == second.status_code == 302
        assert first["Location"] == second["Location"] == reverse("proposals:detail", args=[ticket.pk])
        assert messages_of(second)[-1] == str(ALREADY_SAVED)
        assert ticket.submission_token == read_token(data["token"])
        assert ticket.proposers.count() == 1 and ticket.events.filter(move="register").count() == 1

    def test_a_tampered_token_is_refused_and_nothing_typed_is_lost(self, as_clerk, township_a):
        response = as_clerk.post(CREATE, ticket_post(township=township_a.pk, token="tampered"))
        assert response.status_code == 200 and not Ticket.objects.exists()
        assert response.context["form"].non_field_errors() == [str(EXPIRED)]
        page = response.content.decode()
        assert "菜市场噪音扰民" in page and "早上四点开始卸货" in page and "李阿姨" in page
        again = ticket_post(township=township_a.pk, token=page_token(response))
        assert as_clerk.post(CREATE, again).status_code == 302 and Ticket.objects.count() == 1

    def test_a_visit_matter_turned_into_a_ticket_twice_makes_one(
        self, client, rep_a, my_rep, village_a, township_a
    ):
        contact = ContactFactory(village=village_a, name="刘大爷", phone="13700002222")
        ContactLinkFactory(representative=my_rep, contact=contact)
        visit = visit_record(
            actor=rep_a,
            representative=my_rep,
            date=timezone.localdate(),
            kind="visit",
            contacts=[contact],
            matters=[VisitMatterInput(content="屋顶漏雨需要维修", for_ticket=True)],
        )
        url = reverse("proposals:from_visit_matter", args=[visit.matters.get().pk])
        client.force_login(rep_a)
        data = ticket_post(source="visit", township=township_a.pk, token=page_token(client.get(url)))
        first, second = client.post(url, data), client.post(url, data)
        ticket = Ticket.objects.get()
        assert first["Location"] == second["Location"] == reverse("proposals:detail", args=[ticket.pk])
        assert messages_of(second)[-1] == str(ALREADY_SAVED)

    def test_direction_controls_are_dropped_from_the_title_and_the_proposer(self, as_clerk, township_a):
        data = ticket_post(
            township=township_a.pk, title="噪音\u202e扰民", **{"proposers-0-name": "李\u2066阿姨\u2069"}
        )
        assert as_clerk.post(CREATE, data).status_code == 302
        ticket = Ticket.objects.get()
        assert ticket.title == "噪音扰民" and ticket.proposers.get().name == "李阿姨"

    def test_a_100000_character_title_is_answered_plainly_and_nothing_else_is_lost(
        self, as_clerk, township_a
    ):
        response = as_clerk.post(CREATE, ticket_post(township=township_a.pk, title="长" * 100_000))
        assert response.status_code == 200 and not Ticket.objects.exists()
        assert response.context["form"].errors["title"] == [
            "Title: at most 100 characters; you typed 100000."
        ]
        page = response.content.decode()
        assert "Title: at most 100 characters; you typed 100000." in page
        assert "早上四点开始卸货" in page and "李阿姨" in page

    def test_a_100000_character_content_is_answered_too(self, as_clerk, township_a):
        response = as_clerk.post(CREATE, ticket_post(township=township_a.pk, content="长" * 100_000))
        assert response.status_code == 200 and not Ticket.objects.exists()
        [message] = response.context["form"].errors["content"]
        assert "100000" in message and "4000" in message


class TestIntake:
    def intake(self, township_a, category, **fields):
        data = {
            "township": township_a.pk,
            "category": category.pk,
            "title": "路灯不亮",
            "content": "东街三盏路灯坏了",
            "name": "张大爷",
            "phone": "13812345678",
            "privacy_consent": "on",
            "token": new_submission_token(),
            **fields,
        }
        return visitor().post("/intake/", data)

    def test_a_title_that_reads_backwards_is_stored_without_the_override(self, township_a, category):
        response = self.intake(township_a, category, title="\u202e亮不灯路", content="东街\u2067三盏\u2069")
        assert response.status_code == 302
        ticket = Ticket.objects.get()
        assert (ticket.title, ticket.content) == ("亮不灯路", "东街三盏")

    def test_a_100000_character_title_is_answered_plainly_and_nothing_else_is_lost(
        self, township_a, category
    ):
        response = self.intake(township_a, category, title="长" * 100_000, content="内" * 100_000)
        assert response.status_code == 200 and not Ticket.objects.exists()
        errors = response.context["form"].errors
        assert set(errors) == {"title", "content"}
        [title] = errors["title"]
        assert "100" in title and "100000" in title and "确保" not in title
        page = response.content.decode()
        assert title in page and "张大爷" in page and "13812345678" in page


class TestRatings:
    def test_the_reps_rating_posted_twice_counts_once_and_the_second_says_why(
        self, client, ticket, clerk_a, unit_a, unit_a_staff, rep_a
    ):
        walk_to_forwarded(ticket, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
        client.force_login(rep_a)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        seen = version(ticket)
        first = post_move(client, ticket, "rate", stale=seen, score="satisfied")
        second = post_move(client, ticket, "rate", stale=seen, score="satisfied")
        # The second is the move refused as the page refuses any (409, the ticket as it is now), with why.
        assert first.status_code == 302 and second.status_code == 409
        assert Rating.objects.filter(ticket=ticket).count() == 1
        assert messages_of(second)[-1] == "This reply has already been rated by you."

    def test_a_proposers_rating_entered_twice_by_staff_counts_once(
        self, client, ticket, clerk_a, unit_a, unit_a_staff
    ):
        walk_to_forwarded(ticket, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
        client.force_login(clerk_a)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        seen = version(ticket)
        fields = {"proposer": ticket.proposers.get().pk, "via": "phone", "score": "satisfied"}
        first = post_move(client, ticket, "enter_rating", stale=seen, **fields)
        second = post_move(client, ticket, "enter_rating", stale=seen, **fields)
        assert first.status_code == 302 and second.status_code == 409
        assert Rating.objects.filter(ticket=ticket).count() == 1
        assert messages_of(second)[-1] == "Every proposer has rated this reply."

    def test_the_residents_rating_posted_twice_counts_once(self, ticket, clerk_a, unit_a, unit_a_staff):
        walk_to_forwarded(ticket, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
        resident = tracking(ticket)
        first = resident.post(TRACK_PAGE, {"score": "satisfied", "comment": "快"})
        second = resident.post(TRACK_PAGE, {"score": "satisfied", "comment": "快"})
        assert first.status_code == second.status_code == 302
        assert Rating.objects.filter(ticket=ticket).count() == 1
        assert 'id="already-rated"' in resident.get(TRACK_PAGE).content.decode()


def tracking(ticket) -> Client:
    client = visitor()
    response = client.post("/track/", {"code": ticket.display_code, "phone_last4": "5678"})
    assert response.status_code == 302
    return client


# --- at the same instant, on PostgreSQL ------------------------------------------------------


@pytest.fixture
def on_postgresql(transactional_db):
    if connection.vendor != "postgresql":
        pytest.fail("these races are checked on PostgreSQL: run them with `make test`")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("on_postgresql")
class TestAtTheSameInstant:
    def test_the_staff_form_sent_twice_makes_one_ticket(self, clerk_a, township_a, category):
        data = ticket_post(township=township_a.pk)
        tabs = [Client(), Client()]
        for tab in tabs:
            tab.force_login(clerk_a)
        responses = post_at_once([(tab, CREATE, data) for tab in tabs])
        ticket = Ticket.objects.get()
        assert [r.status_code for r in responses] == [302, 302], refusals(responses)
        assert {r["Location"] for r in responses} == {reverse("proposals:detail", args=[ticket.pk])}
        assert ticket.proposers.count() == 1 and ticket.events.filter(move="register").count() == 1

    def test_the_residents_rating_sent_twice_counts_once(self, ticket, clerk_a, unit_a, unit_a_staff):
        walk_to_forwarded(ticket, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
        tabs = [tracking(ticket), tracking(ticket)]
        responses = post_at_once([(tab, TRACK_PAGE, {"score": "satisfied"}) for tab in tabs])
        assert [r.status_code for r in responses] == [302, 302], refusals(responses)
        assert Rating.objects.filter(ticket=ticket).count() == 1

    def test_the_reps_rating_sent_twice_counts_once(self, ticket, clerk_a, unit_a, unit_a_staff, rep_a):
        walk_to_forwarded(ticket, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
        tabs = [Client(), Client()]
        for tab in tabs:
            tab.force_login(rep_a)
            tab.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        url = reverse("proposals:act", args=[ticket.pk, "rate"])
        data = {"rate-version": version(ticket), "rate-score": "satisfied"}
        responses = post_at_once([(tab, url, data) for tab in tabs])
        done, refused = sorted(responses, key=lambda r: r.status_code != 302)
        # The second is refused with why: by the move's check (409) or by the row's unique key,
        # met under the lock, shown next to the form (200).
        assert done.status_code == 302 and refused.status_code in (200, 409)
        said = refused.content.decode() + " ".join(messages_of(refused))
        assert "This reply has already been rated by you." in said
        assert Rating.objects.filter(ticket=reload(ticket)).count() == 1

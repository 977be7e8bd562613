"""Visit matters follow the reception matters' rule (issue 10, item 5): each is answered on the
spot (with the answer) or to become a ticket, never both nor neither, in the form, the service
and the database; and either may carry a category from the one list."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation

from liaison.models import Category
from reps.forms import MatterForm
from reps.models import HomeVisit, VisitMatter
from reps.services import MatterInput, visit_record
from tests.helpers import refusal
from tests.reps.test_rep_pages import visit_post


@pytest.fixture
def as_rep(client, rep_a, my_rep):
    client.force_login(rep_a)
    return client


def cat(name: str) -> Category:
    return Category.objects.get_or_create(name=name)[0]


def record(rep_a, my_rep, my_contacts, *matters):
    return visit_record(
        actor=rep_a,
        representative=my_rep,
        date=timezone.localdate(),
        kind="visit",
        contacts=my_contacts[:1],
        matters=list(matters),
    )


def test_the_form_asks_how_each_matter_was_handled(db):
    form = MatterForm({"content": "村口路灯不亮"})
    assert not form.is_valid() and set(form.errors) == {"handling"}
    form = MatterForm({"content": "村口路灯不亮", "handling": "answered", "answer": " "})
    assert not form.is_valid() and set(form.errors) == {"answer"}
    form = MatterForm({"content": "村口路灯不亮", "handling": "ticket", "category": cat("交通出行").pk})
    assert form.is_valid(), form.errors
    assert form.matter_fields() == {
        "content": "村口路灯不亮",
        "answered_on_spot": False,
        "answer": "",
        "for_ticket": True,
        "category": cat("交通出行"),
    }


def test_a_matter_posted_without_its_handling_records_nothing(as_rep, my_contacts):
    data = visit_post(my_contacts)
    del data["matters-1-handling"]
    response = as_rep.post(reverse("reps:visit_new"), data)
    assert response.status_code == 200
    assert set(response.context["matters"].errors[1]) == {"handling"}
    assert not HomeVisit.objects.exists()


def test_the_category_chosen_on_the_phone_is_kept(as_rep, my_contacts):
    data = visit_post(my_contacts, **{"matters-1-category": cat("交通出行").pk})
    assert as_rep.post(reverse("reps:visit_new"), data).status_code == 302
    answered, ticketed = HomeVisit.objects.get().matters.order_by("id")
    assert (answered.category, ticketed.category) == (None, cat("交通出行"))


@pytest.mark.parametrize(
    "matter, message",
    [
        (
            MatterInput("事项", answered_on_spot=True, answer="答复", for_ticket=True),
            "Matter 1: a matter is either answered on the spot or turned into a ticket.",
        ),
        (
            MatterInput("事项"),
            "Matter 1: say whether it was answered on the spot or is to become a ticket.",
        ),
        (
            MatterInput("事项", answered_on_spot=True, answer=" "),
            "Matter 1: say what was answered on the spot.",
        ),
    ],
)
def test_the_service_refuses_both_neither_and_an_empty_answer(rep_a, my_rep, my_contacts, matter, message):
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        record(rep_a, my_rep, my_contacts, matter)
    assert refusal(refused.value) == {"matters": [message]}
    assert not HomeVisit.objects.exists()


def test_the_database_refuses_a_matter_both_answered_and_for_a_ticket(rep_a, my_rep, my_contacts):
    visit = record(rep_a, my_rep, my_contacts)
    with pytest.raises(IntegrityError), transaction.atomic():
        VisitMatter.objects.create(
            visit=visit, content="x", answered_on_spot=True, answer="y", for_ticket=True
        )


def test_a_recorded_matter_keeps_its_flag_and_category(rep_a, my_rep, my_contacts):
    visit = record(
        rep_a, my_rep, my_contacts, MatterInput("桥面破损", for_ticket=True, category=cat("交通出行"))
    )
    matter = visit.matters.get()
    assert (matter.for_ticket, matter.answered_on_spot, matter.category) == (True, False, cat("交通出行"))

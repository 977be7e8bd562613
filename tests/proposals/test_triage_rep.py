"""Issue 10, items 3 and 4 (rating part): the responsible representative is part of triage; a
reply without one goes straight to the proposers' rating, and the public timeline never names a
rep it does not have; the reviewing office enters a proposer's paper or phone rating (书面/电话);
a ticket no resident rated is concluded as "no resident rating", and the satisfaction figures
count residents' ratings only."""

from __future__ import annotations

import datetime
import importlib

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from proposals import reminders, services
from proposals.models import Rating, Ticket
from proposals.public_views import public_timeline, published_results
from proposals.transitions import Status
from tests.factories import active_rep
from tests.helpers import refusal, reload
from tests.proposals.test_move_options import ALL_RATED, HAS_REP, NO_PROPOSER, NO_REP, _option

TZ = timezone.get_default_timezone()
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def no_rep(make_ticket):
    """A matter a resident filed without a rep: one proposer (张大爷)."""
    with time_machine.travel(START, tick=False):
        return make_ticket(representative=None, source="intake")


def refused(call) -> dict | list:
    with pytest.raises(ValidationError) as caught:
        call()
    return refusal(caught.value)


# --- 1. the responsible rep is part of triage -----------------------------------------------------


def test_the_township_sets_and_changes_the_rep_at_triage_and_the_event_says_who_before(
    no_rep, clerk_a, my_rep, other_rep
):
    services.ticket_set_representative(actor=clerk_a, ticket=reload(no_rep), representative=my_rep)
    assert reload(no_rep).representative == my_rep
    services.ticket_set_representative(
        actor=clerk_a, ticket=reload(no_rep), representative=other_rep, note="就近"
    )
    ticket = reload(no_rep)
    assert (ticket.representative, ticket.status) == (other_rep, Status.REGISTERED)
    events = list(ticket.events.filter(move="set_rep").order_by("id"))
    assert [e.data for e in events] == [
        {"rep": "陈志强", "rep_before": ""},
        {"rep": "王秀兰", "rep_before": "陈志强"},
    ]
    assert [e.is_public for e in events] == [False, False] and events[1].note == "就近"
    assert events[1].actor == clerk_a and events[1].actor_label == ticket.township.name


def test_setting_the_rep_refuses_the_same_rep_another_townships_rep_and_a_co_signer(
    make_ticket, clerk_a, my_rep, other_rep, rep_b
):
    ticket = make_ticket(co_signers=[other_rep])
    assert refused(
        lambda: services.ticket_set_representative(
            actor=clerk_a, ticket=reload(ticket), representative=my_rep
        )
    ) == {"representative": ["This is already the ticket's responsible representative."]}
    # rep_b is of township B: the township A clerk does not see them.
    assert refused(
        lambda: services.ticket_set_representative(actor=clerk_a, ticket=reload(ticket), representative=rep_b)
    ) == {"representative": ["Choose a representative of this county, in their term, whom you can see."]}
    assert refused(
        lambda: services.ticket_set_representative(
            actor=clerk_a, ticket=reload(ticket), representative=other_rep
        )
    ) == {"representative": ["The responsible representative is not also a co-signer."]}
    assert reload(ticket).events.filter(move="set_rep").count() == 0


def test_a_rep_whose_term_ended_is_not_offered(no_rep, clerk_a, township_a, my_rep):
    retired = active_rep(township_a, name="李退休")
    retired.mandates.update(term_end=datetime.date(2020, 1, 1), term_start=datetime.date(2015, 1, 1))
    eligible = set(services.eligible_reps(reload(no_rep), clerk_a))
    assert my_rep in eligible and retired not in eligible


def test_the_rep_may_be_cleared_but_a_motion_keeps_one(make_ticket, clerk_a, my_rep):
    ticket = make_ticket()
    services.ticket_set_representative(actor=clerk_a, ticket=reload(ticket), representative=None)
    assert reload(ticket).representative is None
    assert reload(ticket).events.get(move="set_rep").data == {"rep": "", "rep_before": "陈志强"}
    motion = make_ticket(kind=Ticket.Kind.MOTION)
    assert refused(
        lambda: services.ticket_set_representative(actor=clerk_a, ticket=reload(motion), representative=None)
    ) == {"representative": ["A formal motion is made by a representative."]}


def test_at_the_county_only_the_office_sets_the_rep_and_never_once_assigned(
    no_rep, clerk_a, liaison_office, my_rep, county_unit, rep_a
):
    services.ticket_forward_to_county(actor=clerk_a, ticket=reload(no_rep))
    with pytest.raises(PermissionDenied):
        services.ticket_set_representative(actor=clerk_a, ticket=reload(no_rep), representative=my_rep)
    with pytest.raises(PermissionDenied):
        services.ticket_set_representative(actor=rep_a, ticket=reload(no_rep), representative=my_rep)
    services.ticket_set_representative(actor=liaison_office, ticket=reload(no_rep), representative=my_rep)
    services.ticket_assign(actor=liaison_office, ticket=reload(no_rep), lead_unit=county_unit)
    with pytest.raises(services.InvalidMove):
        services.ticket_set_representative(actor=liaison_office, ticket=reload(no_rep), representative=None)
    assert reload(no_rep).representative == my_rep


def test_the_page_offers_a_filterable_select_of_the_reps_the_clerk_sees(
    client, no_rep, clerk_a, my_rep, other_rep, rep_b
):
    client.force_login(clerk_a)
    html = client.get(reverse("proposals:detail", args=[no_rep.pk])).content.decode()
    form = html[html.index('id="move-set_rep"') :]
    form = form[: form.index("</form>")]
    assert "data-filterable" in form and f'data-initials="{my_rep.name_initials}"' in form
    assert "陈志强 · " in form and "王秀兰 · " in form and "吴勇" not in form  # township B's rep
    assert "js/select-filter.js" in html  # the script that narrows it, served with the page
    response = client.post(
        reverse("proposals:act", args=[no_rep.pk, "set_rep"]),
        {"set_rep-representative": other_rep.pk, "set_rep-version": reload(no_rep).updated_at.isoformat()},
    )
    assert response.status_code == 302 and reload(no_rep).representative == other_rep


# --- 2. no rep: the reply goes straight to the proposers' rating ----------------------------------


def test_without_a_rep_forward_is_refused_and_the_reply_goes_to_the_proposers(no_rep, walk, clerk_a):
    replied = walk(no_rep, "replied")
    assert _option(replied, clerk_a, "forward").reason == NO_REP
    assert _option(replied, clerk_a, "to_proposers").allowed
    assert refused(lambda: services.ticket_forward(actor=clerk_a, ticket=reload(no_rep))) == [NO_REP]
    assert reload(no_rep).status == Status.REPLIED
    services.ticket_to_proposers(actor=clerk_a, ticket=reload(no_rep), summary="路灯已修复")
    ticket = reload(no_rep)
    assert ticket.status == Status.FORWARDED and ticket.feedback_due_at is not None
    assert ticket.reply_summary == "路灯已修复"
    assert services.raters_outstanding(ticket) == 1  # the proposer alone
    services.ticket_rate(ticket=ticket, proposer=ticket.proposers.get(), score="satisfied")
    ticket = reload(no_rep)
    assert (ticket.status, ticket.resolution) == (Status.CLOSED, Ticket.Resolution.SATISFIED)


def test_with_a_rep_the_reply_is_forwarded_not_sent_to_the_proposers_alone(ticket, walk, clerk_a):
    replied = walk(ticket, "replied")
    assert _option(replied, clerk_a, "to_proposers").reason == HAS_REP
    assert _option(replied, clerk_a, "forward").allowed
    assert refused(lambda: services.ticket_to_proposers(actor=clerk_a, ticket=reload(ticket))) == [HAS_REP]


def test_the_page_shows_the_one_way_on_and_hides_the_other(client, no_rep, ticket, walk, clerk_a):
    client.force_login(clerk_a)
    for t, shown, hidden in ((walk(no_rep, "replied"), "to_proposers", "forward"),
                             (walk(ticket, "replied"), "forward", "to_proposers")):  # fmt: skip
        page = client.get(reverse("proposals:detail", args=[t.pk]))
        moves = {f.move for f in page.context["forms"]}
        assert shown in moves and hidden not in moves
        assert hidden not in {r["move"] for r in page.context["refused"]}


def test_the_public_timeline_of_a_ticket_without_a_rep_never_mentions_one(no_rep, walk, clerk_a):
    walk(no_rep, "replied")
    services.ticket_to_proposers(actor=clerk_a, ticket=reload(no_rep))
    labels = [str(step["label"]) for step in public_timeline(reload(no_rep))]
    assert labels == [
        "matter received",
        "assigned",
        "signed for",
        "step 1: contacted the proposers",
        "step 2: plan made",
        "step 3: carried out and replied in writing",
        "reply sent to the proposers for their rating",
    ]
    assert not any("representative" in label for label in labels)


def test_the_public_timeline_of_a_ticket_with_a_rep_names_the_rep(ticket, walk):
    walk(ticket, "forwarded")
    labels = [str(step["label"]) for step in public_timeline(reload(ticket))]
    assert labels[3:] == [
        "step 1: contacted the representative and proposers",
        "step 2: plan made, representative consulted",
        "step 3: carried out and replied in writing",
        "reply forwarded to the representative",
    ]


def test_the_tracking_page_status_without_a_rep_says_the_unit_contacted_you(client, no_rep, walk):
    walk(no_rep, "contacted")
    client.post("/track/", {"code": no_rep.display_code, "phone_last4": "5678"})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/track/ticket/").content.decode()
    assert "The unit has contacted you." in html and "contacted the representative" not in html


# --- 3. a paper or phone rating, entered by the reviewing office -----------------------------------


def test_the_office_enters_a_proposers_phone_rating_once(ticket, walk, clerk_a, unit_a_staff, rep_a):
    forwarded = walk(ticket, "forwarded")
    proposer = forwarded.proposers.get()
    with pytest.raises(PermissionDenied):  # not the unit's to enter
        services.rating_enter(actor=unit_a_staff, ticket=forwarded, proposer=proposer, score="satisfied",
                              via="phone")  # fmt: skip
    assert refused(
        lambda: services.rating_enter(
            actor=clerk_a, ticket=reload(ticket), proposer=proposer, score="satisfied", via="online"
        )
    ) == {"via": ["Say how the proposer gave the rating: in writing or by phone."]}
    rating = services.rating_enter(
        actor=clerk_a,
        ticket=reload(ticket),
        proposer=proposer,
        score="basically",
        via="phone",
        comment="电话回访",
    )
    assert (rating.proposer, rating.via, rating.score, rating.round) == (proposer, "phone", "basically", 1)
    event = reload(ticket).events.get(move="enter_rating")
    assert event.data == {"score": "basically", "via": "phone", "resident": True} and event.actor == clerk_a
    assert event.is_public and event.note == "电话回访"
    assert refused(
        lambda: services.rating_enter(
            actor=clerk_a, ticket=reload(ticket), proposer=proposer, score="satisfied", via="paper"
        )
    ) == [ALL_RATED]  # the one proposer has rated: nothing left to enter
    assert _option(reload(ticket), clerk_a, "enter_rating").reason == ALL_RATED
    assert refused(
        lambda: services.ticket_rate(ticket=reload(ticket), proposer=proposer, score="satisfied")
    ) == ["This reply has already been rated by you."]  # nor online afterwards
    assert reload(ticket).status == Status.FORWARDED  # the rep is still to rate
    services.ticket_rate(ticket=reload(ticket), actor=rep_a, score="satisfied")
    assert reload(ticket).status == Status.CLOSED


def test_a_second_proposer_may_still_have_theirs_entered(make_ticket, walk, clerk_a):
    ticket = make_ticket(proposers=[("张大爷", "13812345678"), ("李四", "13900001111")])
    walk(ticket, "forwarded")
    first, second = reload(ticket).proposers.order_by("id")
    services.rating_enter(
        actor=clerk_a, ticket=reload(ticket), proposer=first, score="satisfied", via="paper"
    )
    # Two tabs: the same proposer entered again is refused by name, not by the page's state.
    t = reload(ticket)
    assert [p.pk for p in services.proposers_to_rate(t)] == [second.pk]
    with pytest.raises(ValidationError) as caught:
        services._record_rating(
            t, move="enter_rating", actor=clerk_a, acting_as=frozenset({"reviewer"}), actor_label="",
            proposer=first, rep=None, score="satisfied", via="paper", comment="", now=timezone.now(),
        )  # fmt: skip
    assert refusal(caught.value) == {"proposer": ["This proposer has already rated this reply."]}


def test_no_proposer_means_no_rating_to_enter(make_ticket, walk, clerk_a):
    ticket = make_ticket(proposers=[])
    walk(ticket, "forwarded")
    assert _option(reload(ticket), clerk_a, "enter_rating").reason == NO_PROPOSER


def test_the_page_enters_it_and_both_timelines_mark_it_in_writing(client, ticket, walk, clerk_a):
    walk(ticket, "forwarded")
    proposer = ticket.proposers.get()
    client.force_login(clerk_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(
        reverse("proposals:act", args=[ticket.pk, "enter_rating"]),
        {
            "enter_rating-proposer": proposer.pk,
            "enter_rating-via": "paper",
            "enter_rating-score": "satisfied",
            "enter_rating-version": reload(ticket).updated_at.isoformat(),
        },
    )
    assert response.status_code == 302
    assert Rating.objects.get(ticket=ticket, proposer=proposer).via == Rating.Via.PAPER
    html = client.get(reverse("proposals:detail", args=[ticket.pk])).content.decode()
    assert 'data-via="paper"' in html and "in writing (书面)" in html
    assert [str(s["label"]) for s in public_timeline(reload(ticket))][-1] == "rated in writing (书面)"


# --- 4. concluded with no resident rating ------------------------------------------------------------


def test_the_reps_rating_alone_concludes_as_no_resident_rating(ticket, walk, rep_a, clerk_a):
    walk(ticket, "forwarded")
    services.ticket_rate(ticket=reload(ticket), actor=rep_a, score="satisfied")
    services.ticket_conclude(ticket=reload(ticket), actor=clerk_a)
    t = reload(ticket)
    assert (t.status, t.resolution) == (Status.CLOSED, Ticket.Resolution.NO_RESIDENT_RATING)


def test_the_outcome_reads_residents_ratings():
    outcome = services.feedback_outcome
    assert outcome(set(), residents_rated=False) == (Status.CLOSED, "no_resident")
    assert outcome({"satisfied"}, residents_rated=False) == (Status.CLOSED, "no_resident")
    assert outcome({"basically"}, residents_rated=True) == (Status.CLOSED, "satisfied")
    assert outcome({"satisfied", "dissatisfied"}, residents_rated=True) == (Status.DISSATISFIED, "")
    assert outcome({"dissatisfied"}, residents_rated=False) == (Status.DISSATISFIED, "")


def test_the_sweep_concludes_each_ticket_by_its_residents_ratings(make_ticket, walk, rep_a, clerk_a):
    rep_only, resident, nobody = (make_ticket(title=f"事项{i}") for i in range(3))
    for t in (rep_only, resident, nobody):
        walk(t, "forwarded")
    services.ticket_rate(ticket=reload(rep_only), actor=rep_a, score="satisfied")
    services.rating_enter(actor=clerk_a, ticket=reload(resident), proposer=resident.proposers.get(),
                          score="satisfied", via="paper")  # fmt: skip
    later = reload(nobody).feedback_due_at + reminders.FEEDBACK_CLOSE_GRACE + datetime.timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        assert reminders.ticket_reminders_send_due(now=later)["concluded"] == 3
    assert {t.title: t.resolution for t in map(reload, (rep_only, resident, nobody))} == {
        "事项0": "no_resident",
        "事项1": "satisfied",
        "事项2": "no_resident",
    }


def test_the_published_satisfaction_counts_residents_only(make_ticket, walk, rep_a, clerk_a):
    rep_only = make_ticket(is_public_interest=True, title="只有代表评价")
    resident = make_ticket(is_public_interest=True, title="群众评价")
    for t in (rep_only, resident):
        walk(t, "forwarded")
        services.ticket_rate(
            ticket=reload(t), actor=rep_a, score="dissatisfied" if t == resident else "satisfied"
        )
    services.ticket_conclude(ticket=reload(rep_only), actor=clerk_a)
    services.ticket_rate(ticket=reload(resident), proposer=resident.proposers.get(), score="satisfied")
    services.ticket_close(actor=clerk_a, ticket=reload(resident), note="已解释")
    rows = {t.title: (t.ratings_total, t.ratings_satisfied) for t in published_results()}
    assert rows == {"只有代表评价": (0, 0), "群众评价": (1, 1)}  # the rep's two ratings are not counted


def test_the_migration_recounts_closed_tickets_by_residents_ratings(ticket, make_ticket, walk, rep_a):
    walk(ticket, "closed")  # the rep and the proposer rated
    rep_only = make_ticket(title="只有代表")
    walk(rep_only, "forwarded")
    services.ticket_rate(ticket=reload(rep_only), actor=rep_a, score="satisfied")
    old = make_ticket(title="旧的无反馈")
    Ticket.objects.filter(pk=rep_only.pk).update(status="closed", resolution="satisfied")
    Ticket.objects.filter(pk=old.pk).update(status="closed", resolution="no_response")
    migration = importlib.import_module("proposals.migrations.0009_rating_via_no_resident_rating")
    migration.count_residents_ratings(apps, None)
    assert [reload(t).resolution for t in (ticket, rep_only, old)] == [
        "satisfied",
        "no_resident",
        "no_resident",
    ]


def test_the_triage_page_costs_the_same_queries_however_many_reps(
    client, no_rep, clerk_a, township_a, my_rep, django_assert_num_queries
):
    """The rep select is one query, whatever the number of representatives it lists."""
    client.force_login(clerk_a)
    url = reverse("proposals:detail", args=[no_rep.pk])
    client.get(url)  # the session and the user's roles, read once before counting
    with CaptureQueriesContext(connection) as few:
        html = client.get(url).content.decode()
    assert html.count("data-initials=") == 1
    for i in range(30):
        active_rep(township_a, name=f"代表{i:02d}")
    with django_assert_num_queries(len(few.captured_queries)):
        html = client.get(url).content.decode()
    assert html.count("data-initials=") == 31

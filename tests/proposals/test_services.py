"""The services' unhappy paths (each refusal leaves the ticket as it was), and what the moves
mean beyond their status: return to whoever assigned, the co-units holding up the reply,
re-handling with a new deadline and a new rating round, the feedback conclusion."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from proposals import services
from proposals.files import clean_attachment
from proposals.models import Assignment, Extension, Rating, Ticket, TicketEvent
from proposals.transitions import Conflict, InvalidMove
from tests.factories import CountyFactory, HandlingUnitFactory, StudioFactory, TownshipFactory
from tests.helpers import refusal
from tests.proposals.public_helpers import pdf_upload

TZ = timezone.get_default_timezone()
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


def load(ticket) -> Ticket:
    return (
        Ticket.objects.select_related("township", "representative", "lead_unit")
        .prefetch_related("assignments__unit")
        .get(pk=ticket.pk)
    )


def state(ticket):
    """Everything a refused call must leave alone."""
    return (
        Ticket.objects.filter(pk=ticket.pk).values().get(),
        TicketEvent.objects.filter(ticket=ticket).count(),
        list(Assignment.objects.filter(ticket=ticket).values()),
        list(Extension.objects.filter(ticket=ticket).values()),
        Rating.objects.filter(ticket=ticket).count(),
    )


@pytest.fixture
def unchanged(ticket):
    """Use as ``with unchanged(t), pytest.raises(...)``: asserts nothing about ``t`` changed."""
    import contextlib

    @contextlib.contextmanager
    def watch(t=ticket):
        before = state(t)
        yield
        assert state(t) == before

    return watch


# --- registering -------------------------------------------------------------------------------


def test_registering_with_a_studio_of_another_township_is_refused(make_ticket, township_b):
    other_studio = StudioFactory(region=township_b)
    with pytest.raises(ValidationError) as caught:
        make_ticket(studio=other_studio)
    assert "studio" in caught.value.message_dict
    assert not Ticket.objects.exists()


def test_registering_with_a_studio_of_a_village_in_the_township_is_accepted(make_ticket, village_a):
    assert make_ticket(studio=StudioFactory(region=village_a)).studio.region == village_a


def test_a_formal_motion_without_a_representative_is_refused(make_ticket):
    with pytest.raises(ValidationError) as caught:
        make_ticket(kind=Ticket.Kind.MOTION, representative=None)
    assert "representative" in caught.value.message_dict
    assert not Ticket.objects.exists()


def test_a_ticket_must_be_registered_in_a_township(make_ticket, county, liaison_office):
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        make_ticket(actor=liaison_office, township=county)
    assert refusal(refused.value) == {"township": ["Choose a township or street."]}


def test_a_public_intake_without_a_name_and_phone_is_refused(make_ticket):
    for proposers in ([], [("张大爷", "")]):
        with pytest.raises(ValidationError) as caught:
            make_ticket(actor=None, source="intake", proposers=proposers)
        assert list(caught.value.message_dict) == ["proposers"]
    assert not Ticket.objects.exists()


def test_the_service_itself_refuses_a_bad_proposer_phone(make_ticket):
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        make_ticket(proposers=[("张大爷", "13812345678"), ("李阿姨", "12345")])
    assert list(caught.value.message_dict) == ["proposers"]
    assert caught.value.message_dict["proposers"][0].startswith("Proposer 2: Enter a mainland mobile")
    assert not Ticket.objects.exists()


def test_the_service_refuses_a_proposer_phone_without_a_name(make_ticket):
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        make_ticket(proposers=[(" ", "13812345678")])
    assert caught.value.message_dict == {
        "proposers": ["Proposer 1: Give the name too, or leave the phone empty."]
    }


def test_the_service_stores_proposers_normalised_and_skips_empty_rows(make_ticket):
    ticket = make_ticket(proposers=[(" 张大爷 ", "+86 138 1234 5678"), ("", ""), ("李阿姨", "")])
    assert list(ticket.proposers.order_by("pk").values_list("name", "phone")) == [
        ("张大爷", "13812345678"),
        ("李阿姨", ""),
    ]


def test_staff_of_another_township_may_not_register_there(make_ticket, clerk_b):
    with pytest.raises(PermissionDenied):
        make_ticket(actor=clerk_b)


def test_the_same_submission_token_twice_gives_the_same_ticket(make_ticket):
    first = make_ticket(actor=None, source="intake", submission_token="tok-1")
    again = make_ticket(actor=None, source="intake", submission_token="tok-1", title="另一个标题")
    assert again.pk == first.pk and Ticket.objects.count() == 1


def test_registering_writes_one_public_event(ticket):
    event = ticket.events.get()
    assert (event.move, event.from_status, event.to_status, event.is_public) == (
        "register",
        "",
        "registered",
        True,
    )


# --- triage ---------------------------------------------------------------------------------------


def test_the_township_may_not_assign_a_county_unit_or_another_townships_unit(
    ticket, clerk_a, county_unit, unit_b, unchanged
):
    for unit in (county_unit, unit_b):
        with unchanged(), translation.override("en"), pytest.raises(ValidationError) as refused:
            services.ticket_assign(actor=clerk_a, ticket=load(ticket), lead_unit=unit)
        assert refusal(refused.value) == {"lead_unit": ["Choose units this office may assign to."]}


def test_the_office_may_not_assign_a_unit_of_another_county(ticket, clerk_a, liaison_office, unchanged):
    services.ticket_forward_to_county(actor=clerk_a, ticket=load(ticket))
    elsewhere = HandlingUnitFactory(region=CountyFactory(name="别的县"))
    with unchanged(), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_assign(actor=liaison_office, ticket=load(ticket), lead_unit=elsewhere)
    assert refusal(refused.value) == {"lead_unit": ["Choose units this office may assign to."]}


def test_an_inactive_unit_cannot_be_assigned(ticket, clerk_a, unit_a, unchanged):
    unit_a.is_active = False
    unit_a.save()
    with unchanged(), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_assign(actor=clerk_a, ticket=load(ticket), lead_unit=unit_a)
    assert refusal(refused.value) == {"lead_unit": ["Choose units this office may assign to."]}


def test_a_co_unit_listed_twice_or_as_the_lead_is_refused(ticket, clerk_a, unit_a, unit_a2, unchanged):
    for co_units in ([unit_a2, unit_a2], [unit_a]):
        with unchanged(), pytest.raises(ValidationError) as caught:
            services.ticket_assign(actor=clerk_a, ticket=load(ticket), lead_unit=unit_a, co_units=co_units)
        assert "co_units" in caught.value.message_dict


def test_a_ticket_cannot_be_merged_into_itself(ticket, clerk_a, unchanged):
    with unchanged(), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_merge(actor=clerk_a, ticket=load(ticket), into=load(ticket))
    assert refusal(refused.value) == {"into": ["A ticket cannot be merged into itself."]}


def test_a_ticket_cannot_be_merged_into_another_countys_ticket(ticket, clerk_a, category, unchanged):
    elsewhere = Ticket.objects.create(
        title="别处", content="别处", category=category, source="phone",
        township=TownshipFactory(parent=CountyFactory()), tracking_code="BBBBBBBBBB",
    )  # fmt: skip
    with unchanged(), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_merge(actor=clerk_a, ticket=load(ticket), into=elsewhere)
    assert refusal(refused.value) == {"into": ["Choose a ticket you can see in the same county."]}


def test_a_ticket_cannot_be_merged_into_one_its_staff_cannot_see(
    ticket, make_ticket, clerk_a, township_b, unchanged
):
    in_b = make_ticket(township=township_b, actor=None, source="intake")
    with unchanged(), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_merge(actor=clerk_a, ticket=load(ticket), into=in_b)
    assert refusal(refused.value) == {"into": ["Choose a ticket you can see in the same county."]}


def test_merging_closes_the_ticket_and_points_at_the_other(ticket, make_ticket, clerk_a):
    other = make_ticket(title="同一路灯")
    services.ticket_merge(actor=clerk_a, ticket=load(ticket), into=other)
    merged = load(ticket)
    assert (merged.status, merged.resolution, merged.merged_into_id) == ("closed", "merged", other.pk)
    assert merged.events.get(move="merge").data["into"] == other.pk
    third = make_ticket(title="第三个")
    with (
        translation.override("en"),
        pytest.raises(ValidationError) as refused,
    ):  # not into a ticket that was itself merged
        services.ticket_merge(actor=clerk_a, ticket=load(third), into=merged)
    assert refusal(refused.value) == {
        "into": ["That ticket was itself merged; choose the one it was merged into."]
    }


def test_explaining_needs_the_explanation(ticket, clerk_a, unchanged):
    with unchanged(), pytest.raises(InvalidMove):
        services.ticket_explain(actor=clerk_a, ticket=load(ticket), note="")


# --- the unit ----------------------------------------------------------------------------------


def test_a_return_goes_back_to_the_township_when_the_township_assigned(
    ticket, assigned, unit_a_staff, unit_a, clerk_a
):
    ext = _ask(unit_a_staff, assigned)
    services.ticket_return(actor=unit_a_staff, ticket=load(assigned), reason="不属于本单位职责")
    t = load(ticket)
    assert (t.status, t.lead_unit, t.assigned_by, t.due_at) == ("registered", None, "", None)
    assert not Assignment.objects.filter(ticket=ticket, ended_at__isnull=True).exists()
    assert Extension.objects.get(pk=ext.pk).decision == "refused"
    event = t.events.get(move="return")
    assert (event.to_status, event.note, event.data["unit"]) == (
        "registered",
        "不属于本单位职责",
        unit_a.name,
    )
    # The township may send it elsewhere now (the old assignments no longer count).
    services.ticket_assign(actor=clerk_a, ticket=t, lead_unit=unit_a)
    assert load(ticket).status == "assigned"


def test_a_return_goes_back_to_the_county_office_when_the_office_assigned(
    ticket, walk, unit_staff, liaison_office, county_unit
):
    assigned = walk(ticket, "assigned", "county")
    services.ticket_return(actor=unit_staff, ticket=assigned, reason="属于乡镇职责")
    assert load(ticket).status == "at_county"
    services.ticket_assign(actor=liaison_office, ticket=load(ticket), lead_unit=county_unit)
    assert load(ticket).status == "assigned"


def test_a_return_needs_a_reason(ticket, walk, unit_a_staff, unchanged):
    assigned = walk(ticket, "assigned")
    with unchanged(), pytest.raises(InvalidMove):
        services.ticket_return(actor=unit_a_staff, ticket=assigned, reason="  ")


def test_step_one_needs_how_and_a_date_not_in_the_future(ticket, walk, unit_a_staff, unchanged):
    signed = walk(ticket, "signed")
    with unchanged(), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_contact(
            actor=unit_a_staff, ticket=load(signed), how=" ", contacted_on=timezone.localdate()
        )
    assert refusal(refused.value) == {"how": ["Say how they were contacted."]}
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with unchanged(), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_contact(actor=unit_a_staff, ticket=load(signed), how="电话", contacted_on=tomorrow)
    assert refusal(refused.value) == {"contacted_on": ["The date cannot be in the future."]}


def test_step_two_needs_the_rep_consulted(ticket, walk, unit_a_staff, unchanged):
    contacted = walk(ticket, "contacted")
    with unchanged(), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_plan(actor=unit_a_staff, ticket=contacted, plan="更换灯具", rep_consulted=False)
    assert refusal(refused.value) == {"rep_consulted": ["Consult the representative on the plan first."]}


def test_step_two_without_a_responsible_rep_needs_no_consultation(make_ticket, walk, unit_a_staff, client):
    contacted = walk(make_ticket(representative=None), "contacted")
    client.force_login(unit_a_staff)
    form = client.get(reverse("proposals:detail", args=[contacted.pk])).context["forms"]
    plan = next(f for f in form if f.move == "plan")
    assert "rep_consulted" not in plan.fields and str(plan.title) == "第二步：研究解决方案"
    services.ticket_plan(actor=unit_a_staff, ticket=contacted, plan="更换灯具")
    event = contacted.events.get(move="plan")
    assert event.data == {}  # the timeline says nothing of a representative


def test_a_reply_with_no_text_and_no_file_is_refused(ticket, walk, unit_a_staff, unchanged):
    planned = walk(ticket, "planned")
    Assignment.objects.filter(ticket=ticket, role="co").update(opinion_at=timezone.now())
    with unchanged(), pytest.raises(ValidationError) as caught:
        services.ticket_reply(actor=unit_a_staff, ticket=load(planned), text="   ")
    assert "text" in caught.value.message_dict


def test_a_reply_may_be_a_file_alone(ticket, walk, unit_a_staff):
    planned = walk(ticket, "planned")
    Assignment.objects.filter(ticket=ticket, role="co").update(opinion_at=timezone.now())
    services.ticket_reply(
        actor=unit_a_staff, ticket=load(planned), text="", files=[clean_attachment(pdf_upload())]
    )
    t = load(ticket)
    assert t.status == "replied" and t.attachments.get().purpose == "reply"


def test_the_lead_cannot_reply_before_the_co_units_opinion_is_in(
    ticket, walk, unit_a_staff, unit_a2, unchanged
):
    with time_machine.travel(START, tick=False):
        planned = walk(ticket, "planned")
        with unchanged(), pytest.raises(ValidationError) as caught:
            services.ticket_reply(actor=unit_a_staff, ticket=load(planned), text="已更换")
    assert unit_a2.name in caught.value.messages[0]


def test_the_lead_may_reply_once_the_co_unit_has_filed(ticket, walk, unit_a_staff, unit_a2_staff):
    with time_machine.travel(START, tick=False):
        planned = walk(ticket, "planned")
        services.co_opinion_file(actor=unit_a2_staff, ticket=load(planned), text="同意")
        services.ticket_reply(actor=unit_a_staff, ticket=load(planned), text="已更换")
    assert load(ticket).status == "replied"


def test_the_lead_may_reply_once_the_co_units_time_is_up(ticket, walk, unit_a_staff):
    with time_machine.travel(START, tick=False):
        planned = walk(ticket, "planned")
    opinion_due = Assignment.objects.get(ticket=ticket, role="co").opinion_due_at
    with (
        time_machine.travel(opinion_due, tick=False),
        translation.override("en"),
        pytest.raises(ValidationError) as refused,
    ):
        services.ticket_reply(
            actor=unit_a_staff, ticket=load(planned), text="已更换"
        )  # not yet: due this second
    assert refusal(refused.value) == ["Waiting for the opinion of: 城关镇城建办 (or for their time to pass)."]
    with time_machine.travel(opinion_due + datetime.timedelta(seconds=1), tick=False):
        services.ticket_reply(actor=unit_a_staff, ticket=load(planned), text="已更换")
    assert load(ticket).status == "replied"


def test_a_co_unit_files_its_opinion_once(ticket, walk, unit_a2_staff):
    assigned = walk(ticket, "assigned")
    services.co_opinion_file(actor=unit_a2_staff, ticket=assigned, text="同意")
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.co_opinion_file(actor=unit_a2_staff, ticket=load(ticket), text="再次")
    assert refusal(refused.value) == ["Your unit has already filed its opinion."]
    assert TicketEvent.objects.filter(ticket=ticket, move="co_opinion").count() == 1


# --- extensions ---------------------------------------------------------------------------------


@pytest.fixture
def assigned(ticket, walk):
    with time_machine.travel(START, tick=False):
        return walk(ticket, "assigned")


def _ask(actor, ticket, day=datetime.date(2026, 3, 20)):
    with time_machine.travel(START + datetime.timedelta(days=1), tick=False):
        return services.extension_request(actor=actor, ticket=load(ticket), until=day, reason="需协调")


def test_an_extension_cannot_be_asked_while_one_is_pending(assigned, unit_a_staff, unchanged):
    _ask(unit_a_staff, assigned)
    with unchanged(assigned), translation.override("en"), pytest.raises(ValidationError) as refused:
        _ask(unit_a_staff, assigned, datetime.date(2026, 3, 25))
    assert refusal(refused.value) == ["An extension request is already waiting for a decision."]


def test_an_extension_must_ask_for_a_later_date(assigned, unit_a_staff, unchanged):
    with unchanged(assigned), translation.override("en"), pytest.raises(ValidationError) as refused:
        _ask(unit_a_staff, assigned, datetime.date(2026, 3, 12))
    assert refusal(refused.value) == {"until": ["Ask for a date after the current due date."]}


def test_an_extension_cannot_be_decided_twice(assigned, unit_a_staff, clerk_a, liaison_office, unchanged):
    ext = _ask(unit_a_staff, assigned)
    stale_ext = Extension.objects.get(pk=ext.pk)
    services.extension_decide(actor=clerk_a, ticket=load(assigned), extension=ext, approve=True)
    with unchanged(assigned), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.extension_decide(
            actor=liaison_office,
            ticket=load(assigned),
            extension=Extension.objects.get(pk=ext.pk),
            approve=False,
        )
    assert refusal(refused.value) == ["There is no extension request to decide."]
    with unchanged(assigned), pytest.raises((ValidationError, Conflict)):
        services.extension_decide(
            actor=liaison_office, ticket=load(assigned), extension=stale_ext, approve=False
        )
    assert Extension.objects.get(pk=ext.pk).decision == "approved"
    assert TicketEvent.objects.filter(ticket=assigned, move="decide_extension").count() == 1


def test_an_extension_of_another_ticket_cannot_be_decided_here(
    assigned, make_ticket, walk, unit_a_staff, clerk_a
):
    with time_machine.travel(START, tick=False):
        other = walk(make_ticket(), "assigned")
    ext = _ask(unit_a_staff, other)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.extension_decide(actor=clerk_a, ticket=load(assigned), extension=ext, approve=True)
    assert refusal(refused.value) == ["There is no extension request to decide."]
    assert Extension.objects.get(pk=ext.pk).decision == "pending"


def test_only_the_reviewer_decides_an_extension(ticket, walk, unit_staff, clerk_a, unchanged):
    """The county assigned it: the township does not decide the county unit's extension."""
    with time_machine.travel(START, tick=False):
        assigned = walk(ticket, "assigned", "county")
    ext = _ask(unit_staff, assigned)
    with unchanged(assigned), pytest.raises(PermissionDenied):
        services.extension_decide(actor=clerk_a, ticket=load(assigned), extension=ext, approve=True)


# --- feedback ------------------------------------------------------------------------------------


def test_a_rep_may_not_rate_a_ticket_that_is_not_theirs(ticket, walk, other_rep_user, unchanged):
    forwarded = walk(ticket, "forwarded")
    with unchanged(), pytest.raises(PermissionDenied):
        services.ticket_rate(ticket=forwarded, actor=other_rep_user, score="satisfied")


def test_a_proposer_of_another_ticket_may_not_rate(ticket, make_ticket, walk, unchanged):
    forwarded = walk(ticket, "forwarded")
    stranger = make_ticket().proposers.get()
    with unchanged(), pytest.raises(PermissionDenied):
        services.ticket_rate(ticket=forwarded, proposer=stranger, score="satisfied")


def test_each_rater_rates_once_per_round(ticket, walk, rep_a, unchanged):
    forwarded = walk(ticket, "forwarded")
    services.ticket_rate(ticket=forwarded, actor=rep_a, score="satisfied")
    with unchanged(), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_rate(ticket=load(ticket), actor=rep_a, score="dissatisfied")
    assert refusal(refused.value) == ["This reply has already been rated by you."]


def test_a_rating_needs_a_score(ticket, walk, rep_a, unchanged):
    forwarded = walk(ticket, "forwarded")
    with unchanged(), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.ticket_rate(ticket=forwarded, actor=rep_a, score="great")
    assert refusal(refused.value) == {"score": ["Choose a rating."]}


def test_a_rating_from_a_page_of_the_previous_round_is_a_conflict(ticket, walk, rep_a, clerk_a, unit_a_staff):
    dissatisfied = walk(ticket, "dissatisfied")
    old_page = load(dissatisfied)
    old_page.status = "forwarded"  # what the rater saw, before the re-handling
    services.ticket_rehandle(actor=clerk_a, ticket=load(ticket), note="重办")
    walk(ticket, "forwarded")
    with pytest.raises(Conflict):
        services.ticket_rate(ticket=old_page, proposer=old_page.proposers.get(), score="satisfied")
    assert not Rating.objects.filter(ticket=ticket, round=2).exists()


def test_rehandling_gives_a_new_deadline_and_a_new_rating_round(ticket, walk, rep_a, clerk_a):
    with time_machine.travel(START, tick=False):
        dissatisfied = walk(ticket, "dissatisfied")
    later = START + datetime.timedelta(days=20)
    with time_machine.travel(later, tick=False):
        services.ticket_rehandle(actor=clerk_a, ticket=dissatisfied, note="群众不满意，重办")
    t = load(ticket)
    assert (t.status, t.round) == ("signed", 2)
    assert t.assigned_at == later and t.due_at == datetime.datetime(2026, 4, 1, 23, 59, 59, tzinfo=TZ)
    assert (t.replied_at, t.forwarded_at, t.feedback_due_at) == (None, None, None)
    assert t.events.get(move="rehandle").is_public
    forwarded = walk(ticket, "forwarded")
    services.ticket_rate(ticket=forwarded, actor=rep_a, score="satisfied")  # rates again, round 2
    services.ticket_rate(ticket=load(ticket), proposer=forwarded.proposers.get(), score="satisfied")
    t = load(ticket)
    assert (t.status, t.resolution) == ("closed", "satisfied")
    assert list(Rating.objects.filter(ticket=ticket).values_list("round", flat=True)) == [1, 1, 2, 2]


def test_the_feedback_concludes_only_when_every_rater_has_rated(make_ticket, walk, rep_a):
    t = make_ticket(proposers=[("张大爷", "13812345678"), ("李阿姨", "13912345678")])
    forwarded = walk(t, "forwarded")
    first, second = forwarded.proposers.all()
    services.ticket_rate(ticket=forwarded, proposer=first, score="satisfied")
    services.ticket_rate(ticket=load(t), actor=rep_a, score="satisfied")
    assert load(t).status == "forwarded" and services.raters_outstanding(load(t)) == 1
    services.ticket_rate(ticket=load(t), proposer=second, score="satisfied")
    assert load(t).status == "closed"
    assert TicketEvent.objects.filter(ticket=t, move="conclude").count() == 1


def test_ending_the_feedback_without_ratings_closes_as_no_resident_rating(ticket, walk, clerk_a):
    forwarded = walk(ticket, "forwarded")
    services.ticket_conclude(ticket=forwarded, actor=clerk_a)
    t = load(ticket)
    assert (t.status, t.resolution) == ("closed", "no_resident") and t.closed_at is not None


def test_the_system_ends_the_feedback_when_its_window_closes(ticket, walk):
    forwarded = walk(ticket, "forwarded")
    services.ticket_conclude(ticket=forwarded)
    event = load(ticket).events.get(move="conclude")
    assert event.actor is None and event.actor_label and event.to_status == "closed"


def test_closing_after_dissatisfaction_needs_an_explanation(ticket, walk, clerk_a, unchanged):
    dissatisfied = walk(ticket, "dissatisfied")
    with unchanged(), pytest.raises(InvalidMove):
        services.ticket_close(actor=clerk_a, ticket=dissatisfied, note="")
    services.ticket_close(actor=clerk_a, ticket=load(ticket), note="已按政策解释")
    assert load(ticket).resolution == "explained_after"


def test_editing_records_what_changed_and_nothing_when_nothing_did(ticket, clerk_a):
    services.ticket_edit(actor=clerk_a, ticket=load(ticket), title="村口路灯不亮")
    assert not TicketEvent.objects.filter(ticket=ticket, move="edit").exists()
    services.ticket_edit(actor=clerk_a, ticket=load(ticket), title="村口三盏路灯不亮")
    event = TicketEvent.objects.get(ticket=ticket, move="edit")
    assert event.data == {"before": {"title": "村口路灯不亮"}, "after": {"title": "村口三盏路灯不亮"}}
    with pytest.raises(ValueError):
        services.ticket_edit(actor=clerk_a, ticket=load(ticket), status="closed")


def test_a_pending_extension_lapses_when_the_unit_replies(ticket, assigned, walk, unit_a_staff, clerk_a):
    """Otherwise it would wait for a decision no status allows, and block the next round's requests."""
    ext = _ask(unit_a_staff, assigned)
    with time_machine.travel(START + datetime.timedelta(days=2), tick=False):
        walk(ticket, "replied")
    lapsed = Extension.objects.get(pk=ext.pk)
    assert lapsed.decision == "refused" and lapsed.granted_until is None
    assert load(ticket).due_at == datetime.datetime(2026, 3, 12, 23, 59, 59, tzinfo=TZ)
    with time_machine.travel(START + datetime.timedelta(days=3), tick=False):
        walk(ticket, "dissatisfied")
        services.ticket_rehandle(actor=clerk_a, ticket=load(ticket), note="重办")
        services.extension_request(
            actor=unit_a_staff, ticket=load(ticket), until=datetime.date(2026, 3, 20), reason="第二轮需协调"
        )
    assert Extension.objects.filter(ticket=ticket, decision="pending").count() == 1

"""Staff correct a closed ticket's published summary: township staff or the office, through the
timeline (reason, before and after), and /results/ says it was corrected."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from proposals import services
from proposals.models import Ticket, TicketEvent
from tests.proposals.public_helpers import visitor


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def published(make_ticket, walk):
    ticket = walk(make_ticket(is_public_interest=True), "closed", "township")
    Ticket.objects.filter(pk=ticket.pk).update(reply_summary="已修复两盏路灯。")  # as the reply said
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    return ticket


def test_township_staff_correct_the_summary_and_the_results_say_so(published, clerk_a):
    before = published.reply_summary
    url = reverse("proposals:correct_summary", args=[published.pk])
    detail = as_user(clerk_a).get(reverse("proposals:detail", args=[published.pk])).content.decode()
    assert f'href="{url}"' in detail

    response = as_user(clerk_a).post(
        url, {"summary": "已修复三盏路灯，并加装一盏。", "reason": "灯的数量写错了"}
    )

    assert response.status_code == 302
    published.refresh_from_db()
    assert published.reply_summary == "已修复三盏路灯，并加装一盏。" and published.status == "closed"
    assert published.summary_corrected_at is not None
    event = TicketEvent.objects.filter(ticket=published, move="correct_summary").get()
    assert (event.actor, event.note, event.is_public) == (clerk_a, "灯的数量写错了", False)
    assert event.data["before"] == {"reply_summary": before}
    assert event.data["after"] == {"reply_summary": "已修复三盏路灯，并加装一盏。"}
    day = published.summary_corrected_at.astimezone().strftime("%Y-%m-%d")
    for page in (reverse("public:results"), reverse("public:result_detail", args=[published.pk])):
        html = visitor(HTTP_ACCEPT_LANGUAGE="en").get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "已修复三盏路灯，并加装一盏。" in html and "summary-corrected" in html and day in html
        assert before not in html


def test_an_uncorrected_result_says_nothing_of_a_correction(published):
    assert "summary-corrected" not in visitor().get(reverse("public:results")).content.decode()


def test_the_handling_unit_may_not_correct_it(published, unit_a_staff):
    url = reverse("proposals:correct_summary", args=[published.pk])
    assert as_user(unit_a_staff).post(url, {"summary": "改", "reason": "x"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.ticket_correct_summary(actor=unit_a_staff, ticket=published, summary="改", reason="x")
    published.refresh_from_db()
    assert published.summary_corrected_at is None


def test_a_reason_is_required_and_an_unchanged_summary_is_refused(published, clerk_a):
    url = reverse("proposals:correct_summary", args=[published.pk])
    no_reason = as_user(clerk_a).post(url, {"summary": "新的摘要", "reason": ""})
    assert no_reason.status_code == 200 and set(no_reason.context["form"].errors) == {"reason"}
    same = as_user(clerk_a).post(url, {"summary": published.reply_summary, "reason": "无"})
    assert same.status_code == 200 and set(same.context["form"].errors) == {"summary"}
    assert not TicketEvent.objects.filter(move="correct_summary").exists()


def test_an_open_ticket_has_no_summary_to_correct(ticket, clerk_a):
    assert as_user(clerk_a).get(reverse("proposals:correct_summary", args=[ticket.pk])).status_code == 403

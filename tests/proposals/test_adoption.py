"""A suggestion adopted (采纳, issue 13): recorded once by the township or the office, with the body
and the day, on the timeline and in the audit log, and counted in the suggestion statistics."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from liaison.models import AuditEvent
from proposals import services, statistics
from proposals.models import TicketEvent
from proposals.transitions import InvalidMove
from tests.helpers import reload


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def replied(make_ticket, walk):
    return walk(make_ticket(), "forwarded", "township")


def test_township_staff_record_the_adoption_once(replied, clerk_a):
    url = reverse("proposals:adopt", args=[replied.pk])
    detail = as_user(clerk_a).get(reverse("proposals:detail", args=[replied.pk])).content.decode()
    assert f'href="{url}"' in detail
    today = timezone.localdate()
    data = {"adopted_by": "镇党委", "adopted_on": today.isoformat()}

    first = as_user(clerk_a).post(url, data)
    second = as_user(clerk_a).post(url, data)  # a double tap: harmless

    assert first.status_code == second.status_code == 302
    ticket = reload(replied)
    assert (ticket.adopted_by, ticket.adopted_on, ticket.status) == ("镇党委", today, "forwarded")
    event = TicketEvent.objects.get(ticket=ticket, move="adopt")
    assert event.actor == clerk_a and event.data == {"adopted_by": "镇党委", "adopted_on": today.isoformat()}
    assert AuditEvent.objects.filter(verb="ticket.adopted", subject_id=str(ticket.pk)).count() == 1
    page = as_user(clerk_a).get(reverse("proposals:detail", args=[ticket.pk])).content.decode()
    assert f'data-adopted-on="{today:%Y-%m-%d}"' in page and f'href="{url}"' not in page


def test_the_unit_the_rep_and_another_township_may_not(replied, unit_a_staff, my_rep, clerk_b):
    url = reverse("proposals:adopt", args=[replied.pk])
    data = {"adopted_by": "x", "adopted_on": timezone.localdate().isoformat()}
    assert as_user(unit_a_staff).post(url, data).status_code == 403
    assert as_user(my_rep.user).post(url, data).status_code == 403
    assert as_user(clerk_b).post(url, data).status_code == 404
    with pytest.raises(PermissionDenied):
        services.ticket_adopt(
            actor=unit_a_staff, ticket=replied, adopted_by="x", adopted_on=timezone.localdate()
        )
    assert reload(replied).adopted_on is None


def test_a_ticket_still_at_triage_or_answered_on_the_spot_is_not_adoptable(make_ticket, liaison_office):
    ticket = make_ticket()
    with pytest.raises(InvalidMove):
        services.ticket_adopt(
            actor=liaison_office, ticket=ticket, adopted_by="县委", adopted_on=timezone.localdate()
        )
    services.ticket_answer_on_spot(actor=liaison_office, ticket=ticket, note="已当场答复")
    with pytest.raises(Exception, match="交办给办理单位"):
        services.ticket_adopt(
            actor=liaison_office, ticket=reload(ticket), adopted_by="县委", adopted_on=timezone.localdate()
        )


def test_a_future_day_or_no_body_is_refused_by_field(replied, liaison_office):
    url = reverse("proposals:adopt", args=[replied.pk])
    future = timezone.localdate() + datetime.timedelta(days=1)
    response = as_user(liaison_office).post(url, {"adopted_by": "县委", "adopted_on": future.isoformat()})
    assert response.status_code == 200 and set(response.context["form"].errors) == {"adopted_on"}
    response = as_user(liaison_office).post(url, {"adopted_by": " ", "adopted_on": ""})
    assert set(response.context["form"].errors) == {"adopted_by", "adopted_on"}
    assert reload(replied).adopted_on is None


def test_the_statistics_count_adopted_and_link_to_the_list(replied, make_ticket, liaison_office):
    make_ticket()  # not adopted
    services.ticket_adopt(
        actor=liaison_office, ticket=replied, adopted_by="县委", adopted_on=timezone.localdate()
    )
    today = timezone.localdate()
    rows = statistics.suggestion_statistics(liaison_office, start=today, end=today, by="township")
    assert rows[-1]["collected"] == 2 and rows[-1]["adopted"] == 1
    listed = as_user(liaison_office).get(reverse("proposals:workspace"), {"stat": "adopted", "queue": "all"})
    assert listed.status_code == 200
    assert [t.pk for t in listed.context["page"].object_list] == [replied.pk]


def test_the_statistics_page_links_the_adopted_figure_to_its_list(replied, liaison_office):
    services.ticket_adopt(
        actor=liaison_office, ticket=replied, adopted_by="县委", adopted_on=timezone.localdate()
    )
    html = as_user(liaison_office).get(reverse("proposals:statistics")).content.decode()
    assert 'data-stat="adopted" data-count="1"' in html


def test_the_form_offers_today_as_a_date_the_browser_shows(replied, clerk_a, settings):
    """A date input takes only YYYY-MM-DD: in Chinese (2026/12/04) the browser showed an empty box."""
    settings.LANGUAGE_CODE = "zh-hans"
    html = as_user(clerk_a).get(reverse("proposals:adopt", args=[replied.pk])).content.decode()
    assert f'name="adopted_on" value="{timezone.localdate().isoformat()}"' in html

"""The tracking page: a proposer follows their matter by code and the last four digits of their
phone, reads the reply once it is forwarded, and rates it once; guessing is slowed down and
learns nothing."""

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from proposals import services
from proposals.models import Rating, new_tracking_code
from proposals.transitions import PUBLIC_LABEL, Status
from tests.helpers import reload
from tests.proposals.public_helpers import (
    CSRF_RE,
    pdf_bytes,
    pdf_upload,
    visitor,
    walk_to_forwarded,
    walk_to_replied,
)

TZ = timezone.get_default_timezone()
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
TRACK = "/track/"
TICKET_PAGE = "/track/ticket/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def track(client, code, last4):
    return client.post(TRACK, {"code": code, "phone_last4": last4})


def tracking(ticket, last4="5678"):
    """A browser that has proved it knows the ticket's code and phone."""
    client = visitor()
    response = track(client, ticket.display_code.lower(), last4)
    assert response.status_code == 302 and response["Location"] == TICKET_PAGE
    return client


def chinese(text) -> str:
    with translation.override("zh-hans"):
        return escape(str(text))


def test_the_right_code_and_phone_show_where_the_matter_stands(ticket):
    client = visitor()
    assert 'id="track-form"' in client.get(TRACK).content.decode()
    response = track(client, " " + ticket.display_code.lower().replace("-", " "), "5678")
    assert response.status_code == 302 and response["Location"] == TICKET_PAGE
    html = client.get(TICKET_PAGE).content.decode()
    assert chinese(PUBLIC_LABEL[Status.REGISTERED]) in html
    assert 'id="public-timeline"' in html and ticket.title in html
    assert 'id="rating-form"' not in html and 'id="public-reply"' not in html


def test_without_the_proof_the_ticket_page_sends_to_the_form(ticket):
    response = visitor().get(TICKET_PAGE)
    assert response.status_code == 302 and response["Location"] == TRACK


def test_an_unknown_code_and_a_wrong_phone_get_the_same_answer(ticket):
    wrong_phone = track(visitor(), ticket.display_code, "0000")
    unknown_code = track(visitor(), new_tracking_code(), "5678")
    assert wrong_phone.status_code == unknown_code.status_code == 200
    first, second = (CSRF_RE.sub("", r.content.decode()) for r in (wrong_phone, unknown_code))
    assert first == second
    assert 'id="track-failed"' in first and ticket.display_code not in first  # nothing typed is echoed


def test_an_unknown_code_and_a_wrong_phone_cost_the_same_queries(ticket):
    counts = []
    for code, last4 in ((ticket.display_code, "0000"), (new_tracking_code(), "5678")):
        client = visitor()
        client.get(TRACK)
        with CaptureQueriesContext(connection) as queries:
            track(client, code, last4)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_five_wrong_phones_lock_the_code_for_that_address(ticket, make_ticket):
    guesser = visitor()
    for last4 in ("0000", "1111", "2222", "3333", "4444"):
        assert track(guesser, ticket.display_code, last4).status_code == 200
    locked = track(guesser, ticket.display_code, "5678")  # even the right phone, from that address
    assert locked.status_code == 429 and int(locked["Retry-After"]) <= 3600
    other = make_ticket(title="另一件事")
    assert track(guesser, other.display_code, "5678").status_code == 302
    # The owner, from another address, is not locked out by someone else's guesses.
    assert track(visitor(), ticket.display_code, "5678").status_code == 302


def test_unknown_codes_are_locked_the_same_way(db):
    code = new_tracking_code()
    guesser = visitor()
    for last4 in ("0000", "1111", "2222", "3333", "4444"):
        assert track(guesser, code, last4).status_code == 200
    assert track(guesser, code, "5555").status_code == 429


def test_twenty_wrong_pairs_lock_the_address(ticket):
    guesser = visitor()
    for _ in range(20):
        assert track(guesser, new_tracking_code(), "1234").status_code == 200
    locked = track(guesser, ticket.display_code, "5678")
    assert locked.status_code == 429 and "too-many" in locked.content.decode()
    assert track(visitor(), ticket.display_code, "5678").status_code == 302


def test_a_badly_typed_form_is_not_counted_as_a_guess(ticket):
    client = visitor()
    for _ in range(25):
        assert track(client, ticket.display_code, "12").status_code == 200
    assert track(client, ticket.display_code, "5678").status_code == 302


def test_a_landline_proposer_tracks_with_the_last_four_digits_of_the_number(make_ticket):
    ticket = make_ticket(proposers=[("王老师", "0513-88123456-12")])
    assert track(visitor(), ticket.display_code, "3456").status_code == 302
    assert track(visitor(), ticket.display_code, "6-12").status_code == 200


@time_machine.travel(START, tick=False)
def test_the_reply_appears_only_once_forwarded(ticket, clerk_a, unit_a, unit_a_staff):
    walk_to_replied(
        ticket,
        clerk=clerk_a,
        unit=unit_a,
        unit_staff=unit_a_staff,
        reply="已更换三盏路灯",
        files=[pdf_upload()],
    )
    client = tracking(ticket)
    attachment = ticket.attachments.get(purpose="reply")
    html = client.get(TICKET_PAGE).content.decode()
    assert "已更换三盏路灯" not in html and 'id="public-reply"' not in html
    assert chinese(PUBLIC_LABEL[Status.REPLIED]) in html
    download = reverse("public:track_attachment", args=[attachment.pk])
    assert client.get(download).status_code == 404

    services.ticket_forward(actor=clerk_a, ticket=reload(ticket))

    html = client.get(TICKET_PAGE).content.decode()
    assert 'id="public-reply"' in html and "已更换三盏路灯" in html and download in html
    response = client.get(download)
    assert response.status_code == 200 and b"".join(response.streaming_content) == pdf_bytes()
    assert response["Content-Disposition"].startswith("attachment")
    assert visitor().get(download).status_code == 404  # another browser has not proved anything


@time_machine.travel(START, tick=False)
def test_only_reply_files_of_the_tracked_ticket_can_be_downloaded(make_ticket, clerk_a, unit_a, unit_a_staff):
    mine = walk_to_forwarded(make_ticket(), clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
    theirs = walk_to_forwarded(
        make_ticket(files=[]), clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff, files=[pdf_upload()]
    )
    from proposals.files import clean_attachment

    services.attach_files(mine, [clean_attachment(pdf_upload())], purpose="matter")
    client = tracking(mine)
    for attachment in (theirs.attachments.get(), mine.attachments.get(purpose="matter")):
        assert client.get(reverse("public:track_attachment", args=[attachment.pk])).status_code == 404


@time_machine.travel(START, tick=False)
def test_each_proposer_rates_once(make_ticket, clerk_a, unit_a, unit_a_staff, rep_a):
    ticket = make_ticket(proposers=[("张大爷", "13812345678"), ("李大妈", "13987654321")])
    walk_to_forwarded(ticket, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
    uncle, aunt = tracking(ticket, "5678"), tracking(ticket, "4321")
    assert 'id="rating-form"' in uncle.get(TICKET_PAGE).content.decode()

    response = uncle.post(TICKET_PAGE, {"score": "satisfied", "comment": "修得很快"})
    assert response.status_code == 302
    again = uncle.post(TICKET_PAGE, {"score": "dissatisfied"}, follow=True).content.decode()
    assert 'id="already-rated"' in again and 'id="rating-form"' not in again
    status = again.split('id="public-status"')[1].split("</section>")[0]
    with translation.override("zh-hans"):
        thanks = gettext("Replied. Thank you for your rating; we are waiting for the others asked.")
        ask = str(PUBLIC_LABEL[Status.FORWARDED])
    assert thanks in status and ask not in status
    ratings = Rating.objects.filter(ticket=ticket)
    assert list(ratings.values_list("proposer__name", "score", "comment")) == [
        ("张大爷", "satisfied", "修得很快")
    ]

    assert 'id="rating-form"' in aunt.get(TICKET_PAGE).content.decode()  # her own rating is still open
    aunt.post(TICKET_PAGE, {"score": "basically"})
    services.ticket_rate(ticket=reload(ticket), actor=rep_a, score="satisfied")
    assert reload(ticket).status == Status.CLOSED
    assert ratings.count() == 3
    assert 'id="rating-form"' not in aunt.get(TICKET_PAGE).content.decode()


@time_machine.travel(START, tick=False)
def test_a_rating_without_a_score_is_shown_again(ticket, clerk_a, unit_a, unit_a_staff):
    walk_to_forwarded(ticket, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
    client = tracking(ticket)
    response = client.post(TICKET_PAGE, {"score": "great", "comment": "好"})
    assert response.status_code == 200 and 'id="rating-form"' in response.content.decode()
    assert set(response.context["form"].errors) == {"score"}
    assert not Rating.objects.exists()


@time_machine.travel(START, tick=False)
def test_a_rating_before_the_reply_is_forwarded_is_refused(ticket, clerk_a, unit_a, unit_a_staff):
    walk_to_replied(ticket, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff)
    client = tracking(ticket)
    response = client.post(TICKET_PAGE, {"score": "satisfied"}, follow=True)
    assert response.status_code == 200 and not Rating.objects.exists()
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        refused = gettext("This reply has already been rated by you, or cannot be rated now.")
    assert [(m.level_tag, m.message) for m in response.context["messages"]] == [("error", refused)]
    assert "alert-danger" in response.content.decode()


def test_an_explanation_is_shown_to_the_proposer(ticket, clerk_a):
    services.ticket_explain(actor=clerk_a, ticket=reload(ticket), note="该路段已列入明年改造计划")
    html = tracking(ticket).get(TICKET_PAGE).content.decode()
    assert "该路段已列入明年改造计划" in html and chinese(PUBLIC_LABEL[Status.CLOSED]) in html


def test_the_tracking_page_names_nobody(
    make_ticket, my_rep, clerk_a, unit_a, unit_a_staff, liaison_office, rep_a
):
    with time_machine.travel(START, tick=False):
        ticket = make_ticket()
        services.ticket_assign(
            actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a, note="请城关镇社会事务办办理"
        )
        services.ticket_sign(actor=unit_a_staff, ticket=reload(ticket))
    with time_machine.travel(START + datetime.timedelta(days=2), tick=False):
        services.extension_request(
            actor=unit_a_staff,
            ticket=reload(ticket),
            until=datetime.date(2026, 3, 25),
            reason="需协调供电公司",
        )
        services.extension_decide(
            actor=clerk_a, ticket=reload(ticket), extension=ticket.extensions.get(), approve=True
        )
    with time_machine.travel(START + datetime.timedelta(days=3), tick=False):
        services.ticket_contact(
            actor=unit_a_staff,
            ticket=reload(ticket),
            how="电话联系陈志强代表",
            contacted_on=datetime.date(2026, 3, 5),
        )
        html = tracking(ticket).get(TICKET_PAGE).content.decode()

    timeline = re.search(r'id="public-timeline">(.*?)</ol>', html, re.S).group(1)
    assert "2026-03-25" in timeline and "需协调供电公司" in timeline  # the new date, with its reason
    assert "城关镇社会事务办" in timeline  # steps are signed by units and offices
    assert "2026-03-25" in html.split('id="public-status"')[1]  # the due date shown is the new one
    for private in (
        "张大爷", "13812345678", my_rep.name, my_rep.phone, unit_a.phone,
        clerk_a.name, clerk_a.username, unit_a_staff.name, unit_a_staff.username,
        liaison_office.name, rep_a.username,
    ):  # fmt: skip
        assert private not in html, private
    assert "5678" in html  # "the phone ending in 5678" at most

"""Opening another's ticket by its number answers 404, for every page and every move, and
changes nothing: a clerk of another township, the staff of an unrelated unit, a representative
who is not on the ticket, a committee member not linked to its representative."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from liaison.roles import Role
from proposals import services
from proposals.files import clean_attachment
from proposals.forms import MOVE_FORMS
from proposals.models import Attachment, Ticket, TicketEvent
from tests.factories import active_rep, user_with_role
from tests.helpers import reload
from tests.proposals.pages_helpers import assigned, png_upload, version

OUTSIDERS = ["clerk_b", "unit_staff", "stranger_rep", "unlinked_member"]

# Plausible answers for every field any move's form asks: the refusal must not depend on a
# form error.
FIELDS = {
    "note": "说明",
    "reason": "原因",
    "lead_unit": "",
    "into": "",
    "how": "电话",
    "contacted_on": "2026-03-02",
    "plan": "方案",
    "rep_consulted": "on",
    "text": "答复",
    "summary": "摘要",
    "until": "2026-03-20",
    "decision": "approve",
    "score": "satisfied",
    "comment": "好",
    "confirmed": "on",
}


@pytest.fixture(autouse=True)
def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def stranger_rep(township_a):
    """A representative of the same township who is not on the ticket."""
    user = user_with_role(Role.REPRESENTATIVE, region=township_a, username="stranger", name="路人代表")
    active_rep(township_a, user=user, name="路人代表")
    return user


@pytest.fixture
def unlinked_member(township_a, other_rep):
    """A committee member of the same township, linked to another representative."""
    from reps.models import CommitteeLink

    member = user_with_role(Role.COMMITTEE_MEMBER, region=township_a, username="weiyuan2", name="钱委员")
    CommitteeLink.objects.create(member=member, representative=other_rep)
    return member


@pytest.fixture
def held_ticket(ticket, clerk_a, unit_a, unit_a_staff):
    """A ticket of township A, assigned to unit A, with a photo."""
    services.attach_files(ticket, [clean_attachment(png_upload())], purpose="matter")
    return assigned(ticket, clerk_a, unit_a)


def snapshot(ticket: Ticket) -> tuple:
    t = reload(ticket)
    return (t.status, t.updated_at, t.title, TicketEvent.objects.filter(ticket=t).count())


@pytest.fixture(params=OUTSIDERS)
def outsider(request, client, held_ticket):
    user = request.getfixturevalue(request.param)
    client.force_login(user)
    return user


def test_the_insiders_do_reach_every_page(client, held_ticket, clerk_a, unit_a_staff):
    """The control: the same requests by those on the ticket succeed."""
    attachment = Attachment.objects.get()
    township = held_ticket.township_id
    client.force_login(clerk_a)
    for url in (
        reverse("proposals:detail", args=[held_ticket.pk]),
        reverse("proposals:edit", args=[held_ticket.pk]),
        reverse("proposals:attachment", args=[attachment.pk]),
        f"{reverse('proposals:export')}?queue=all&township={township}",
        f"{reverse('proposals:weekly_export')}?township={township}",
    ):
        assert client.get(url).status_code == 200, url
    client.force_login(unit_a_staff)
    assert client.get(reverse("proposals:detail", args=[held_ticket.pk])).status_code == 200
    assert client.get(reverse("proposals:attachment", args=[attachment.pk])).status_code == 200


def test_an_outsider_does_not_find_the_ticket_page(client, held_ticket, outsider):
    assert client.get(reverse("proposals:detail", args=[held_ticket.pk])).status_code == 404


def test_an_outsider_does_not_find_the_edit_page_and_cannot_edit(client, held_ticket, outsider):
    before = snapshot(held_ticket)
    url = reverse("proposals:edit", args=[held_ticket.pk])
    assert client.get(url).status_code == 404
    data = {
        "title": "被篡改",
        "content": "被篡改",
        "category": held_ticket.category_id,
        "version": version(held_ticket),
    }
    assert client.post(url, data).status_code == 404
    assert snapshot(held_ticket) == before


@pytest.mark.parametrize("move", sorted(MOVE_FORMS))
def test_an_outsider_cannot_make_any_move(client, held_ticket, outsider, move, unit_a, make_ticket):
    other = make_ticket(title="另一件")
    fields = dict(FIELDS, lead_unit=unit_a.pk, into=other.display_code)
    data = {f"{move}-{name}": value for name, value in fields.items()}
    data[f"{move}-version"] = version(held_ticket)
    before = snapshot(held_ticket)
    response = client.post(reverse("proposals:act", args=[held_ticket.pk, move]), data)
    assert response.status_code == 404
    assert snapshot(held_ticket) == before


def test_an_outsider_does_not_download_the_attachment(client, held_ticket, outsider):
    attachment = Attachment.objects.get()
    assert client.get(reverse("proposals:attachment", args=[attachment.pk])).status_code == 404


def test_an_outsider_gets_no_export_of_the_township(client, held_ticket, outsider):
    township = held_ticket.township_id
    assert client.get(reverse("proposals:export"), {"queue": "all", "township": township}).status_code == 404
    assert client.get(reverse("proposals:weekly_export"), {"township": township}).status_code == 404


def test_the_attachment_is_sent_as_stored_and_never_sniffed(client, held_ticket, clerk_a):
    attachment = Attachment.objects.get()
    client.force_login(clerk_a)
    response = client.get(reverse("proposals:attachment", args=[attachment.pk]))
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert (
        response["Content-Disposition"].startswith("inline")
        and "photo.png" in response["Content-Disposition"]
    )
    assert b"".join(response.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_returned_ticket_is_out_of_the_units_reach(client, held_ticket, unit_a_staff):
    """A unit that no longer holds the ticket is an outsider to it."""
    services.ticket_return(actor=unit_a_staff, ticket=Ticket.objects.select_related("township", "lead_unit",
                           "representative").get(pk=held_ticket.pk), reason="不归我们")  # fmt: skip
    client.force_login(unit_a_staff)
    assert client.get(reverse("proposals:detail", args=[held_ticket.pk])).status_code == 404
    assert client.get(reverse("proposals:attachment", args=[Attachment.objects.get().pk])).status_code == 404


def test_a_pdf_is_downloaded_not_shown(client, held_ticket, clerk_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    pdf = SimpleUploadedFile(
        "答复.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf"
    )
    services.attach_files(held_ticket, [clean_attachment(pdf)], purpose="reply")
    client.force_login(clerk_a)
    response = client.get(reverse("proposals:attachment", args=[Attachment.objects.get(purpose="reply").pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert "filename*=utf-8''%E7%AD%94%E5%A4%8D.pdf" in response["Content-Disposition"]

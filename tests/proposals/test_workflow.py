"""The whole life of a ticket through the services, as the seeds describe it."""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from proposals import services
from proposals.models import Rating, Ticket
from proposals.transitions import Conflict, InvalidMove, Status
from tests.helpers import refusal, reload

TZ = timezone.get_default_timezone()
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


@time_machine.travel(START, tick=False)
def test_a_ticket_goes_from_registration_to_archive(
    ticket, clerk_a, unit_a, unit_a_staff, rep_a, liaison_office
):
    assert ticket.status == Status.REGISTERED and len(ticket.tracking_code) == 10
    services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a)
    t = reload(ticket)
    assert t.status == Status.ASSIGNED and t.assigned_by == "township"
    assert timezone.localtime(t.due_at) == datetime.datetime(2026, 3, 12, 23, 59, 59, tzinfo=TZ)
    services.ticket_sign(actor=unit_a_staff, ticket=reload(ticket))
    services.ticket_contact(
        actor=unit_a_staff, ticket=reload(ticket), how="电话", contacted_on=datetime.date(2026, 3, 2)
    )
    services.ticket_plan(actor=unit_a_staff, ticket=reload(ticket), plan="更换灯具", rep_consulted=True)
    services.ticket_reply(actor=unit_a_staff, ticket=reload(ticket), text="已更换三盏路灯")
    assert reload(ticket).status == Status.REPLIED
    services.ticket_forward(actor=clerk_a, ticket=reload(ticket))
    t = reload(ticket)
    assert t.status == Status.FORWARDED and t.feedback_due_at is not None
    services.ticket_rate(ticket=t, actor=rep_a, score="satisfied")
    assert reload(ticket).status == Status.FORWARDED  # the proposer has not rated yet
    proposer = t.proposers.get()
    services.ticket_rate(ticket=reload(ticket), proposer=proposer, score="basically")
    t = reload(ticket)
    assert t.status == Status.CLOSED and t.resolution == "satisfied"
    services.ticket_archive(actor=liaison_office, ticket=t)
    assert reload(ticket).status == Status.ARCHIVED
    moves = list(ticket.events.order_by("id").values_list("move", flat=True))
    assert moves == [
        "register", "assign", "sign", "contact", "plan", "reply", "forward", "rate", "rate", "conclude", "archive",
    ]  # fmt: skip
    assert Rating.objects.filter(ticket=ticket).count() == 2


def test_the_unit_of_another_township_may_not_sign(ticket, clerk_a, unit_a, unit_staff):
    services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a)
    with pytest.raises(PermissionDenied):
        services.ticket_sign(actor=unit_staff, ticket=reload(ticket))


def test_a_stale_page_loses_to_the_first_signature(ticket, clerk_a, unit_a, unit_a_staff):
    services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a)
    first, second = reload(ticket), reload(ticket)
    services.ticket_sign(actor=unit_a_staff, ticket=first)
    with pytest.raises(Conflict):
        services.ticket_sign(actor=unit_a_staff, ticket=second)


def test_signing_twice_is_not_a_move(ticket, clerk_a, unit_a, unit_a_staff):
    services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a)
    services.ticket_sign(actor=unit_a_staff, ticket=reload(ticket))
    with pytest.raises(InvalidMove):
        services.ticket_sign(actor=unit_a_staff, ticket=reload(ticket))


def test_a_representative_registers_only_in_their_own_township(make_ticket, rep_a, township_b):
    with pytest.raises(PermissionDenied):
        make_ticket(actor=rep_a, township=township_b, representative=None)
    assert make_ticket(actor=rep_a).status == Status.REGISTERED


def test_a_matter_answered_on_the_spot_does_not_become_a_ticket(make_ticket, township_a, clerk_a, my_rep):
    from django.core.exceptions import ValidationError

    from studios.models import Reception, ReceptionMatter

    reception = Reception.objects.create(
        township=township_a, kind="regular", starts_at=timezone.now(), people_received=1, recorded_by=clerk_a
    )
    matter = ReceptionMatter.objects.create(
        reception=reception, content="路灯", answered_on_spot=True, answer="已修"
    )
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        make_ticket(reception_matter=matter)
    assert refusal(refused.value) == ["This matter was answered on the spot; it does not become a ticket."]
    assert not Ticket.objects.exists()


def test_a_county_studio_serves_every_township_of_its_county(make_ticket, county, township_a):
    from tests.factories import StudioFactory

    studio = StudioFactory(region=county, level="county", name="县党代表工作室")
    assert make_ticket(studio=studio).studio == studio


def test_a_stored_file_is_named_by_its_real_type_not_the_senders_name(make_ticket):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from proposals.files import clean_attachment

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    upload = SimpleUploadedFile("a./../照片.jpg", buffer.getvalue(), content_type="image/jpeg")
    ticket = make_ticket(files=[clean_attachment(upload)])
    attachment = ticket.attachments.get()
    assert attachment.content_type == "image/png" and attachment.file.name.endswith(".png")
    assert attachment.name == "照片.jpg"

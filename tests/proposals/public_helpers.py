"""Helpers for the tests of the public pages: visitors from their own addresses, real files,
and a ticket walked through the real services up to a forwarded reply."""

from __future__ import annotations

import io
import re
import secrets

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from proposals import services
from proposals.files import clean_attachment
from tests.helpers import reload


def fresh_ip() -> str:
    """An address no other test uses: rate-limit counters live in the shared test Redis."""
    a, b, c = secrets.token_bytes(3)
    return f"10.{a}.{b}.{max(c, 1)}"


def visitor(**kwargs) -> Client:
    """A browser of someone not logged in, on an address of its own."""
    return Client(REMOTE_ADDR=fresh_ip(), **kwargs)


def png_bytes(size=(24, 16), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    """A minimal, valid one-page PDF."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def png_upload(name="路灯.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def pdf_upload(name="情况说明.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(), content_type="application/pdf")


TOKEN_RE = re.compile(r'name="token" value="([^"]+)"')
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def form_token(client: Client, url: str = "/intake/") -> str:
    """The signed submission token the intake page renders into its form."""
    page = client.get(url)
    assert page.status_code == 200
    return TOKEN_RE.search(page.content.decode()).group(1)


def walk_to_replied(ticket, *, clerk, unit, unit_staff, reply="已更换三盏路灯", summary="", files=()):
    services.ticket_assign(actor=clerk, ticket=reload(ticket), lead_unit=unit)
    services.ticket_sign(actor=unit_staff, ticket=reload(ticket))
    services.ticket_contact(
        actor=unit_staff, ticket=reload(ticket), how="电话", contacted_on=timezone.localdate()
    )
    services.ticket_plan(actor=unit_staff, ticket=reload(ticket), plan="更换灯具", rep_consulted=True)
    services.ticket_reply(
        actor=unit_staff,
        ticket=reload(ticket),
        text=reply,
        summary=summary,
        files=[clean_attachment(f) for f in files],
    )
    return reload(ticket)


def walk_to_forwarded(ticket, *, clerk, unit, unit_staff, **kwargs):
    walk_to_replied(ticket, clerk=clerk, unit=unit, unit_staff=unit_staff, **kwargs)
    # To the rep and the proposers; with no rep, to the proposers' rating alone.
    ticket = reload(ticket)
    send = services.ticket_forward if ticket.representative_id else services.ticket_to_proposers
    send(actor=clerk, ticket=ticket)
    return reload(ticket)

"""Issue 10, acceptance story 3, in Chromium: a representative's home visit with a photo becomes a
ticket with the photo attached, and nobody types the matter twice.

1. The rep, on a 390-px phone, records a home visit: one contact, a matter to become a ticket,
   its category, and a photo taken on the spot.
2. The township clerk opens the home page (待转建议意见的事项 1), the matters list, and registers
   the matter: the ticket form is filled in from the visit (title, content, category, township,
   rep, the contact as proposer) and says the photo comes along; one click registers it.
3. The ticket's page shows the photo among its attachments: the same image, a copy of its own.

Every click, tick, choice and file picked is counted (``Clicks``) and held to a budget per person.
"""

import io

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from proposals.models import Attachment, Ticket
from reps.models import HomeVisit, VisitPhoto
from tests.browser.conftest import Clicks, log_in, open_menu, screenshot

pytestmark = pytest.mark.browser

MATTER = "村里小桥护栏断了两处，孩子上学经过很危险。希望尽快修复。"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def a_photo() -> dict:
    """A small JPEG as a phone's camera would hand it to the file input."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 40, 30)).save(buffer, format="JPEG")
    return {"name": "bridge.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def home_count(page, key: str) -> int:
    page.goto("/")
    return int(page.locator(f"#todo a.todo-item[data-todo='{key}']").get_attribute("data-count"))


def test_a_visit_with_a_photo_becomes_a_ticket_with_the_photo_attached(
    new_page, township_a, category, clerk_a, rep_a, my_rep, my_contacts
):
    rep, clerk = new_page(phone=True), new_page()
    photo = a_photo()

    # 1. The rep records the visit on the phone, from the menu.
    log_in(rep, "daibiao")
    visit = Clicks()
    open_menu(rep, visit)
    visit.click(rep.locator("#nav a[href='/reps/visits/new/']"))
    visit.check(rep.locator("input[name='contacts']").first)
    rep.locator("#id_notes").fill("入户了解出行情况")
    rep.locator("#id_matters-0-content").fill(MATTER)
    visit.click(rep.locator("label[for='id_matters-0-handling_1']"))  # to become a ticket
    expect(rep.locator("#id_matters-0-answer")).to_be_hidden()
    visit.choose(rep.locator("#id_matters-0-category"), str(category.pk))
    visit.pick_files(rep.locator("#id_photos"), [photo])
    assert rep.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(rep, "story-visit-form-phone")
    visit.click(rep.locator("form.visit-form button[type=submit]"))
    rep.wait_for_url(lambda url: "/visits/new/" not in url)
    # The menu (2), the contact (1), "to become a ticket" (1), the category (1), the photo (1), save (1).
    assert visit.count <= 7, visit.count
    recorded = HomeVisit.objects.get()
    assert recorded.date == timezone.localdate() and recorded.matters.get().for_ticket
    stored = VisitPhoto.objects.get(visit=recorded)
    kept = stored.image.read()  # re-encoded by the upload rule (which drops the camera's metadata)
    assert Image.open(io.BytesIO(kept)).size == (64, 48)

    # 2. The clerk registers it from the matters list.
    log_in(clerk, "clerk_a")
    assert home_count(clerk, "matters_awaiting_ticket") == 1
    register = Clicks()
    register.click(clerk.locator("#todo a.todo-item[data-todo='matters_awaiting_ticket']"))
    clerk.wait_for_url("**/tickets/matters/")
    expect(clerk.locator("#matters .matter-row")).to_have_count(1)
    register.click(clerk.locator("#matters .matter-row a"))
    clerk.wait_for_url("**/tickets/from-visit/*/")
    # Filled in from the visit: nothing to type.
    expect(clerk.locator("#id_title")).to_have_value("村里小桥护栏断了两处，孩子上学经过很危险")
    expect(clerk.locator("#id_content")).to_have_value(MATTER)
    expect(clerk.locator("#id_category")).to_have_value(str(category.pk))
    expect(clerk.locator("#id_township")).to_have_value(str(township_a.pk))
    expect(clerk.locator("main")).to_contain_text("其1张照片将作为附件随建议意见登记")
    screenshot(clerk, "story-visit-ticket-form")
    register.click(clerk.locator("form.ticket-form button[type=submit]"))
    clerk.wait_for_url("**/tickets/*/")
    # The to-do item (1), "register as ticket" (1), "register" (1).
    assert register.count <= 3, register.count
    assert home_count(clerk, "matters_awaiting_ticket") == 0

    # 3. The ticket carries the matter and its photo, a copy of its own.
    ticket = Ticket.objects.get()
    assert (ticket.visit_matter, ticket.category, ticket.representative) == (
        recorded.matters.get(),
        category,
        my_rep,
    )
    assert ticket.source == Ticket.Source.VISIT and ticket.title == "村里小桥护栏断了两处，孩子上学经过很危险"
    attachment = Attachment.objects.get(ticket=ticket)
    assert attachment.purpose == Attachment.Purpose.MATTER and attachment.content_type == "image/jpeg"
    assert attachment.file.read() == kept and attachment.file.name != stored.image.name
    clerk.goto(f"/tickets/{ticket.pk}/")
    image = clerk.locator("#attachments .attachment img")
    expect(image).to_have_count(1)
    # The thumbnail loads lazily: once scrolled to, wait for it rather than racing its download.
    image.scroll_into_view_if_needed()
    assert image.evaluate("img => img.decode().then(() => img.naturalWidth)") == 64
    screenshot(clerk, "story-visit-ticket")
    # The whole story: one visit on the phone, one matter registered at the desk.
    assert visit.count + register.count <= 10

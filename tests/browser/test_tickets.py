"""Issue 5's story in Chromium, one matter from a resident's phone to their rating.

1. A resident files a matter on a 390-px phone from the contact card's QR code link
   (``/intake/?rep=<id>``), keeps the tracking code and looks the matter up on ``/track/``.
2. The township clerk forwards it to the county (its remit is the county's); the county
   liaison office assigns a county unit (县民政局); the unit's staff member, on a phone, signs
   for it and records the three steps, the last being the written reply; the liaison office
   (the reviewer, since it assigned the unit) forwards the reply to the representative.
3. The resident goes back to ``/track/``, reads the reply and rates it 满意.

Where the browser is not the point of a test, the earlier part of the story is made through
``proposals.services``, the same functions the pages call. Elements are found by ids, classes
and values, not by the label texts (which are being translated).
"""

import io

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from proposals import services
from proposals.models import Category, Rating, Ticket
from proposals.transitions import Status
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390
PROPOSER = ("张大爷", "13812345678")
REPLY = "已在村口新装三盏太阳能路灯，11月20日起正常照明。"
STAFF_MOVES = ["register", "forward_to_county", "assign", "sign", "contact", "plan", "reply", "forward"]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def category(db):
    # The live server's tests flush the tables between tests, the migration's categories too.
    return Category.objects.get_or_create(name="交通出行")[0]


@pytest.fixture
def filed(township_a, my_rep, category):
    """The matter as the intake page files it: no staff actor, the QR code's representative."""
    return services.ticket_register(
        actor=None,
        source=Ticket.Source.INTAKE,
        township=township_a,
        representative=my_rep,
        category=category,
        title="村口路灯不亮",
        content="东街社区村口三盏路灯坏了一个月，晚上出行不安全。",
        place="东街社区村口",
        proposers=[PROPOSER],
    )


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def moves(ticket: Ticket) -> list[str]:
    return list(ticket.events.order_by("at", "id").values_list("move", flat=True))


def fits_the_phone(page) -> None:
    """No sideways scrolling on a 390-px screen."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


def signed_in(page, username: str) -> None:
    log_in(page, username)
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def open_from_queue(page, ticket: Ticket, queue: str) -> None:
    """Open /tickets/, go to ``queue`` and open the ticket's row."""
    page.goto("/tickets/")
    page.locator(f"#queue-tabs a[data-queue='{queue}']").click()
    page.locator(f"#queue-tabs a.active[data-queue='{queue}']").wait_for()
    page.locator(f"#tickets .ticket-row[data-code='{ticket.tracking_code}']").click()
    page.wait_for_url(f"**/tickets/{ticket.pk}/")


def make(page, move: str, then: str) -> None:
    """Send the form of ``move`` (already filled in) and wait for the ticket to reach ``then``."""
    page.locator(f"form.move-{move} button[type=submit]").click()
    page.locator(f"#ticket-status[data-status='{then}']").wait_for()
    page.locator(f"#timeline li.timeline-item[data-move='{move}']").wait_for()


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


# --- 1. the resident files and tracks -----------------------------------------------------------


def test_a_resident_files_a_matter_on_a_phone_and_tracks_it_by_code(phone, my_rep, township_a, category):
    phone.goto(f"/intake/?rep={my_rep.pk}")  # the link of the contact card's QR code
    form = phone.locator("form#intake-form")
    assert form.locator("input[name=representative]").input_value() == str(my_rep.pk)
    form.locator("#id_category").select_option(str(category.pk))
    form.locator("#id_title").fill("村口路灯不亮")
    form.locator("#id_content").fill("东街社区村口三盏路灯坏了一个月，晚上出行不安全。")
    form.locator("#id_place").fill("东街社区村口")
    form.locator("#id_name").fill(PROPOSER[0])
    form.locator("#id_phone").fill("138 1234 5678")
    form.locator("#id_privacy_consent").check()
    form.locator("#id_files").set_input_files(
        files=[{"name": "路灯.png", "mimeType": "image/png", "buffer": small_png()}]
    )
    fits_the_phone(phone)
    screenshot(phone, "ticket-intake-phone")
    form.locator("button[type=submit]").click()

    code = phone.locator("#receipt-code")
    code.wait_for()
    fits_the_phone(phone)
    screenshot(phone, "ticket-receipt-phone")
    ticket = Ticket.objects.get()
    shown = code.inner_text().strip()
    assert shown == ticket.display_code
    assert (ticket.source, ticket.township, ticket.representative, ticket.category) == (
        Ticket.Source.INTAKE,
        township_a,
        my_rep,
        category,
    )
    assert (ticket.title, ticket.place, ticket.status) == ("村口路灯不亮", "东街社区村口", Status.REGISTERED)
    assert list(ticket.proposers.values_list("name", "phone")) == [PROPOSER]
    assert list(ticket.attachments.values_list("content_type", flat=True)) == ["image/png"]

    phone.goto("/track/")
    fits_the_phone(phone)
    track = phone.locator("form#track-form")
    track.locator("#id_code").fill(shown.lower())  # as typed from the receipt
    track.locator("#id_phone_last4").fill("5678")
    track.locator("button[type=submit]").click()
    timeline = phone.locator("#public-timeline")
    timeline.wait_for()
    fits_the_phone(phone)
    screenshot(phone, "ticket-track-registered-phone")
    expect(phone.locator("#public-status")).to_be_visible()
    expect(timeline.locator("li")).to_have_count(1)  # received: the only step so far
    assert ticket.display_code in phone.content()
    assert PROPOSER[1] not in phone.content() and PROPOSER[0] not in phone.content()
    expect(phone.locator("form#rating-form")).to_have_count(0)  # nothing to rate yet


# --- 2. the township, the liaison office and the unit -------------------------------------------


@pytest.fixture
def township_desktop(new_page):
    """The township clerk's own desktop browser (the ``desktop`` page is the liaison office's)."""
    return new_page()


def test_a_unit_signs_records_the_three_steps_and_replies_and_the_office_forwards(
    phone, desktop, township_desktop, filed, clerk_a, liaison_office, county_unit, unit_staff
):
    """The county route: the township forwards the matter to the county, so the liaison office
    assigns the county unit and, as the office that assigned it, reviews and forwards the reply."""
    # The township clerk: the matter is beyond the township's remit.
    clerk = township_desktop
    signed_in(clerk, "clerk_a")
    open_from_queue(clerk, filed, "township")
    clerk.locator("form.move-forward_to_county textarea").fill("涉及县级财政资金，需县民政局统筹")
    make(clerk, "forward_to_county", Status.AT_COUNTY)

    # The liaison office assigns a county unit.
    office = desktop
    signed_in(office, "lianban")
    open_from_queue(office, filed, "office")
    office.locator("form.move-assign select[name='assign-lead_unit']").select_option(str(county_unit.pk))
    screenshot(office, "ticket-office-assign-desktop")
    make(office, "assign", Status.ASSIGNED)

    # The unit, on a phone: its inbox, the ticket, then each step on the ticket's page.
    signed_in(phone, "minzheng")
    phone.goto("/tickets/")
    assert phone.locator("#queue-tabs a.active").get_attribute("data-queue") == "unit"
    row = phone.locator(f"#tickets .ticket-row[data-code='{filed.tracking_code}']")
    assert row.get_attribute("data-status") == Status.ASSIGNED
    fits_the_phone(phone)
    screenshot(phone, "ticket-unit-inbox-phone")
    row.click()
    phone.wait_for_url(f"**/tickets/{filed.pk}/")
    expect(phone.locator("#attachments")).to_be_visible()
    fits_the_phone(phone)
    screenshot(phone, "ticket-unit-assigned-phone")
    make(phone, "sign", Status.SIGNED)
    fits_the_phone(phone)

    step1 = phone.locator("form.move-contact")
    step1.locator("#id_contact-how").fill("电话联系代表和张大爷，并到现场查看")
    step1.locator("#id_contact-contacted_on").fill(timezone.localdate().isoformat())
    step1.locator("#id_contact-note").fill("三盏路灯线路老化")
    make(phone, "contact", Status.CONTACTED)
    fits_the_phone(phone)

    step2 = phone.locator("form.move-plan")
    step2.locator("#id_plan-plan").fill("按照农村公共照明管理办法，更换为太阳能路灯")
    step2.locator("#id_plan-rep_consulted").check()
    make(phone, "plan", Status.PLANNED)
    fits_the_phone(phone)

    step3 = phone.locator("form.move-reply")
    step3.locator("#id_reply-text").fill(REPLY)
    step3.locator("#id_reply-summary").fill("村口新装三盏太阳能路灯")
    fits_the_phone(phone)
    screenshot(phone, "ticket-unit-reply-form-phone")
    make(phone, "reply", Status.REPLIED)
    fits_the_phone(phone)
    screenshot(phone, "ticket-unit-replied-phone")
    timeline = phone.locator("#timeline li.timeline-item")
    expect(timeline).to_have_count(len(STAFF_MOVES) - 1)
    assert [timeline.nth(i).get_attribute("data-move") for i in range(timeline.count())] == STAFF_MOVES[:-1]
    expect(phone.locator("form.move-forward")).to_have_count(0)  # not the unit's to forward

    # The liaison office reviews the reply and forwards it to the representative.
    open_from_queue(office, filed, "office")
    expect(office.locator("#reply")).to_contain_text(REPLY)
    make(office, "forward", Status.FORWARDED)
    screenshot(office, "ticket-office-forwarded-desktop")

    ticket = reload(filed)
    assert ticket.status == Status.FORWARDED and ticket.lead_unit == county_unit
    assert ticket.assigned_by == Ticket.AssignedBy.COUNTY
    assert (ticket.reply, ticket.reply_summary) == (REPLY, "村口新装三盏太阳能路灯")
    events = list(ticket.events.order_by("at", "id").select_related("actor"))
    assert [e.move for e in events] == STAFF_MOVES
    assert [e.actor for e in events] == [None, clerk_a, liaison_office] + [unit_staff] * 4 + [liaison_office]
    contact = events[4]
    assert contact.data == {
        "how": "电话联系代表和张大爷，并到现场查看",
        "on": timezone.localdate().isoformat(),
    }
    assert events[5].data == {"rep_consulted": True}


# --- 3. the resident rates ----------------------------------------------------------------------


@pytest.fixture
def forwarded(filed, clerk_a, liaison_office, county_unit, unit_staff):
    """The matter walked through the services as the pages of the test above walk it."""
    services.ticket_forward_to_county(actor=clerk_a, ticket=reload(filed))
    services.ticket_assign(actor=liaison_office, ticket=reload(filed), lead_unit=county_unit)
    services.ticket_sign(actor=unit_staff, ticket=reload(filed))
    services.ticket_contact(
        actor=unit_staff, ticket=reload(filed), how="电话", contacted_on=timezone.localdate()
    )
    services.ticket_plan(actor=unit_staff, ticket=reload(filed), plan="更换为太阳能路灯", rep_consulted=True)
    services.ticket_reply(
        actor=unit_staff, ticket=reload(filed), text=REPLY, summary="村口新装三盏太阳能路灯"
    )
    services.ticket_forward(actor=liaison_office, ticket=reload(filed))
    ticket = reload(filed)
    assert ticket.status == Status.FORWARDED
    return ticket


def test_the_resident_reads_the_forwarded_reply_and_rates_it(phone, forwarded):
    phone.goto("/track/")
    track = phone.locator("form#track-form")
    track.locator("#id_code").fill(forwarded.display_code)
    track.locator("#id_phone_last4").fill("5678")
    track.locator("button[type=submit]").click()
    phone.locator("#public-timeline").wait_for()
    expect(phone.locator("#public-reply")).to_contain_text(REPLY)
    # Received, forwarded to the county, assigned, signed, three steps, forwarded: all public.
    expect(phone.locator("#public-timeline li")).to_have_count(len(STAFF_MOVES))
    fits_the_phone(phone)
    screenshot(phone, "ticket-track-reply-phone")

    rating = phone.locator("form#rating-form")
    rating.locator("input[name=score][value='satisfied']").check()
    rating.locator("textarea[name=comment]").fill("路灯亮了，谢谢！")
    rating.locator("button[type=submit]").click()
    phone.locator("#already-rated").wait_for()
    expect(phone.locator("form#rating-form")).to_have_count(0)
    fits_the_phone(phone)
    screenshot(phone, "ticket-track-rated-phone")

    only = Rating.objects.get()
    assert (only.ticket, only.proposer, only.score, only.comment) == (
        forwarded,
        forwarded.proposers.get(),
        Rating.Score.SATISFIED,
        "路灯亮了，谢谢！",
    )
    # The representative has not rated yet: the feedback stays open.
    ticket = reload(forwarded)
    assert ticket.status == Status.FORWARDED
    assert moves(ticket) == [*STAFF_MOVES, "rate"]
    expect(phone.locator("#public-timeline li")).to_have_count(len(STAFF_MOVES) + 1)

"""Issue 10, acceptance story 2, in Chromium: triage → unit → office → rep rating, with one
matter that has no responsible representative and one that gets one at triage.

1. The township clerk opens the home page (待分拣 2), sets the rep of one matter with the
   searchable select (typing pinyin initials) and assigns both to the township's office.
2. The unit, on a phone (待签收 2), signs for each, records the three steps and replies; step 2
   asks about consulting the rep only on the matter that has one.
3. The clerk, who assigned the unit and so reviews (待审核答复 2), sends the rep-less reply
   straight to the proposer's rating and forwards the other to the rep; the rep-less proposer
   answers by phone, and the clerk enters that rating (电话), which closes the matter.
4. The rep, on a phone, sees one reply to rate (待我评价 1: the matter without a rep is not
   theirs) and rates it.

Every click and choice a user makes is counted (``Clicks``) and held to a budget per person.
Setup is made through ``proposals.services``, the functions the pages call.
"""

import pytest
from playwright.sync_api import expect

from liaison.roles import Role
from proposals import services
from proposals.models import Rating, Ticket
from proposals.transitions import Status
from tests.browser.conftest import Clicks, log_in
from tests.factories import user_with_role

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def unit_user(unit_a):
    return user_with_role(Role.HANDLING_UNIT, unit=unit_a, username="shiwuban", name="周强")


def register(township, category, title: str, proposer: tuple[str, str]) -> Ticket:
    """A matter as the public intake page files it: no rep, one proposer."""
    return services.ticket_register(
        actor=None,
        source=Ticket.Source.INTAKE,
        township=township,
        category=category,
        title=title,
        content=f"{title}，请尽快处理。",
        proposers=[proposer],
    )


def signed_in(page, username: str) -> None:
    log_in(page, username)
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def home_count(page, key: str) -> int:
    """The count the home page's to-do shows for item ``key``."""
    page.goto("/")
    return int(page.locator(f"#todo a.todo-item[data-todo='{key}']").get_attribute("data-count"))


def open_todo(page, clicks: Clicks, key: str, ticket: Ticket) -> None:
    """From the home page: the to-do item, then the ticket's row in the list it opens."""
    page.goto("/")
    clicks.click(page.locator(f"#todo a.todo-item[data-todo='{key}']"))
    clicks.click(page.locator(f"#tickets .ticket-row[data-code='{ticket.tracking_code}']"))
    page.wait_for_url(f"**/tickets/{ticket.pk}/")


def make(page, clicks: Clicks, move: str, then: str) -> None:
    clicks.click(page.locator(f"form.move-{move} button[type=submit]"))
    page.locator(f"#ticket-status[data-status='{then}']").wait_for()
    page.locator(f"#timeline li.timeline-item[data-move='{move}']").last.wait_for()


def test_triage_unit_office_and_rep_rating_with_and_without_a_rep(
    new_page, township_a, category, clerk_a, unit_a, unit_user, my_rep, other_rep
):
    alone = register(township_a, category, "村口路灯不亮", ("张大爷", "13812345678"))
    with_rep = register(township_a, category, "菜市场门口积水", ("李大妈", "13900001111"))
    clerk, unit, rep = new_page(), new_page(phone=True), new_page(phone=True)

    # 1. Triage: the township clerk.
    signed_in(clerk, "clerk_a")
    assert home_count(clerk, "triage") == 2
    triage = Clicks()
    open_todo(clerk, triage, "triage", with_rep)
    box = clerk.locator("form.move-set_rep input.select-filter")
    box.fill(my_rep.name_initials)  # "czq" narrows the list to 陈志强 and chooses him
    select = clerk.locator("form.move-set_rep select[name='set_rep-representative']")
    assert select.input_value() == str(my_rep.pk)
    make(clerk, triage, "set_rep", Status.REGISTERED)
    expect(clerk.locator("#matter")).to_contain_text(my_rep.name)
    triage.choose(clerk.locator("select[name='assign-lead_unit']"), str(unit_a.pk))
    make(clerk, triage, "assign", Status.ASSIGNED)
    open_todo(clerk, triage, "triage", alone)
    triage.choose(clerk.locator("select[name='assign-lead_unit']"), str(unit_a.pk))
    make(clerk, triage, "assign", Status.ASSIGNED)
    # Per matter: the to-do item and the row (2), the unit and "assign" (2); the rep's "save" (1).
    assert triage.count <= 9, triage.count
    assert home_count(clerk, "triage") == 0
    assert Ticket.objects.get(pk=with_rep.pk).representative == my_rep
    assert Ticket.objects.get(pk=alone.pk).representative is None

    # 2. The unit, on a phone.
    signed_in(unit, "shiwuban")
    assert home_count(unit, "to_sign") == 2
    handling = Clicks()
    for ticket, has_rep in ((alone, False), (with_rep, True)):
        open_todo(unit, handling, "to_sign", ticket)
        make(unit, handling, "sign", Status.SIGNED)
        unit.locator("#id_contact-how").fill("电话联系提出人，并到现场查看")
        make(unit, handling, "contact", Status.CONTACTED)  # the date is today's by default
        unit.locator("#id_plan-plan").fill("按照相关规定安排维修")
        consult = unit.locator("#id_plan-rep_consulted")
        expect(consult).to_have_count(1 if has_rep else 0)  # nobody to consult without a rep
        if has_rep:
            handling.check(consult)
        make(unit, handling, "plan", Status.PLANNED)
        unit.locator("#id_reply-text").fill("已完成维修，恢复正常。")
        make(unit, handling, "reply", Status.REPLIED)
    # Per matter: the to-do item and the row (2), sign, steps 1–3 (4); the rep consulted (1).
    assert handling.count <= 13, handling.count
    assert home_count(unit, "to_sign") == 0 and home_count(unit, "handling") == 0

    # 3. The clerk reviews: no rep → the proposer's rating; a rep → forwarded to him.
    assert home_count(clerk, "township_review") == 2
    review = Clicks()
    open_todo(clerk, review, "township_review", alone)
    expect(clerk.locator("form.move-forward")).to_have_count(0)
    make(clerk, review, "to_proposers", Status.FORWARDED)
    open_todo(clerk, review, "township_review", with_rep)
    expect(clerk.locator("form.move-to_proposers")).to_have_count(0)
    make(clerk, review, "forward", Status.FORWARDED)
    # 张大爷 answered by phone: the clerk enters it (he is the only proposer, already chosen).
    clerk.goto(f"/tickets/{alone.pk}/")
    review.check(clerk.locator("form.move-enter_rating input[name='enter_rating-via'][value='phone']"))
    review.check(clerk.locator("form.move-enter_rating input[name='enter_rating-score'][value='satisfied']"))
    make(clerk, review, "enter_rating", Status.CLOSED)
    expect(clerk.locator("#ratings .rating-via[data-via='phone']")).to_have_count(1)
    # Per matter: the to-do item, the row and the move (3); the rating: how, the score, enter (3).
    assert review.count <= 9, review.count
    assert home_count(clerk, "township_review") == 0

    # 4. The rep rates the one reply that is his.
    signed_in(rep, "daibiao")
    assert home_count(rep, "to_rate") == 1
    rating = Clicks()
    open_todo(rep, rating, "to_rate", with_rep)
    rating.check(rep.locator("form.move-rate input[name='rate-score'][value='satisfied']"))
    make(rep, rating, "rate", Status.FORWARDED)  # 李大妈 is still to rate
    # The to-do item and the row (2), the score and "send" (2).
    assert rating.count <= 4, rating.count
    assert home_count(rep, "to_rate") == 0

    done = Ticket.objects.get(pk=alone.pk)
    assert (done.status, done.resolution) == (Status.CLOSED, Ticket.Resolution.SATISFIED)
    assert list(Rating.objects.filter(ticket=alone).values_list("via", "score")) == [("phone", "satisfied")]
    moves = list(done.events.order_by("at", "id").values_list("move", flat=True))
    assert moves == ["register", "assign", "sign", "contact", "plan", "reply", "to_proposers",
                     "enter_rating", "conclude"]  # fmt: skip
    assert Ticket.objects.get(pk=with_rep.pk).status == Status.FORWARDED
    assert Rating.objects.get(ticket=with_rep).representative == my_rep
    # The whole story: 9 + 13 + 9 + 4 clicks for two matters through four people.
    assert triage.count + handling.count + review.count + rating.count <= 35

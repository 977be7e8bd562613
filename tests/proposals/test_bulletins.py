"""The periodic bulletin (定期通报): draft → edit → publish once → frozen → readers told once."""

import datetime
import io
import re

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from liaison import notify
from liaison.models import AuditEvent, Notification, Reminder
from liaison.roles import Role
from proposals import bulletins, reminders, services
from proposals.bulletins import BulletinError
from proposals.models import Bulletin
from reps.models import DutyPolicy, Group, GroupMembership
from studios.models import OpinionReport, Reception
from tests.factories import (
    ContactFactory,
    ContactLinkFactory,
    CountyFactory,
    TownshipFactory,
    active_rep,
    user_with_role,
    visit,
)
from tests.helpers import reload
from tests.proposals.ticket_rows import HOUR, told

TZ = timezone.get_default_timezone()
APRIL_FIRST = datetime.datetime(2026, 4, 1, 9, 0, tzinfo=TZ)
ASSIGNED = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=TZ)  # due at the end of 12 March


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=TZ)


def draft(office, county, *, kind="month", year=2026, number=3, now=APRIL_FIRST) -> Bulletin:
    bulletin, _created = bulletins.bulletin_draft(
        actor=office, county=county, kind=kind, year=year, number=number, now=now
    )
    return bulletin


@pytest.fixture
def march(liaison_office, county):
    return draft(liaison_office, county)


# --- the life of a bulletin ---------------------------------------------------------------------


def test_draft_edit_publish_once_then_frozen(
    liaison_office, county, make_ticket, clerk_a, clerk_b, rep_a, my_rep, django_capture_on_commit_callbacks
):
    with time_machine.travel(at(3, 5), tick=False):
        ticket = make_ticket(title="村口路灯不亮")
    bulletin = draft(liaison_office, county)
    assert (bulletin.status, bulletin.serial, bulletin.start, bulletin.end) == (
        "draft",
        None,
        datetime.date(2026, 3, 1),
        datetime.date(2026, 3, 31),
    )
    assert draft(liaison_office, county).pk == bulletin.pk  # idempotent
    assert Bulletin.objects.count() == 1

    bulletins.bulletin_edit(
        actor=liaison_office,
        bulletin=bulletin,
        commentary="三月份各镇联系群众工作总体良好。",
        codes=[ticket.tracking_code],
        now=APRIL_FIRST,
    )
    bulletin = reload(bulletin)
    assert bulletin.commentary == "三月份各镇联系群众工作总体良好。"
    (matter,) = bulletin.typical_matters
    assert matter == {
        "ticket_id": ticket.pk,
        "tracking_code": ticket.tracking_code,
        "title": "村口路灯不亮",
        "category": ticket.category.name,
        "unit": "",
        "status": "registered",
        "reply_summary": "",
    }
    assert "张大爷" not in str(bulletin.typical_matters) and "13812345678" not in str(
        bulletin.typical_matters
    )

    with django_capture_on_commit_callbacks(execute=False):
        published = bulletins.bulletin_publish(
            actor=liaison_office, bulletin=bulletin, now=APRIL_FIRST + HOUR
        )
    assert (published.status, published.serial, published.serial_year, published.issue_label) == (
        "published",
        1,
        2026,
        "2026年第1期",
    )
    stored = reload(bulletin)
    assert (stored.status, stored.serial, stored.published_by) == ("published", 1, liaison_office)
    assert AuditEvent.objects.filter(verb="bulletin.published", subject_id=str(bulletin.pk)).count() == 1
    readers = told(kind="bulletin.published")
    assert readers == [
        ("bulletin.published", "clerk_a", ""),
        ("bulletin.published", "clerk_b", ""),
        ("bulletin.published", "daibiao", ""),
    ]

    with pytest.raises(BulletinError, match="已发布"):
        bulletins.bulletin_publish(actor=liaison_office, bulletin=stored, now=APRIL_FIRST + 2 * HOUR)
    with pytest.raises(BulletinError, match="已发布"):
        bulletins.bulletin_edit(
            actor=liaison_office, bulletin=stored, commentary="改", codes=[], now=APRIL_FIRST
        )
    with pytest.raises(BulletinError, match="已发布"):
        bulletins.bulletin_refresh(actor=liaison_office, bulletin=stored, now=APRIL_FIRST)
    assert reload(bulletin).commentary == "三月份各镇联系群众工作总体良好。"
    # Told exactly once: the refused second publish, a second notify and the monthly sweep add nothing.
    assert notify.notify(kind="bulletin.published", subject=stored, users=[clerk_a, rep_a]) == 0
    with time_machine.travel(APRIL_FIRST + 3 * HOUR, tick=False):
        reminders.ticket_reminders_send_due(now=APRIL_FIRST + 3 * HOUR)
    assert told(kind="bulletin.published") == readers
    assert Reminder.objects.filter(kind="bulletin.published").count() == 1


def test_issue_numbers_count_per_county_and_year_in_publishing_order(liaison_office, county):
    other_county = CountyFactory(name="安平县")
    other_office = user_with_role(Role.LIAISON_OFFICE, region=other_county, username="anping")
    march, q1, feb = (
        draft(liaison_office, county),
        draft(liaison_office, county, kind="quarter", number=1),
        None,
    )
    feb = draft(liaison_office, county, number=2)
    elsewhere = draft(other_office, other_county)
    for bulletin in (q1, march, feb, elsewhere):
        bulletins.bulletin_publish(actor=liaison_office, bulletin=bulletin, now=APRIL_FIRST)
    assert [reload(b).serial for b in (q1, march, feb, elsewhere)] == [1, 2, 3, 1]
    next_year = draft(liaison_office, county, number=12, now=datetime.datetime(2027, 1, 2, tzinfo=TZ))
    published = bulletins.bulletin_publish(
        actor=liaison_office, bulletin=next_year, now=datetime.datetime(2027, 1, 3, tzinfo=TZ)
    )
    assert (published.serial_year, published.serial) == (2027, 1)


def test_it_refuses_a_period_not_begun_and_a_bad_number(liaison_office, county):
    with pytest.raises(BulletinError, match="^该期间尚未开始。$"):
        draft(liaison_office, county, number=5)  # May, on 1 April
    with pytest.raises(BulletinError, match="^没有这个期间。$"):
        draft(liaison_office, county, kind="quarter", number=5)
    with pytest.raises(BulletinError, match="^没有这个期间。$"):
        draft(liaison_office, county, number=13)
    assert Bulletin.objects.count() == 0


def test_typical_matters_of_another_county_are_refused(march, liaison_office):
    other = TownshipFactory(name="外县镇", parent=CountyFactory(name="外县"))
    from proposals.models import Category

    foreign = services.ticket_register(
        actor=user_with_role(Role.TOWNSHIP_STAFF, region=other, username="outsider"),
        township=other,
        title="外县事项",
        content="外县",
        category=Category.objects.first(),
        source="phone",
        proposers=[],
    )
    with pytest.raises(BulletinError, match=foreign.tracking_code):
        bulletins.bulletin_edit(
            actor=liaison_office,
            bulletin=march,
            commentary="",
            codes=[foreign.tracking_code],
            now=APRIL_FIRST,
        )
    assert reload(march).typical_matters == []


# --- the figures, counted by hand ---------------------------------------------------------------------


@pytest.fixture
def contact_work(
    county, township_a, township_b, village_a, village_b, my_rep, my_contacts, other_rep, clerk_a
):
    """March 2026 in two townships, with a group of my_rep (township A) and rep_b (township B).

    Township A: reps my_rep (2 contacts, one a difficult household) and other_rep (1 contact);
    visits on 10 and 11 March (one in February and one withdrawn do not count); one reception
    (3 people) with both. Township B: rep_b (1 contact, an ended link does not count); a visit
    on 15 March; receptions on 21 March (2 people) and 31 March 23:30 (4 people); one on
    1 April 00:30 does not count. The county asks for the "four ones"; only my_rep meets all
    four in March (a visit, a reception, a public-opinion report, a difficult household linked).
    """
    DutyPolicy.objects.create(county=county, effective_from=datetime.date(2026, 1, 1), four_ones=True)
    my_contacts[0].is_difficult_household = True
    my_contacts[0].save(update_fields=["is_difficult_household"])
    rep_b = active_rep(township_b, name="赵六")
    contact_b = ContactFactory(village=village_b, name="河口群众")
    ContactLinkFactory(representative=rep_b, contact=contact_b)
    ContactLinkFactory(
        representative=rep_b, contact=ContactFactory(village=village_b), ended_on=datetime.date(2026, 2, 1)
    )
    other_contacts = list(other_rep.contact_links.values_list("contact", flat=True))
    from reps.models import Contact

    visit(my_rep, my_contacts, datetime.date(2026, 3, 10), recorded_by=clerk_a)
    visit(
        other_rep,
        list(Contact.objects.filter(pk__in=other_contacts)),
        datetime.date(2026, 3, 11),
        recorded_by=clerk_a,
    )
    visit(my_rep, my_contacts, datetime.date(2026, 2, 20), recorded_by=clerk_a)
    withdrawn = visit(my_rep, my_contacts, datetime.date(2026, 3, 12), recorded_by=clerk_a)
    withdrawn.withdrawn_at = at(3, 13)
    withdrawn.save(update_fields=["withdrawn_at"])
    visit(rep_b, [contact_b], datetime.date(2026, 3, 15), recorded_by=clerk_a)

    def reception(township, when, people, *reps):
        r = Reception.objects.create(
            township=township, kind="regular", starts_at=when, people_received=people, recorded_by=clerk_a
        )
        r.representatives.add(*reps)

    reception(township_a, at(3, 20), 3, my_rep, other_rep)
    reception(township_b, at(3, 21), 2, rep_b)
    reception(township_b, at(3, 31, 23, 30), 4, rep_b)
    reception(township_b, at(4, 1, 0, 30), 5, rep_b)
    from liaison.models import Category

    OpinionReport.objects.create(
        representative=my_rep,
        month=datetime.date(2026, 3, 1),
        category=Category.objects.first(),
        content="路灯",
    )
    group = Group.objects.create(name="第一代表小组", level="county", region=county, leader=my_rep)
    GroupMembership.objects.create(group=group, representative=my_rep)
    GroupMembership.objects.create(group=group, representative=rep_b)
    return rep_b


def test_the_contact_figures_equal_the_hand_count(contact_work, liaison_office, county):
    figures = draft(liaison_office, county).figures
    pick = ("name", "reps", "contacts", "visits", "receptions", "people", "four_ones_due", "four_ones_met")
    assert [tuple(row[k] for k in pick) for row in figures["townships"]] == [
        ("城关镇", 2, 3, 2, 1, 3, 2, 1),
        ("河口镇", 1, 1, 1, 2, 6, 1, 0),
    ]
    assert tuple(figures["contact_totals"][k] for k in pick[1:]) == (3, 4, 3, 3, 9, 3, 1)
    assert [tuple(row[k] for k in pick) for row in figures["groups"]] == [
        ("第一代表小组", 2, 3, 2, 3, 9, 2, 1)
    ]


def replied(ticket, unit_staff, office, *, at_):
    services.ticket_sign(actor=unit_staff, ticket=reload(ticket), now=at_ - 3 * HOUR)
    services.ticket_contact(
        actor=unit_staff,
        ticket=reload(ticket),
        how="电话",
        contacted_on=timezone.localdate(at_),
        now=at_ - 3 * HOUR,
    )
    services.ticket_plan(
        actor=unit_staff, ticket=reload(ticket), plan="处理", rep_consulted=True, now=at_ - 2 * HOUR
    )
    services.ticket_reply(actor=unit_staff, ticket=reload(ticket), text="已处理", now=at_ - HOUR)
    services.ticket_forward(actor=office, ticket=reload(ticket), now=at_)
    return reload(ticket)


def test_the_unit_figures_equal_the_hand_count(
    make_ticket, clerk_a, unit_a, unit_a_staff, liaison_office, county_unit, unit_staff, rep_a, county
):
    """Unit A: a late reply (rep satisfied, proposer not) and one on time (rep basically
    satisfied); the county bureau: one on time (rep dissatisfied); a reply in April is not counted."""
    with time_machine.travel(ASSIGNED, tick=False):
        late, on_time, bureau, april = (make_ticket() for _ in range(4))
    for ticket in (late, on_time, april):
        services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a, now=ASSIGNED)
    services.ticket_forward_to_county(actor=clerk_a, ticket=reload(bureau), now=ASSIGNED)
    services.ticket_assign(actor=liaison_office, ticket=reload(bureau), lead_unit=county_unit, now=ASSIGNED)
    late = replied(late, unit_a_staff, clerk_a, at_=at(3, 14, 15))
    on_time = replied(on_time, unit_a_staff, clerk_a, at_=at(3, 5, 15))
    bureau = replied(bureau, unit_staff, liaison_office, at_=at(3, 6, 15))
    replied(april, unit_a_staff, clerk_a, at_=at(4, 1, 15))
    services.ticket_rate(ticket=reload(late), actor=rep_a, score="satisfied", now=at(3, 16))
    services.ticket_rate(
        ticket=reload(late), proposer=late.proposers.get(), score="dissatisfied", now=at(3, 16)
    )
    services.ticket_rate(ticket=reload(on_time), actor=rep_a, score="basically", now=at(3, 16))
    services.ticket_rate(ticket=reload(bureau), actor=rep_a, score="dissatisfied", now=at(3, 16))

    figures = draft(liaison_office, county, now=at(4, 2)).figures
    pick = (
        "name",
        "replied",
        "on_time",
        "late",
        "rep_ratings",
        "rep_satisfied",
        "res_ratings",
        "res_satisfied",
    )
    assert [tuple(row[k] for k in pick) for row in figures["units"]] == [
        (unit_a.name, 2, 1, 1, 2, 2, 1, 0),
        (county_unit.name, 1, 1, 0, 1, 0, 0, 0),
    ]
    assert (figures["units"][0]["on_time_rate"], figures["units"][0]["rep_satisfaction"]) == (50.0, 100.0)
    assert figures["unit_totals"]["late"] == 1 and figures["collected"] == 4


def test_a_late_reply_stays_late_after_a_rehandling_moves_the_due_date(
    make_ticket, clerk_a, unit_a, unit_a_staff, liaison_office, rep_a, county
):
    with time_machine.travel(ASSIGNED, tick=False):
        ticket = make_ticket(proposers=[])
    services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a, now=ASSIGNED)
    replied(ticket, unit_a_staff, liaison_office, at_=at(3, 14, 15))  # due the 12th
    services.ticket_rate(ticket=reload(ticket), actor=rep_a, score="dissatisfied", now=at(3, 15))
    services.ticket_rehandle(actor=clerk_a, ticket=reload(ticket), note="再核实", now=at(3, 16))
    services.ticket_contact(
        actor=unit_a_staff,
        ticket=reload(ticket),
        how="电话",
        contacted_on=datetime.date(2026, 3, 17),
        now=at(3, 17),
    )
    services.ticket_plan(
        actor=unit_a_staff, ticket=reload(ticket), plan="再处理", rep_consulted=True, now=at(3, 17)
    )
    services.ticket_reply(
        actor=unit_a_staff, ticket=reload(ticket), text="再次答复", now=at(3, 18)
    )  # on time
    (row,) = draft(liaison_office, county).figures["units"]
    assert (row["replied"], row["on_time"], row["late"]) == (1, 0, 1)


def test_a_ticket_first_replied_in_an_earlier_month_is_not_counted_again(
    make_ticket, clerk_a, unit_a, unit_a_staff, liaison_office, rep_a, county
):
    """Replied late in February, re-handled and replied again on time in March: February's
    bulletin counts its late first reply, March's does not count the ticket at all."""
    february = datetime.datetime(2026, 2, 2, 10, 0, tzinfo=TZ)
    with time_machine.travel(february, tick=False):
        ticket = make_ticket(proposers=[])
    services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a, now=february)
    replied(ticket, unit_a_staff, liaison_office, at_=at(2, 20, 15))  # due the 12th: late
    services.ticket_rate(ticket=reload(ticket), actor=rep_a, score="dissatisfied", now=at(2, 21))
    services.ticket_rehandle(actor=clerk_a, ticket=reload(ticket), note="再核实", now=at(3, 2))
    services.ticket_contact(
        actor=unit_a_staff,
        ticket=reload(ticket),
        how="电话",
        contacted_on=datetime.date(2026, 3, 3),
        now=at(3, 3),
    )
    services.ticket_plan(
        actor=unit_a_staff, ticket=reload(ticket), plan="再处理", rep_consulted=True, now=at(3, 3)
    )
    services.ticket_reply(actor=unit_a_staff, ticket=reload(ticket), text="再次答复", now=at(3, 4))
    (row,) = draft(liaison_office, county, number=2).figures["units"]
    assert (row["name"], row["replied"], row["on_time"], row["late"]) == (unit_a.name, 1, 0, 1)
    assert draft(liaison_office, county, number=3).figures["units"] == []


def test_the_figures_cost_the_same_queries_however_many_records(
    contact_work,
    county,
    township_b,
    village_b,
    clerk_a,
    liaison_office,
    make_ticket,
    django_assert_num_queries,
):
    """The docstring's promise, measured: more reps, contacts, visits, receptions, groups and
    tickets in the month, the same number of queries (a month: one ``duties.standing``)."""

    def figures():
        return bulletins.bulletin_figures(
            county=county,
            start=datetime.date(2026, 3, 1),
            end=datetime.date(2026, 3, 31),
            today=at(4, 1).date(),
        )

    with CaptureQueriesContext(connection) as few:
        small = figures()
    for i in range(5):
        rep = active_rep(township_b, name=f"新代表{i}")
        contact = ContactFactory(village=village_b, name=f"群众{i}")
        ContactLinkFactory(representative=rep, contact=contact)
        visit(rep, [contact], datetime.date(2026, 3, 3 + i), recorded_by=clerk_a)
        reception = Reception.objects.create(
            township=township_b,
            kind="regular",
            starts_at=at(3, 3 + i),
            people_received=2,
            recorded_by=clerk_a,
        )
        reception.representatives.add(rep)
        group = Group.objects.create(name=f"小组{i}", level="county", region=county, leader=rep)
        GroupMembership.objects.create(group=group, representative=rep)
        with time_machine.travel(at(3, 3 + i), tick=False):
            make_ticket()
    with django_assert_num_queries(len(few.captured_queries)):
        big = figures()
    assert (small["contact_totals"]["reps"], big["contact_totals"]["reps"]) == (3, 8)
    assert (small["collected"], big["collected"], len(big["groups"])) == (0, 5, 6)


def test_refreshing_a_draft_counts_the_records_again(march, liaison_office, clerk_a, my_rep, my_contacts):
    assert march.figures["contact_totals"]["visits"] == 0
    visit(my_rep, my_contacts, datetime.date(2026, 3, 10), recorded_by=clerk_a)
    refreshed = bulletins.bulletin_refresh(actor=liaison_office, bulletin=march, now=APRIL_FIRST + HOUR)
    assert refreshed.figures["contact_totals"]["visits"] == 1
    assert reload(march).figures["contact_totals"]["visits"] == 1


# --- the monthly sweep ---------------------------------------------------------------------------------


def test_the_1st_drafts_last_months_bulletin_and_the_sweep_tells_the_office_once(liaison_office, county):
    with time_machine.travel(APRIL_FIRST, tick=False):
        # Nothing drafted yet: the sweep has nothing to announce (and drafts nothing itself).
        assert reminders.ticket_reminders_send_due(now=APRIL_FIRST)["bulletin"] == 0
        assert not Bulletin.objects.exists()
        call_command("draft_bulletins", "--now", "2026-04-01T06:30", stdout=io.StringIO())
        assert bulletins.bulletins_draft_due(now=APRIL_FIRST + HOUR) == 0  # run twice: one draft
        assert reminders.ticket_reminders_send_due(now=APRIL_FIRST + HOUR)["bulletin"] == 1
        assert reminders.ticket_reminders_send_due(now=APRIL_FIRST + 2 * HOUR)["bulletin"] == 0
    bulletin = Bulletin.objects.get()
    assert (bulletin.county, bulletin.kind, bulletin.year, bulletin.number, bulletin.status) == (
        county,
        "month",
        2026,
        3,
        "draft",
    )
    assert told(kind="ticket.bulletin") == [("ticket.bulletin", "lianban", "2026-03")]
    message = notify.render_messages([Notification.objects.get(kind="ticket.bulletin")])[0]
    assert message.url == reverse("bulletins:detail", args=[bulletin.pk])
    assert "2026-03" in message.title and "草稿" in message.body


def test_one_countys_failure_leaves_the_others_drafted(liaison_office, county, monkeypatch):
    other = CountyFactory(name="远方县")
    real = bulletins.bulletin_figures

    def failing(*, county, **kwargs):
        if county.pk == other.pk:
            raise RuntimeError("boom")
        return real(county=county, **kwargs)

    monkeypatch.setattr(bulletins, "bulletin_figures", failing)
    assert bulletins.bulletins_draft_due(now=APRIL_FIRST) == 1
    assert list(Bulletin.objects.values_list("county__name", flat=True)) == [county.name]
    monkeypatch.setattr(bulletins, "bulletin_figures", real)
    assert bulletins.bulletins_draft_due(now=APRIL_FIRST + HOUR) == 1  # the next run catches up
    assert bulletins.bulletins_draft_due(now=APRIL_FIRST + 7 * 24 * HOUR) == 0  # the 8th: no backlog


# --- the pages -------------------------------------------------------------------------------------------


@pytest.fixture
def outsider(db):
    """Township staff of another county."""
    township = TownshipFactory(name="外县镇", parent=CountyFactory(name="外县"))
    return user_with_role(Role.TOWNSHIP_STAFF, region=township, username="outsider")


def status_of(client, user, url) -> int:
    client.force_login(user)
    return client.get(url).status_code


def test_who_sees_a_draft_and_a_published_bulletin(
    client, march, liaison_office, clerk_a, rep_a, my_rep, outsider, unit_staff
):
    url = reverse("bulletins:detail", args=[march.pk])
    assert status_of(client, liaison_office, url) == 200
    assert [status_of(client, user, url) for user in (clerk_a, rep_a, outsider, unit_staff)] == [404] * 4
    client.force_login(clerk_a)
    assert march.period_label not in client.get(reverse("bulletins:index")).content.decode()
    bulletins.bulletin_publish(actor=liaison_office, bulletin=march, now=APRIL_FIRST)
    assert [status_of(client, user, url) for user in (liaison_office, clerk_a, rep_a)] == [200] * 3
    assert [status_of(client, user, url) for user in (outsider, unit_staff)] == [404] * 2
    # Readers cannot edit or publish: those pages answer 404.
    client.force_login(clerk_a)
    for name in ("edit", "publish"):
        assert client.get(reverse(f"bulletins:{name}", args=[march.pk])).status_code == 404
    assert client.get(reverse("bulletins:new")).status_code == 404


def test_the_office_drafts_edits_and_publishes_through_the_pages(
    client, liaison_office, county, make_ticket, clerk_a
):
    with time_machine.travel(at(3, 5), tick=False):
        ticket = make_ticket(title="水渠堵塞")
    client.force_login(liaison_office)
    data = {"county": county.pk, "kind": "month", "year": 2026, "number": 3}
    with time_machine.travel(APRIL_FIRST, tick=True):
        first = client.post(reverse("bulletins:new"), data)
        second = client.post(reverse("bulletins:new"), data)  # a double tap
    bulletin = Bulletin.objects.get()
    assert first.url == second.url == reverse("bulletins:detail", args=[bulletin.pk])

    edit_url = reverse("bulletins:edit", args=[bulletin.pk])
    page = client.get(edit_url).content.decode()
    assert ticket.tracking_code in page  # offered in the checklist
    response = client.post(
        edit_url, {"commentary": "总体良好", "matters": [ticket.tracking_code], "codes": ""}
    )
    assert response.status_code == 302
    assert [m["title"] for m in reload(bulletin).typical_matters] == ["水渠堵塞"]
    # The same form sent again (a double tap) saves nothing more: one "edited" in the audit.
    client.post(edit_url, {"commentary": "总体良好", "matters": [ticket.tracking_code], "codes": ""})
    assert AuditEvent.objects.filter(verb="bulletin.edited", subject_id=str(bulletin.pk)).count() == 1

    publish_url = reverse("bulletins:publish", args=[bulletin.pk])
    assert "发布后不能撤回" in client.get(publish_url).content.decode()
    client.post(publish_url)
    again = client.post(publish_url, follow=True)  # a double tap: published once, and said so
    assert [str(m) for m in again.context["messages"]] == [
        "通报（2026年第1期）已发布，并已通知相关人员。",  # the first tap's, not read in between
        "已经保存过了：再次提交没有重复保存。",  # not an error: nothing went wrong
    ]
    bulletin = reload(bulletin)
    assert (bulletin.status, bulletin.serial) == ("published", 1)
    assert Reminder.objects.filter(kind="bulletin.published").count() == 1
    assert told(kind="bulletin.published") == [
        ("bulletin.published", "clerk_a", ""),
        ("bulletin.published", "daibiao", ""),  # my_rep's login: make_ticket made the rep
    ]
    response = client.post(edit_url, {"commentary": "改了", "matters": [], "codes": ""})
    assert response.status_code == 302 and reload(bulletin).commentary == "总体良好"

    page = client.get(reverse("bulletins:detail", args=[bulletin.pk])).content.decode()
    assert "总体良好" in page and "水渠堵塞" in page and "2026年第1期" in page
    assert f"({ticket.display_code} · " in page  # the code grouped as on the receipt
    assert "2026年第1期 · 发布时间 2026-" in page  # 发布, not a ticket's 公开
    assert edit_url not in page  # no edit link once published


def test_the_print_view_renders_an_a4_page(client, contact_work, march, liaison_office):
    bulletins.bulletin_edit(
        actor=liaison_office, bulletin=march, commentary="三月通报", codes=[], now=APRIL_FIRST
    )
    client.force_login(liaison_office)
    response = client.get(reverse("bulletins:print", args=[march.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert (
        "css/bulletin-print.css" in page
        and "三月通报" in page
        and "城关镇" in page
        and "第一代表小组" in page
    )
    assert "<style" not in page and "style=" not in page


def test_the_detail_page_costs_the_same_queries_however_big_the_bulletin(
    client, county, liaison_office, contact_work, make_ticket, django_assert_num_queries
):
    small = draft(liaison_office, CountyFactory(name="小县"), now=APRIL_FIRST)
    # Seen by the same office: moved to its county (as the first quarter's) before measuring.
    Bulletin.objects.filter(pk=small.pk).update(county=county, kind="quarter", number=1)
    with time_machine.travel(at(3, 5), tick=False):
        codes = [make_ticket(title=f"事项{i}").tracking_code for i in range(10)]
    big = draft(liaison_office, county)
    bulletins.bulletin_edit(actor=liaison_office, bulletin=big, commentary="多", codes=codes, now=APRIL_FIRST)
    client.force_login(liaison_office)
    client.get(reverse("bulletins:detail", args=[small.pk]))  # warm the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("bulletins:detail", args=[small.pk])).status_code == 200
    with django_assert_num_queries(len(few.captured_queries)):
        page = client.get(reverse("bulletins:detail", args=[big.pk]))
    assert page.content.decode().count("事项") >= 10
    assert [m["title"] for m in page.context["matters"]] == [f"事项{i}" for i in range(10)]
    assert page.content.decode().count('<li class="mb-2"><strong>事项') == 10  # every one rendered


# --- PostgreSQL: a published bulletin is frozen in the database itself ---------------------------------


@pytest.mark.postgres
def test_the_database_refuses_to_change_or_delete_a_published_bulletin(march, liaison_office):
    from django.db import IntegrityError, transaction

    if connection.vendor != "postgresql":
        pytest.fail("the trigger is PostgreSQL's: run this with `make test`")
    Bulletin.objects.filter(pk=march.pk).update(commentary="草稿可以改")  # a draft may change
    bulletins.bulletin_publish(actor=liaison_office, bulletin=march, now=APRIL_FIRST)
    for change in (
        lambda: Bulletin.objects.filter(pk=march.pk).update(commentary="改"),
        lambda: Bulletin.objects.filter(pk=march.pk).delete(),
    ):
        with pytest.raises(IntegrityError, match="the bulletin is published"), transaction.atomic():
            change()
    assert reload(march).commentary == "草稿可以改"


def test_an_edit_on_a_draft_saved_by_someone_else_meanwhile_is_refused_not_lost(
    client, march, liaison_office
):
    """Two people of the office edit the draft: the later save is refused with its text kept, and
    saving that page again is a deliberate replacement."""
    edit_url = reverse("bulletins:edit", args=[march.pk])
    client.force_login(liaison_office)
    opened = client.get(edit_url).context["form"]["version"].value()
    bulletins.bulletin_edit(
        actor=liaison_office, bulletin=march, commentary="同事的稿子", codes=[], now=APRIL_FIRST + HOUR
    )
    bulletins.bulletin_refresh(actor=liaison_office, bulletin=march, now=APRIL_FIRST + 2 * HOUR)
    response = client.post(edit_url, {"commentary": "我的稿子", "codes": "", "version": opened})
    assert response.status_code == 200
    # (in Chinese once the catalogue has it: 这期间已有其他人保存了该通报……)
    assert response.context["form"].non_field_errors() == [
        gettext(
            "Someone else saved this bulletin in the meantime. Compare with the bulletin page; "
            "saving again replaces their text with yours."
        )
    ]
    assert reload(march).commentary == "同事的稿子"
    again = response.context["form"]["version"].value()
    assert client.post(edit_url, {"commentary": "我的稿子", "codes": "", "version": again}).status_code == 302
    assert reload(march).commentary == "我的稿子"


def test_the_refresh_button_tapped_twice_computes_the_figures_once(
    client, march, liaison_office, monkeypatch
):
    client.force_login(liaison_office)
    detail = client.get(reverse("bulletins:detail", args=[march.pk])).content.decode()
    seen = re.search(r'name="seen" value="([^"]+)"', detail).group(1)
    computed = []
    real = bulletins.bulletin_figures
    monkeypatch.setattr(bulletins, "bulletin_figures", lambda **kw: computed.append(1) or real(**kw))
    url = reverse("bulletins:refresh", args=[march.pk])
    first = client.post(url, {"seen": seen}, follow=True)
    second = client.post(url, {"seen": seen}, follow=True)
    assert len(computed) == 1
    assert [str(m) for m in first.context["messages"]] == ["已根据台账数据重新统计。"]
    assert [str(m) for m in second.context["messages"]] == ["已经保存过了：再次提交没有重复保存。"]
    client.post(url, {"seen": "2026-13-45T99:00:00"})  # no such time: computed again, no error
    assert len(computed) == 2


def test_the_list_costs_the_same_queries_for_one_bulletin_or_a_page_of_them(
    client, liaison_office, county, django_assert_num_queries
):
    draft(liaison_office, county, number=1)
    client.force_login(liaison_office)
    client.get(reverse("bulletins:index"))  # warm the session
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("bulletins:index"))
    for number in range(2, 4):
        draft(liaison_office, county, number=number)
    Bulletin.objects.bulk_create(
        Bulletin(
            county=county,
            kind="month",
            year=year,
            number=month,
            start=datetime.date(year, month, 1),
            end=datetime.date(year, month, 28),
        )  # fmt: skip
        for year in (2024, 2025)
        for month in range(1, 13)
    )
    with django_assert_num_queries(len(one.captured_queries)):
        page = client.get(reverse("bulletins:index"))
    assert len(page.context["page"].object_list) == 20 and page.context["page"].paginator.count == 27


def test_months_without_the_four_ones_do_not_compute_every_duty(
    contact_work, liaison_office, county, monkeypatch
):
    """The "four ones" switched on from 1 March: the first quarter counts March alone, as March's
    bulletin does, and January and February never ask ``duties.standing`` (it computes every quota)."""
    from reps import duties

    DutyPolicy.objects.filter(county=county).update(effective_from=datetime.date(2026, 3, 1))
    asked = []
    real = duties.standing
    monkeypatch.setattr(
        duties, "standing", lambda reps, *, today: asked.append(today) or real(reps, today=today)
    )
    quarter = draft(liaison_office, county, kind="quarter", number=1).figures
    assert asked == [datetime.date(2026, 3, 31)]
    assert [(r["four_ones_due"], r["four_ones_met"]) for r in quarter["townships"]] == [(2, 1), (1, 0)]
    DutyPolicy.objects.filter(county=county).delete()
    assert draft(liaison_office, county, number=2).figures["contact_totals"]["four_ones_due"] == 0
    assert asked == [datetime.date(2026, 3, 31)]  # February, without a policy: not asked either

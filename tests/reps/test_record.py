"""The duty record (履职档案, issue 13): what it shows for a year or the term, and who may read it."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from proposals.models import Ticket, new_tracking_code
from reps.models import DutyActivity, FundExpense, Group, GroupReport, ResearchReport, Training
from studios.models import Reception
from tests.factories import StudioFactory, active_rep, visit


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def filled(my_rep, my_contacts, township_a, clerk_a, category):
    today = timezone.localdate()
    visit(my_rep, my_contacts, today, recorded_by=clerk_a)
    ResearchReport.objects.create(representative=my_rep, title="乡村道路调研", submitted_on=today)
    studio = StudioFactory(region=township_a, name="城关镇党代表工作室")
    reception = Reception.objects.create(
        studio=studio,
        township=township_a,
        kind="regular",
        starts_at=timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0),
        people_received=5,
        recorded_by=clerk_a,
    )
    reception.representatives.add(my_rep)
    ticket = Ticket.objects.create(
        title="路灯不亮",
        content="路灯坏了",
        category=category,
        source="reception",
        township=township_a,
        representative=my_rep,
        tracking_code=new_tracking_code(),
        adopted_on=today,
        adopted_by="镇党委",
    )
    return {"reception": reception, "ticket": ticket}


def test_the_record_shows_every_section_for_the_year(filled, my_rep, clerk_a):
    response = as_user(clerk_a).get(reverse("reps:record", args=[my_rep.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    keys = [s["key"] for s in response.context["sections"]]
    assert keys == [
        "mandates",
        "studios",
        "duties",
        "receptions",
        "contacts",
        "visits",
        "activities",
        "tickets",
        "opinions",
        "research",
        "group_reports",
        "duty_reports",
        "trainings",
        "funds",
        "year_end",
    ]
    assert f'data-reception="{filled["reception"].pk}"' in html
    assert f'data-ticket="{filled["ticket"].pk}"' in html and 'data-adopted="1"' in html
    assert "乡村道路调研" in html and 'id="record-points"' in html
    assert response.context["score"].points > 0


def test_the_whole_term_and_the_print_view(filled, my_rep, clerk_a):
    term = as_user(clerk_a).get(reverse("reps:record", args=[my_rep.pk]), {"term": "1"})
    assert term.status_code == 200 and term.context["start"] == datetime.date(2024, 1, 1)
    assert term.context["score"] is None
    printed = as_user(clerk_a).get(reverse("reps:record", args=[my_rep.pk]), {"print": "1"})
    assert printed.status_code == 200
    assert "reps/record_print.html" in [t.name for t in printed.templates]
    assert "data-print" in printed.content.decode()


def test_the_rep_reads_their_own_from_me_and_nobody_elses(filled, my_rep, other_rep):
    me = as_user(my_rep.user).get(reverse("reps:me")).content.decode()
    url = reverse("reps:record", args=[my_rep.pk])
    assert f'href="{url}"' in me
    assert as_user(my_rep.user).get(url).status_code == 200
    assert as_user(my_rep.user).get(reverse("reps:record", args=[other_rep.pk])).status_code == 404


def test_the_committee_member_reads_their_linked_reps_only(filled, my_rep, other_rep, committee_member):
    assert as_user(committee_member).get(reverse("reps:record", args=[my_rep.pk])).status_code == 200
    assert as_user(committee_member).get(reverse("reps:record", args=[other_rep.pk])).status_code == 404


def test_another_township_a_unit_and_a_studio_officer_get_404(my_rep, clerk_b, unit_staff, township_a):
    from liaison.roles import Role
    from tests.factories import user_with_role

    officer = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="officer")
    url = reverse("reps:record", args=[my_rep.pk])
    for user in (clerk_b, unit_staff, officer):
        assert as_user(user).get(url).status_code == 404


def test_the_office_reads_any_rep_of_its_county(my_rep, liaison_office, township_b):
    other = active_rep(township_b, name="外镇代表")
    assert as_user(liaison_office).get(reverse("reps:record", args=[other.pk])).status_code == 200


def test_the_published_row_of_a_year_shows_on_the_record(my_rep, liaison_office, county):
    from reps import assessment

    year = timezone.localdate().year - 1
    assessment.assessment_publish(actor=liaison_office, county=county, year=year, today=timezone.localdate())
    response = as_user(my_rep.user).get(reverse("reps:record", args=[my_rep.pk]), {"year": year})
    assert response.context["entry"].sheet.year == year
    assert 'id="record-assessment"' in response.content.decode()


def _fill(rep, township, clerk, category, n: int) -> None:
    """``n`` items of each kind the record lists: visits, receptions, tickets, reports, contacts."""
    from studios.models import OpinionReport
    from tests.factories import ContactFactory, ContactLinkFactory, VillageFactory

    today = timezone.localdate()
    village = VillageFactory(parent=township)
    studio = StudioFactory(region=township, name="城关镇党代表工作室")
    for i in range(n):
        contact = ContactFactory(village=village, name=f"联系人{i}")
        ContactLinkFactory(representative=rep, contact=contact, is_pairing=i % 2 == 0)
        visit(rep, [contact], today, recorded_by=clerk)
        reception = Reception.objects.create(
            studio=studio,
            township=township,
            kind="regular",
            starts_at=timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0),
            people_received=i + 1,
            recorded_by=clerk,
        )
        reception.representatives.add(rep)
        Ticket.objects.create(
            title=f"建议{i}",
            content="内容",
            category=category,
            source="reception",
            township=township,
            representative=rep,
            tracking_code=new_tracking_code(),
        )
        ResearchReport.objects.create(representative=rep, title=f"调研{i}", submitted_on=today)
        group = Group.objects.create(name=f"第{i}组", level="township", region=township, leader=rep)
        GroupReport.objects.create(group=group, year=today.year, due_on=today, submitted_on=today)
        Training.objects.create(date=today, title=f"培训{i}", region=township).attendees.add(rep)
        FundExpense.objects.create(representative=rep, date=today, amount=10, purpose=f"开支{i}")
        DutyActivity.objects.create(representative=rep, kind="sit_in", date=today, title=f"会议{i}")
    OpinionReport.objects.create(
        representative=rep, month=today.replace(day=1), category=category, content="群众关心养老"
    )


@pytest.mark.parametrize("n", [1, 30])
def test_the_record_page_costs_the_same_queries_for_1_and_30_items_of_each_kind(
    n, my_rep, township_a, clerk_a, category, django_assert_num_queries
):
    _fill(my_rep, township_a, clerk_a, category, n)
    client = as_user(clerk_a)
    url = reverse("reps:record", args=[my_rep.pk])
    client.get(url)  # the session and the user's scope, once
    with django_assert_num_queries(RECORD_QUERIES):
        response = client.get(url)
    html = response.content.decode()
    assert (html.count("data-visit="), html.count("data-reception="), html.count("data-ticket=")) == (n, n, n)
    assert (html.count("data-contact="), html.count("data-report=")) == (n, n)
    assert html.count("data-group-report=") == n
    assert (html.count("data-training="), html.count("data-expense=")) == (n, n)
    assert html.count("data-activity=") == n


RECORD_QUERIES = 53  # duty reports and sittings-in (a section and a points source each), year-end (3)


def test_the_year_is_read_as_the_duty_status_reads_it(my_rep, clerk_a):
    url, now = reverse("reps:record", args=[my_rep.pk]), timezone.localdate()
    for raw, year in (("", now.year), ("1999", now.year), (str(now.year + 1), now.year), ("x", now.year)):
        assert as_user(clerk_a).get(url, {"year": raw}).context["year"] == year
    last = as_user(clerk_a).get(url, {"year": now.year - 1})
    assert (last.context["year"], last.context["end"]) == (now.year - 1, datetime.date(now.year - 1, 12, 31))

"""Matters become tickets without retyping (issue 10, item 5): the record's photos carry into the
ticket as its own attachments, the form is prefilled (title, category), and the clerk and the
studio officer list the matters not yet tickets, with a "register as ticket" action each."""

from __future__ import annotations

import datetime
import functools

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from liaison import todo
from liaison.models import Category
from liaison.roles import Role
from proposals import files, services
from proposals.models import Attachment, Ticket
from proposals.views_create import TITLE_LENGTH, title_from
from reps.models import HomeVisit, VisitMatter
from reps.services import MatterInput, visit_record
from studios.models import ReceptionMatter, StudioAssignment
from studios.receptions import reception_record
from tests.factories import ContactFactory, ContactLinkFactory, StudioFactory, user_with_role
from tests.proposals.pages_helpers import png_upload

TZ = timezone.get_default_timezone()
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _frozen_and_english(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with time_machine.travel(START, tick=False):
        yield


def cat(name: str) -> Category:
    return Category.objects.get_or_create(name=name)[0]


@pytest.fixture
def officer(township_a):
    return user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan", name="张敏")


@pytest.fixture
def studio(township_a, officer, my_rep):
    studio = StudioFactory(region=township_a, name="城关镇党代表工作室", liaison_officer=officer)
    StudioAssignment.objects.create(studio=studio, representative=my_rep, start=datetime.date(2024, 1, 1))
    return studio


@pytest.fixture
def contact(my_rep, village_a):
    person = ContactFactory(village=village_a, name="刘大爷", phone="13700002222", address="东街12号")
    ContactLinkFactory(representative=my_rep, contact=person)
    return person


def visit_with(rep_user, rep, contact, *matters: MatterInput, photos=()):
    return visit_record(
        actor=rep_user,
        representative=rep,
        date=START.date(),
        kind="visit",
        contacts=[contact],
        matters=list(matters),
        photos=list(photos),
    )


def register_from(matter, actor, township) -> Ticket:
    return services.ticket_register(
        actor=actor,
        township=township,
        title="屋顶漏雨",
        content=matter.content,
        category=cat("城乡建设"),
        source="visit" if isinstance(matter, VisitMatter) else "reception",
        visit_matter=matter if isinstance(matter, VisitMatter) else None,
        reception_matter=matter if isinstance(matter, ReceptionMatter) else None,
    )


class TestPhotosCarry:
    def test_a_visits_photo_becomes_the_tickets_own_attachment(
        self, rep_a, my_rep, contact, clerk_a, township_a
    ):
        visit = visit_with(
            rep_a, my_rep, contact, MatterInput("屋顶漏雨", for_ticket=True), photos=[png_upload("roof.png")]
        )
        photo = visit.photos.get()
        ticket = register_from(visit.matters.get(), clerk_a, township_a)
        attachment = ticket.attachments.get()
        assert (attachment.purpose, attachment.content_type) == (Attachment.Purpose.MATTER, "image/png")
        assert attachment.file.name != photo.image.name  # a copy, not a second reference
        photo.image.delete(save=False)
        assert attachment.file.storage.exists(attachment.file.name)
        with attachment.file.open("rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"

    def test_a_receptions_photos_carry_and_deleting_the_ticket_file_keeps_the_photo(
        self, officer, studio, my_rep, clerk_a, township_a
    ):
        reception = reception_record(
            actor=officer,
            studio=studio,
            kind="regular",
            starts_at=START - datetime.timedelta(hours=1),
            representatives=[my_rep],
            people_received=1,
            matters=[MatterInput("小区道路坑洼", for_ticket=True)],
            photos=[png_upload("a.png"), png_upload("b.png")],
        )
        ticket = register_from(reception.matters.get(), clerk_a, township_a)
        assert ticket.attachments.count() == 2
        for attachment in ticket.attachments.all():
            attachment.file.delete(save=False)
        assert all(p.image.storage.exists(p.image.name) for p in reception.photos.all())

    def test_a_photo_over_the_attachment_limit_is_left_out(
        self, rep_a, my_rep, contact, clerk_a, township_a, monkeypatch
    ):
        visit = visit_with(
            rep_a, my_rep, contact, MatterInput("屋顶漏雨", for_ticket=True), photos=[png_upload("roof.png")]
        )
        refuse_all = functools.partial(files.clean_attachment, max_bytes=10)  # the photo is larger
        monkeypatch.setattr("proposals.services.clean_attachment", refuse_all)
        ticket = register_from(visit.matters.get(), clerk_a, township_a)
        assert not ticket.attachments.exists()

    def test_a_ticket_without_a_matter_gets_no_photos(self, make_ticket):
        assert not make_ticket().attachments.exists()


class TestPrefill:
    @pytest.mark.parametrize(
        "content, title",
        [
            ("村口路灯坏了三个月。晚上很黑，老人出行不便。", "村口路灯坏了三个月"),
            ("路灯不亮！请尽快修", "路灯不亮"),
            ("第一行没有句号\n第二行", "第一行没有句号"),
            ("Road broken. Please fix", "Road broken"),
            ("  ", ""),
            ("长" * 40, "长" * (TITLE_LENGTH - 1) + "…"),
        ],
    )
    def test_the_title_is_the_first_sentence_trimmed(self, content, title):
        assert title_from(content) == title
        assert len(title_from(content)) <= TITLE_LENGTH

    def test_the_visit_form_opens_with_title_category_and_the_photo_note(
        self, client, rep_a, my_rep, contact
    ):
        visit = visit_with(
            rep_a,
            my_rep,
            contact,
            MatterInput("屋顶漏雨。下雨天屋里积水", for_ticket=True, category=cat("城乡建设")),
            photos=[png_upload()],
        )
        client.force_login(rep_a)
        response = client.get(reverse("proposals:from_visit_matter", args=[visit.matters.get().pk]))
        form = response.context["form"]
        assert form.initial["title"] == "屋顶漏雨"
        assert form.initial["category"] == cat("城乡建设").pk
        assert "its 1 photo is attached to the ticket" in response.content.decode()

    def test_a_reception_matter_without_a_category_leaves_it_to_choose(self, client, officer, studio, my_rep):
        reception = reception_record(
            actor=officer,
            studio=studio,
            kind="regular",
            starts_at=START - datetime.timedelta(hours=1),
            representatives=[my_rep],
            people_received=1,
            matters=[MatterInput("小区道路坑洼", for_ticket=True)],
        )
        client.force_login(officer)
        response = client.get(reverse("proposals:from_reception_matter", args=[reception.matters.get().pk]))
        assert response.context["form"].initial["category"] is None
        assert "photo" not in response.context["origin"]


def bulk_matters(n: int, *, visit: HomeVisit, **fields) -> None:
    VisitMatter.objects.bulk_create(
        VisitMatter(visit=visit, content=f"事项{i:04d}", for_ticket=True, **fields) for i in range(n)
    )


def rows(response) -> int:
    return response.content.decode().count('class="list-group-item matter-row"')


class TestMatterList:
    def test_the_clerk_sees_the_townships_matters_not_yet_tickets(
        self, client, rep_a, my_rep, contact, clerk_a, clerk_b, township_a
    ):
        visit = visit_with(
            rep_a,
            my_rep,
            contact,
            MatterInput("等待登记的事项", for_ticket=True),
            MatterInput("已经是工单的事项", for_ticket=True),
            MatterInput("现场答复的事项", answered_on_spot=True, answer="已答复"),
        )
        waiting, done, _answered = visit.matters.order_by("id")
        register_from(done, clerk_a, township_a)
        client.force_login(clerk_a)
        page = client.get(reverse("proposals:matters")).content.decode()
        assert "等待登记的事项" in page
        assert "已经是工单的事项" not in page and "现场答复的事项" not in page
        assert reverse("proposals:from_visit_matter", args=[waiting.pk]) in page
        client.force_login(clerk_b)
        assert "等待登记的事项" not in client.get(reverse("proposals:matters")).content.decode()

    def test_the_officer_sees_their_studios_reception_matters(
        self, client, officer, studio, my_rep, township_a
    ):
        other = StudioFactory(region=township_a, name="别的工作室")
        StudioAssignment.objects.create(studio=other, representative=my_rep, start=datetime.date(2024, 1, 1))
        for where, text in ((studio, "本工作室的事项"), (other, "别的工作室的事项")):
            reception_record(
                actor=user_with_role(Role.TOWNSHIP_STAFF, region=township_a) if where is other else officer,
                studio=where,
                kind="regular",
                starts_at=START - datetime.timedelta(hours=1),
                representatives=[my_rep],
                people_received=1,
                matters=[MatterInput(text, for_ticket=True)],
            )
        client.force_login(officer)
        page = client.get(reverse("proposals:matters")).content.decode()
        assert "本工作室的事项" in page and "别的工作室的事项" not in page
        matter = ReceptionMatter.objects.get(content="本工作室的事项")
        assert reverse("proposals:from_reception_matter", args=[matter.pk]) in page

    def test_search_and_kind_filter(self, client, rep_a, my_rep, contact, clerk_a):
        visit_with(
            rep_a,
            my_rep,
            contact,
            MatterInput("路灯不亮", for_ticket=True),
            MatterInput("垃圾清运", for_ticket=True),
        )
        client.force_login(clerk_a)
        page = client.get(reverse("proposals:matters"), {"q": "路灯"}).content.decode()
        assert "路灯不亮" in page and "垃圾清运" not in page
        page = client.get(reverse("proposals:matters"), {"kind": "reception"}).content.decode()
        assert "路灯不亮" not in page

    @pytest.mark.parametrize("persona", ["unit_staff", "committee_member", "rep_a"])
    def test_others_get_403(self, client, persona, request):
        client.force_login(request.getfixturevalue(persona))
        assert client.get(reverse("proposals:matters")).status_code == 403

    @pytest.mark.parametrize("n", [10, 1000])
    def test_the_list_costs_the_same_for_10_and_1000_matters(
        self, client, rep_a, my_rep, contact, clerk_a, n, django_assert_num_queries
    ):
        visit = visit_with(rep_a, my_rep, contact)
        bulk_matters(n, visit=visit)
        client.force_login(clerk_a)
        client.get(reverse("proposals:matters"))  # the session and scope, read once
        # session, user, role assignments, the page's count and its rows, the header's unread count
        with django_assert_num_queries(6):
            response = client.get(reverse("proposals:matters"))
        assert rows(response) == min(n, 30)
        assert response.context["page"].paginator.count == n

    @pytest.mark.parametrize("n", [10, 1000])
    def test_the_home_todo_counts_them_in_one_query(self, rep_a, my_rep, contact, clerk_a, n):
        visit = visit_with(rep_a, my_rep, contact)
        bulk_matters(n, visit=visit)
        from proposals.matters import todo_sections

        clerk_a.scope  # noqa: B018  (computed once per request, not counted here)
        with CaptureQueriesContext(connection) as queries:
            (section,) = todo_sections(clerk_a, now=START)
        assert len(queries) == 1
        (item,) = section.items
        assert (item.key, item.count, item.url) == (
            "matters_awaiting_ticket",
            n,
            reverse("proposals:matters"),
        )

    def test_the_todo_is_on_the_clerks_home_and_not_a_units(self, clerk_a, unit_staff):
        keys = {i.key for s in todo.sections_for(clerk_a, now=START) for i in s.items}
        assert "matters_awaiting_ticket" in keys
        keys = {i.key for s in todo.sections_for(unit_staff, now=START) for i in s.items}
        assert "matters_awaiting_ticket" not in keys

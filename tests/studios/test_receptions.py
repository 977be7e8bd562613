"""Reception records and public-opinion reports: who may record and see them, what is checked,
and how they count towards the reps' duties."""

import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from PIL import Image

from liaison.idempotency import new_token
from liaison.models import AuditEvent, Category
from liaison.roles import Role
from reps import duties
from reps.models import DutyPolicy, Representative
from studios.models import (
    DutySlot,
    OpinionReport,
    Reception,
    ReceptionMatter,
    RosterPeriod,
    SlotAssignment,
    StudioAssignment,
)
from studios.receptions import MatterInput, VisitorInput, opinion_report_submit, reception_record
from tests.factories import StudioFactory, VillageFactory, active_rep, user_with_role
from tests.helpers import refusal

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TODAY = datetime.date(2026, 5, 20)


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(local(2026, 5, 20, 10, 0), tick=False):
        yield


@pytest.fixture
def officer(township_a):
    return user_with_role(Role.STUDIO_OFFICER, region=township_a, username="lianluoyuan", name="张敏")


@pytest.fixture
def studio(township_a, officer, my_rep, other_rep):
    studio = StudioFactory(region=township_a, name="城关镇党代表工作室", liaison_officer=officer)
    for rep in (my_rep, other_rep):
        StudioAssignment.objects.create(studio=studio, representative=rep, start=datetime.date(2024, 1, 1))
    return studio


@pytest.fixture
def slot(studio, my_rep, other_rep):
    period = RosterPeriod.objects.create(
        studio=studio,
        start=datetime.date(2026, 4, 1),
        end=datetime.date(2026, 6, 30),
        status=RosterPeriod.Status.PUBLISHED,
    )
    slot = DutySlot.objects.create(
        period=period,
        studio=studio,
        kind="regular",
        date=datetime.date(2026, 5, 16),
        starts_at=local(2026, 5, 16, 9, 0),
        ends_at=local(2026, 5, 16, 11, 30),
    )
    for rep in (my_rep, other_rep):
        SlotAssignment.objects.create(slot=slot, representative=rep)
    return slot


@pytest.fixture
def outside_rep_user(township_b):
    """A representative of another township, with a login, serving at no studio here."""
    user = user_with_role(Role.REPRESENTATIVE, region=township_b, username="waizhen", name="吴勇")
    active_rep(township_b, user=user, name="吴勇")
    return user


def reception_post(reps, **extra):
    data = {
        "kind": "regular",
        "starts_at": "2026-05-16T09:00",
        "place": "城关镇党代表工作室",
        "representatives": [r.pk for r in reps],
        "people_received": "3",
        "notes": "群众反映集中在道路和公交",
        "visitors-TOTAL_FORMS": "1",
        "visitors-INITIAL_FORMS": "0",
        "visitors-MIN_NUM_FORMS": "0",
        "visitors-MAX_NUM_FORMS": "20",
        "visitors-0-name": "张大爷",
        "visitors-0-phone": "138 1234 5678",
        "matters-TOTAL_FORMS": "2",
        "matters-INITIAL_FORMS": "0",
        "matters-MIN_NUM_FORMS": "0",
        "matters-MAX_NUM_FORMS": "20",
        "matters-0-content": "村口路灯不亮",
        "matters-0-handling": "answered",
        "matters-0-answer": "已联系村电工，本周修好",
        "matters-1-content": "希望增设公交站",
        "matters-1-handling": "ticket",
        "matters-1-answer": "",
        "token": new_token(),
    }
    data.update(extra)
    return data


def record(actor, studio, reps, **kwargs):
    """Record a reception through the service with sensible defaults."""
    values = {
        "kind": "appointed",
        "starts_at": local(2026, 5, 18, 15, 0),
        "place": "",
        "people_received": 2,
        "notes": "",
        "visitors": [],
        "matters": [MatterInput("道路积水", for_ticket=True)],
        "photos": [],
    }
    values.update(kwargs)
    return reception_record(actor=actor, studio=studio, representatives=reps, **values)


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), "red")
    exif = Image.Exif()
    exif[0x8825] = {2: (31.0, 14.0, 0.0), 4: (121.0, 28.0, 0.0)}  # GPSInfo
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


class TestRecordingFromADuty:
    def test_the_form_is_prefilled_from_the_duty(self, client, officer, slot, my_rep, other_rep):
        client.force_login(officer)
        page = client.get(reverse("studios:slot_reception", args=[slot.pk])).content.decode()
        assert 'value="2026-05-16T09:00"' in page
        assert "城关镇党代表工作室" in page
        for rep in (my_rep, other_rep):
            assert f'value="{rep.pk}"' in page and "checked" in page.split(f'value="{rep.pk}"')[1][:40]

    def test_the_officer_records_a_duty_with_two_matters_and_a_visitor(
        self, client, officer, slot, studio, township_a, my_rep, other_rep
    ):
        client.force_login(officer)
        response = client.post(
            reverse("studios:slot_reception", args=[slot.pk]), reception_post([my_rep, other_rep])
        )
        reception = Reception.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("studios:reception", args=[reception.pk])
        assert (reception.studio, reception.slot, reception.township) == (studio, slot, township_a)
        assert reception.kind == "regular" and reception.starts_at == slot.starts_at
        assert reception.people_received == 3 and reception.recorded_by == officer
        assert set(reception.representatives.all()) == {my_rep, other_rep}
        assert list(reception.visitors.values_list("name", "phone")) == [("张大爷", "13812345678")]
        assert list(reception.matters.values_list("content", "answered_on_spot", "answer", "for_ticket")) == [
            ("村口路灯不亮", True, "已联系村电工，本周修好", False),
            ("希望增设公交站", False, "", True),
        ]
        event = AuditEvent.objects.get(verb="reception.recorded")
        assert event.region == township_a and event.data["matters"] == 2 and event.data["for_ticket"] == 1
        assert "张大爷" not in str(event.data) and "13812345678" not in str(event.data)  # private

    def test_the_detail_shows_what_was_recorded(self, client, officer, slot, my_rep, other_rep):
        client.force_login(officer)
        client.post(reverse("studios:slot_reception", args=[slot.pk]), reception_post([my_rep, other_rep]))
        page = client.get(reverse("studios:reception", args=[Reception.objects.get().pk])).content.decode()
        assert "村口路灯不亮" in page and "已联系村电工" in page and "希望增设公交站" in page
        assert "张大爷" in page and my_rep.name in page

    def test_a_duty_is_recorded_once(self, client, officer, slot, my_rep, other_rep):
        client.force_login(officer)
        url = reverse("studios:slot_reception", args=[slot.pk])
        client.post(url, reception_post([my_rep, other_rep]))
        again = client.post(url, reception_post([my_rep, other_rep]))
        assert again.status_code == 200 and Reception.objects.count() == 1
        assert reverse("studios:reception", args=[Reception.objects.get().pk]) in again.content.decode()

    def test_recent_duties_without_a_record_are_offered(self, client, officer, rep_a, slot, my_rep):
        for user in (officer, rep_a):
            client.force_login(user)
            assert list(client.get(reverse("studios:receptions")).context["awaiting"]) == [slot]
        record(officer, slot.studio, [my_rep], slot=slot)
        assert list(client.get(reverse("studios:receptions")).context["awaiting"]) == []

    def test_a_duty_of_another_studio_is_refused(self, officer, slot, township_a, my_rep):
        elsewhere = StudioFactory(region=township_a, liaison_officer=officer)
        with translation.override("en"), pytest.raises(ValidationError) as refused:
            record(officer, elsewhere, [my_rep], slot=slot)
        assert refusal(refused.value) == ["This duty belongs to another studio."]
        assert not Reception.objects.exists()

    def test_kind_and_time_come_from_the_duty_when_not_given(self, officer, slot, studio, my_rep):
        reception = record(officer, studio, [my_rep], slot=slot, kind="", starts_at=None)
        assert (reception.kind, reception.starts_at) == ("regular", slot.starts_at)


class TestAdHocReceptions:
    def test_a_rep_records_an_appointed_reception(self, client, rep_a, my_rep, studio):
        client.force_login(rep_a)
        form = client.get(reverse("studios:reception_new"))  # their only studio: straight to the card
        assert form.status_code == 200 and f'value="{my_rep.pk}"' in form.content.decode()
        data = reception_post([my_rep], kind="appointed", starts_at="2026-05-19T15:30")
        response = client.post(f"{reverse('studios:reception_new')}?studio={studio.pk}", data)
        assert response.status_code == 302
        reception = Reception.objects.get()
        assert reception.kind == "appointed" and reception.slot is None
        assert reception.starts_at == local(2026, 5, 19, 15, 30)
        assert list(reception.representatives.all()) == [my_rep] and reception.recorded_by == rep_a

    def test_a_rep_records_only_what_they_attended(self, client, rep_a, my_rep, other_rep, studio):
        client.force_login(rep_a)
        response = client.post(
            f"{reverse('studios:reception_new')}?studio={studio.pk}", reception_post([other_rep])
        )
        assert response.status_code == 200 and not Reception.objects.exists()
        assert set(response.context["form"].errors) == {"representatives"}
        with pytest.raises(PermissionDenied):
            record(rep_a, studio, [other_rep])

    def test_staff_choose_among_the_studios_they_may_record_for(
        self, client, clerk_a, studio, village_a, township_b
    ):
        StudioFactory(region=village_a, level="area", name="东街社区工作室")
        StudioFactory(region=township_b, name="河口镇党代表工作室")
        client.force_login(clerk_a)
        page = client.get(reverse("studios:reception_new")).content.decode()
        assert "城关镇党代表工作室" in page and "东街社区工作室" in page and "河口镇党代表工作室" not in page

    def test_a_village_studio_belongs_to_its_township(self, clerk_a, township_a, my_rep):
        village_studio = StudioFactory(region=VillageFactory(parent=township_a), level="area")
        StudioAssignment.objects.create(
            studio=village_studio, representative=my_rep, start=datetime.date(2024, 1, 1)
        )
        assert record(clerk_a, village_studio, [my_rep]).township == township_a

    def test_reps_present_must_serve_at_the_studio(self, clerk_a, studio, township_a):
        stranger = active_rep(township_a, name="外来人")
        with pytest.raises(ValidationError) as caught:
            record(clerk_a, studio, [stranger])
        assert "外来人" in str(caught.value.message_dict["representatives"])

    def test_a_reception_cannot_be_recorded_before_it_happens(self, clerk_a, studio, my_rep):
        with pytest.raises(ValidationError) as caught:
            record(clerk_a, studio, [my_rep], starts_at=local(2026, 5, 21, 9, 0))
        assert "starts_at" in caught.value.message_dict


class TestValidation:
    def test_an_answer_on_the_spot_needs_the_answer_and_nothing_is_saved(
        self, client, officer, slot, my_rep, other_rep
    ):
        client.force_login(officer)
        data = reception_post([my_rep, other_rep], **{"matters-0-answer": ""})
        response = client.post(reverse("studios:slot_reception", args=[slot.pk]), data)
        page = response.content.decode()
        assert response.status_code == 200 and not Reception.objects.exists()
        assert [set(f.errors) for f in response.context["matters"].forms] == [{"answer"}, set()]
        assert "请说明现场答复的内容" in page  # "Say what was answered on the spot."
        assert "村口路灯不亮" in page and "希望增设公交站" in page and "张大爷" in page  # typed values kept
        assert 'value="3"' in page

    def test_fewer_people_than_named_visitors_is_refused(self, client, officer, slot, my_rep, other_rep):
        client.force_login(officer)
        data = reception_post(
            [my_rep, other_rep],
            **{
                "people_received": "1",
                "visitors-TOTAL_FORMS": "2",
                "visitors-1-name": "李大妈",
                "visitors-1-phone": "",
            },
        )
        response = client.post(reverse("studios:slot_reception", args=[slot.pk]), data)
        assert response.status_code == 200 and not Reception.objects.exists()
        assert set(response.context["form"].errors) == {"people_received"}
        assert "李大妈" in response.content.decode()
        with pytest.raises(ValidationError) as caught:
            record(
                officer,
                slot.studio,
                [my_rep],
                people_received=1,
                visitors=[VisitorInput("甲"), VisitorInput("乙")],
            )
        assert "people_received" in caught.value.message_dict

    def test_a_bad_visitor_phone_is_refused(self, client, officer, slot, my_rep):
        client.force_login(officer)
        data = reception_post([my_rep], **{"visitors-0-phone": "12345"})
        response = client.post(reverse("studios:slot_reception", args=[slot.pk]), data)
        assert response.status_code == 200 and not Reception.objects.exists()
        assert list(response.context["visitors"].errors[0]) == ["phone"]

    def test_the_service_itself_refuses_a_bad_visitor_phone(self, officer, studio, my_rep):
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            record(officer, studio, [my_rep], visitors=[VisitorInput("张大爷", "12345")])
        assert list(caught.value.message_dict) == ["visitors"]
        assert caught.value.message_dict["visitors"][0].startswith("Visitor 1: Enter a mainland mobile")
        assert not Reception.objects.exists()

    def test_the_service_refuses_a_visitor_phone_without_a_name(self, officer, studio, my_rep):
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            record(officer, studio, [my_rep], visitors=[VisitorInput("", "13812345678")])
        assert caught.value.message_dict == {
            "visitors": ["Visitor 1: Give the name too, or leave the phone empty."]
        }

    def test_the_service_stores_the_visitor_phone_normalised(self, officer, studio, my_rep):
        reception = record(
            officer, studio, [my_rep], visitors=[VisitorInput(" 张大爷 ", "+86 138-1234-5678")]
        )
        assert list(reception.visitors.values_list("name", "phone")) == [("张大爷", "13812345678")]

    def test_a_matter_is_answered_or_ticketed_not_both_nor_neither(self, officer, studio, my_rep):
        for matter in (
            MatterInput("事项", answered_on_spot=True, answer="答复", for_ticket=True),
            MatterInput("事项"),
            MatterInput("事项", answered_on_spot=True, answer="  "),
        ):
            with pytest.raises(ValidationError) as caught:
                record(officer, studio, [my_rep], matters=[matter])
            assert "matters" in caught.value.message_dict
        assert not Reception.objects.exists()

    def test_a_matter_without_a_choice_is_refused_by_the_form(self, client, officer, slot, my_rep):
        client.force_login(officer)
        data = reception_post([my_rep], **{"matters-1-handling": ""})
        response = client.post(reverse("studios:slot_reception", args=[slot.pk]), data)
        assert response.status_code == 200 and not Reception.objects.exists()
        assert [set(f.errors) for f in response.context["matters"].forms] == [set(), {"handling"}]


class TestPhotos:
    @pytest.fixture(autouse=True)
    def _media(self, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path / "media"

    def test_gps_and_other_metadata_are_stripped(self, client, officer, slot, my_rep):
        raw = jpeg_with_gps()
        assert Image.open(io.BytesIO(raw)).getexif()
        client.force_login(officer)
        data = {
            **reception_post([my_rep]),
            "photos": SimpleUploadedFile("p.jpg", raw, content_type="image/jpeg"),
        }
        assert client.post(reverse("studios:slot_reception", args=[slot.pk]), data).status_code == 302
        stored = Reception.objects.get().photos.get().image
        with Image.open(stored.open("rb")) as saved:
            assert not saved.getexif()
            assert saved.size == (40, 30)

    def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_saved(self, client, officer, slot, my_rep):
        client.force_login(officer)
        fake = SimpleUploadedFile("notes.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
        data = {**reception_post([my_rep]), "photos": fake}
        response = client.post(reverse("studios:slot_reception", args=[slot.pk]), data)
        page = response.content.decode()
        assert response.status_code == 200
        assert "notes.jpg" in page and "无法识别的图片" in page  # names the file and says why
        assert "村口路灯不亮" in page
        assert not Reception.objects.exists() and not AuditEvent.objects.filter(verb="reception.recorded")


class TestWhoMayRecordAndSee:
    @pytest.mark.parametrize("persona", ["unit_staff", "committee_member"])
    def test_people_who_do_not_record_receptions_get_403(self, client, persona, request, slot):
        client.force_login(request.getfixturevalue(persona))
        for url in (
            reverse("studios:reception_new"),
            reverse("studios:receptions"),
            reverse("studios:slot_reception", args=[slot.pk]),
        ):
            assert client.get(url).status_code == 403

    def test_a_clerk_of_another_township_gets_404(self, client, clerk_b, slot, studio, my_rep):
        client.force_login(clerk_b)
        assert client.get(reverse("studios:slot_reception", args=[slot.pk])).status_code == 404
        url = f"{reverse('studios:reception_new')}?studio={studio.pk}"
        assert client.post(url, reception_post([my_rep])).status_code == 404
        with pytest.raises(PermissionDenied):
            record(clerk_b, studio, [my_rep])
        assert not Reception.objects.exists()

    def test_a_rep_not_on_the_duty_nor_at_the_studio_gets_404(
        self, client, outside_rep_user, slot, studio, my_rep
    ):
        client.force_login(outside_rep_user)
        assert client.get(reverse("studios:slot_reception", args=[slot.pk])).status_code == 404
        assert client.get(f"{reverse('studios:reception_new')}?studio={studio.pk}").status_code == 404
        outsider = Representative.objects.get(user=outside_rep_user)
        with pytest.raises(PermissionDenied):
            record(outside_rep_user, studio, [outsider, my_rep])

    def test_the_township_clerk_records_for_a_studio_of_their_township(self, client, clerk_a, studio, my_rep):
        client.force_login(clerk_a)
        url = f"{reverse('studios:reception_new')}?studio={studio.pk}"
        assert client.post(url, reception_post([my_rep], kind="thematic")).status_code == 302
        assert Reception.objects.get().recorded_by == clerk_a

    def test_another_users_reception_is_404(self, client, officer, studio, my_rep, other_rep, clerk_b, rep_a):
        reception = record(officer, studio, [other_rep])
        url = reverse("studios:reception", args=[reception.pk])
        client.force_login(clerk_b)
        assert client.get(url).status_code == 404
        client.force_login(rep_a)  # my_rep was not there
        assert client.get(url).status_code == 404
        assert reception.pk not in [r.pk for r in client.get(reverse("studios:receptions")).context["page"]]
        mine = record(officer, studio, [my_rep])
        assert client.get(reverse("studios:reception", args=[mine.pk])).status_code == 200

    def test_the_list_is_scoped_filtered_and_searched(
        self, client, clerk_a, liaison_office, officer, studio, my_rep, township_b
    ):
        other_studio = StudioFactory(region=township_b, name="河口镇党代表工作室")
        rep_b = active_rep(township_b, name="吴勇")
        StudioAssignment.objects.create(
            studio=other_studio, representative=rep_b, start=datetime.date(2024, 1, 1)
        )
        april = record(officer, studio, [my_rep], starts_at=local(2026, 4, 30, 23, 30), matters=[])
        may = record(officer, studio, [my_rep], matters=[MatterInput("垃圾清运不及时", for_ticket=True)])
        hekou = record(liaison_office, other_studio, [rep_b])
        client.force_login(clerk_a)

        def listed(**params):
            response = client.get(reverse("studios:receptions"), params)
            assert response.status_code == 200
            return [r.pk for r in response.context["page"]]

        assert listed() == [may.pk, april.pk]
        assert listed(month="2026-04") == [april.pk]  # 23:30 in Beijing is still April
        assert listed(q="垃圾") == [may.pk]
        assert listed(studio=str(studio.pk)) == [may.pk, april.pk]
        assert client.get(reverse("studios:receptions"), {"studio": other_studio.pk}).status_code == 404
        assert hekou.pk not in listed()

    def test_the_list_costs_the_same_queries_for_10_and_1000_receptions(
        self, client, clerk_a, officer, studio, my_rep, slot
    ):
        through = Reception.representatives.through

        def add(n):
            made = Reception.objects.bulk_create(
                Reception(
                    studio=studio,
                    township=studio.region,
                    kind="regular",
                    starts_at=local(2026, 5, 1, 9, 0) - datetime.timedelta(hours=i),
                    people_received=2,
                    recorded_by=officer,
                )
                for i in range(n)
            )
            through.objects.bulk_create(through(reception_id=r.pk, representative_id=my_rep.pk) for r in made)

        client.force_login(clerk_a)
        counts = []
        for n in (10, 990):
            add(n)
            with CaptureQueriesContext(connection) as queries:
                assert client.get(reverse("studios:receptions")).status_code == 200
            counts.append(len(queries))
        assert counts[0] == counts[1]


def cat(name: str) -> Category:
    """A row of the one category list (seeded by liaison's migration; a transactional test empties it)."""
    return Category.objects.get_or_create(name=name)[0]


class TestOpinionReports:
    @pytest.fixture
    def as_rep(self, client, rep_a, my_rep):
        client.force_login(rep_a)
        return client

    def test_a_rep_submits_a_report_for_a_month(self, as_rep, my_rep):
        data = {"month": "2026-04", "category": cat("交通出行").pk, "content": "群众希望增开早班公交"}
        assert as_rep.post(reverse("studios:opinions"), data).status_code == 302
        report = OpinionReport.objects.get()
        assert (report.representative, report.month) == (my_rep, datetime.date(2026, 4, 1))
        assert AuditEvent.objects.filter(verb="opinion.submitted", subject_id=str(report.pk)).exists()
        assert "群众希望增开早班公交" in as_rep.get(reverse("studios:opinions")).content.decode()

    def test_the_month_is_normalised_and_a_future_one_refused(self, rep_a, my_rep):
        report = opinion_report_submit(
            actor=rep_a,
            representative=my_rep,
            month=datetime.date(2026, 5, 17),
            category=cat("其他"),
            content="x",
        )
        assert report.month == datetime.date(2026, 5, 1)
        with translation.override("en"), pytest.raises(ValidationError) as refused:
            opinion_report_submit(
                actor=rep_a,
                representative=my_rep,
                month=datetime.date(2026, 6, 1),
                category=cat("其他"),
                content="x",
            )
        assert refusal(refused.value) == {"month": ["A report cannot be for a month that has not begun."]}

    def test_a_rep_can_neither_submit_nor_see_another_reps_reports(self, as_rep, rep_a, my_rep, other_rep):
        data = {
            "representative": other_rep.pk,
            "month": "2026-05",
            "category": cat("医疗卫生").pk,
            "content": "看病难",
        }
        as_rep.post(reverse("studios:opinions"), data)
        assert OpinionReport.objects.get().representative == my_rep  # the posted rep is ignored
        with pytest.raises(PermissionDenied):
            opinion_report_submit(
                actor=rep_a, representative=other_rep, month=TODAY, category=cat("医疗卫生"), content="看病难"
            )
        OpinionReport.objects.create(
            representative=other_rep,
            month=datetime.date(2026, 5, 1),
            category=cat("教育"),
            content="别人的报告",
        )
        assert "别人的报告" not in as_rep.get(reverse("studios:opinions")).content.decode()

    def test_staff_see_their_townships_reports(self, client, clerk_a, clerk_b, my_rep, rep_b):
        for rep, text in ((my_rep, "城关的报告"), (rep_b, "河口的报告")):
            OpinionReport.objects.create(
                representative=rep, month=datetime.date(2026, 5, 1), category=cat("其他"), content=text
            )
        client.force_login(clerk_a)
        page = client.get(reverse("studios:opinions")).content.decode()
        assert "城关的报告" in page and "河口的报告" not in page
        client.force_login(clerk_b)
        page = client.get(reverse("studios:opinions")).content.decode()
        assert "河口的报告" in page and "城关的报告" not in page

    def test_staff_enter_a_paper_report_only_for_reps_in_scope(self, client, clerk_a, my_rep, rep_b):
        client.force_login(clerk_a)
        data = {"month": "2026-05", "category": cat("城乡建设").pk, "content": "纸质登记表"}
        assert (
            client.post(reverse("studios:opinions"), {**data, "representative": rep_b.pk}).status_code == 200
        )
        assert not OpinionReport.objects.exists()
        assert (
            client.post(reverse("studios:opinions"), {**data, "representative": my_rep.pk}).status_code == 302
        )
        assert OpinionReport.objects.get().representative == my_rep

    @pytest.mark.parametrize("persona", ["unit_staff", "committee_member"])
    def test_others_get_403(self, client, persona, request):
        client.force_login(request.getfixturevalue(persona))
        assert client.get(reverse("studios:opinions")).status_code == 403


class TestDuties:
    def test_a_recorded_reception_counts_for_the_reps_present(self, officer, studio, my_rep, other_rep):
        record(officer, studio, [my_rep])
        _quotas, rows = duties.standing(
            Representative.objects.filter(pk__in=[my_rep.pk, other_rep.pk]), today=TODAY
        )
        cells = {row.rep.pk: row.cells["receptions"] for row in rows}
        assert (cells[my_rep.pk].value, cells[my_rep.pk].required) == (1, 2)
        assert cells[other_rep.pk].value == 0

    def test_a_provincial_only_rep_needs_one_reception_a_quarter(self, clerk_a, studio, township_a):
        provincial = active_rep(township_a, levels=("province",), name="省代表")
        both = active_rep(township_a, levels=("province", "county"), name="省县代表")
        for rep in (provincial, both):
            StudioAssignment.objects.create(
                studio=studio, representative=rep, start=datetime.date(2024, 1, 1)
            )
        record(clerk_a, studio, [provincial])
        _quotas, rows = duties.standing(
            Representative.objects.filter(pk__in=[provincial.pk, both.pk]), today=TODAY
        )
        cells = {row.rep.pk: row.cells["receptions"] for row in rows}
        assert (cells[provincial.pk].value, cells[provincial.pk].required, cells[provincial.pk].status) == (
            1,
            1,
            "ok",
        )
        assert cells[both.pk].required == 2

    def test_the_four_ones_count_only_when_the_policy_asks(self, officer, rep_a, studio, my_rep, county):
        record(officer, studio, [my_rep])
        opinion_report_submit(
            actor=rep_a, representative=my_rep, month=TODAY, category=cat("其他"), content="x"
        )
        reps = Representative.objects.filter(pk=my_rep.pk)
        _quotas, rows = duties.standing(reps, today=TODAY)
        assert rows[0].cells["four_ones_reception"].status == "na"
        DutyPolicy.objects.create(county=county, effective_from=datetime.date(2026, 1, 1), four_ones=True)
        _quotas, rows = duties.standing(reps, today=TODAY)
        assert rows[0].cells["four_ones_reception"].value == 1
        assert rows[0].cells["four_ones_opinion"].value == 1


def test_a_month_filter_runs_from_its_first_local_midnight_to_the_next_months():
    from studios.reception_views import _month_range

    assert _month_range("2026-12") == (local(2026, 12, 1), local(2027, 1, 1))
    assert _month_range("2028-02") == (local(2028, 2, 1), local(2028, 3, 1))
    assert _month_range("2026-13") is None


class TestMatterCategory:
    """A reception matter may carry a category of the one list, which its ticket starts in."""

    def test_the_officer_picks_a_category_for_a_matter_to_become_a_ticket(
        self, client, officer, slot, my_rep, other_rep
    ):
        client.force_login(officer)
        data = reception_post([my_rep, other_rep], **{"matters-1-category": cat("交通出行").pk})
        assert client.post(reverse("studios:slot_reception", args=[slot.pk]), data).status_code == 302
        answered, ticketed = ReceptionMatter.objects.order_by("id")
        assert (answered.category, ticketed.category) == (None, cat("交通出行"))

    def test_an_inactive_category_is_not_offered(self, client, officer, slot, my_rep, other_rep):
        retired = Category.objects.create(name="旧分类", is_active=False)
        client.force_login(officer)
        data = reception_post([my_rep, other_rep], **{"matters-1-category": retired.pk})
        response = client.post(reverse("studios:slot_reception", args=[slot.pk]), data)
        assert response.status_code == 200
        assert set(response.context["matters"].errors[1]) == {"category"}
        assert not Reception.objects.exists()

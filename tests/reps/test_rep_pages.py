"""A representative's own pages, and who may follow whom: per role, with tampered ids."""

import datetime
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from liaison.idempotency import new_token
from reps.models import Contact, ContactLink, HomeVisit, Representative
from tests.factories import ContactFactory, active_rep, visit


def visit_post(contacts, **extra):
    data = {
        "date": "2026-11-20",
        "kind": "visit",
        "contacts": [c.pk for c in contacts],
        "notes": "了解情况",
        "matters-TOTAL_FORMS": "2",
        "matters-INITIAL_FORMS": "0",
        "matters-MIN_NUM_FORMS": "0",
        "matters-MAX_NUM_FORMS": "10",
        "matters-0-content": "村口路灯不亮",
        "matters-0-handling": "answered",
        "matters-0-answer": "已联系电工",
        "matters-1-content": "希望增设公交站",
        "matters-1-handling": "ticket",
        "matters-1-answer": "",
        "token": new_token(),
    }
    data.update(extra)
    return data


@pytest.fixture
def as_rep(client, rep_a, my_rep):
    client.force_login(rep_a)
    return client


class TestRepresentativesOwnPages:
    def test_the_rep_sees_their_duties(self, as_rep, my_contacts):
        page = as_rep.get(reverse("reps:me")).content.decode()
        assert "陈志强" in page and "联系对象" in page

    @pytest.mark.parametrize("persona", ["clerk_a", "unit_staff", "committee_member"])
    def test_non_reps_get_403(self, client, persona, request):
        client.force_login(request.getfixturevalue(persona))
        for name in ("reps:me", "reps:visit_new", "reps:contacts", "reps:contact_add"):
            assert client.get(reverse(name)).status_code == 403

    def test_a_rep_records_a_visit_with_two_matters(self, as_rep, my_rep, my_contacts):
        response = as_rep.post(reverse("reps:visit_new"), visit_post(my_contacts))
        assert response.status_code == 302
        visit = HomeVisit.objects.get()
        assert list(visit.representatives.all()) == [my_rep]
        assert set(visit.contacts.all()) == set(my_contacts)
        assert [(m.answered_on_spot, m.for_ticket, m.answer) for m in visit.matters.all()] == [
            (True, False, "已联系电工"),
            (False, True, ""),
        ]
        assert visit.township == my_contacts[0].village.parent

    def test_a_tampered_contact_id_records_nothing(self, as_rep, my_contacts, other_rep):
        stranger = Contact.objects.get(name="别人的联系人")
        response = as_rep.post(reverse("reps:visit_new"), visit_post([my_contacts[0], stranger]))
        assert response.status_code == 200
        assert set(response.context["form"].errors) == {"contacts"}
        assert not HomeVisit.objects.exists()

    def test_an_answer_on_the_spot_needs_the_answer(self, as_rep, my_contacts):
        response = as_rep.post(reverse("reps:visit_new"), visit_post(my_contacts, **{"matters-0-answer": ""}))
        assert response.status_code == 200
        assert "请说明现场答复的内容" in response.content.decode()
        assert not HomeVisit.objects.exists()

    def test_a_visit_in_the_future_is_refused(self, as_rep, my_contacts):
        future = (timezone.localdate() + datetime.timedelta(days=5)).isoformat()
        response = as_rep.post(reverse("reps:visit_new"), visit_post(my_contacts, date=future))
        assert response.status_code == 200 and not HomeVisit.objects.exists()

    def test_the_rep_lists_only_their_own_contacts(self, as_rep, my_contacts, other_rep):
        page = as_rep.get(reverse("reps:contacts")).content.decode()
        assert "联系人0" in page and "别人的联系人" not in page

    def test_editing_another_reps_contact_is_404(self, as_rep, other_rep, my_contacts):
        stranger = Contact.objects.get(name="别人的联系人")
        assert as_rep.get(reverse("reps:contact_edit", args=[stranger.pk])).status_code == 404
        assert (
            as_rep.post(reverse("reps:contact_edit", args=[stranger.pk]), {"name": "改名"}).status_code == 404
        )
        stranger.refresh_from_db()
        assert stranger.name == "别人的联系人"

    def test_a_rep_edits_their_own_contact_and_pairing(self, as_rep, my_rep, my_contacts, village_a):
        contact = my_contacts[0]
        data = {
            "name": "新名字",
            "kind": "party_member",
            "phone": "13812345678",
            "village": village_a.pk,
            "address": "",
            "is_pairing": "on",
            "is_poor_party_member": "on",
        }
        assert as_rep.post(reverse("reps:contact_edit", args=[contact.pk]), data).status_code == 302
        contact.refresh_from_db()
        assert (contact.name, contact.phone, contact.is_poor_party_member) == ("新名字", "13812345678", True)
        assert ContactLink.objects.get(representative=my_rep, contact=contact).is_pairing

    def test_adding_a_contact_links_it_and_refuses_the_same_person_twice(self, as_rep, my_rep, village_a):
        data = {
            "name": "李桂英",
            "kind": "resident",
            "phone": "138 1234 5678",
            "village": village_a.pk,
            "address": "",
        }
        assert as_rep.post(reverse("reps:contact_add"), data).status_code == 302
        contact = Contact.objects.get(name="李桂英")
        assert contact.phone == "13812345678" and contact.links.get().representative == my_rep
        response = as_rep.post(reverse("reps:contact_add"), data)
        assert response.status_code == 200 and "同名同电话的联系对象已存在" in response.content.decode()
        assert Contact.objects.filter(name="李桂英").count() == 1

    def test_a_contact_must_live_in_the_reps_own_area(self, as_rep, village_b):
        data = {"name": "外镇人", "kind": "resident", "phone": "", "village": village_b.pk, "address": ""}
        assert as_rep.post(reverse("reps:contact_add"), data).status_code == 200
        assert not Contact.objects.filter(name="外镇人").exists()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), "red")
    exif = Image.Exif()
    exif[0x8825] = {2: (31.0, 14.0, 0.0), 4: (121.0, 28.0, 0.0)}  # GPSInfo
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


class TestPhotos:
    def test_gps_and_other_metadata_are_stripped(self, as_rep, my_contacts):
        raw = jpeg_with_gps()
        assert Image.open(io.BytesIO(raw)).getexif()
        photo = SimpleUploadedFile("p.jpg", raw, content_type="image/jpeg")
        assert (
            as_rep.post(reverse("reps:visit_new"), {**visit_post(my_contacts), "photos": photo}).status_code
            == 302
        )
        stored = HomeVisit.objects.get().photos.get().image
        with Image.open(stored.open("rb")) as saved:
            assert not saved.getexif()
            assert saved.size == (40, 30)

    def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_lost(self, as_rep, my_contacts):
        fake = SimpleUploadedFile("p.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
        response = as_rep.post(reverse("reps:visit_new"), {**visit_post(my_contacts), "photos": fake})
        assert response.status_code == 200
        page = response.content.decode()
        assert "无法识别的图片" in page and "村口路灯不亮" in page  # the typed matter is still there
        assert not HomeVisit.objects.exists()

    def test_an_oversized_image_is_refused(self, as_rep, my_contacts, settings):
        from liaison import uploads

        big = SimpleUploadedFile(
            "p.jpg", jpeg_with_gps() + b"\0" * (uploads.MAX_IMAGE_BYTES + 1), content_type="image/jpeg"
        )
        response = as_rep.post(reverse("reps:visit_new"), {**visit_post(my_contacts), "photos": big})
        assert response.status_code == 200 and not HomeVisit.objects.exists()


class TestFollowingReps:
    def test_a_clerk_sees_only_their_townships_reps(self, client, clerk_a, my_rep, rep_b):
        client.force_login(clerk_a)
        page = client.get(reverse("reps:duty")).content.decode()
        assert "陈志强" in page and "吴勇" not in page

    def test_a_committee_member_sees_only_linked_reps(self, client, committee_member, my_rep, other_rep):
        client.force_login(committee_member)
        page = client.get(reverse("reps:duty")).content.decode()
        assert "陈志强" in page and "王秀兰" not in page
        network = client.get(reverse("reps:network")).content.decode()
        assert "别人的联系人" not in network

    @pytest.mark.parametrize("persona", ["rep_a", "unit_staff"])
    def test_reps_and_units_cannot_follow_others(self, client, persona, request, my_rep):
        client.force_login(request.getfixturevalue(persona))
        assert client.get(reverse("reps:duty")).status_code == 403
        assert client.get(reverse("reps:network")).status_code == 403

    def test_a_tampered_township_filter_is_404(self, client, clerk_a, township_b, my_rep):
        client.force_login(clerk_a)
        assert client.get(reverse("reps:duty"), {"township": township_b.pk}).status_code == 404

    def test_filters_search_and_sort(self, client, clerk_a, my_rep, other_rep):
        client.force_login(clerk_a)
        page = client.get(reverse("reps:duty"), {"q": "wxl"}).content.decode()
        assert "王秀兰" in page and "陈志强" not in page
        page = client.get(reverse("reps:duty"), {"sort": "-name"}).content.decode()
        assert page.index("王秀兰") < page.index("陈志强")

    def test_rep_names_link_to_the_reps_record(self, client, clerk_a, committee_member, my_rep, my_contacts):
        client.force_login(clerk_a)
        record = f'href="{reverse("admin:reps_representative_change", args=[my_rep.pk])}">{my_rep.name}</a>'
        assert record in client.get(reverse("reps:duty")).content.decode()
        network = client.get(reverse("reps:network"), {"member": committee_member.pk}).content.decode()
        assert record in network

    def test_the_network_flags_a_committee_member_outside_the_countys_range(
        self, client, clerk_a, committee_member, my_rep, county, township_a
    ):
        from reps.models import CommitteeLink, DutyPolicy

        client.force_login(clerk_a)
        members = client.get(reverse("reps:network")).context["members"]
        assert [(m["member__name"], m["n"], m["outlier"]) for m in members] == [("赵丽", 1, True)]
        assert "不在 3–5 人之间" in client.get(reverse("reps:network")).content.decode()
        DutyPolicy.objects.create(
            county=county, effective_from=datetime.date(2020, 1, 1), reps_per_committee_member_min=1
        )
        members = client.get(reverse("reps:network")).context["members"]
        assert [(m["n"], m["min"], m["max"], m["outlier"]) for m in members] == [(1, 1, 5, False)]
        for i in range(5):
            CommitteeLink.objects.create(
                member=committee_member, representative=active_rep(township_a, name=f"代表{i}")
            )
        members = client.get(reverse("reps:network")).context["members"]
        assert [(m["n"], m["outlier"]) for m in members] == [(6, True)]

    def test_the_excel_export_holds_the_filtered_rows(self, client, clerk_a, my_rep, other_rep, rep_b):
        from openpyxl import load_workbook

        client.force_login(clerk_a)
        response = client.get(reverse("reps:duty"), {"format": "xlsx", "q": "陈"})
        sheet = load_workbook(io.BytesIO(response.content)).active
        names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert names == ["陈志强"]
        assert (
            response["Content-Disposition"]
            == "attachment; filename*=UTF-8''%E5%B1%A5%E8%81%8C%E6%83%85%E5%86%B5.xlsx"
        )  # 履职情况.xlsx

    def test_the_network_counts_the_four_tiers(
        self, client, clerk_a, committee_member, my_contacts, other_rep
    ):
        client.force_login(clerk_a)
        response = client.get(reverse("reps:network"))
        assert response.context["tiers"] == {"members": 1, "reps": 2, "party_members": 0, "residents": 3}
        assert response.context["short"]  # nobody has five contacts
        drill = client.get(reverse("reps:network"), {"member": committee_member.pk}).context["drill"]
        assert [r.name for r in drill] == ["陈志强"]

    def test_seed_000s_network_is_representable(self, client, liaison_office, county, township_a, village_a):
        """15 committee members → 174 reps → 2,916 party members, shown as such."""
        from liaison.roles import Role
        from reps.models import CommitteeLink, Contact, ContactLink
        from tests.factories import user_with_role

        members = [user_with_role(Role.COMMITTEE_MEMBER, region=township_a) for _ in range(15)]
        reps = [active_rep(township_a) for _ in range(174)]
        CommitteeLink.objects.bulk_create(
            CommitteeLink(member=members[i % 15], representative=rep) for i, rep in enumerate(reps)
        )
        contacts = Contact.objects.bulk_create(
            Contact(name=f"党员{i}", kind="party_member", village=village_a) for i in range(2916)
        )
        ContactLink.objects.bulk_create(
            ContactLink(representative=reps[i % 174], contact=c, since=datetime.date(2024, 1, 1))
            for i, c in enumerate(contacts)
        )
        client.force_login(liaison_office)
        tiers = client.get(reverse("reps:network")).context["tiers"]
        assert (tiers["members"], tiers["reps"], tiers["party_members"]) == (15, 174, 2916)


@pytest.mark.parametrize("size", [10, 1000])
def test_the_duty_page_runs_the_same_queries_for_10_and_1000_reps(
    client, clerk_a, township_a, village_a, size, django_assert_num_queries
):
    from reps.models import Mandate

    reps = Representative.objects.bulk_create(
        Representative(name=f"代表{i}", name_initials=f"db{i}", region=township_a) for i in range(size)
    )
    Mandate.objects.bulk_create(
        Mandate(
            representative=r,
            level="county",
            congress="十五",
            term_start=datetime.date(2024, 1, 1),
            term_end=datetime.date(2028, 12, 31),
        )
        for r in reps
    )
    contact = ContactFactory(village=village_a)
    ContactLink.objects.bulk_create(
        ContactLink(representative=r, contact=contact, since=datetime.date(2024, 1, 1)) for r in reps
    )
    visit(reps[0], [contact], datetime.date(2026, 3, 1), recorded_by=clerk_a)
    client.force_login(clerk_a)
    # 17 for the page (2 of them the suggestions quota), 1 for the header's unread-notification badge
    with django_assert_num_queries(18):
        response = client.get(reverse("reps:duty"))
    assert response.status_code == 200
    shown = re.findall(r"<td><a href=\"[^\"]+\">(代表\d+)</a>", response.content.decode())
    assert len(shown) == len(set(shown)) == min(size, 50)  # one row per rep, a page of 50


class TestAdmin:
    def test_the_reps_admin_is_scoped(self, client, clerk_a, my_rep, rep_b):
        client.force_login(clerk_a)
        page = client.get(reverse("admin:reps_representative_changelist")).content.decode()
        assert "陈志强" in page and "吴勇" not in page and "河口镇" not in page
        assert client.get(reverse("admin:reps_representative_change", args=[rep_b.pk])).status_code == 404
        contact_b = Contact.objects.get(name="河口联系人")
        assert client.get(reverse("admin:reps_contact_change", args=[contact_b.pk])).status_code == 404

    def test_the_same_person_twice_is_refused_with_a_link(self, client, clerk_a, my_rep, township_a):
        client.force_login(clerk_a)
        data = {
            "name": my_rep.name,
            "region": township_a.pk,
            "phone": my_rep.phone,
            "gender": "",
            "mandates-TOTAL_FORMS": "0",
            "mandates-INITIAL_FORMS": "0",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        }
        response = client.post(reverse("admin:reps_representative_add"), data)
        page = response.content.decode()
        assert response.status_code == 200
        assert reverse("admin:reps_representative_change", args=[my_rep.pk]) in page
        assert Representative.objects.filter(name=my_rep.name).count() == 1

    def test_a_rep_cannot_use_the_admin(self, client, rep_a, my_rep):
        client.force_login(rep_a)
        assert client.get(reverse("admin:reps_contact_changelist"), follow=True).status_code == 403

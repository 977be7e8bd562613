"""A group's leader or liaison files its written report through the system (seed 000: 15 days
before the group's own congress's annual meeting); staff see who filed and who is missing; the
reminders stop once a group has filed."""

import datetime
import io
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from liaison.idempotency import ALREADY_SAVED, new_token
from liaison.models import AnnualMeeting, AuditEvent, Notification
from liaison.roles import Role
from reps import reminders
from reps.models import Group, GroupMembership, GroupReport
from reps.services import group_report_file
from tests.factories import active_rep, user_with_role
from tests.helpers import refusal
from tests.proposals.public_helpers import pdf_bytes
from tests.twice import messages_of, page_token

D = datetime.date
MEETING = D(2026, 12, 10)  # the township's annual meeting: the report is due on 2026-11-25
BEFORE_DUE = datetime.datetime(2026, 11, 15, 2, tzinfo=datetime.UTC)  # 10:00 in Shanghai
AFTER_DUE = datetime.datetime(2026, 11, 28, 2, tzinfo=datetime.UTC)


def at(day: datetime.date, hour: int = 8) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=reminders.SHANGHAI)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def group(county, township_a, my_rep):
    group = Group.objects.create(name="城关镇第一组", level="township", region=township_a, leader=my_rep)
    GroupMembership.objects.create(group=group, representative=my_rep)
    AnnualMeeting.objects.create(county=county, township=township_a, year=2026, date=MEETING)
    return group


@pytest.fixture
def as_leader(client, rep_a, group):
    client.force_login(rep_a)
    return client


def url(group) -> str:
    return reverse("reps:group_report", args=[group.pk])


def post(client, group, *, token=None, file=None, **fields):
    data = {"text": "本组全年接待群众120人次,收集建议15条。", "token": token or new_token(), **fields}
    if file is not None:
        data["file"] = file
    return client.post(url(group), data)


def form_errors(response) -> dict:
    with translation.override("en"):
        return {field: list(errors) for field, errors in response.context["form"].errors.items()}


class TestFiling:
    def test_the_leader_files_the_report_for_the_groups_own_meeting(self, as_leader, group, rep_a):
        with time_machine.travel(BEFORE_DUE, tick=False):
            response = post(as_leader, group)
        assert response.status_code == 302 and response["Location"] == url(group)
        report = GroupReport.objects.get()
        assert (report.group, report.year, report.due_on, report.submitted_on) == (
            group,
            2026,
            D(2026, 11, 25),
            D(2026, 11, 15),
        )
        assert report.submitted_by == rep_a and not report.late
        assert AuditEvent.objects.filter(verb="group_report.filed").count() == 1

    def test_the_liaison_files_it_too(self, client, group, township_a):
        liaison = user_with_role(Role.REPRESENTATIVE, region=township_a, username="lianluo")
        group.liaison = active_rep(township_a, user=liaison, name="联络员")
        group.save(update_fields=["liaison"])
        client.force_login(liaison)
        with time_machine.travel(BEFORE_DUE, tick=False):
            assert post(client, group).status_code == 302
        assert GroupReport.objects.get().submitted_by == liaison

    def test_the_same_form_sent_twice_files_one_report(self, as_leader, group):
        with time_machine.travel(BEFORE_DUE, tick=False):
            token = page_token(as_leader.get(url(group)))
            first, second = post(as_leader, group, token=token), post(as_leader, group, token=token)
        assert first.status_code == second.status_code == 302
        assert messages_of(second)[-1] == str(ALREADY_SAVED)
        assert GroupReport.objects.count() == 1

    def test_a_second_filing_before_the_due_day_changes_the_one_report(self, as_leader, group):
        with time_machine.travel(BEFORE_DUE, tick=False):
            post(as_leader, group)
            post(as_leader, group, text="修改后的报告")
        assert list(GroupReport.objects.values_list("text", flat=True)) == ["修改后的报告"]
        assert AuditEvent.objects.filter(verb="group_report.changed").count() == 1

    def test_after_the_due_day_a_filed_report_can_no_longer_be_changed(self, as_leader, group, my_rep, rep_a):
        with time_machine.travel(BEFORE_DUE, tick=False):
            post(as_leader, group)
        with time_machine.travel(AFTER_DUE, tick=False):
            page = as_leader.get(url(group)).content.decode()
            assert 'class="group-report-form"' not in page
            post(as_leader, group, text="迟到的修改")
            with translation.override("en"), pytest.raises(ValidationError) as caught:
                group_report_file(actor=rep_a, representative=my_rep, group=group, text="迟到的修改")
        assert refusal(caught.value) == ["The report was due on 2026-11-25: it can no longer be changed."]
        assert GroupReport.objects.get().text == "本组全年接待群众120人次,收集建议15条。"

    def test_a_group_that_did_not_file_by_the_due_day_may_still_file_marked_late(self, as_leader, group):
        with time_machine.travel(AFTER_DUE, tick=False):
            assert post(as_leader, group).status_code == 302
        assert GroupReport.objects.get().late

    def test_a_pdf_is_kept_under_a_random_name(self, as_leader, group):
        with time_machine.travel(BEFORE_DUE, tick=False):
            post(as_leader, group, text="", file=SimpleUploadedFile("小组报告.pdf", pdf_bytes()))
        report = GroupReport.objects.get()
        assert (report.file_name, report.content_type) == ("小组报告.pdf", "application/pdf")
        assert report.file.name.startswith("reps/group-reports/") and "小组报告" not in report.file.name

    def test_a_word_file_is_refused_by_its_bytes_and_the_text_is_kept(self, as_leader, group):
        docx = SimpleUploadedFile("报告.pdf", b"PK\x03\x04 word", content_type="application/pdf")
        with time_machine.travel(BEFORE_DUE, tick=False):
            response = post(as_leader, group, text="我写的报告全文", file=docx)
        errors = response.context["form"].errors.as_data()
        assert list(errors) == ["file"] and errors["file"][0].code == "bad_type"
        assert "我写的报告全文" in response.content.decode()  # nothing typed is lost
        assert not GroupReport.objects.exists()

    def test_a_file_over_the_limit_is_refused(self, as_leader, group):
        big = SimpleUploadedFile("大.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024))
        with time_machine.travel(BEFORE_DUE, tick=False):
            errors = post(as_leader, group, file=big).context["form"].errors.as_data()
        assert list(errors) == ["file"] and errors["file"][0].code == "too_large"
        assert not GroupReport.objects.exists()

    def test_a_report_needs_the_text_or_the_file(self, as_leader, group):
        with time_machine.travel(BEFORE_DUE, tick=False):
            response = post(as_leader, group, text="   ")
        assert form_errors(response) == {"file": ["Attach the report, or write it here."]}
        assert not GroupReport.objects.exists()

    def test_without_a_meeting_of_its_own_there_is_nothing_to_file_for(self, as_leader, group, my_rep, rep_a):
        AnnualMeeting.objects.all().delete()
        with time_machine.travel(BEFORE_DUE, tick=False):
            assert 'class="alert alert-secondary no-meeting"' in as_leader.get(url(group)).content.decode()
            assert post(as_leader, group).status_code == 200
            with translation.override("en"), pytest.raises(ValidationError) as caught:
                group_report_file(actor=rep_a, representative=my_rep, group=group, text="报告")
        assert caught.value.code == "no_meeting"
        assert not GroupReport.objects.exists()

    def test_another_groups_token_does_not_return_its_report(self, group, my_rep, rep_a, county, township_a):
        other = Group.objects.create(name="城关镇第二组", level="township", region=township_a, leader=my_rep)
        with time_machine.travel(BEFORE_DUE, tick=False):
            group_report_file(
                actor=rep_a, representative=my_rep, group=other, text="二组", submission_token="a" * 24
            )
            with translation.override("en"), pytest.raises(ValidationError) as caught:
                group_report_file(
                    actor=rep_a, representative=my_rep, group=group, text="一组", submission_token="a" * 24
                )
        assert refusal(caught.value) == ["This form has expired. Check what you wrote and send it again."]
        assert GroupReport.objects.filter(group=group).count() == 0


class TestWhoMayFile:
    def test_a_member_who_is_neither_leader_nor_liaison_gets_404(self, client, group, other_rep, township_a):
        login = user_with_role(Role.REPRESENTATIVE, region=township_a, username="member")
        other_rep.user = login
        other_rep.save(update_fields=["user"])
        GroupMembership.objects.create(group=group, representative=other_rep)
        client.force_login(login)
        with time_machine.travel(BEFORE_DUE, tick=False):
            assert client.get(url(group)).status_code == 404
            assert post(client, group).status_code == 404
        assert not GroupReport.objects.exists()

    def test_a_leader_of_another_townships_group_cannot_open_this_one_by_its_id(
        self, client, group, county, township_b
    ):
        login = user_with_role(Role.REPRESENTATIVE, region=township_b, username="hekou")
        theirs = active_rep(township_b, user=login, name="河口组长")
        Group.objects.create(name="河口镇第一组", level="township", region=township_b, leader=theirs)
        client.force_login(login)
        with time_machine.travel(BEFORE_DUE, tick=False):
            assert post(client, group).status_code == 404
        assert not GroupReport.objects.exists()

    @pytest.mark.parametrize("persona", ["clerk_a", "liaison_office"])
    def test_staff_do_not_file_for_the_group(self, client, group, persona, request):
        client.force_login(request.getfixturevalue(persona))
        assert client.get(url(group)).status_code == 403

    def test_the_reps_page_links_to_the_groups_report(self, as_leader, group):
        page = as_leader.get(reverse("reps:me")).content.decode()
        assert f'href="{url(group)}"' in page


class TestRemindersStop:
    def test_the_group_is_reminded_until_it_files_and_then_no_more(self, group, my_rep, rep_a):
        send = reminders.group_report_send_due
        assert send(now=at(D(2026, 11, 10))) == 1  # 30 days before the meeting: not filed
        with time_machine.travel(BEFORE_DUE, tick=False):
            group_report_file(actor=rep_a, representative=my_rep, group=group, text="报告")
        assert send(now=at(D(2026, 11, 20))) == 0  # the 20-day reminder is no longer owed
        assert set(Notification.objects.values_list("reminder__period", flat=True)) == {"2026-D-30"}

    def test_a_report_for_last_years_meeting_does_not_stop_this_years_reminder(self, group):
        GroupReport.objects.create(
            group=group, year=2025, due_on=D(2025, 11, 25), submitted_on=D(2025, 11, 1)
        )
        assert reminders.group_report_send_due(now=at(D(2026, 11, 20))) == 1

    def test_the_reminder_links_to_the_filing_page(self, group):
        from liaison import notify

        reminders.group_report_send_due(now=at(D(2026, 11, 10)))
        (message,) = notify.render_messages(list(Notification.objects.all()))
        assert message.url == url(group)


@pytest.fixture
def groups_of_county(county, township_a, township_b, group, my_rep):
    """The township group (filed), a county group (missing), a township B group (no meeting)."""
    county_group = Group.objects.create(name="县第一组", level="county", region=county, leader=my_rep)
    AnnualMeeting.objects.create(county=county, year=2026, date=D(2026, 11, 30))  # due 2026-11-15
    b_group = Group.objects.create(name="河口镇第一组", level="township", region=township_b)
    GroupReport.objects.create(
        group=group, year=2026, due_on=D(2026, 11, 25), submitted_on=D(2026, 11, 20), text="一组报告"
    )
    return group, county_group, b_group


ROW = re.compile(r'<tr class="group-row status-(\w+)">\s*<td>([^<]+)<')


def rows(response) -> dict[str, str]:
    """Each group row's name and status, read from the page."""
    page = response.content.decode()
    found = {name: status for status, name in ROW.findall(page)}
    assert len(found) == page.count('class="group-row ')
    return found


class TestStaffList:
    def test_the_office_sees_every_group_with_its_status(self, client, liaison_office, groups_of_county):
        client.force_login(liaison_office)
        with time_machine.travel(AFTER_DUE, tick=False):
            response = client.get(reverse("reps:group_reports"), {"year": 2026})
        assert rows(response) == {
            "城关镇第一组": "filed",
            "县第一组": "missing",
            "河口镇第一组": "no_meeting",
        }

    def test_before_the_due_day_a_group_is_not_yet_missing(self, client, liaison_office, groups_of_county):
        client.force_login(liaison_office)
        with time_machine.travel(datetime.datetime(2026, 11, 10, 2, tzinfo=datetime.UTC), tick=False):
            response = client.get(reverse("reps:group_reports"), {"year": 2026, "status": "pending"})
        assert rows(response) == {"县第一组": "pending"}

    def test_missing_only(self, client, liaison_office, groups_of_county):
        client.force_login(liaison_office)
        with time_machine.travel(AFTER_DUE, tick=False):
            response = client.get(reverse("reps:group_reports"), {"year": 2026, "status": "missing"})
        assert rows(response) == {"县第一组": "missing"}

    def test_township_staff_see_their_townships_groups_only(self, client, clerk_a, clerk_b, groups_of_county):
        client.force_login(clerk_a)
        with time_machine.travel(AFTER_DUE, tick=False):
            assert rows(client.get(reverse("reps:group_reports"), {"year": 2026})) == {
                "城关镇第一组": "filed"
            }
            client.force_login(clerk_b)
            assert rows(client.get(reverse("reps:group_reports"), {"year": 2026})) == {
                "河口镇第一组": "no_meeting"
            }

    def test_search_by_group_or_leader(self, client, liaison_office, groups_of_county):
        client.force_login(liaison_office)
        with time_machine.travel(AFTER_DUE, tick=False):
            response = client.get(reverse("reps:group_reports"), {"year": 2026, "q": "陈志强"})
        assert set(rows(response)) == {"城关镇第一组", "县第一组"}

    @pytest.mark.parametrize("persona", ["rep_a", "unit_staff", "committee_member"])
    def test_others_are_refused(self, client, persona, request, groups_of_county):
        client.force_login(request.getfixturevalue(persona))
        assert client.get(reverse("reps:group_reports")).status_code == 403

    def test_the_file_opens_for_staff_in_scope_only(self, client, clerk_a, clerk_b, groups_of_county):
        report = GroupReport.objects.get()
        report.file.save("r.pdf", SimpleUploadedFile("r.pdf", pdf_bytes()), save=True)
        file_url = reverse("reps:group_report_file", args=[report.pk])
        client.force_login(clerk_a)
        assert client.get(file_url).status_code == 200
        client.force_login(clerk_b)
        assert client.get(file_url).status_code == 404

    def test_the_excel_export_writes_text_cells(self, client, liaison_office, groups_of_county):
        from openpyxl import load_workbook

        Group.objects.filter(name="县第一组").update(name="=HYPERLINK(1)")
        client.force_login(liaison_office)
        with time_machine.travel(AFTER_DUE, tick=False):
            response = client.get(reverse("reps:group_reports"), {"year": 2026, "format": "xlsx"})
        sheet = load_workbook(io.BytesIO(response.content)).active
        values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
        names = {row[0]: row for row in values}
        assert names["=HYPERLINK(1)"][0] == "=HYPERLINK(1)"
        assert {cell.data_type for cell in sheet["A"][1:]} == {"s"}
        assert names["城关镇第一组"][4:7] == ["2026-12-10", "2026-11-25", "2026-11-20"]
        assert len(values) == 3

    @pytest.mark.parametrize("n", [3, 30])
    def test_the_list_costs_the_same_queries_for_3_and_30_groups(
        self, client, liaison_office, county, township_a, n, django_assert_num_queries
    ):
        AnnualMeeting.objects.create(county=county, year=2026, date=D(2026, 12, 20))
        for i in range(n):
            leader = active_rep(township_a, name=f"组长{i}")
            made = Group.objects.create(name=f"县第{i}组", level="county", region=county, leader=leader)
            if i % 2:
                GroupReport.objects.create(
                    group=made, year=2026, due_on=D(2026, 12, 5), submitted_on=D(2026, 11, 1), text="报告"
                )
        client.force_login(liaison_office)
        client.get(reverse("reps:group_reports"))  # the session and the user's roles, loaded once
        with time_machine.travel(BEFORE_DUE, tick=False), django_assert_num_queries(6):
            response = client.get(reverse("reps:group_reports"), {"year": 2026})
        assert response.content.decode().count('class="group-row ') == n


def test_the_duty_record_lists_the_groups_reports(client, clerk_a, group, my_rep):
    GroupReport.objects.create(group=group, year=2026, due_on=D(2026, 11, 25), submitted_on=D(2026, 11, 20))
    client.force_login(clerk_a)
    page = client.get(reverse("reps:record", args=[my_rep.pk]), {"year": 2026}).content.decode()
    assert 'id="record-group_reports"' in page and "data-group-report=" in page

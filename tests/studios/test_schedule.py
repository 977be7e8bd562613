"""The public duty schedule (/schedule/) and its iCalendar feeds: for anyone, nothing private."""

import datetime
import zoneinfo

import icalendar
import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from liaison.navigation import items_for
from reps.models import Mandate, Representative
from studios import rosters, services
from studios.models import (
    DutySlot,
    RosterPeriod,
    RosterRule,
    SlotAssignment,
    Studio,
    StudioAssignment,
)
from tests.factories import RuleFactory, StudioFactory, TownshipFactory, active_rep

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TODAY = datetime.date(2026, 6, 10)  # a Wednesday; duties fall on Saturdays
PUBLIC_PHONE = "13887654321"
PRIVATE_PHONE = "13912345678"
STUDIO_PHONE = "0513-88110000"
CHANGE_REASON = "陈代表外出培训，改由王代表值班"


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(datetime.datetime(2026, 6, 10, 10, 0, tzinfo=SHANGHAI), tick=False):
        yield


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def saturdays(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    return [start + days(i) for i in range((end - start).days + 1) if (start + days(i)).weekday() == 5]


def roster(actor, studios, start: datetime.date, end: datetime.date, *, publish: bool = True):
    """Generate the studios' slots for ``start``–``end`` with the real generator; publish them."""
    report = rosters.generate(
        actor=actor, studios=Studio.objects.filter(pk__in=[s.pk for s in studios]), start=start, end=end
    )
    assert not report.problems
    if publish:
        for period in report.written:
            services.period_publish(actor=actor, period=period)
    return report


def html(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def shown_slots(client, **params) -> list[DutySlot]:
    response = client.get(reverse("schedule:index"), params)
    assert response.status_code == 200
    return list(response.context["page"].object_list)


def feed(client, url: str) -> icalendar.Calendar:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


def unfolded(response) -> str:
    """The feed's text with its long lines unfolded (RFC 5545 3.1), so a phone is never split."""
    assert response.status_code == 200
    return response.content.decode().replace("\r\n ", "")


def events(cal: icalendar.Calendar) -> list:
    return list(cal.walk("VEVENT"))


@pytest.fixture
def reps(township_a):
    """Three reps of 城关镇: one published their phone, the others did not."""
    return [
        active_rep(township_a, name="王建国", phone=PUBLIC_PHONE, phone_public=True),
        active_rep(township_a, name="陈志强", phone=PRIVATE_PHONE),
        active_rep(township_a, name="李秀英", phone="13700001111"),
    ]


@pytest.fixture
def studio_a(township_a, reps):
    studio = StudioFactory(
        region=township_a, name="城关镇党代表工作室", address="城关镇人民路1号", phone=STUDIO_PHONE
    )
    RuleFactory(studio=studio, kind="regular", weekday=5, theme="")
    for rep in reps:
        StudioAssignment.objects.create(studio=studio, representative=rep, start=datetime.date(2024, 1, 1))
    return studio


@pytest.fixture
def studio_b(township_b):
    studio = StudioFactory(region=township_b, name="河口镇党代表工作室", address="河口镇滨河路8号")
    RuleFactory(studio=studio)
    for name in ("吴勇", "赵敏"):
        rep = active_rep(township_b, name=name)
        StudioAssignment.objects.create(studio=studio, representative=rep, start=datetime.date(2024, 1, 1))
    return studio


@pytest.fixture
def published_a(studio_a, liaison_office):
    """Four weeks of Saturdays at studio A, published."""
    roster(liaison_office, [studio_a], TODAY, TODAY + days(27))
    return DutySlot.objects.filter(studio=studio_a).order_by("starts_at")


# --- the page -------------------------------------------------------------------------------


def test_the_schedule_is_in_the_public_navigation(db):
    assert "schedule:index" in [item["url_name"] for item in items_for(AnonymousUser())]


def test_it_shows_published_duties_to_anyone_and_not_drafts(client, published_a, studio_b, liaison_office):
    roster(liaison_office, [studio_b], TODAY, TODAY + days(27), publish=False)
    assert DutySlot.objects.filter(studio=studio_b).exists()

    slots = shown_slots(client)
    # The coming 14 days from Wednesday 10 June: Saturdays 13 and 20 June.
    assert [s.date for s in slots] == [datetime.date(2026, 6, 13), datetime.date(2026, 6, 20)]
    assert {s.studio_id for s in slots} == {published_a[0].studio_id}
    page = html(client, reverse("schedule:index"))
    assert "城关镇党代表工作室" in page
    assert "城关镇人民路1号" in page
    assert STUDIO_PHONE in page
    assert "河口镇滨河路8号" not in page


def test_each_duty_shows_who_when_and_where(client, published_a):
    first = published_a[0]
    names = [a.representative.name for a in first.assignments.select_related("representative")]
    with translation.override("zh-hans"):
        page = html(client, reverse("schedule:index"))
        regular = gettext("Regular duty")
    assert "09:00–11:30" in page
    assert "星期六" in page
    assert "2026年6月13日" in page
    assert names[0] in page
    assert regular != "Regular duty" and regular in page  # translated, and shown


def test_a_changed_duty_is_marked_and_shows_the_newest_reason(client, published_a, reps, liaison_office):
    slot = published_a[0]
    services.slot_change(
        actor=liaison_office,
        slot=slot,
        expected_version=slot.version,
        representatives=[reps[1]],
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        reason="第一次调整",
    )
    slot.refresh_from_db()
    services.slot_change(
        actor=liaison_office,
        slot=slot,
        expected_version=slot.version,
        representatives=[reps[0]],
        starts_at=slot.starts_at + datetime.timedelta(hours=1),
        ends_at=slot.ends_at + datetime.timedelta(hours=1),
        reason=CHANGE_REASON,
    )
    page = html(client, reverse("schedule:index"))
    with translation.override("zh-hans"):
        adjusted = gettext("Adjusted")
    assert page.count("slot-changed") == 1
    assert page.count(f">{adjusted}</span>") == 1
    assert CHANGE_REASON in page
    assert "第一次调整" not in page
    assert "10:00–12:30" in page
    changed = next(s for s in shown_slots(client) if s.pk == slot.pk)
    assert changed.rep_names == ["王建国"]


def test_a_duty_changed_before_publication_is_not_marked(client, studio_a, reps, liaison_office):
    report = roster(liaison_office, [studio_a], TODAY, TODAY + days(13), publish=False)
    slot = DutySlot.objects.filter(studio=studio_a).first()
    services.slot_change(
        actor=liaison_office,
        slot=slot,
        expected_version=slot.version,
        representatives=[reps[2]],
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
    )
    services.period_publish(actor=liaison_office, period=report.written[0])
    assert "slot-changed" not in html(client, reverse("schedule:index"))


def test_no_representative_phone_appears_anywhere(client, published_a, reps, studio_a):
    assert Representative.objects.get(phone=PUBLIC_PHONE).phone_public
    pages = [
        html(client, reverse("schedule:index")),
        html(client, reverse("schedule:studio", args=[studio_a.pk])),
        unfolded(client.get(reverse("schedule:studio_ics", args=[studio_a.pk]))),
        *[unfolded(client.get(reverse("schedule:rep_ics", args=[rep.pk]))) for rep in reps],
    ]
    phones = list(Representative.objects.values_list("phone", flat=True))
    assert PUBLIC_PHONE in phones and PRIVATE_PHONE in phones
    for text in pages:
        assert STUDIO_PHONE in text
        for phone in phones:
            assert phone not in text


def test_whoever_stood_in_is_shown_instead_of_the_rep_they_replaced(
    client, published_a, reps, liaison_office
):
    slot = published_a[0]
    assignment = slot.assignments.get()
    substitute = next(r for r in reps if r.pk != assignment.representative_id)
    services.attendance_mark(
        actor=liaison_office,
        assignment=assignment,
        expected=assignment.attendance,
        attendance=SlotAssignment.Attendance.SUBSTITUTED,
        substitute=substitute,
    )
    shown = next(s for s in shown_slots(client) if s.pk == slot.pk)
    assert shown.rep_names == [substitute.name]
    # Attendance itself is private: no "absent", "attended", "substituted" wording on the page.
    page = html(client, reverse("schedule:index"))
    with translation.override("zh-hans"):
        for label in SlotAssignment.Attendance.labels:
            assert str(label) not in page


def test_a_closed_studio_is_not_shown(client, published_a, studio_a):
    Studio.objects.filter(pk=studio_a.pk).update(is_active=False)
    assert shown_slots(client) == []


def test_the_week_navigation_moves_by_seven_days(client, published_a):
    assert [s.date for s in shown_slots(client, **{"from": "2026-06-17"})] == [
        datetime.date(2026, 6, 20),
        datetime.date(2026, 6, 27),
    ]
    page = html(client, reverse("schedule:index"), **{"from": "2026-06-17"})
    assert "from=2026-06-24" in page and "from=2026-06-10" in page
    # A date that is not one falls back to today.
    assert [s.date for s in shown_slots(client, **{"from": "2026-02-30"})][0] == datetime.date(2026, 6, 13)
    assert [s.date for s in shown_slots(client, **{"from": "0001-01-01"})][0] == datetime.date(2026, 6, 13)


def test_it_filters_by_township_and_studio(
    client, published_a, studio_a, studio_b, township_b, liaison_office
):
    roster(liaison_office, [studio_b], TODAY, TODAY + days(27))
    assert {s.studio_id for s in shown_slots(client)} == {studio_a.pk, studio_b.pk}
    assert {s.studio_id for s in shown_slots(client, township=township_b.pk)} == {studio_b.pk}
    assert {s.studio_id for s in shown_slots(client, studio=studio_a.pk)} == {studio_a.pk}
    # An unknown township or studio matches nothing, rather than everything.
    assert shown_slots(client, township=999999) == []
    assert shown_slots(client, studio=999999) == []
    # A studio left selected while picking another township: the township wins.
    assert {s.studio_id for s in shown_slots(client, township=township_b.pk, studio=studio_a.pk)} == {
        studio_b.pk
    }


def test_the_studio_page_shows_its_duties_reps_and_how_to_subscribe(client, published_a, studio_a, reps):
    page = html(client, reverse("schedule:studio", args=[studio_a.pk]))
    assert "城关镇人民路1号" in page and STUDIO_PHONE in page
    assert f"webcal://testserver/schedule/studio/{studio_a.pk}.ics" in page
    assert f"http://testserver/schedule/studio/{studio_a.pk}.ics" in page
    for rep in reps:
        assert reverse("schedule:rep_ics", args=[rep.pk]) in page
    response = client.get(reverse("schedule:studio", args=[studio_a.pk]))
    assert len(response.context["page"].object_list) == 2


def test_an_unknown_or_closed_studio_is_not_found(client, studio_a):
    assert client.get(reverse("schedule:studio", args=[999999])).status_code == 404
    assert client.get(reverse("schedule:studio_ics", args=[999999])).status_code == 404
    Studio.objects.filter(pk=studio_a.pk).update(is_active=False)
    assert client.get(reverse("schedule:studio", args=[studio_a.pk])).status_code == 404
    assert client.get(reverse("schedule:studio_ics", args=[studio_a.pk])).status_code == 404


# --- the iCalendar feeds --------------------------------------------------------------------


@pytest.fixture
def long_roster(studio_a, liaison_office):
    """Studio A: a published period from 45 days ago to 4 weeks ahead, and a later draft."""
    roster(liaison_office, [studio_a], TODAY - days(45), TODAY + days(27))
    roster(liaison_office, [studio_a], TODAY + days(28), TODAY + days(55), publish=False)
    return studio_a


def test_the_studio_feed_has_one_event_per_published_duty_in_the_window(client, long_roster):
    cal = feed(client, reverse("schedule:studio_ics", args=[long_roster.pk]))
    expected = saturdays(TODAY - days(30), TODAY + days(27))
    found = events(cal)
    assert len(found) == len(expected)
    published = DutySlot.objects.published().filter(date__gte=TODAY - days(30))
    assert sorted(str(e["UID"]) for e in found) == sorted(
        f"slot-{pk}@liaison" for pk in published.values_list("pk", flat=True)
    )
    starts = sorted(e.decoded("DTSTART").astimezone(SHANGHAI) for e in found)
    assert [s.date() for s in starts] == expected
    assert {(s.hour, s.minute) for s in starts} == {(9, 0)}
    assert {(e.decoded("DTEND").astimezone(SHANGHAI).hour, e.decoded("DTEND").minute) for e in found} == {
        (11, 30)
    }
    first = found[0]
    with translation.override("zh-hans"):
        assert str(first["SUMMARY"]) == gettext("Party representatives on duty: %(studio)s") % {
            "studio": "城关镇党代表工作室"
        }
    assert str(first["LOCATION"]) == "城关镇人民路1号"
    slot = DutySlot.objects.get(pk=int(str(first["UID"]).split("-")[1].split("@")[0]))
    assert slot.assignments.get().representative.name in str(first["DESCRIPTION"])
    assert first.decoded("SEQUENCE") == 0


def test_a_changed_duty_carries_its_version_and_reason_in_the_feed(client, published_a, reps, liaison_office):
    slot = published_a[1]
    services.slot_change(
        actor=liaison_office,
        slot=slot,
        expected_version=slot.version,
        representatives=[reps[0], reps[1]],
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        theme="老旧小区加装电梯",
        reason=CHANGE_REASON,
    )
    slot.refresh_from_db()
    assert slot.version == 2
    cal = feed(client, reverse("schedule:studio_ics", args=[slot.studio_id]))
    event = next(e for e in events(cal) if str(e["UID"]) == f"slot-{slot.pk}@liaison")
    assert event.decoded("SEQUENCE") == 2
    description = str(event["DESCRIPTION"])
    assert "王建国" in description and "陈志强" in description
    assert "老旧小区加装电梯" in description and CHANGE_REASON in description


def test_the_rep_feed_has_their_duties_and_those_they_stood_in_for(client, long_roster, reps, liaison_office):
    window = DutySlot.objects.published().filter(date__gte=TODAY - days(30), date__lte=TODAY + days(400))
    for rep in reps:
        cal = feed(client, reverse("schedule:rep_ics", args=[rep.pk]))
        mine = window.filter(assignments__representative=rep)
        assert sorted(str(e["UID"]) for e in events(cal)) == sorted(f"slot-{s.pk}@liaison" for s in mine)
        assert len(events(cal)) >= 2
    # 王建国 stands in for someone else once: the duty moves from their feed to his.
    assignment = SlotAssignment.objects.filter(slot__in=window).exclude(representative=reps[0]).first()
    services.attendance_mark(
        actor=liaison_office,
        assignment=assignment,
        expected=assignment.attendance,
        attendance=SlotAssignment.Attendance.SUBSTITUTED,
        substitute=reps[0],
    )
    uid = f"slot-{assignment.slot_id}@liaison"
    own = events(feed(client, reverse("schedule:rep_ics", args=[reps[0].pk])))
    replaced = events(feed(client, reverse("schedule:rep_ics", args=[assignment.representative_id])))
    assert uid in [str(e["UID"]) for e in own]
    assert uid not in [str(e["UID"]) for e in replaced]
    assert len(own) == window.filter(assignments__representative=reps[0]).count() + 1


def test_a_rep_out_of_office_has_no_feed(client, published_a, reps):
    assert client.get(reverse("schedule:rep_ics", args=[999999])).status_code == 404
    Mandate.objects.filter(representative=reps[0]).update(
        term_start=datetime.date(2016, 1, 1), term_end=datetime.date(2020, 12, 31)
    )
    assert client.get(reverse("schedule:rep_ics", args=[reps[0].pk])).status_code == 404
    assert client.get(reverse("schedule:rep_ics", args=[reps[1].pk])).status_code == 200


# --- query counts ---------------------------------------------------------------------------


def build_county(county, liaison_office, *, studios: int, start: int = 0) -> None:
    """``studios`` more studios over 5 townships, two reps each, a published week of duties."""
    townships = list(county.children.order_by("pk")) or [
        TownshipFactory(parent=county, name=f"第{i}镇") for i in range(5)
    ]
    new = Studio.objects.bulk_create(
        Studio(
            name=f"党代表工作室{start + i}",
            level=Studio.Level.TOWNSHIP,
            region=townships[i % 5],
            address=f"人民路{start + i}号",
            phone="0513-88110000",
        )
        for i in range(studios)
    )
    reps = Representative.objects.bulk_create(
        Representative(name=f"代表{start}-{i}", region=townships[i % 5], phone=f"138{start * 2 + i:08d}")
        for i in range(studios * 2)
    )
    Mandate.objects.bulk_create(
        Mandate(
            representative=rep,
            level="township",
            congress="第十六次党代会",
            term_start=datetime.date(2024, 1, 1),
            term_end=datetime.date(2028, 12, 31),
        )
        for rep in reps
    )
    StudioAssignment.objects.bulk_create(
        StudioAssignment(studio=studio, representative=rep, start=datetime.date(2024, 1, 1))
        for i, studio in enumerate(new)
        for rep in reps[2 * i : 2 * i + 2]
    )
    RosterRule.objects.bulk_create(
        RosterRule(
            studio=studio,
            kind="regular",
            weekday=5,
            start_time=datetime.time(9),
            end_time=datetime.time(11, 30),
        )
        for studio in new
    )
    report = rosters.generate(
        actor=liaison_office,
        studios=Studio.objects.filter(pk__in=[s.pk for s in new]),
        start=TODAY,
        end=TODAY + days(6),
    )
    assert not report.problems and report.slots == studios
    RosterPeriod.objects.filter(studio__in=new).update(status=RosterPeriod.Status.PUBLISHED)


def count_queries(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_schedule_runs_the_same_queries_for_10_and_500_studios(client, county, liaison_office):
    build_county(county, liaison_office, studios=10)
    township = county.children.order_by("pk").first()
    studio = Studio.objects.order_by("pk").first()
    rep = Representative.objects.order_by("pk").first()
    urls = [
        (reverse("schedule:index"), {}),
        (reverse("schedule:index"), {"township": township.pk}),
        (reverse("schedule:studio", args=[studio.pk]), {}),
        (reverse("schedule:studio_ics", args=[studio.pk]), {}),
        (reverse("schedule:rep_ics", args=[rep.pk]), {}),
    ]
    small = [count_queries(client, url, **params) for url, params in urls]
    assert len(shown_slots(client)) == 10

    build_county(county, liaison_office, studios=490, start=10)
    assert Studio.objects.count() == 500
    large = [count_queries(client, url, **params) for url, params in urls]
    assert len(shown_slots(client)) == 100  # one page
    assert large == small
    # Studios and townships, count and page of slots, their reps, the departments their rules
    # invite: six queries for the list.
    assert small[0] == 6

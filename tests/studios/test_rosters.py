"""The roster generator and the publish / change / attendance flow."""

import calendar
import datetime
import threading
from collections import Counter

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from liaison.roles import Role
from studios import rosters, services
from studios.models import (
    DutySlot,
    Leave,
    RosterPeriod,
    RosterRule,
    SlotAssignment,
    SlotChange,
    Studio,
    StudioAssignment,
)
from tests.factories import (
    MandateFactory,
    RepresentativeFactory,
    RuleFactory,
    studio_with_reps,
    user_with_role,
)
from tests.helpers import refusal, reload

D = datetime.date


def rule(**kwargs) -> RosterRule:
    defaults = {
        "kind": "regular",
        "weekday": 5,
        "start_time": datetime.time(9),
        "end_time": datetime.time(11, 30),
    }
    return RosterRule(**{**defaults, **kwargs})


class TestRuleDates:
    def test_weekly_across_a_month_end(self):
        dates = rosters.rule_dates(rule(weekday=5), D(2026, 1, 25), D(2026, 2, 10))
        assert dates == [D(2026, 1, 31), D(2026, 2, 7)]

    def test_reception_days_skip_days_a_month_lacks(self):
        dates = rosters.rule_dates(
            rule(kind="reception_day", days_of_month="10,30,31"), D(2026, 2, 1), D(2026, 3, 31)
        )
        assert dates == [D(2026, 2, 10), D(2026, 3, 10), D(2026, 3, 30), D(2026, 3, 31)]

    def test_february_29_exists_only_in_leap_years(self):
        r = rule(kind="reception_day", days_of_month="29")
        assert rosters.rule_dates(r, D(2028, 2, 1), D(2028, 2, 29)) == [D(2028, 2, 29)]
        assert rosters.rule_dates(r, D(2026, 2, 1), D(2026, 2, 28)) == []

    def test_concentrated_meetings_fall_on_the_last_sunday_of_each_quarter(self):
        dates = rosters.rule_dates(rule(kind="concentrated", weekday=None), D(2024, 1, 1), D(2024, 12, 31))
        assert dates == [D(2024, 3, 31), D(2024, 6, 30), D(2024, 9, 29), D(2024, 12, 29)]
        assert all(d.weekday() == calendar.SUNDAY for d in dates)
        # 2024-03-31 and 2024-06-30 are the quarter's very last day.
        assert dates[0] == D(2024, 3, 31) and dates[1] == D(2024, 6, 30)

    def test_the_two_readings_of_the_quarters_last_week_differ_when_a_quarter_ends_midweek(self):
        # 2025-12-31 is a Wednesday, 2026's quarters end on Tue, Tue, Wed and Thu: no quarter of
        # 2026 ends on a Sunday, so the readings never agree.
        within = rule(kind="concentrated", weekday=None)
        assert within.quarter_sunday == RosterRule.QuarterSunday.LAST_SUNDAY  # the default
        assert rosters.rule_dates(within, D(2026, 1, 1), D(2026, 12, 31)) == [
            D(2026, 3, 29),
            D(2026, 6, 28),
            D(2026, 9, 27),
            D(2026, 12, 27),
        ]
        last_week = rule(kind="concentrated", weekday=None, quarter_sunday="last_week")
        # Each quarter's Sunday falls after its end: Q4 2025's in 2026's first days, Q3's in the
        # National Day week, and Q4 2026's (2027-01-03) outside the period.
        assert rosters.rule_dates(last_week, D(2026, 1, 1), D(2026, 12, 31)) == [
            D(2026, 1, 4),
            D(2026, 4, 5),
            D(2026, 7, 5),
            D(2026, 10, 4),
        ]
        assert rosters.rule_dates(last_week, D(2027, 1, 1), D(2027, 1, 31)) == [D(2027, 1, 3)]

    def test_the_two_readings_agree_when_the_quarter_ends_on_a_sunday(self):
        # 2028-12-31 is a Sunday: both read it the same. 2028-09-30 is a Saturday (a week less a
        # day apart), and Q2's 2028-06-30 a Friday: its last-week Sunday, 07-02, is in this period.
        within = rule(kind="concentrated", weekday=None)
        last_week = rule(kind="concentrated", weekday=None, quarter_sunday="last_week")
        assert rosters.rule_dates(within, D(2028, 7, 1), D(2029, 1, 31)) == [D(2028, 9, 24), D(2028, 12, 31)]
        assert rosters.rule_dates(last_week, D(2028, 7, 1), D(2029, 1, 31)) == [
            D(2028, 7, 2),
            D(2028, 10, 1),
            D(2028, 12, 31),
        ]

    def test_thematic_meeting_on_the_nth_or_last_weekday(self):
        second_wednesday = rule(kind="thematic", weekday=2, week_of_month=2)
        assert rosters.rule_dates(second_wednesday, D(2026, 1, 1), D(2026, 3, 31)) == [
            D(2026, 1, 14),
            D(2026, 2, 11),
            D(2026, 3, 11),
        ]
        last_friday = rule(kind="thematic", weekday=4, week_of_month=-1)
        assert rosters.rule_dates(last_friday, D(2026, 2, 1), D(2026, 2, 28)) == [D(2026, 2, 27)]
        fifth_monday = rule(kind="thematic", weekday=0, week_of_month=5)
        assert rosters.rule_dates(fifth_monday, D(2026, 2, 1), D(2026, 3, 31)) == [
            D(2026, 3, 30)
        ]  # Feb has four

    def test_a_rule_checks_its_own_fields(self):
        with translation.override("en"):
            with pytest.raises(ValidationError) as refused:
                rule(kind="reception_day", days_of_month="10,32").clean()
            assert refusal(refused.value) == {
                "days_of_month": ["List days between 1 and 31, separated by commas."]
            }
            with pytest.raises(ValidationError) as refused:
                rule(kind="thematic", weekday=2, week_of_month=None).clean()
            assert refusal(refused.value) == {"week_of_month": ["Choose which week of the month."]}


def generate(user, studios, start, end):
    return rosters.generate(actor=user, studios=studios, start=start, end=end)


def slots_per_rep(studio, rule_obj=None):
    rows = SlotAssignment.objects.filter(slot__studio=studio)
    if rule_obj is not None:
        rows = rows.filter(slot__rule=rule_obj)
    return Counter(rows.values_list("representative_id", flat=True))


class TestGenerator:
    def test_a_year_is_fair_within_one_slot_per_rule(self, clerk_a, township_a):
        studio = studio_with_reps(township_a, 4)
        saturday = RuleFactory(studio=studio)
        days = RuleFactory(
            studio=studio, kind="reception_day", weekday=None, days_of_month="10,20", reps_per_slot=2
        )
        report = generate(clerk_a, Studio.objects.all(), D(2027, 1, 1), D(2027, 12, 31))
        assert not report.problems
        assert report.slots == 52 + 24
        for r in (saturday, days):
            counts = slots_per_rep(studio, r)
            assert len(counts) == 4
            assert max(counts.values()) - min(counts.values()) <= 1

    @pytest.mark.parametrize(
        ("reading", "expected"),
        [("last_sunday", [D(2026, 9, 27)]), ("last_week", [D(2026, 7, 5), D(2026, 10, 4)])],
    )
    def test_concentrated_meetings_follow_the_rules_reading(self, clerk_a, township_a, reading, expected):
        studio = studio_with_reps(township_a, 2)
        RuleFactory(
            studio=studio,
            kind="concentrated",
            weekday=None,
            quarter_sunday=reading,
            start_time=datetime.time(8, 30),
            end_time=datetime.time(11, 30),
        )
        report = generate(clerk_a, Studio.objects.all(), D(2026, 7, 1), D(2026, 10, 31))
        assert not report.problems
        slots = DutySlot.objects.filter(studio=studio).order_by("date")
        assert [s.date for s in slots] == expected
        assert {timezone.localtime(s.starts_at).time() for s in slots} == {datetime.time(8, 30)}

    def test_no_rep_is_on_duty_twice_the_same_day(self, clerk_a, township_a):
        studio = studio_with_reps(township_a, 2)
        RuleFactory(studio=studio, weekday=5)
        # 2027-04-10 is a Saturday: both rules fall on it.
        RuleFactory(
            studio=studio,
            kind="reception_day",
            weekday=None,
            days_of_month="10",
            start_time=datetime.time(14),
            end_time=datetime.time(16),
        )
        generate(clerk_a, Studio.objects.all(), D(2027, 4, 1), D(2027, 4, 30))
        on_the_10th = SlotAssignment.objects.filter(slot__date=D(2027, 4, 10)).values_list(
            "representative_id", flat=True
        )
        assert len(on_the_10th) == 2 and len(set(on_the_10th)) == 2

    def test_a_rep_whose_term_ends_mid_period_is_skipped_after_it(self, clerk_a, township_a):
        studio = studio_with_reps(township_a, 2)
        leaving = RepresentativeFactory(region=township_a)
        MandateFactory(representative=leaving, term_start=D(2022, 1, 1), term_end=D(2027, 2, 14))
        StudioAssignment.objects.create(studio=studio, representative=leaving, start=D(2024, 1, 1))
        RuleFactory(studio=studio)
        generate(clerk_a, Studio.objects.all(), D(2027, 1, 1), D(2027, 3, 31))
        theirs = SlotAssignment.objects.filter(representative=leaving).values_list("slot__date", flat=True)
        assert theirs and max(theirs) <= D(2027, 2, 14)
        after = SlotAssignment.objects.filter(slot__date__gt=D(2027, 2, 14)).values_list(
            "representative_id", flat=True
        )
        assert leaving.pk not in set(after)

    def test_reps_on_leave_are_skipped(self, clerk_a, township_a):
        studio = studio_with_reps(township_a, 2)
        away = studio.assignments.first().representative
        Leave.objects.create(representative=away, start=D(2027, 5, 1), end=D(2027, 5, 31))
        RuleFactory(studio=studio)
        generate(clerk_a, Studio.objects.all(), D(2027, 5, 1), D(2027, 5, 31))
        assert not SlotAssignment.objects.filter(representative=away).exists()

    def test_a_rep_at_two_studios_is_not_put_in_two_places_at_once(self, clerk_a, township_a):
        one, two = studio_with_reps(township_a, 1), studio_with_reps(township_a, 1)
        shared = one.assignments.get().representative
        StudioAssignment.objects.create(studio=two, representative=shared, start=D(2024, 1, 1))
        RuleFactory(studio=one), RuleFactory(studio=two)
        report = generate(clerk_a, Studio.objects.all(), D(2027, 6, 1), D(2027, 6, 30))
        assert not report.problems
        dates = SlotAssignment.objects.filter(representative=shared).values_list("slot__date", flat=True)
        assert len(dates) == len(set(dates))

    def test_a_studio_without_enough_reps_is_reported_and_left_empty(self, clerk_a, township_a):
        short = studio_with_reps(township_a, 1, name="人手不足工作室")
        RuleFactory(studio=short, reps_per_slot=2)
        fine = studio_with_reps(township_a, 2)
        RuleFactory(studio=fine)
        report = generate(clerk_a, Studio.objects.all(), D(2027, 1, 1), D(2027, 1, 31))
        assert report.failed_studios == [short]
        assert "人手不足工作室" in str(report.problems[0])
        assert not DutySlot.objects.filter(studio=short).exists()
        assert not RosterPeriod.objects.filter(studio=short).exists()
        assert DutySlot.objects.filter(studio=fine).count() == 5

    def test_regenerating_a_draft_replaces_it_and_a_published_one_is_kept(self, clerk_a, township_a):
        studio = studio_with_reps(township_a, 3)
        RuleFactory(studio=studio)
        generate(clerk_a, Studio.objects.all(), D(2027, 1, 1), D(2027, 3, 31))
        first = set(DutySlot.objects.values_list("date", flat=True))
        generate(clerk_a, Studio.objects.all(), D(2027, 1, 1), D(2027, 3, 31))
        assert set(DutySlot.objects.values_list("date", flat=True)) == first
        assert DutySlot.objects.count() == len(first) and RosterPeriod.objects.count() == 1
        period = RosterPeriod.objects.get()
        services.period_publish(actor=clerk_a, period=period)
        ids = set(DutySlot.objects.values_list("pk", flat=True))
        report = generate(clerk_a, Studio.objects.all(), D(2027, 1, 1), D(2027, 3, 31))
        assert report.skipped_published == [studio]
        assert set(DutySlot.objects.values_list("pk", flat=True)) == ids

    def test_times_are_local_to_shanghai(self, clerk_a, township_a):
        studio = studio_with_reps(township_a, 1)
        RuleFactory(studio=studio, start_time=datetime.time(9), end_time=datetime.time(11, 30))
        generate(clerk_a, Studio.objects.all(), D(2027, 1, 2), D(2027, 1, 2))
        slot = DutySlot.objects.get()
        assert timezone.localtime(slot.starts_at).hour == 9
        assert slot.starts_at.astimezone(datetime.UTC).hour == 1


@pytest.fixture
def published(clerk_a, township_a):
    studio = studio_with_reps(township_a, 3, name="城关镇党代表工作室")
    RuleFactory(studio=studio)
    generate(clerk_a, Studio.objects.all(), D(2027, 1, 1), D(2027, 1, 31))
    period = RosterPeriod.objects.get()
    services.period_publish(actor=clerk_a, period=period)
    return period


def change(actor, slot, *, reason="换人", reps=None, version=None, hours=(9, 11)):
    day = slot.date
    tz = timezone.get_current_timezone()
    return services.slot_change(
        actor=actor,
        slot=slot,
        expected_version=slot.version if version is None else version,
        representatives=reps if reps is not None else list(slot.representatives.all()),
        starts_at=timezone.make_aware(datetime.datetime.combine(day, datetime.time(hours[0])), tz),
        ends_at=timezone.make_aware(datetime.datetime.combine(day, datetime.time(hours[1])), tz),
        reason=reason,
    )


class TestPublishAndChange:
    def test_publishing_twice_is_a_conflict(self, published, clerk_a):
        with pytest.raises(services.Conflict):
            services.period_publish(actor=clerk_a, period=published)

    def test_an_empty_period_cannot_be_published(self, clerk_a, township_a):
        studio = studio_with_reps(township_a, 1)
        period = RosterPeriod.objects.create(studio=studio, start=D(2027, 1, 1), end=D(2027, 1, 31))
        with translation.override("en"), pytest.raises(ValidationError) as refused:
            services.period_publish(actor=clerk_a, period=period)
        assert refusal(refused.value) == ["There is nothing to publish: generate the roster first."]

    def test_a_published_duty_changes_only_with_a_reason(self, published, clerk_a):
        slot = DutySlot.objects.order_by("starts_at").first()
        with pytest.raises(ValidationError, match="reason"):
            change(clerk_a, slot, reason="  ")
        assert not SlotChange.objects.exists() and not reload(slot).is_changed

    def test_a_change_is_recorded_with_before_and_after(self, published, clerk_a):
        slot = DutySlot.objects.order_by("starts_at").first()
        other = (
            StudioAssignment.objects.exclude(representative__in=slot.representatives.all())
            .first()
            .representative
        )
        before = [r.name for r in slot.representatives.all()]
        change(clerk_a, slot, reps=[other], reason="原值班代表出差", hours=(14, 16))
        slot.refresh_from_db()
        record = SlotChange.objects.get()
        assert slot.is_changed and slot.version == 2
        assert (record.reason, record.changed_by) == ("原值班代表出差", clerk_a)
        assert record.before["representatives"] == before and record.after["representatives"] == [other.name]
        assert record.after["starts_at"].endswith("14:00:00+08:00")

    def test_an_overlapping_duty_is_refused_naming_the_clash(self, published, clerk_a):
        first, second = DutySlot.objects.order_by("starts_at")[:2]
        busy = second.representatives.first()
        # Move the first duty onto the second's time with the second's rep.
        tz = timezone.get_current_timezone()
        with pytest.raises(ValidationError) as info:
            services.slot_change(
                actor=clerk_a,
                slot=first,
                expected_version=first.version,
                representatives=[busy],
                starts_at=second.starts_at,
                ends_at=second.ends_at,
                reason="调整",
            )
        message = " ".join(info.value.messages)
        assert busy.name in message and "城关镇党代表工作室" in message
        assert timezone.localtime(second.starts_at, tz).strftime("%Y-%m-%d %H:%M") in message

    def test_two_people_editing_the_same_duty_cannot_both_win(self, published, clerk_a, liaison_office):
        slot = DutySlot.objects.order_by("starts_at").first()
        seen = slot.version
        change(clerk_a, slot, reason="第一次调整", version=seen)
        with pytest.raises(services.Conflict):
            change(liaison_office, reload(slot), reason="第二次调整", version=seen)
        assert list(SlotChange.objects.values_list("reason", flat=True)) == ["第一次调整"]

    def test_staff_of_another_township_may_not_publish_or_change(self, published, clerk_b):
        slot = DutySlot.objects.first()
        with pytest.raises(PermissionDenied):
            change(clerk_b, slot)


class TestAttendance:
    def test_the_rep_marks_their_own_attendance(self, published, township_a):
        assignment = SlotAssignment.objects.first()
        rep = assignment.representative
        rep.user = user_with_role(Role.REPRESENTATIVE, region=township_a)
        rep.save(update_fields=["user"])
        services.attendance_mark(
            actor=rep.user, assignment=assignment, expected="pending", attendance="attended"
        )
        assert reload(assignment).attendance == "attended"

    def test_another_rep_may_not_mark_it(self, published, township_a):
        assignment = SlotAssignment.objects.first()
        stranger = user_with_role(Role.REPRESENTATIVE, region=township_a)
        with pytest.raises(PermissionDenied):
            services.attendance_mark(
                actor=stranger, assignment=assignment, expected="pending", attendance="absent"
            )

    def test_a_substitute_is_required_and_checked(self, published, clerk_a):
        assignment = SlotAssignment.objects.order_by("slot__starts_at").first()
        with translation.override("en"), pytest.raises(ValidationError) as refused:
            services.attendance_mark(
                actor=clerk_a, assignment=assignment, expected="pending", attendance="substituted"
            )
        assert refusal(refused.value) == {"substitute": ["Name the representative who stood in."]}
        other = (
            StudioAssignment.objects.exclude(representative=assignment.representative).first().representative
        )
        services.attendance_mark(
            actor=clerk_a,
            assignment=assignment,
            expected="pending",
            attendance="substituted",
            substitute=other,
        )
        assert reload(assignment).substitute == other

    def test_a_stale_mark_loses(self, published, clerk_a, liaison_office):
        assignment = SlotAssignment.objects.first()
        services.attendance_mark(
            actor=clerk_a, assignment=assignment, expected="pending", attendance="attended"
        )
        with pytest.raises(services.Conflict):
            services.attendance_mark(
                actor=liaison_office, assignment=assignment, expected="pending", attendance="absent"
            )
        assert reload(assignment).attendance == "attended"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_changes_on_postgresql_leave_one_winner(clerk_a, liaison_office, township_a):
    if connection.vendor != "postgresql":
        pytest.fail("this race is checked on PostgreSQL: run it with `make test`")
    studio = studio_with_reps(township_a, 3)
    RuleFactory(studio=studio)
    generate(clerk_a, Studio.objects.all(), D(2027, 1, 1), D(2027, 1, 10))
    services.period_publish(actor=clerk_a, period=RosterPeriod.objects.get())
    slot = DutySlot.objects.order_by("starts_at").first()
    barrier, outcomes = threading.Barrier(2), []

    def attempt(actor, reason):
        from django.db import connections

        try:
            barrier.wait()
            change(actor, reload(slot), reason=reason, version=1)
            outcomes.append("won")
        except services.Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=attempt, args=(a, r)) for a, r in ((clerk_a, "甲"), (liaison_office, "乙"))
    ]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["conflict", "won"]
    assert SlotChange.objects.count() == 1 and reload(slot).version == 2


class TestPages:
    def test_the_roster_pages_are_scoped(self, client, published, clerk_b, clerk_a):
        slot = DutySlot.objects.first()
        client.force_login(clerk_b)
        assert client.get(reverse("studios:period", args=[published.pk])).status_code == 404
        assert client.get(reverse("studios:slot_edit", args=[slot.pk])).status_code == 404
        client.force_login(clerk_a)
        assert client.get(reverse("studios:period", args=[published.pk])).status_code == 200

    def test_a_years_roster_opens_on_this_month(self, client, clerk_a, township_a):
        studio = studio_with_reps(township_a, 3, name="城关镇党代表工作室")
        RuleFactory(studio=studio)
        generate(clerk_a, Studio.objects.all(), D(2027, 1, 1), D(2027, 12, 31))
        period = RosterPeriod.objects.get()
        url = reverse("studios:period", args=[period.pk])
        with time_machine.travel(
            datetime.datetime(2027, 5, 10, 9, tzinfo=timezone.get_current_timezone()), tick=False
        ):
            client.force_login(clerk_a)  # sessions expire: log in at the time travelled to
            shown = client.get(url).context["page"].object_list
            assert {slot.date.month for slot in shown} == {5}
            every = client.get(url, {"month": ""}).context["page"].paginator.count
            assert every == period.slots.count() > len(shown)
        with time_machine.travel(
            datetime.datetime(2028, 2, 1, 9, tzinfo=timezone.get_current_timezone()), tick=False
        ):
            client.force_login(clerk_a)
            assert client.get(url).context["page"].paginator.count == period.slots.count()  # past year: all

    def test_reps_and_units_cannot_manage_rosters(self, client, published, rep_a, unit_staff):
        for user in (rep_a, unit_staff):
            client.force_login(user)
            assert client.get(reverse("studios:rosters")).status_code == 403

    def test_the_officer_manages_only_their_studio(self, client, published, township_a):
        officer = user_with_role(Role.STUDIO_OFFICER, region=township_a)
        client.force_login(officer)
        assert client.get(reverse("studios:period", args=[published.pk])).status_code == 404
        Studio.objects.filter(pk=published.studio_id).update(liaison_officer=officer)
        assert client.get(reverse("studios:period", args=[published.pk])).status_code == 200

    def test_a_change_without_a_reason_is_refused_on_the_page(self, client, published, clerk_a):
        slot = DutySlot.objects.order_by("starts_at").first()
        client.force_login(clerk_a)
        data = {
            "version": slot.version,
            "date": slot.date.isoformat(),
            "start_time": "09:00",
            "end_time": "11:30",
            "representatives": [r.pk for r in slot.representatives.all()],
            "reason": "",
        }
        response = client.post(reverse("studios:slot_edit", args=[slot.pk]), data)
        assert response.status_code == 200 and not SlotChange.objects.exists()
        assert set(response.context["form"].errors) == {"reason"}
        data["reason"] = "代表生病"
        assert client.post(reverse("studios:slot_edit", args=[slot.pk]), data).status_code == 302
        assert SlotChange.objects.get().reason == "代表生病"

    def test_generating_from_the_page(self, client, clerk_a, township_a):
        studio = studio_with_reps(township_a, 2)
        RuleFactory(studio=studio)
        client.force_login(clerk_a)
        response = client.post(reverse("studios:generate"), {"start": "2027-01-01", "end": "2027-01-31"})
        assert response.status_code == 200
        assert DutySlot.objects.filter(studio=studio).count() == 5

    def test_a_generation_longer_than_a_year_is_refused(self, client, clerk_a):
        client.force_login(clerk_a)
        response = client.post(reverse("studios:generate"), {"start": "2027-01-01", "end": "2028-06-30"})
        assert response.status_code == 400

    def test_the_rep_marks_attendance_from_their_duties_page(self, client, published, township_a):
        assignment = SlotAssignment.objects.order_by("slot__starts_at").first()
        rep = assignment.representative
        rep.user = user_with_role(Role.REPRESENTATIVE, region=township_a)
        rep.save(update_fields=["user"])
        client.force_login(rep.user)
        assert client.get(reverse("studios:my_duties")).status_code == 200
        client.post(
            reverse("studios:attendance", args=[assignment.pk]),
            {"expected": "pending", "attendance": "absent", "next": reverse("studios:my_duties")},
        )
        assert reload(assignment).attendance == "absent"

"""Report reminders: who is owed what and when, duty eves never late, constant cost, messages."""

import datetime
import io

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from liaison import notify
from liaison.models import AnnualMeeting, Notification, Reminder, User
from liaison.roles import Role
from reps.models import ContactLink, DutyPolicy, Group, Mandate, Representative
from studios import reminders
from studios.models import DutySlot, OpinionReport, Reception, RosterPeriod, SlotAssignment, Studio
from studios.tasks import send_report_reminders
from tests.factories import ContactFactory, MandateFactory, StudioFactory, active_rep, user_with_role, visit

SHANGHAI = reminders.reps_reminders.SHANGHAI
# A Monday in the last week of the first quarter: nearly every rule owes something.
MONDAY = datetime.date(2026, 3, 30)


def at(day: datetime.date, hour: int = 8, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


def told(kind: str | None = None) -> set[tuple[str, str, str]]:
    rows = Notification.objects.values_list("kind", "user__username", "reminder__period")
    return {row for row in rows if kind is None or row[0] == kind}


def published_slot(studio: Studio, starts_at: datetime.datetime, *reps, status="published") -> DutySlot:
    day = starts_at.astimezone(SHANGHAI).date()
    period, _ = RosterPeriod.objects.get_or_create(
        studio=studio, start=day.replace(day=1), defaults={"end": day.replace(day=28), "status": status}
    )
    slot = DutySlot.objects.create(
        period=period,
        studio=studio,
        kind="regular",
        date=day,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(hours=2, minutes=30),
    )
    for rep in reps:
        SlotAssignment.objects.create(slot=slot, representative=rep)
    return slot


def rep_with_login(region, username: str, **kwargs) -> Representative:
    user = user_with_role(Role.REPRESENTATIVE, region=region, username=username)
    return active_rep(region, user=user, **kwargs)


def receive(rep: Representative, when: datetime.datetime, *, township, recorded_by) -> None:
    reception = Reception.objects.create(
        township=township, kind="regular", starts_at=when, people_received=2, recorded_by=recorded_by
    )
    reception.representatives.add(rep)


# --- the duty eve ------------------------------------------------------------------------------


@pytest.fixture
def duty(township_a, clerk_a):
    """Saturday 2026-03-07, 09:00–11:30, rep ``on_duty`` at a studio whose officer is ``officer``."""
    officer = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="officer")
    studio = StudioFactory(region=township_a, liaison_officer=officer)
    rep = rep_with_login(township_a, "on_duty")
    return published_slot(studio, at(datetime.date(2026, 3, 7), 9), rep)


def test_it_reminds_the_reps_on_duty_and_the_officer_the_day_before(duty):
    assert reminders.duty_eve_send_due(now=at(datetime.date(2026, 3, 5))) == 0  # two days before
    assert reminders.duty_eve_send_due(now=at(datetime.date(2026, 3, 6))) == 1
    assert reminders.duty_eve_send_due(now=at(datetime.date(2026, 3, 6), 20)) == 0
    assert told() == {
        ("studios.duty_eve", "on_duty", "2026-03-07"),
        ("studios.duty_eve", "officer", "2026-03-07"),
    }


def test_it_does_not_remind_a_duty_that_has_already_started(duty):
    """The eve was missed (downtime): after 09:00 on the day, and on later days, nothing is sent."""
    assert reminders.duty_eve_send_due(now=at(datetime.date(2026, 3, 7), 9, 0)) == 0
    assert reminders.duty_eve_send_due(now=at(datetime.date(2026, 3, 7), 14)) == 0
    assert reminders.duty_eve_send_due(now=at(datetime.date(2026, 3, 8))) == 0
    assert not Reminder.objects.exists() and not Notification.objects.exists()


def test_a_missed_eve_is_still_sent_on_the_morning_of_the_duty_before_it_starts(duty):
    assert reminders.duty_eve_send_due(now=at(datetime.date(2026, 3, 7), 7, 30)) == 1
    assert ("studios.duty_eve", "on_duty", "2026-03-07") in told()


def test_a_draft_roster_and_a_moved_duty(duty, township_a):
    draft = published_slot(StudioFactory(region=township_a), at(datetime.date(2026, 3, 7), 9), status="draft")
    assert reminders.duty_eve_send_due(now=at(datetime.date(2026, 3, 6))) == 1
    assert not Reminder.objects.filter(subject_id=draft.pk).exists()
    # Moved to the next Saturday: owed again, on its own eve.
    DutySlot.objects.filter(pk=duty.pk).update(
        date=datetime.date(2026, 3, 14), starts_at=at(datetime.date(2026, 3, 14), 9)
    )
    assert reminders.duty_eve_send_due(now=at(datetime.date(2026, 3, 13))) == 1
    assert ("studios.duty_eve", "on_duty", "2026-03-14") in told()


# --- who is below the reception quota ------------------------------------------------------------


def test_the_reception_quota_follows_level_policy_and_time_in_office(county, township_a, clerk_a):
    """Late in Q1 2026: two receptions are owed (one by a province-only rep), prorated by days held."""
    one = at(datetime.date(2026, 1, 10), 10)
    county_rep = rep_with_login(township_a, "county_rep")
    province_rep = rep_with_login(township_a, "province_rep", levels=("province",))
    newcomer = rep_with_login(township_a, "newcomer", levels=())
    MandateFactory(
        representative=newcomer, level="township", term_start=datetime.date(2026, 3, 1), congress="镇第十五次"
    )
    both_levels = rep_with_login(township_a, "both_levels", levels=("province", "county"))
    rep_with_login(township_a, "retired", levels=())  # no mandate at all: not a rep today
    Representative.objects.create(name="无账号", region=township_a)  # no login: cannot be told
    for rep in (county_rep, province_rep, both_levels):
        receive(rep, one, township=township_a, recorded_by=clerk_a)
    receive(newcomer, at(datetime.date(2026, 3, 2), 10), township=township_a, recorded_by=clerk_a)

    # Mid-quarter (from Feb 15): the default policy, 2 a quarter, 1 for province-only reps; the
    # newcomer holds a mandate 31 of the quarter's 90 days: ceil(2 * 31 / 90) = 1, met.
    assert reminders.reception_quota_send_due(now=at(datetime.date(2026, 2, 14))) == 0
    assert reminders.reception_quota_send_due(now=at(datetime.date(2026, 3, 16))) == 2
    assert told() == {
        ("studios.reception_quota", "county_rep", "2026-Q1-mid"),
        ("studios.reception_quota", "both_levels", "2026-Q1-mid"),
    }
    # The county raises the quota from March: two weeks before the quarter's end (Mar 17) every
    # rep is below it, the newcomer too (ceil(3 * 31 / 90) = 2).
    DutyPolicy.objects.create(
        county=county,
        effective_from=datetime.date(2026, 3, 1),
        receptions_per_quarter=3,
        receptions_per_quarter_province=2,
    )
    assert reminders.reception_quota_send_due(now=at(datetime.date(2026, 3, 17))) == 4
    assert told("studios.reception_quota") - {
        ("studios.reception_quota", "county_rep", "2026-Q1-mid"),
        ("studios.reception_quota", "both_levels", "2026-Q1-mid"),
    } == {
        ("studios.reception_quota", username, "2026-Q1-late")
        for username in ("county_rep", "both_levels", "province_rep", "newcomer")
    }
    assert reminders.reception_quota_send_due(now=at(datetime.date(2026, 3, 31), 23)) == 0
    # A new quarter starts with nothing owed until its own mid-quarter.
    assert reminders.reception_quota_send_due(now=at(datetime.date(2026, 4, 1))) == 0


def test_receptions_after_now_or_in_another_quarter_do_not_count(township_a, clerk_a):
    rep = rep_with_login(township_a, "rep")
    receive(rep, at(datetime.date(2025, 12, 31), 23, 30), township=township_a, recorded_by=clerk_a)
    receive(rep, at(datetime.date(2026, 1, 1), 0, 10), township=township_a, recorded_by=clerk_a)
    receive(rep, at(datetime.date(2026, 2, 20), 10), township=township_a, recorded_by=clerk_a)  # after now
    assert reminders.reception_quota_send_due(now=at(datetime.date(2026, 2, 15))) == 1
    rep2 = rep_with_login(township_a, "rep2")
    for day in (datetime.date(2026, 1, 1), datetime.date(2026, 2, 14)):
        receive(rep2, at(day, 0, 10), township=township_a, recorded_by=clerk_a)
    assert reminders.reception_quota_send_due(now=at(datetime.date(2026, 2, 16))) == 0
    assert {username for _, username, _ in told()} == {"rep"}


# --- "four ones", the group report, the statistics, the weekly list ------------------------------


def test_four_ones_are_reminded_only_where_the_county_turns_them_on(county, township_a):
    rep_with_login(township_a, "rep")
    assert reminders.four_ones_send_due(now=at(datetime.date(2026, 5, 20))) == 0  # off by default
    DutyPolicy.objects.create(county=county, effective_from=datetime.date(2026, 6, 1), four_ones=True)
    assert reminders.four_ones_send_due(now=at(datetime.date(2026, 5, 31))) == 0  # not yet in force
    assert reminders.four_ones_send_due(now=at(datetime.date(2026, 6, 19))) == 0  # before the 20th
    assert reminders.four_ones_send_due(now=at(datetime.date(2026, 6, 20))) == 1
    assert told() == {("studios.four_ones", "rep", "2026-06")}


def any_category():
    """A category for an opinion report, whether the field is a choice or the shared list."""
    field = OpinionReport._meta.get_field("category")
    return field.related_model.objects.get_or_create(name="其他")[0] if field.is_relation else "other"


def test_the_fourth_one_is_a_standing_link_to_a_difficult_household_not_a_visit(
    county, township_a, village_a, clerk_a
):
    DutyPolicy.objects.create(county=county, effective_from=datetime.date(2026, 1, 1), four_ones=True)
    household = ContactFactory(village=village_a, is_difficult_household=True)
    linked, visiting = rep_with_login(township_a, "linked"), rep_with_login(township_a, "visiting")
    ContactLink.objects.create(representative=linked, contact=household, since=datetime.date(2025, 1, 1))
    day = datetime.date(2026, 6, 5)
    for rep in (linked, visiting):
        receive(rep, at(day, 10), township=township_a, recorded_by=clerk_a)
        visit(rep, [household], day, recorded_by=clerk_a)  # ``visiting`` sees the household, unlinked
        OpinionReport.objects.create(
            representative=rep, month=day.replace(day=1), category=any_category(), content="路灯不亮"
        )
    assert reminders.four_ones_send_due(now=at(datetime.date(2026, 6, 20))) == 1
    assert told() == {("studios.four_ones", "visiting", "2026-06")}


def test_the_group_report_reaches_leader_and_liaison_30_and_20_days_before_the_meeting(county, township_a):
    leader, liaison = rep_with_login(township_a, "leader"), rep_with_login(township_a, "liaison")
    Group.objects.create(name="第一组", level="county", region=county, leader=leader, liaison=liaison)
    Group.objects.create(name="第二组", level="county", region=county, leader=leader)
    AnnualMeeting.objects.create(county=county, year=2027, date=datetime.date(2027, 1, 20))
    send = reminders.reps_reminders.group_report_send_due
    assert send(now=at(datetime.date(2026, 12, 20))) == 0  # 31 days before
    assert send(now=at(datetime.date(2026, 12, 21))) == 2  # 30 days before, both groups
    assert send(now=at(datetime.date(2026, 12, 26))) == 0  # 25 days before: the first one was sent
    assert send(now=at(datetime.date(2026, 12, 31))) == 2  # 20 days before
    assert send(now=at(datetime.date(2027, 1, 5))) == 0  # due today: nothing new
    assert send(now=at(datetime.date(2027, 1, 6))) == 0  # past due: nothing at all
    assert told() == {
        ("reps.group_report", "leader", "2027-D-30"),
        ("reps.group_report", "liaison", "2027-D-30"),
        ("reps.group_report", "leader", "2027-D-20"),
        ("reps.group_report", "liaison", "2027-D-20"),
    }
    assert Reminder.objects.filter(kind="reps.group_report").count() == 4  # 2 groups x 2 reminders
    assert Notification.objects.filter(user__username="leader").count() == 4


def test_the_statistics_go_to_each_studios_township_or_county_office(
    county, township_a, township_b, village_a, clerk_a, clerk_b, liaison_office
):
    StudioFactory(region=village_a, name="东街社区工作室")
    StudioFactory(region=township_b, name="河口镇工作室")
    StudioFactory(region=county, level=Studio.Level.COUNTY, name="县工作室")
    StudioFactory(region=township_b, name="新开工作室", opened_on=datetime.date(2026, 1, 5))
    StudioFactory(region=township_b, name="停用工作室", is_active=False)
    assert reminders.quarterly_statistics_send_due(now=at(datetime.date(2026, 1, 1))) == 3
    assert told() == {
        ("studios.quarterly_statistics", "clerk_a", "2025-Q4"),
        ("studios.quarterly_statistics", "clerk_b", "2025-Q4"),
        ("studios.quarterly_statistics", "lianban", "2025-Q4"),
    }
    assert reminders.quarterly_statistics_send_due(now=at(datetime.date(2026, 3, 31), 23)) == 0
    assert reminders.quarterly_statistics_send_due(now=at(datetime.date(2026, 4, 1))) == 4  # the new one too


def test_the_weekly_problem_list_goes_to_each_townships_staff_on_monday(
    township_a, township_b, clerk_a, clerk_b
):
    second = user_with_role(Role.TOWNSHIP_STAFF, region=township_a, username="clerk_a2")
    assert reminders.weekly_problem_list_send_due(now=at(datetime.date(2026, 3, 2))) == 2
    assert reminders.weekly_problem_list_send_due(now=at(datetime.date(2026, 3, 8), 22)) == 0  # Sunday
    assert told() == {
        ("studios.weekly_problem_list", username, "2026-02-23")
        for username in ("clerk_a", "clerk_b", second.username)
    }


# --- the whole sweep: cost and messages ---------------------------------------------------------


def cast_of(n: int, *, county, township, clerk, office) -> None:
    """``n`` reps with logins, studios, groups and duties tomorrow, all owing something on MONDAY."""
    DutyPolicy.objects.create(county=county, effective_from=datetime.date(2020, 1, 1), four_ones=True)
    AnnualMeeting.objects.create(county=county, year=2026, date=MONDAY + datetime.timedelta(days=16))
    users = User.objects.bulk_create(
        User(username=f"rep{i}", name=f"代表{i}", email=f"rep{i}@example.com", phone=f"139{i:08d}")
        for i in range(n)
    )
    reps = Representative.objects.bulk_create(
        Representative(name=f"代表{i}", region=township, user=user) for i, user in enumerate(users)
    )
    Mandate.objects.bulk_create(
        Mandate(
            representative=rep,
            level="county",
            congress="第十五次党代会",
            term_start=datetime.date(2024, 1, 1),
            term_end=datetime.date(2028, 12, 31),
        )
        for rep in reps
    )
    Group.objects.bulk_create(
        Group(name=f"第{i}组", level="county", region=county, leader=rep) for i, rep in enumerate(reps)
    )
    studios = Studio.objects.bulk_create(
        Studio(name=f"工作室{i}", level="township", region=township, address="镇政府", liaison_officer=office)
        for i in range(n)
    )
    tomorrow = MONDAY + datetime.timedelta(days=1)
    periods = RosterPeriod.objects.bulk_create(
        RosterPeriod(studio=studio, start=tomorrow, end=tomorrow, status="published") for studio in studios
    )
    slots = DutySlot.objects.bulk_create(
        DutySlot(
            period=period,
            studio=period.studio,
            kind="regular",
            date=tomorrow,
            starts_at=at(tomorrow, 9),
            ends_at=at(tomorrow, 11),
        )
        for period in periods
    )
    SlotAssignment.objects.bulk_create(
        SlotAssignment(slot=slot, representative=rep) for slot, rep in zip(slots, reps, strict=True)
    )


# Queries of one sweep on MONDAY when every rule owes something: per issued rule a savepoint,
# the three INSERT ... SELECTs (reminders, notifications, deliveries) and its release; December's
# year-end rule asks nothing in March; the thematic invitation owes nothing here (no units invited):
# a savepoint, the reminders' INSERT and the release.
SWEEP_QUERIES = 7 * 5 + 3
# Queries to render a batch of each kind: the reminders' periods, then the subjects if needed.
RENDER_QUERIES = {
    "studios.reception_quota": 1,
    "studios.opinion_register": 1,
    "studios.four_ones": 1,
    "studios.quarterly_statistics": 2,
    "studios.weekly_problem_list": 2,
    "studios.duty_eve": 2,  # slots with studios, their reps (the period is the slot's date)
    "reps.group_report": 3,  # periods, groups with regions, meetings
}


@pytest.mark.parametrize("n", [10, 500])
def test_the_sweep_and_its_messages_cost_the_same_for_10_and_500_reps_and_slots(
    n, county, township_a, clerk_a, django_assert_num_queries
):
    office = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="officer")
    cast_of(n, county=county, township=township_a, clerk=clerk_a, office=office)
    with django_assert_num_queries(SWEEP_QUERIES):
        counts = reminders.report_reminders_send_due(now=at(MONDAY))
    assert counts == {
        "reps.year_end_report": 0,
        "reps.group_report": n,
        "studios.reception_quota": n,
        "studios.opinion_register": n,
        "studios.quarterly_statistics": n,
        "studios.four_ones": n,
        "studios.weekly_problem_list": 1,
        "studios.duty_eve": n,
        "studios.thematic_invitation": 0,
    }
    assert Notification.objects.filter(kind="studios.duty_eve", user=office).count() == n
    assert Notification.objects.filter(kind="studios.quarterly_statistics", user=clerk_a).count() == n

    for kind, queries in RENDER_QUERIES.items():
        batch = list(Notification.objects.filter(kind=kind).order_by("pk"))
        with django_assert_num_queries(queries):
            messages = notify.render_messages(batch)
        assert len(messages) == len(batch) and all(
            m.title and m.body and m.url.startswith("/") for m in messages
        )


def test_the_messages_say_what_is_owed_and_link_to_the_right_page(county, township_a, clerk_a):
    office = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="officer")
    cast_of(1, county=county, township=township_a, clerk=clerk_a, office=office)
    reminders.report_reminders_send_due(now=at(MONDAY))
    studio = Studio.objects.get()

    def message(kind, **filters):
        return notify.render_messages([Notification.objects.get(kind=kind, **filters)])[0]

    statistics = message("studios.quarterly_statistics")
    assert statistics.url == reverse("studios:statistics") + "?kind=quarter&year=2025&n=4"
    assert studio.name in statistics.title
    assert message("studios.weekly_problem_list").url == (
        reverse("proposals:weekly_export") + f"?township={township_a.pk}&week=2026-03-23"
    )
    to_rep = message("studios.duty_eve", user__username="rep0")
    assert (
        to_rep.url == reverse("studios:my_duties") and "2026-03-31" in to_rep.body and "09:00" in to_rep.body
    )
    to_officer = message("studios.duty_eve", user=office)
    assert to_officer.url == reverse("studios:period", args=[RosterPeriod.objects.get().pk])
    assert "代表0" in to_officer.body
    group = message("reps.group_report")
    # The meeting is on April 15: the report is due 15 days before, on March 31.
    assert "2026-03-31" in group.title and "2026-04-15" in group.body
    assert message("studios.opinion_register").url == reverse("studios:opinions")
    assert message("studios.reception_quota").url == reverse("reps:me")


def test_the_command_and_the_task_run_the_same_sweep(township_a, clerk_a):
    out = io.StringIO()
    with time_machine.travel(at(MONDAY), tick=False):
        call_command("send_report_reminders", stdout=out)
        assert "studios.weekly_problem_list: 1\n" in out.getvalue()
        assert out.getvalue().endswith("1 new reminders\n")
        # The beat's task: the same sweep, and nothing is owed twice.
        result = send_report_reminders.apply().get()
    assert set(result) == set(reminders.RULES) | set(reminders.reps_reminders.RULES)
    assert sum(result.values()) == 0
    assert told() == {("studios.weekly_problem_list", "clerk_a", "2026-03-23")}

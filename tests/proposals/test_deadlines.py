"""Deadlines: 10 calendar days from assignment, the one-month cap on extensions, working days
across the Spring Festival and National Day, unknown holiday years, on time / due soon /
overdue; and the holiday calendar the data migration and `load_holidays` fill."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from proposals import deadlines, services
from proposals.models import CalendarYear, Category, DeadlinePolicy, Extension, Ticket, WorkCalendarDay
from tests.helpers import refusal, reload

TZ = timezone.get_default_timezone()


def at(y, m, d, hh=10, mm=0, ss=0) -> datetime.datetime:
    """A moment, Beijing time."""
    return datetime.datetime(y, m, d, hh, mm, ss, tzinfo=TZ)


def end_of(y, m, d) -> datetime.datetime:
    return at(y, m, d, 23, 59, 59)


@pytest.fixture
def assign(make_ticket, clerk_a, unit_a):
    """Register and assign a ticket at ``moment`` (the township assigns its own office)."""

    def go(moment: datetime.datetime) -> Ticket:
        with time_machine.travel(moment, tick=False):
            ticket = make_ticket()
            services.ticket_assign(actor=clerk_a, ticket=reload(ticket), lead_unit=unit_a)
        return reload(ticket)

    return go


@pytest.fixture
def working_days(county):
    return DeadlinePolicy.objects.create(
        county=county, effective_from=datetime.date(2020, 1, 1), day_mode=DeadlinePolicy.DayMode.WORKING
    )


# --- calendar days ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assigned", "due"),
    [
        (at(2026, 3, 2, 9), end_of(2026, 3, 12)),  # the plain case
        (at(2026, 1, 25), end_of(2026, 2, 4)),  # across a 31-day month end
        (at(2026, 4, 25), end_of(2026, 5, 5)),  # across a 30-day month end
        (at(2026, 2, 20), end_of(2026, 3, 2)),  # across February of a common year
        (at(2028, 2, 20), end_of(2028, 3, 1)),  # ... and of a leap year
        (at(2028, 2, 19), end_of(2028, 2, 29)),  # due on the leap day
        (at(2028, 2, 29), end_of(2028, 3, 10)),  # assigned on the leap day
        (at(2026, 12, 25), end_of(2027, 1, 4)),  # across the year end
        (at(2026, 3, 31, 23, 30), end_of(2026, 4, 10)),  # late evening in Beijing, still the 31st
        (at(2026, 4, 1, 0, 30), end_of(2026, 4, 11)),  # just after midnight in Beijing (16:30 UTC before)
    ],
    ids=lambda v: f"{v:%Y-%m-%d_%H%M}",
)
def test_the_reply_is_due_ten_calendar_days_after_assignment_at_the_end_of_that_day(assign, assigned, due):
    ticket = assign(assigned)
    assert ticket.assigned_at == assigned
    assert ticket.due_at == due
    assert ticket.due_year_unknown is False


def test_a_county_policy_changes_the_number_of_days(assign, county):
    DeadlinePolicy.objects.create(county=county, effective_from=datetime.date(2026, 1, 1), reply_days=15)
    assert assign(at(2026, 3, 2)).due_at == end_of(2026, 3, 17)


def test_co_unit_opinions_are_due_in_five_days(make_ticket, liaison_office, clerk_a, county_unit, co_unit):
    with time_machine.travel(at(2026, 1, 29), tick=False):
        ticket = make_ticket()
        services.ticket_forward_to_county(actor=clerk_a, ticket=reload(ticket))
        services.ticket_assign(
            actor=liaison_office, ticket=reload(ticket), lead_unit=county_unit, co_units=[co_unit]
        )
    co = reload(ticket).assignments.get(role="co")
    assert co.opinion_due_at == end_of(2026, 2, 3)


# --- extensions ---------------------------------------------------------------------------------


@pytest.fixture
def extend(unit_a_staff, clerk_a):
    """Ask (the lead unit) and approve (the township) an extension until ``until``, at ``moment``."""

    def go(ticket: Ticket, until: datetime.date, moment: datetime.datetime) -> Extension:
        with time_machine.travel(moment, tick=False):
            extension = services.extension_request(
                actor=unit_a_staff, ticket=reload(ticket), until=until, reason="涉及多个部门，需协调"
            )
            return services.extension_decide(
                actor=clerk_a, ticket=reload(ticket), extension=extension, approve=True
            )

    return go


@pytest.mark.parametrize(
    ("assigned", "cap"),
    [
        (at(2026, 1, 31), end_of(2026, 2, 28)),
        (at(2028, 1, 31), end_of(2028, 2, 29)),
        (at(2026, 3, 31), end_of(2026, 4, 30)),
        (at(2026, 12, 31), end_of(2027, 1, 31)),
        (at(2026, 3, 15), end_of(2026, 4, 15)),
    ],
    ids=lambda v: f"{v:%Y-%m-%d}",
)
def test_an_extension_asking_past_one_month_is_capped_at_one_calendar_month_after_assignment(
    assign, extend, assigned, cap
):
    ticket = assign(assigned)
    extension = extend(ticket, datetime.date(assigned.year + 1, 6, 30), assigned + datetime.timedelta(days=2))
    ticket = reload(ticket)
    assert extension.decision == "approved" and extension.granted_until == cap
    assert ticket.due_at == cap
    event = ticket.events.get(move="decide_extension")
    assert event.is_public and event.data["capped"] is True


def test_an_extension_within_the_month_is_granted_as_asked_and_shown_with_its_reason(assign, extend):
    ticket = assign(at(2026, 3, 2, 9))
    extend(ticket, datetime.date(2026, 3, 25), at(2026, 3, 10))
    ticket = reload(ticket)
    assert ticket.due_at == end_of(2026, 3, 25)
    assert ticket.extension_reason == "涉及多个部门，需协调"
    event = ticket.events.get(move="decide_extension")
    assert event.is_public  # the rep and the proposers see the new date with its reason
    assert event.data == {"approved": True, "due": end_of(2026, 3, 25).isoformat(), "reason": "涉及多个部门，需协调",
                          "capped": False}  # fmt: skip


def test_a_refused_extension_leaves_the_due_time_alone(assign, unit_a_staff, clerk_a):
    ticket = assign(at(2026, 3, 2, 9))
    with time_machine.travel(at(2026, 3, 5), tick=False):
        ext = services.extension_request(
            actor=unit_a_staff, ticket=reload(ticket), until=datetime.date(2026, 3, 20), reason="需协调"
        )
        services.extension_decide(actor=clerk_a, ticket=reload(ticket), extension=ext, approve=False)
    ticket = reload(ticket)
    assert ticket.due_at == end_of(2026, 3, 12) and ticket.extension_reason == ""
    assert reload(ext).decision == "refused"


def test_an_extension_is_refused_after_the_due_time(assign, unit_a_staff):
    ticket = assign(at(2026, 3, 2, 9))
    late = end_of(2026, 3, 12) + datetime.timedelta(seconds=1)
    with (
        time_machine.travel(late, tick=False),
        translation.override("en"),
        pytest.raises(ValidationError) as refused,
    ):
        services.extension_request(
            actor=unit_a_staff, ticket=reload(ticket), until=datetime.date(2026, 3, 20), reason="来不及"
        )
    assert refusal(refused.value) == ["An extension must be asked for before the reply is due."]
    assert not Extension.objects.exists()
    assert not reload(ticket).events.filter(move="request_extension").exists()


def test_an_extension_may_still_be_asked_in_the_last_second(assign, unit_a_staff):
    ticket = assign(at(2026, 3, 2, 9))
    with time_machine.travel(end_of(2026, 3, 12), tick=False):
        services.extension_request(
            actor=unit_a_staff, ticket=reload(ticket), until=datetime.date(2026, 3, 20), reason="需协调"
        )
    assert Extension.objects.get().requested_until == end_of(2026, 3, 20)


def test_the_cap_after_re_handling_counts_from_the_new_start(assign, extend, walk, clerk_a):
    """Re-handling (重办) starts a new handling with a new deadline: the month runs from then."""
    with time_machine.travel(at(2026, 1, 5), tick=False):
        ticket = walk(assign(at(2026, 1, 5)), "dissatisfied")
    with time_machine.travel(at(2026, 1, 31), tick=False):
        services.ticket_rehandle(actor=clerk_a, ticket=reload(ticket), note="群众不满意，重办")
    ticket = reload(ticket)
    assert ticket.round == 2 and ticket.status == "signed"
    assert ticket.assigned_at == at(2026, 1, 31) and ticket.due_at == end_of(2026, 2, 10)
    extend(ticket, datetime.date(2026, 3, 31), at(2026, 2, 2))
    assert reload(ticket).due_at == end_of(2026, 2, 28)


# --- working days -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assigned", "days", "due"),
    [
        # Spring Festival 2026: 15–23 Feb off; Sat 14 Feb and Sat 28 Feb are working days.
        (at(2026, 2, 13), 10, end_of(2026, 3, 5)),  # 14, 24, 25, 26, 27, 28, 2, 3, 4, 5
        (at(2026, 2, 12), 2, end_of(2026, 2, 14)),  # Fri 13, then the worked Saturday
        (at(2026, 2, 14), 1, end_of(2026, 2, 24)),  # the whole holiday skipped
        (at(2026, 2, 27), 1, end_of(2026, 2, 28)),  # the worked Saturday after the holiday
        # Mid-autumn (Fri 25 Sep) and National Day 2026 (1–7 Oct off; Sun 20 Sep, Sat 10 Oct worked).
        (at(2026, 9, 19), 1, end_of(2026, 9, 20)),  # the worked Sunday
        (at(2026, 9, 18), 10, end_of(2026, 10, 9)),  # 20, 21–24, 28, 29, 30, 8, 9
        (at(2026, 9, 30), 1, end_of(2026, 10, 8)),
        (at(2026, 9, 28), 10, end_of(2026, 10, 16)),  # 29, 30, 8, 9, Sat 10, 12–16
        # An ordinary fortnight: two weekends skipped.
        (at(2026, 3, 2), 10, end_of(2026, 3, 16)),
    ],
    ids=lambda v: f"{v:%Y-%m-%d}" if isinstance(v, datetime.datetime) else str(v),
)
def test_working_day_mode_skips_holidays_and_counts_adjusted_working_days(
    assign, working_days, county, assigned, days, due
):
    working_days.reply_days = days
    working_days.save()
    ticket = assign(assigned)
    assert ticket.due_at == due
    assert ticket.due_year_unknown is False


def test_working_days_are_read_from_the_editable_holiday_table(assign, working_days):
    """A day staff add in the admin counts; the package is only where the table starts from."""
    WorkCalendarDay.objects.create(date=datetime.date(2026, 3, 4), is_working_day=False, name="地方假日")
    assert assign(at(2026, 2, 13)).due_at == end_of(2026, 3, 6)


def test_a_working_day_deadline_through_an_unknown_holiday_year_is_flagged(assign, working_days):
    assert not CalendarYear.objects.filter(year=2027).exists()  # chinesecalendar 1.11 stops at 2026
    ticket = assign(at(2026, 12, 24))
    assert ticket.due_at == end_of(2027, 1, 7)  # by the weekday rule, not trusted
    assert ticket.due_year_unknown is True


def test_a_deadline_inside_a_known_year_is_not_flagged_and_calendar_days_never_are(
    assign, working_days, county
):
    assert assign(at(2026, 3, 2)).due_year_unknown is False
    working_days.day_mode = DeadlinePolicy.DayMode.CALENDAR
    working_days.save()
    ticket = assign(at(2026, 12, 24))
    assert ticket.due_at == end_of(2027, 1, 3) and ticket.due_year_unknown is False


def test_a_year_entered_by_staff_is_trusted(assign, working_days):
    CalendarYear.objects.create(year=2027, source="人工录入")
    WorkCalendarDay.objects.create(date=datetime.date(2027, 1, 1), is_working_day=False, name="元旦")
    ticket = assign(at(2026, 12, 24))
    assert ticket.due_at == end_of(2027, 1, 8) and ticket.due_year_unknown is False


def test_an_approved_extension_clears_the_flag(assign, extend, working_days):
    ticket = assign(at(2026, 12, 24))
    extend(ticket, datetime.date(2027, 1, 20), at(2026, 12, 28))
    ticket = reload(ticket)
    assert ticket.due_at == end_of(2027, 1, 20) and ticket.due_year_unknown is False


@time_machine.travel(at(2026, 6, 1), tick=False)
def test_the_holiday_calendar_admin_warns_staff_of_an_unknown_year(client, liaison_office):
    client.force_login(liaison_office)
    response = client.get(reverse("admin:proposals_workcalendarday_changelist"))
    assert response.status_code == 200
    warnings = [m for m in response.context["messages"] if m.level == messages.WARNING]
    assert len(warnings) == 1
    text = str(warnings[0])
    assert "2027" in text and "2026" not in text
    assert text in response.content.decode()


@time_machine.travel(at(2026, 6, 1), tick=False)
def test_the_warning_goes_once_the_year_is_entered(client, liaison_office):
    CalendarYear.objects.create(year=2027, source="人工录入")
    client.force_login(liaison_office)
    response = client.get(reverse("admin:proposals_workcalendarday_changelist"))
    assert response.status_code == 200
    assert not [m for m in response.context["messages"] if m.level == messages.WARNING]


# --- on time / due soon / overdue -----------------------------------------------------------------

DUE = end_of(2026, 3, 12)


@pytest.mark.parametrize(
    ("now", "state", "delta", "label"),
    [
        (at(2026, 3, 2, 9), "on_time", datetime.timedelta(days=10, hours=14, minutes=59, seconds=59),
         "on time, 10 days left"),
        (at(2026, 3, 9, 0, 0), "on_time", datetime.timedelta(days=3, hours=23, minutes=59, seconds=59),
         "on time, 3 days left"),
        (at(2026, 3, 10, 9), "due_soon", datetime.timedelta(days=2, hours=14, minutes=59, seconds=59),
         "due in 2 days"),
        (at(2026, 3, 12, 20), "due_soon", datetime.timedelta(hours=3, minutes=59, seconds=59), "due in 3 hours"),
        (at(2026, 3, 12, 23, 50), "due_soon", datetime.timedelta(minutes=9, seconds=59), "due in 1 hour"),
        (at(2026, 3, 13, 0, 30), "overdue", -datetime.timedelta(minutes=30, seconds=1), "overdue by 1 hour"),
        (at(2026, 3, 13, 5), "overdue", -datetime.timedelta(hours=5, seconds=1), "overdue by 5 hours"),
        (at(2026, 3, 15, 9), "overdue", -datetime.timedelta(days=2, hours=9, seconds=1), "overdue by 2 days"),
    ],
)  # fmt: skip
def test_time_status_says_on_time_due_soon_or_overdue_and_by_how_much(now, state, delta, label):
    status = deadlines.time_status(DUE, now)
    assert (status.state, status.delta) == (state, delta)
    with translation.override("en"):
        assert deadlines.time_status(DUE, now).label == label


def test_time_status_uses_the_warning_days_given_and_says_nothing_without_a_due_time():
    assert deadlines.time_status(DUE, at(2026, 3, 7), soon_days=7).state == "due_soon"
    assert deadlines.time_status(None, at(2026, 3, 7)) is None


# --- the holiday calendar and the reference data ----------------------------------------------


def test_the_data_migration_loaded_the_categories(db):
    assert list(Category.objects.values_list("name", flat=True)) == [
        "城乡建设", "民生保障", "交通出行", "生态环境", "教育", "医疗卫生", "农业农村", "党的建设", "其他",
    ]  # fmt: skip


def test_the_data_migration_loaded_every_year_chinesecalendar_knows(db):
    assert list(CalendarYear.objects.values_list("year", flat=True)) == list(range(2004, 2027))
    days = dict(WorkCalendarDay.objects.filter(date__year=2026).values_list("date", "is_working_day"))
    assert days[datetime.date(2026, 2, 16)] is False and days[datetime.date(2026, 2, 23)] is False
    assert days[datetime.date(2026, 2, 14)] is True and days[datetime.date(2026, 2, 28)] is True
    assert days[datetime.date(2026, 10, 7)] is False and days[datetime.date(2026, 10, 10)] is True
    assert datetime.date(2026, 2, 21) not in days  # an ordinary weekend day is not stored
    assert WorkCalendarDay.objects.get(date=datetime.date(2026, 10, 1)).name == "国庆节"


def _calendar():
    return list(WorkCalendarDay.objects.values_list("date", "is_working_day", "name")), list(
        CalendarYear.objects.values_list("year", "source")
    )


def test_load_holidays_is_idempotent(db):
    before = _calendar()
    out = io.StringIO()
    call_command("load_holidays", stdout=out)
    call_command("load_holidays", stdout=out)
    assert out.getvalue().splitlines() == ["nothing new to load", "nothing new to load"]
    assert _calendar() == before
    call_command("load_holidays", "--overwrite", stdout=io.StringIO())
    call_command("load_holidays", "--overwrite", stdout=io.StringIO())
    assert sorted(_calendar()[0]) == sorted(before[0]) and _calendar()[1] == before[1]


def test_load_holidays_keeps_what_staff_corrected_unless_told_to_overwrite(db):
    WorkCalendarDay.objects.filter(date=datetime.date(2026, 10, 7)).update(is_working_day=True, name="改")
    call_command("load_holidays", stdout=io.StringIO())
    assert WorkCalendarDay.objects.get(date=datetime.date(2026, 10, 7)).is_working_day is True
    call_command("load_holidays", "--overwrite", stdout=io.StringIO())
    assert WorkCalendarDay.objects.get(date=datetime.date(2026, 10, 7)).is_working_day is False


def test_load_holidays_fills_a_year_that_went_missing(db):
    CalendarYear.objects.filter(year=2025).delete()
    WorkCalendarDay.objects.filter(date__year=2025).delete()
    out = io.StringIO()
    call_command("load_holidays", stdout=out)
    assert out.getvalue().strip() == "loaded: 2025"
    assert WorkCalendarDay.objects.filter(date__year=2025).count() > 10


def test_no_extension_may_be_asked_once_the_due_time_is_at_the_cap(assign, extend, unit_a_staff):
    ticket = assign(at(2026, 1, 31))
    extend(ticket, datetime.date(2026, 3, 31), at(2026, 2, 2))
    assert reload(ticket).due_at == end_of(2026, 2, 28)
    with (
        time_machine.travel(at(2026, 2, 20), tick=False),
        translation.override("en"),
        pytest.raises(ValidationError) as refused,
    ):
        services.extension_request(
            actor=unit_a_staff, ticket=reload(ticket), until=datetime.date(2026, 3, 10), reason="还需时间"
        )
    assert refusal(refused.value) == [
        "The reply is already due on the latest date allowed: one month after assignment."
    ]
    assert Extension.objects.filter(decision="pending").count() == 0


def test_an_approved_extension_never_moves_the_due_time_earlier(assign, extend, county):
    """A county whose reply time is longer than the cap (35 days > one month) gains nothing
    from an extension, and must not lose days by it either."""
    DeadlinePolicy.objects.create(county=county, effective_from=datetime.date(2026, 1, 1), reply_days=35)
    ticket = assign(at(2026, 3, 2))
    assert ticket.due_at == end_of(2026, 4, 6)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        extend(ticket, datetime.date(2026, 4, 20), at(2026, 3, 5))
    assert refusal(refused.value) == [
        "The reply is already due on the latest date allowed: one month after assignment."
    ]
    assert reload(ticket).due_at == end_of(2026, 4, 6)

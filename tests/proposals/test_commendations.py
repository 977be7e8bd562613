"""Annual commendations (issue 13): pre-ranking against hand-written SQL, nominate once, changes
need a reason, published lists frozen, roles and counties refused, the public page shows only
public fields, constant queries."""

import datetime
import random
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from liaison.roles import Role
from proposals import commendations
from proposals.models import (
    CommendationList,
    CommendationPolicy,
    CommendationRound,
    Nominee,
    NomineeChange,
    Ticket,
)
from reps import assessment
from reps.models import Mandate, PointsPolicy
from tests.factories import (
    ContactFactory,
    CountyFactory,
    HandlingUnitFactory,
    RepresentativeFactory,
    active_rep,
    user_with_role,
    visit,
)

TODAY = timezone.localdate()
YEAR = TODAY.year
ROUND_URL = reverse("commendations:round")
PUBLIC_URL = reverse("commendations:public")


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def many_tickets(ticket, n: int, *, units=()) -> list[Ticket]:
    """``n`` copies of ``ticket`` (bulk: the ranking reads only the rows), random figures."""
    rng = random.Random(n)
    copies = []
    for i in range(n):
        t = Ticket.objects.get(pk=ticket.pk)
        t.pk = None
        t.tracking_code = f"C{i:06d}"
        t.submission_token = None
        t.title = f"建议{i:04d}"
        ratings = rng.randint(0, 3)
        t.stat_resident_ratings = ratings
        t.stat_resident_satisfied = rng.randint(0, ratings)
        t.adopted_on = TODAY if rng.random() < 0.3 else None
        replied = rng.random() < 0.8
        t.stat_replied = replied
        t.stat_first_reply_on_time = replied and rng.random() < 0.6
        t.lead_unit = units[i % len(units)] if units else None
        copies.append(t)
    return Ticket.objects.bulk_create(copies)


# --- the pre-ranking equals hand-written SQL ----------------------------------------------------


def test_suggestions_are_ranked_as_hand_written_sql_ranks_them(ticket, county):
    many_tickets(ticket, 40)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.id FROM proposals_ticket t JOIN liaison_region r ON r.id = t.township_id
            WHERE r.path LIKE %s AND t.created_at >= %s AND t.created_at < %s
            ORDER BY CASE WHEN t.adopted_on IS NULL THEN 0 ELSE 1 END DESC,
                     CASE WHEN t.stat_resident_ratings > 0
                          THEN 1.0 * t.stat_resident_satisfied / t.stat_resident_ratings END DESC NULLS LAST,
                     t.stat_resident_ratings DESC, t.id
            LIMIT 50
            """,
            [county.path + "%", *commendations._year_bounds(YEAR)],
        )
        expected = [row[0] for row in cursor.fetchall()]
    got = [c.object_id for c in commendations.rank_suggestions(county, YEAR)]
    assert len(got) == 41 and got == expected


def test_units_are_ranked_as_hand_written_sql_ranks_them(ticket, county, township_a):
    units = [HandlingUnitFactory(name=f"单位{i}", region=township_a) for i in range(6)]
    many_tickets(ticket, 60, units=units)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT u.id,
                   CASE WHEN SUM(CASE WHEN t.stat_replied THEN 1 ELSE 0 END) > 0 THEN ROUND(100.0 *
                     SUM(CASE WHEN t.stat_first_reply_on_time THEN 1 ELSE 0 END) /
                     SUM(CASE WHEN t.stat_replied THEN 1 ELSE 0 END), 1) END AS on_time,
                   CASE WHEN SUM(t.stat_resident_ratings) > 0 THEN ROUND(100.0 *
                     SUM(t.stat_resident_satisfied) / SUM(t.stat_resident_ratings), 1) END AS sat,
                   u.name
            FROM proposals_ticket t JOIN liaison_handlingunit u ON u.id = t.lead_unit_id
            JOIN liaison_region r ON r.id = t.township_id
            WHERE r.path LIKE %s AND t.created_at >= %s AND t.created_at < %s
            GROUP BY u.id, u.name
            ORDER BY on_time DESC NULLS LAST, sat DESC NULLS LAST, u.name, u.id
            """,
            [county.path + "%", *commendations._year_bounds(YEAR)],
        )
        expected = [row[0] for row in cursor.fetchall()]
    got = [c.object_id for c in commendations.rank_units(county, YEAR)]
    assert len(got) == 6 and got == expected


def test_studios_are_ranked_as_hand_written_sql_ranks_them(county, township_a, township_b, clerk_a):
    """Duties held (published rosters), then the attendance rate (ended, marked), then people received."""
    from studios.models import DutySlot, Reception, RosterPeriod, SlotAssignment, StudioAssignment
    from tests.factories import StudioFactory

    rng = random.Random(7)
    year = YEAR - 1  # a finished year: every slot has ended
    tz = timezone.get_default_timezone()
    rep = active_rep(township_a)
    for i in range(8):
        studio = StudioFactory(region=township_a if i % 2 else township_b, name=f"工作室{i}")
        StudioAssignment.objects.create(studio=studio, representative=rep, start=datetime.date(year, 1, 1))
        for status, begins in (("published", 1), ("draft", 2)):
            period = RosterPeriod.objects.create(
                studio=studio,
                start=datetime.date(year, 1, begins),
                end=datetime.date(year, 12, 31),
                status=status,
            )
            for _n in range(rng.randint(0, 4)):
                day = datetime.date(year, rng.randint(1, 12), rng.randint(1, 28))
                start = datetime.datetime.combine(day, datetime.time(9), tzinfo=tz)
                slot = DutySlot.objects.create(
                    period=period, studio=studio, kind="regular", date=day,
                    starts_at=start, ends_at=start + datetime.timedelta(hours=2),
                )  # fmt: skip
                SlotAssignment.objects.create(
                    slot=slot,
                    representative=rep,
                    attendance=rng.choice(["pending", "attended", "absent", "substituted"]),
                )
        for _n in range(rng.randint(0, 3)):
            Reception.objects.create(
                studio=studio, township=studio.region, kind="regular", recorded_by=clerk_a,
                starts_at=datetime.datetime(year, rng.randint(1, 12), 10, 9, tzinfo=tz),
                people_received=rng.randint(0, 20),
            )  # fmt: skip
    start, end = commendations._year_bounds(year)
    slots = (
        "FROM studios_dutyslot d JOIN studios_rosterperiod p ON p.id = d.period_id "
        "WHERE d.studio_id = st.id AND p.status = 'published' AND d.date >= %s AND d.date <= %s"
    )
    marked = "SELECT COUNT(*) FROM studios_slotassignment a JOIN studios_dutyslot d ON d.id = a.slot_id " + (
        "JOIN studios_rosterperiod p ON p.id = d.period_id WHERE d.studio_id = st.id AND p.status = 'published' "
        "AND d.date >= %s AND d.date <= %s AND d.ends_at <= %s AND a.attendance IN "
    )
    first, last, now = datetime.date(year, 1, 1), datetime.date(year, 12, 31), timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT id FROM (
              SELECT st.id,
                (SELECT COUNT(*) {slots}) AS slots,
                ({marked} ('attended', 'substituted')) AS present,
                ({marked} ('attended', 'substituted', 'absent')) AS marked,
                (SELECT COALESCE(SUM(r.people_received), 0) FROM studios_reception r
                  WHERE r.studio_id = st.id AND r.withdrawn_at IS NULL
                    AND r.starts_at >= %s AND r.starts_at < %s) AS people
              FROM studios_studio st JOIN liaison_region g ON g.id = st.region_id WHERE g.path LIKE %s
            ) x
            ORDER BY slots DESC, CASE WHEN marked > 0 THEN ROUND(100.0 * present / marked, 1) END DESC NULLS LAST,
                     people DESC, id
            """,
            [first, last, first, last, now, first, last, now, start, end, county.path + "%"],
        )
        expected = [row[0] for row in cursor.fetchall()]
    got = [c.object_id for c in commendations.rank_studios(county, year)]
    assert len(got) == 8 and got == expected
    assert len({c.figures for c in commendations.rank_studios(county, year)}) > 1  # the data differ


@pytest.fixture
def scored_reps(county, township_a, township_b, village_a, clerk_a):
    PointsPolicy.objects.create(
        county=county, effective_from=datetime.date(2000, 1, 1), per_duty_met=0, per_duty_missed=0
    )
    a1, a2 = active_rep(township_a, name="甲一", title="村支书"), active_rep(township_a, name="甲二")
    b1 = active_rep(township_b, name="乙一")
    Mandate.objects.update(term_start=datetime.date(YEAR - 2, 1, 1))
    contact = ContactFactory(village=village_a)
    for day in (1, 2, 3):
        visit(a2, [contact], datetime.date(YEAR, 5, day), recorded_by=clerk_a)
    visit(a1, [contact], datetime.date(YEAR, 5, 1), recorded_by=clerk_a)
    assessment.review_scores_enter(
        actor=clerk_a, county=county, year=YEAR, scores={a1: Decimal("90"), a2: Decimal("55")}
    )
    return a1, a2, b1


def test_reps_are_ranked_by_points_then_review_and_the_unsatisfactory_flagged(scored_reps, county):
    a1, a2, b1 = scored_reps
    ranked = commendations.rank_reps(county, YEAR, TODAY, Decimal(60))
    assert [c.object_id for c in ranked] == [a2.pk, a1.pk, b1.pk]  # 3 visits, 1 visit, none
    assert [c.flagged for c in ranked] == [True, False, False]  # a2's review 55 < 60
    assert ranked[1].title == "村支书"
    assert [s.representative_id for s in commendations.flagged_reps(county, YEAR, TODAY)] == [a2.pk]


# --- the round ----------------------------------------------------------------------------------


@pytest.fixture
def opened(county, liaison_office):
    CommendationPolicy.objects.create(county=county, effective_from=datetime.date(2000, 1, 1), reps_places=2)
    return commendations.round_open(actor=liaison_office, county=county, year=YEAR, today=TODAY)


def listed(round_, kind=CommendationList.REPS):
    return list(
        Nominee.objects.filter(round=round_, kind=kind)
        .order_by("position")
        .values_list("object_id", flat=True)
    )


def test_nominating_twice_makes_one_list_and_adding_twice_one_nominee(scored_reps, opened, liaison_office):
    a1, a2, b1 = scored_reps
    assert (
        commendations.round_open(actor=liaison_office, county=opened.county, year=YEAR, today=TODAY) == opened
    )
    assert commendations.nominate_ranked(actor=liaison_office, round_=opened, kind="reps", today=TODAY) == 2
    assert commendations.nominate_ranked(actor=liaison_office, round_=opened, kind="reps", today=TODAY) == 0
    assert listed(opened) == [a2.pk, a1.pk]  # the policy's 2 places
    for _twice in range(2):
        commendations.nominee_add(
            actor=liaison_office, round_=opened, kind="reps", object_id=b1.pk, reason="群众推荐", today=TODAY
        )
    assert listed(opened) == [a2.pk, a1.pk, b1.pk]
    assert NomineeChange.objects.filter(action="added").count() == 1


def test_changes_need_a_reason_and_are_recorded(scored_reps, opened, liaison_office):
    a1, a2, b1 = scored_reps
    commendations.nominate_ranked(actor=liaison_office, round_=opened, kind="reps", today=TODAY)
    first = Nominee.objects.get(round=opened, object_id=a2.pk)
    with pytest.raises(ValidationError) as refused:
        commendations.nominee_move(actor=liaison_office, nominee=first, position=2, reason=" ")
    assert list(refused.value.message_dict) == ["reason"]
    with pytest.raises(ValidationError) as refused:
        commendations.nominee_remove(actor=liaison_office, nominee=first, reason="")
    assert list(refused.value.message_dict) == ["reason"]
    with pytest.raises(ValidationError) as refused:
        commendations.nominee_add(
            actor=liaison_office, round_=opened, kind="reps", object_id=b1.pk, reason="", today=TODAY
        )
    assert list(refused.value.message_dict) == ["reason"]
    assert listed(opened) == [a2.pk, a1.pk] and not NomineeChange.objects.exists()
    commendations.nominee_move(actor=liaison_office, nominee=first, position=2, reason="评议不满意")
    assert listed(opened) == [a1.pk, a2.pk]
    commendations.nominee_remove(actor=liaison_office, nominee=first, reason="评议不满意")
    assert listed(opened) == [a1.pk]
    assert list(NomineeChange.objects.values_list("action", "reason")) == [
        ("moved", "评议不满意"),
        ("removed", "评议不满意"),
    ]


def test_a_published_round_cannot_change(scored_reps, opened, liaison_office):
    a1, a2, b1 = scored_reps
    commendations.nominate_ranked(actor=liaison_office, round_=opened, kind="reps", today=TODAY)
    commendations.round_publish(actor=liaison_office, round_=opened)
    nominee = Nominee.objects.get(round=opened, object_id=a2.pk)
    attempts = [
        lambda: commendations.nominate_ranked(
            actor=liaison_office, round_=opened, kind="studios", today=TODAY
        ),
        lambda: commendations.nominee_add(
            actor=liaison_office, round_=opened, kind="reps", object_id=b1.pk, reason="x", today=TODAY
        ),
        lambda: commendations.nominee_move(actor=liaison_office, nominee=nominee, position=2, reason="x"),
        lambda: commendations.nominee_remove(actor=liaison_office, nominee=nominee, reason="x"),
        lambda: commendations.round_publish(actor=liaison_office, round_=opened),
    ]
    for attempt in attempts:
        with pytest.raises(commendations.Frozen):
            attempt()
    assert listed(opened) == [a2.pk, a1.pk] and Nominee.objects.count() == 2
    # the same through the page: refused, nothing changes
    as_user(liaison_office).post(reverse("commendations:remove", args=[nominee.pk]), {"reason": "x"})
    assert listed(opened) == [a2.pk, a1.pk]


def test_township_staff_and_other_counties_are_refused(opened, liaison_office, clerk_a):
    other_county = CountyFactory(name="太平县")
    other_office = user_with_role(Role.LIAISON_OFFICE, region=other_county, username="taiping")
    assert as_user(clerk_a).get(ROUND_URL).status_code == 403
    assert as_user(clerk_a).post(reverse("commendations:publish", args=[opened.pk])).status_code == 404
    # the other county's office: the round and its nominees are not found, its own page is its county's
    nominate = reverse("commendations:nominate", args=[opened.pk, "reps"])
    assert as_user(other_office).post(nominate).status_code == 404
    assert as_user(other_office).post(reverse("commendations:publish", args=[opened.pk])).status_code == 404
    assert as_user(other_office).get(ROUND_URL, {"county": opened.county_id}).status_code == 404
    with pytest.raises(PermissionDenied):
        commendations.nominate_ranked(actor=other_office, round_=opened, kind="reps", today=TODAY)
    with pytest.raises(PermissionDenied):
        commendations.round_open(actor=clerk_a, county=opened.county, year=YEAR, today=TODAY)
    assert not Nominee.objects.exists()
    assert CommendationRound.objects.get().published_at is None


def test_the_public_page_shows_only_public_fields(scored_reps, opened, liaison_office, ticket, unit_a):
    a1, a2, b1 = scored_reps
    Ticket.objects.filter(pk=ticket.pk).update(lead_unit=unit_a, adopted_on=TODAY)
    for kind in ("reps", "suggestions", "units"):
        commendations.nominate_ranked(actor=liaison_office, round_=opened, kind=kind, today=TODAY)
    assert as_user(liaison_office).get(PUBLIC_URL).context["published"] == []  # not yet published
    commendations.round_publish(actor=liaison_office, round_=opened)
    response = Client().get(PUBLIC_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"<li>{a2.name} · {a2.title} · 城关镇</li>" in html  # name, 职务, township
    assert a1.name not in html  # two places: my_rep (a suggestion) and a2 (three visits)
    assert f"{ticket.title} · {unit_a.name}" in html
    for private in ("张大爷", "13812345678", a1.phone or "no-phone", ticket.content, "55"):
        assert private not in html


# --- constant queries ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [10, 1000])
def test_the_round_page_costs_the_same_queries_at_10_and_1000_candidates(
    n, township_a, county, liaison_office, ticket
):
    made = RepresentativeFactory.create_batch(n, region=township_a)
    Mandate.objects.bulk_create(
        Mandate(
            representative=rep,
            level="county",
            congress="县第十五次党代会",
            term_start=datetime.date(YEAR - 2, 1, 1),
            term_end=datetime.date(YEAR + 2, 12, 31),
        )
        for rep in made
    )
    many_tickets(ticket, n, units=[HandlingUnitFactory(name=f"单位{i}", region=township_a) for i in range(3)])
    found = commendations.round_open(actor=liaison_office, county=county, year=YEAR, today=TODAY)
    commendations.nominate_ranked(actor=liaison_office, round_=found, kind="reps", today=TODAY)
    client = as_user(liaison_office)
    client.get(ROUND_URL, {"year": YEAR})
    with CaptureQueriesContext(connection) as page:
        response = client.get(ROUND_URL, {"year": YEAR})
    html = response.content.decode()
    reps = response.context["sections"][0]
    assert len(reps["nominees"]) == 10 and html.count("data-nominee=") == 10
    shown = min(n + 1 - 10, commendations.CANDIDATES_SHOWN)  # the reps beyond the 10 places (+ my_rep)
    assert len(reps["candidates"]) == shown
    suggestions = response.context["sections"][2]["candidates"]
    assert len(suggestions) == min(n + 1, commendations.CANDIDATES_SHOWN)
    assert len(page.captured_queries) == ROUND_PAGE_QUERIES
    with CaptureQueriesContext(connection) as public:
        Client().get(PUBLIC_URL)
    assert len(public.captured_queries) <= 4


ROUND_PAGE_QUERIES = 47  # the same at 10 and 1,000 (one per points source of reps.points)


# --- the duty record ----------------------------------------------------------------------------


def test_the_duty_record_flags_an_unsatisfactory_year_and_shows_a_published_place(
    scored_reps, opened, liaison_office, clerk_a
):
    a1, a2, b1 = scored_reps
    commendations.nominate_ranked(actor=liaison_office, round_=opened, kind="reps", today=TODAY)
    url = reverse("reps:record", args=[a2.pk])
    html = as_user(clerk_a).get(url, {"year": YEAR}).content.decode()
    assert f'data-unsatisfactory="{YEAR}"' in html  # review 55.0 below the policy's 60.0
    assert "data-commended=" not in html  # nominated, not yet published
    commendations.round_publish(actor=liaison_office, round_=opened)
    html = as_user(clerk_a).get(url, {"year": YEAR}).content.decode()
    assert f'data-commended="{YEAR}"' in html
    other = as_user(clerk_a).get(reverse("reps:record", args=[a1.pk]), {"year": YEAR}).content.decode()
    assert "data-unsatisfactory=" not in other  # review 90.0
    CommendationPolicy.objects.update(unsatisfactory_below=Decimal("50"))
    html = as_user(clerk_a).get(url, {"year": YEAR}).content.decode()
    assert "data-unsatisfactory=" not in html  # the threshold is the policy's

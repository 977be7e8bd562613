"""Published results: closed matters of general concern, searchable and filterable, with no
personal data, in a constant number of queries."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from proposals import results_cache, services
from proposals.models import Category, Proposer, Rating, Ticket, new_tracking_code
from tests.factories import TownshipFactory
from tests.helpers import reload
from tests.proposals.public_helpers import visitor, walk_to_forwarded

TZ = timezone.get_default_timezone()
RESULTS = "/results/"


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=TZ)


def make_results(n, *, township, category, unit=None, scores=("satisfied",), title="路灯", **fields):
    """``n`` closed tickets of general concern, made in bulk; this round rated ``scores`` (the
    first by the representative, the others by proposers)."""
    values = {
        "content": "居民张大爷（13812345678）反映路灯不亮",
        "source": "intake",
        "status": "closed",
        "resolution": "satisfied",
        "is_public_interest": True,
        "lead_unit": unit,
        "reply_summary": "已更换路灯",
        "created_at": at(2026, 3, 2, 9),
        "closed_at": at(2026, 3, 12, 16),
        **fields,
    }
    tickets = Ticket.objects.bulk_create(
        Ticket(
            title=title if n == 1 else f"{title}{i}",
            category=category,
            township=township,
            tracking_code=new_tracking_code(),
            **values,
        )
        for i in range(n)
    )
    proposers = Proposer.objects.bulk_create(
        Proposer(ticket=t, name=f"居民{i}", phone=f"1390000{i:04d}")
        for t in tickets
        for i in range(1, len(scores))
    )
    by_ticket = {}
    for proposer in proposers:
        by_ticket.setdefault(proposer.ticket_id, []).append(proposer)
    Rating.objects.bulk_create(
        Rating(ticket=t, round=t.round, score=score, proposer=None if i == 0 else by_ticket[t.pk][i - 1])
        for t in tickets
        for i, score in enumerate(scores)
    )
    results_cache.bump_now()  # made in bulk, not by a service: forget the cached pages as one would
    return tickets


def titles(html: str) -> list[str]:
    return re.findall(r'class="stretched-link text-decoration-none" href="[^"]+">([^<]+)</a>', html)


@pytest.fixture
def client():
    return visitor()


def test_only_closed_tickets_of_general_concern_are_published(client, township_a, category, unit_a):
    [published] = make_results(1, township=township_a, category=category, unit=unit_a, title="已公开")
    [private] = make_results(
        1, township=township_a, category=category, title="未公开", is_public_interest=False
    )
    [still_open] = make_results(1, township=township_a, category=category, title="办理中", status="signed")
    [merged] = make_results(1, township=township_a, category=category, title="已合并", resolution="merged")
    archived = make_results(1, township=township_a, category=category, title="已归档", status="archived")[0]
    html = client.get(RESULTS).content.decode()
    assert 'id="results"' in html
    assert sorted(titles(html)) == ["已公开", "已归档"]
    for ticket in (published, archived):
        assert client.get(reverse("public:result_detail", args=[ticket.pk])).status_code == 200
    for ticket in (private, still_open, merged):
        assert client.get(reverse("public:result_detail", args=[ticket.pk])).status_code == 404


def test_a_result_shows_unit_summary_dates_time_taken_and_satisfaction(client, township_a, category, unit_a):
    [ticket] = make_results(
        1,
        township=township_a,
        category=category,
        unit=unit_a,
        scores=("satisfied", "basically", "dissatisfied"),
        reply_summary="已更换三盏路灯",
    )
    for url in (RESULTS, reverse("public:result_detail", args=[ticket.pk])):
        html = client.get(url).content.decode()
        assert "已更换三盏路灯" in html and unit_a.name in html and category.name in html
        assert "2026-03-02" in html and "2026-03-12" in html
        assert re.search(r"<dd>\s*10\D", html)  # ten days from registration to closing
        # The residents' ratings: one of the two proposers (basically) satisfied; the rep's is not counted.
        assert "50%" in html


def test_satisfaction_counts_the_last_round_only(client, township_a, category, unit_a):
    [ticket] = make_results(
        1, township=township_a, category=category, unit=unit_a, scores=("satisfied", "dissatisfied")
    )
    Ticket.objects.filter(pk=ticket.pk).update(round=2)
    Rating.objects.create(ticket=ticket, round=2, score="satisfied", proposer=ticket.proposers.get())
    assert "100%" in client.get(reverse("public:result_detail", args=[ticket.pk])).content.decode()


def test_satisfaction_counts_residents_and_says_when_none_rated(client, township_a, category, unit_a):
    [ticket] = make_results(1, township=township_a, category=category, unit=unit_a, scores=("satisfied",))
    Ticket.objects.filter(pk=ticket.pk).update(resolution=Ticket.Resolution.NO_RESIDENT_RATING)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("public:result_detail", args=[ticket.pk])).content.decode()
    assert "100%" not in html  # the rep's rating alone is no resident's satisfaction
    assert "<dd>no resident rating</dd>" in html


def test_search_and_filters(client, township_a, township_b, category, unit_a):
    other_category = Category.objects.exclude(pk=category.pk).first()
    make_results(1, township=township_a, category=category, title="村口路灯", reply_summary="已修复")
    make_results(1, township=township_b, category=category, title="河道垃圾", reply_summary="已清理河道")
    make_results(
        1, township=township_a, category=other_category, title="学校门口", reply_summary="已增设斑马线"
    )
    make_results(
        1,
        township=township_a,
        category=category,
        title="去年的事",
        reply_summary="已答复",
        closed_at=at(2025, 6, 1),
        created_at=at(2025, 5, 1),
    )

    def shown(**query):
        return sorted(titles(client.get(RESULTS, query).content.decode()))

    assert shown(q="路灯") == ["村口路灯"]
    assert shown(q="清理") == ["河道垃圾"]  # the reply summary is searched too
    assert shown(category=other_category.pk) == ["学校门口"]
    assert shown(township=township_b.pk) == ["河道垃圾"]
    assert shown(year=2025) == ["去年的事"]
    assert shown(year=2026, township=township_a.pk, category=category.pk) == ["村口路灯"]
    assert shown(category="x", township="", year="99999") == sorted(
        ["村口路灯", "河道垃圾", "学校门口", "去年的事"]
    )


def test_a_search_does_not_look_into_the_private_content(client, township_a, category):
    make_results(1, township=township_a, category=category, title="路灯")
    assert titles(client.get(RESULTS, {"q": "13812345678"}).content.decode()) == []
    assert titles(client.get(RESULTS, {"q": "张大爷"}).content.decode()) == []


def test_results_are_paginated(client, township_a, category):
    make_results(25, township=township_a, category=category)
    assert len(titles(client.get(RESULTS).content.decode())) == 20
    assert len(titles(client.get(RESULTS, {"page": 2}).content.decode())) == 5
    assert client.get(RESULTS, {"page": "x"}).status_code == 200


def test_the_results_pages_carry_no_personal_data(
    client, make_ticket, my_rep, clerk_a, unit_a, unit_a_staff, rep_a, liaison_office
):
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        ticket = make_ticket(is_public_interest=True)
        walk_to_forwarded(
            ticket, clerk=clerk_a, unit=unit_a, unit_staff=unit_a_staff, reply="张大爷您好，已由周强更换路灯"
        )
        services.ticket_edit(actor=clerk_a, ticket=reload(ticket), reply_summary="已更换村口三盏路灯")
        services.ticket_rate(ticket=reload(ticket), actor=rep_a, score="satisfied", comment="陈志强：满意")
        services.ticket_rate(
            ticket=reload(ticket), proposer=ticket.proposers.get(), score="basically", comment="张大爷很满意"
        )
    ticket = reload(ticket)
    assert ticket.status == "closed"
    pages = [
        client.get(RESULTS).content.decode(),
        client.get(reverse("public:result_detail", args=[ticket.pk])).content.decode(),
    ]
    assert "已更换村口三盏路灯" in pages[0] and "100%" in pages[1]
    for html in pages:
        for private in (
            "张大爷", "13812345678", my_rep.phone, my_rep.name, ticket.tracking_code, ticket.display_code,
            ticket.content, "周强", clerk_a.name, clerk_a.username, unit_a_staff.name, unit_a_staff.username,
            liaison_office.name, rep_a.username, unit_a.phone,
        ):  # fmt: skip
            assert private not in html, private


def test_the_results_page_runs_the_same_queries_for_10_and_10000(
    client, township_a, category, unit_a, django_assert_num_queries
):
    townships = [township_a, *(TownshipFactory(parent=township_a.parent) for _ in range(2))]
    for township in townships:
        make_results(3, township=township, category=category, unit=unit_a, scores=("satisfied", "basically"))
    make_results(1, township=township_a, category=category, unit=unit_a)  # 10 in all
    client.get(RESULTS)  # warm up what is loaded once per process (content types, translations)
    results_cache.bump_now()  # and measure a page that is not cached
    with CaptureQueriesContext(connection) as ten:
        assert len(titles(client.get(RESULTS).content.decode())) == 10
    for township in townships:
        make_results(
            3_320, township=township, category=category, unit=unit_a, scores=("satisfied", "dissatisfied")
        )
    make_results(30, township=township_a, category=category, unit=unit_a, closed_at=at(2025, 6, 1))
    assert Ticket.objects.published().count() == 10_000
    with django_assert_num_queries(len(ten)):
        assert len(titles(client.get(RESULTS, {"page": 3}).content.decode())) == 20
    results_cache.bump_now()  # the filters' choices are cached per version: read them again
    with django_assert_num_queries(len(ten)):
        found = titles(
            client.get(RESULTS, {"q": "路灯", "township": township_a.pk, "year": 2026}).content.decode()
        )
    assert len(found) == 20 and all(title.startswith("路灯") for title in found)  # a full page of 3,324
    assert len(ten) <= 6


def test_a_results_page_is_served_from_the_cache_until_a_ticket_is_published(
    client,
    township_a,
    category,
    unit_a,
    clerk_a,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
):
    tickets = make_results(3, township=township_a, category=category, unit=unit_a)
    with CaptureQueriesContext(connection) as first:
        assert len(titles(client.get(RESULTS).content.decode())) == 3
    assert any("proposals_ticket" in q["sql"] for q in first.captured_queries)
    with django_assert_num_queries(0):  # the page and the filters' choices from the cache
        assert len(titles(client.get(RESULTS).content.decode())) == 3
    # Another filter is another page: read from the database.
    with CaptureQueriesContext(connection) as other:
        assert titles(client.get(RESULTS, {"township": township_a.pk}).content.decode())
    assert other.captured_queries
    # A published summary corrected through the service (a move on a closed ticket, as closing
    # one is): the cached pages are forgotten once the transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_correct_summary(
            actor=clerk_a, ticket=tickets[0], summary="已更换为节能路灯", reason="错别字"
        )
    with CaptureQueriesContext(connection) as after:
        html = client.get(RESULTS).content.decode()
    assert after.captured_queries and "已更换为节能路灯" in html and len(titles(html)) == 3


def test_one_address_asking_for_too_many_results_pages_is_refused(client, settings, db):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "results_ip": (2, 60)}
    assert client.get(RESULTS).status_code == 200
    assert client.get(RESULTS, {"page": 2}).status_code == 200
    refused = client.get(RESULTS)
    assert refused.status_code == 429 and int(refused["Retry-After"]) <= 60
    assert visitor().get(RESULTS).status_code == 200  # another address is not affected

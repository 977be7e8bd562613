"""The public representative directory, a rep's public page and their printable contact card."""

import datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from liaison.navigation import items_for
from reps.models import Group, GroupMembership, Mandate, Representative
from reps.pinyin import initials
from reps.public_views import LEVEL_LABELS
from tests.factories import MandateFactory, RepresentativeFactory, TownshipFactory

PRIVATE_PHONE = "13912345678"
PUBLIC_PHONE = "13887654321"


def today() -> datetime.date:
    return timezone.localdate()


def rep_with(region, *, levels=("county",), ended=False, **kwargs) -> Representative:
    """A rep in ``region`` with a mandate at each of ``levels``: running today, or ended last year."""
    rep = RepresentativeFactory(region=region, **kwargs)
    year = today().year
    start, end = (
        (datetime.date(year - 6, 1, 1), datetime.date(year - 1, 12, 31))
        if ended
        else (datetime.date(year - 1, 1, 1), datetime.date(year + 3, 12, 31))
    )
    for level in levels:
        MandateFactory(
            representative=rep, level=level, congress=f"{level}第十五次党代会", term_start=start, term_end=end
        )
    return rep


def html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def directory_names(client, **params) -> list[str]:
    response = client.get(reverse("reps:directory"), params)
    assert response.status_code == 200
    return [rep.name for rep in response.context["page"]]


@pytest.fixture
def wang(township_a):
    return rep_with(township_a, name="王建国", title="东街社区党委书记", levels=("county", "township"))


@pytest.fixture
def retired(township_a):
    return rep_with(township_a, name="退休代表", ended=True)


# --- the directory --------------------------------------------------------------------------


def test_it_lists_active_reps_to_anyone_and_leaves_out_those_whose_terms_ended(client, wang, retired):
    assert directory_names(client) == ["王建国"]
    # and says so, so that staff comparing it with the admin's longer list know why
    assert "只列出今天在任期内的党代表" in client.get(reverse("reps:directory")).content.decode()


def test_a_rep_whose_terms_all_ended_has_no_page_and_no_card(client, retired):
    assert client.get(reverse("reps:public_detail", args=[retired.pk])).status_code == 404
    assert client.get(reverse("reps:card", args=[retired.pk])).status_code == 404


def test_a_rep_whose_term_has_not_started_is_not_listed(client, township_a):
    rep = RepresentativeFactory(region=township_a, name="新当选")
    MandateFactory(
        representative=rep,
        term_start=today() + datetime.timedelta(days=1),
        term_end=today().replace(year=today().year + 5),
    )
    assert directory_names(client) == []
    assert client.get(reverse("reps:public_detail", args=[rep.pk])).status_code == 404


def test_it_shows_the_levels_held_today_and_the_group(client, township_a, wang):
    # An ended city seat is history: it is not shown as a level.
    MandateFactory(
        representative=wang,
        level="city",
        congress="市第十四次党代会",
        term_start=datetime.date(2015, 1, 1),
        term_end=datetime.date(2020, 12, 31),
    )
    group = Group.objects.create(name="城关代表小组", level="county", region=township_a)
    GroupMembership.objects.create(group=group, representative=wang)
    response = client.get(reverse("reps:directory"))
    (shown,) = response.context["page"]
    assert shown.level_labels == [LEVEL_LABELS["county"], LEVEL_LABELS["township"]]
    assert [m.level for m in shown.mandates_shown] == ["county", "township"]
    assert [g.name for g in shown.groups] == ["城关代表小组"]
    page = response.content.decode()
    assert "城关代表小组" in page
    assert "东街社区党委书记" in page


def test_no_private_phone_is_ever_rendered(client, township_a):
    rep = rep_with(township_a, name="李私密", phone=PRIVATE_PHONE, phone_public=False, pledge="服务群众")
    for url in (
        reverse("reps:directory"),
        reverse("reps:directory") + "?q=lsm",
        reverse("reps:public_detail", args=[rep.pk]),
        reverse("reps:card", args=[rep.pk]),
    ):
        page = html(client, url)
        assert "李私密" in page
        assert PRIVATE_PHONE not in page, url


def test_a_published_phone_is_shown_everywhere(client, township_a):
    rep = rep_with(township_a, name="张公开", phone=PUBLIC_PHONE, phone_public=True)
    for url in (
        reverse("reps:directory"),
        reverse("reps:public_detail", args=[rep.pk]),
        reverse("reps:card", args=[rep.pk]),
    ):
        assert PUBLIC_PHONE in html(client, url), url


def test_the_public_pages_show_no_login_contacts_or_visits(client, township_a, rep_a, wang):
    wang.user = rep_a
    wang.save(update_fields=["user"])
    for url in (reverse("reps:directory"), reverse("reps:public_detail", args=[wang.pk])):
        page = html(client, url)
        assert rep_a.username not in page
        assert reverse("reps:contacts") not in page


@pytest.mark.parametrize(
    ("query", "found"),
    [("wjg", ["王建国"]), ("WJG", ["王建国"]), ("建国", ["王建国"]), ("w", ["王建国"]), ("zzz", [])],
)
def test_it_finds_a_rep_by_pinyin_initials_or_a_name_fragment(client, township_a, wang, query, found):
    rep_with(township_a, name="李秀英")
    assert directory_names(client, q=query) == found


def test_it_filters_by_township_and_offers_only_townships_with_active_reps(
    client, county, township_a, township_b, wang
):
    rep_with(township_b, name="吴勇")
    quiet = TownshipFactory(name="东山街道", parent=county)
    rep_with(quiet, name="已卸任", ended=True)
    response = client.get(reverse("reps:directory"))
    assert [t.name for t in response.context["townships"]] == ["城关镇", "河口镇"]
    assert directory_names(client, township=township_b.pk) == ["吴勇"]
    assert directory_names(client, township=quiet.pk) == []
    assert directory_names(client, township="nonsense") == ["王建国", "吴勇"]  # by pinyin initials: wjg, wy


def test_it_filters_by_level(client, township_a, township_b, wang):
    rep_with(township_b, name="吴勇", levels=("county",))
    assert directory_names(client, level="township") == ["王建国"]
    assert directory_names(client, level="county") == ["王建国", "吴勇"]  # by pinyin initials: wjg, wy
    assert [value for value, _ in client.get(reverse("reps:directory")).context["level_choices"]] == [
        "county",
        "township",
    ]


def test_it_pages_by_twenty(client, township_a):
    create_active_reps(township_a, 45)
    assert len(directory_names(client)) == 20
    assert len(directory_names(client, page=3)) == 5


def test_the_directory_is_a_public_navigation_entry(client, wang):
    assert "reps:directory" in [item["url_name"] for item in items_for(AnonymousUser())]
    assert reverse("reps:directory") in html(client, reverse("home"))


# --- constant queries -----------------------------------------------------------------------


def create_active_reps(region, count: int, *, start: int = 0) -> list[Representative]:
    """Bulk-create ``count`` reps with a running county and township mandate and a group each.

    bulk_create skips ``Representative.save()`` and ``GroupMembership.save()``, so the
    derived ``name_initials`` and ``level`` are set here.
    """
    group, _ = Group.objects.get_or_create(name="第一代表小组", level="township", region=region)
    names = [f"代表{start + i:04d}" for i in range(count)]
    reps = Representative.objects.bulk_create(
        [
            Representative(
                name=name,
                name_initials=initials(name),
                region=region,
                title="村党支部书记",
                phone=f"139{start + i:08d}",
                phone_public=i % 2 == 0,
                pledge="为民服务",
            )
            for i, name in enumerate(names)
        ]
    )
    term = {
        "term_start": datetime.date(today().year - 1, 1, 1),
        "term_end": datetime.date(today().year + 3, 12, 31),
    }
    Mandate.objects.bulk_create(
        [
            Mandate(representative=rep, level=level, congress=f"{level}第十五次", **term)
            for rep in reps
            for level in ("county", "township")
        ]
    )
    GroupMembership.objects.bulk_create(
        [GroupMembership(group=group, representative=rep, level=group.level) for rep in reps]
    )
    return reps


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", ["", "?q=db", "?level=county&page=2"])
def test_the_directory_runs_as_many_queries_for_1000_reps_as_for_10(client, township_a, params):
    url = reverse("reps:directory") + params
    create_active_reps(township_a, 10)
    small = count_queries(client, url)  # page=2 of one page shows the last page, the same work
    create_active_reps(township_a, 990, start=10)
    large = count_queries(client, url)
    assert small == large
    assert small <= 6  # count, page, mandates, groups, townships, levels


def test_a_detail_page_and_a_card_run_as_many_queries_for_1000_reps_as_for_10(client, township_a):
    first = create_active_reps(township_a, 10)[0]
    detail, card = reverse("reps:public_detail", args=[first.pk]), reverse("reps:card", args=[first.pk])
    small = (count_queries(client, detail), count_queries(client, card))
    create_active_reps(township_a, 990, start=10)
    assert (count_queries(client, detail), count_queries(client, card)) == small
    # the rep, their mandates, their groups; their studios and next duty (studios' public facts)
    assert small == (5, 5)


# --- the contact card -----------------------------------------------------------------------


def test_the_card_has_a_qr_code_to_the_intake_page_addressed_to_the_rep(client, wang):
    page = html(client, reverse("reps:card", args=[wang.pk]))
    assert "<svg" in page
    assert f"http://testserver/intake/?rep={wang.pk}" in page
    assert page.count('class="contact-card"') == 2  # one copy each side of the sheet
    assert "data-print" in page  # the print button (static/js/liaison.js prints)
    assert "css/card.css" in page  # which holds the @media print rules


def test_the_card_without_a_public_phone_points_to_the_studio_and_the_qr_code(client, township_a):
    rep = rep_with(township_a, name="李私密", phone=PRIVATE_PHONE)
    with translation.override(settings.LANGUAGE_CODE):
        expected = gettext("Please contact me through the studio or the QR code below.")
    assert expected in html(client, reverse("reps:card", args=[rep.pk]))


def test_the_detail_page_links_to_the_card(client, wang):
    assert reverse("reps:card", args=[wang.pk]) in html(client, reverse("reps:public_detail", args=[wang.pk]))

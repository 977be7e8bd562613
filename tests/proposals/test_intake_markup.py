"""The intake page's fields without crispy-forms (issue 14): the same Bootstrap 5 markup and ids
as ``|as_crispy_field`` wrote, the queries of a GET and a POST pinned, and a flood of 429s counted
and logged once a minute rather than once per refusal."""

from __future__ import annotations

import logging
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from proposals import ratelimit
from proposals.models import Proposer, Ticket, TicketEvent
from tests.proposals.public_helpers import visitor
from tests.proposals.test_intake import INTAKE, matter

FIELDS = ("township", "category", "title", "content", "place", "name", "phone", "sms_consent", "files")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _tag(html: str, auto_id: str) -> str:
    """The opening tag of the control with this id."""
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{auto_id}"[^>]*>', html)
    assert match, auto_id
    return match.group(0)


def test_each_field_has_crispys_wrapper_label_classes_and_described_help(township_a):
    html = visitor().get(INTAKE).content.decode()
    for name in FIELDS:
        assert f'id="div_id_{name}"' in html and f'for="id_{name}"' in html, name
    assert 'class="form-label requiredField">' in html and '<span class="asteriskField">*</span>' in html
    assert "select form-select" in _tag(html, "id_category")
    assert "textarea form-control" in _tag(html, "id_content")
    assert "textinput form-control" in _tag(html, "id_title")
    title = _tag(html, "id_title")
    assert 'aria-describedby="id_title_helptext"' in title and 'maxlength="100"' in title
    assert '<div id="id_title_helptext" class="form-text">' in html
    consent = _tag(html, "id_sms_consent")
    assert "checkboxinput form-check-input" in consent and "required" not in consent
    assert '<div id="div_id_sms_consent" class="form-check">' in html
    assert '<label for="id_sms_consent" class="form-check-label">' in html
    assert 'class="form-check-label requiredField"' in html  # the privacy consent
    assert 'accept="image/jpeg' in _tag(html, "id_files") and "multiple" in _tag(html, "id_files")
    assert "is-invalid" not in html and "invalid-feedback" not in html
    assert 'name="token"' in html and 'id="id_homepage"' in html


def test_an_invalid_post_marks_the_field_and_shows_its_message(township_a):
    resident = visitor()
    response = resident.post(INTAKE, matter(resident, township=township_a.pk, title="", phone="12"))
    html = response.content.decode()
    assert response.status_code == 200 and not Ticket.objects.exists()
    assert set(response.context["form"].errors) == {"title", "phone"}
    title = _tag(html, "id_title")
    assert "is-invalid" in title and 'aria-invalid="true"' in title
    assert 'aria-describedby="id_title_helptext id_title_error"' in title
    phone = _tag(html, "id_phone")
    assert "is-invalid" in phone and 'aria-describedby="id_phone_error"' in phone
    message = response.context["form"].errors["phone"][0]
    assert (
        f'<div id="id_phone_error" class="invalid-feedback"><p id="error_1_id_phone"><strong>{message}</strong>'
        in html
    )
    assert "is-invalid" not in _tag(html, "id_content") and 'id="id_content_error"' not in html
    assert html.count("is-invalid") == 2


def test_an_anonymous_get_runs_six_queries_and_writes_no_session(township_a):
    resident = visitor()
    with CaptureQueriesContext(connection) as queries:
        page = resident.get(INTAKE)
    html = page.content.decode()
    # the county count, the nav's county check, the erasure years, the townships, the categories, ...
    assert len(queries) == 6, [q["sql"][:80] for q in queries.captured_queries]
    assert html.count('<option value="') >= 2 and township_a.name in html  # the rows are drawn
    assert "sessionid" not in page.cookies and not any(
        "django_session" in q["sql"] for q in queries.captured_queries
    )


def test_a_valid_post_runs_fourteen_statements(township_a):
    resident = visitor()
    data = matter(resident, township=township_a.pk)
    with CaptureQueriesContext(connection) as queries:
        response = resident.post(INTAKE, data)
    assert response.status_code == 302
    # Nothing dropped: the ticket, its proposer, its event, the receipt in the session.
    ticket = Ticket.objects.get()
    assert (
        Proposer.objects.filter(ticket=ticket).count() == 1
        and TicketEvent.objects.filter(ticket=ticket).exists()
    )
    assert ticket.submission_token
    assert not any("COUNT(*)" in q["sql"] for q in queries.captured_queries)  # counties: not drawn
    assert len(queries) == 14, [q["sql"][:80] for q in queries.captured_queries]


def test_a_flood_of_refusals_is_counted_and_logged_once_a_minute(township_a, settings, caplog, monkeypatch):
    settings.RATE_LIMITS = {"intake": (10, 3600), "intake_ip": (2, 3600)}
    monkeypatch.setattr(ratelimit, "_last_refusal_log", [0.0])
    ratelimit._refused.clear()
    flooder = visitor()
    caplog.set_level(logging.WARNING, logger="proposals.ratelimit")
    statuses = [flooder.post(INTAKE, {"token": "t"}).status_code for _ in range(7)]
    assert statuses == [200, 200, 429, 429, 429, 429, 429]
    lines = [r.getMessage() for r in caplog.records if r.name == "proposals.ratelimit"]
    assert lines == ["rate limits: refused 1 intake_ip in the last 60 s"]  # the first, then counted
    assert ratelimit._refused == {"intake_ip": 4}
    assert not any(r.name == "django.request" for r in caplog.records)  # no WARNING per 429
    ratelimit._last_refusal_log[0] -= ratelimit.WARN_EVERY  # a minute later
    assert flooder.post(INTAKE, {"token": "t"}).status_code == 429
    lines = [r.getMessage() for r in caplog.records if r.name == "proposals.ratelimit"]
    assert lines[-1] == "rate limits: refused 5 intake_ip in the last 60 s" and not ratelimit._refused


def test_the_selects_keep_the_choice_and_name_the_county_when_there_are_two(township_a, db):
    from liaison.models import Category
    from tests.factories import CountyFactory, TownshipFactory

    other = TownshipFactory(parent=CountyFactory(name="海门区"), name="三厂街道")
    category = Category.objects.create(name="<灯> & 路", is_active=True)
    resident = visitor()
    response = resident.post(INTAKE, matter(resident, township=other.pk, category=category.pk, title=""))
    html = response.content.decode()
    assert set(response.context["form"].errors) == {"title"}
    assert f'<option value="{category.pk}" selected>&lt;灯&gt; &amp; 路</option>' in html
    assert f'<option value="{other.pk}" selected>海门区 三厂街道</option>' in html
    assert f'<option value="{township_a.pk}">{township_a.parent.name} {township_a.name}</option>' in html


def test_a_redis_counter_is_one_round_trip_that_peek_reads_and_that_expires():
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        pytest.skip("the shared cache is not Redis in this run")
    verdicts = [ratelimit.hit("intake_ip", "10.1.2.3", now=7200.0) for _ in range(3)]
    assert [v.count for v in verdicts] == [1, 2, 3]
    assert ratelimit.peek("intake_ip", "10.1.2.3", now=7200.0).count == 3
    key = cache.make_and_validate_key(ratelimit._key("intake_ip", "10.1.2.3", 2))
    ttl = cache._cache.get_client(key).ttl(key)
    assert 3600 < ttl <= 3660

    def calls(command: str) -> int:
        stats = cache._cache.get_client(key).info("commandstats")
        return stats.get(f"cmdstat_{command}", {}).get("calls", 0)

    before = {c: calls(c) for c in ("set", "incrby", "exists")}
    ratelimit.hit("intake_ip", "10.1.2.3", now=7200.0)
    assert {c: calls(c) - before[c] for c in before} == {"set": 1, "incrby": 1, "exists": 0}

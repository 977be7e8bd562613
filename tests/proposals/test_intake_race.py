"""On PostgreSQL: many residents filing at once each get their own ticket and code, and one
form sent twice at the same moment still makes one ticket."""

import threading

import pytest
from django.db import connection, connections

from proposals.models import Category, Ticket
from proposals.public_forms import new_submission_token
from tests.proposals.public_helpers import png_upload, visitor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _post_all(posts):
    """Send every (client, data) post at the same moment, each from its own thread and
    database connection; return the status codes."""
    barrier, statuses, errors = threading.Barrier(len(posts)), [], []

    def send(client, data):
        try:
            barrier.wait()
            statuses.append(client.post("/intake/", data).status_code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=post) for post in posts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    return statuses


def _matter(i: int, township, category, **extra):
    return {
        "township": township.pk,
        "category": category.pk,
        "title": f"第{i}件事",
        "content": f"居民反映的第{i}件事情",
        "name": f"居民{i}",
        "phone": f"1381234{i:04d}",
        "privacy_consent": "on",
        "token": new_submission_token(),
        **extra,
    }


def test_fifty_residents_filing_at_once_get_fifty_tickets_with_fifty_codes(township_a):
    if connection.vendor != "postgresql":
        pytest.fail("this race is checked on PostgreSQL: run it with `make test`")
    category, _ = Category.objects.get_or_create(name="交通出行")
    posts = [
        # Each resident on their own address, so that no one meets the per-address limit.
        (visitor(), _matter(i, township_a, category, **({"files": [png_upload()]} if i % 10 == 0 else {})))
        for i in range(50)
    ]
    statuses = _post_all(posts)
    assert statuses == [302] * 50
    tickets = Ticket.objects.filter(source="intake")
    assert tickets.count() == 50
    assert len(set(tickets.values_list("tracking_code", flat=True))) == 50
    assert sorted(tickets.values_list("title", flat=True)) == sorted(f"第{i}件事" for i in range(50))
    assert sum(t.attachments.count() for t in tickets) == 5


def test_one_form_sent_twice_at_the_same_moment_makes_one_ticket(township_a):
    if connection.vendor != "postgresql":
        pytest.fail("this race is checked on PostgreSQL: run it with `make test`")
    category, _ = Category.objects.get_or_create(name="交通出行")
    resident = visitor()
    data = _matter(1, township_a, category)
    twin = visitor()
    twin.defaults["REMOTE_ADDR"] = resident.defaults["REMOTE_ADDR"]
    statuses = _post_all([(resident, data), (twin, dict(data))])
    assert statuses == [302, 302]
    ticket = Ticket.objects.get()
    assert ticket.proposers.count() == 1 and ticket.events.filter(move="register").count() == 1

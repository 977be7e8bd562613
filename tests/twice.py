"""Helpers for the tests that send a form twice: the token a page carries, and posts released
together from threads (each with its own database connection) for the PostgreSQL races."""

from __future__ import annotations

import re
import threading

from django.contrib.messages import get_messages
from django.db import connections

TOKEN_RE = re.compile(r'<input type="hidden" name="token" value="([^"]+)"')


def page_token(response) -> str:
    """The one-time token of the form on a page (``liaison.idempotency``)."""
    match = TOKEN_RE.search(response.content.decode())
    assert match, "the form carries no token"
    return match.group(1)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def post_at_once(posts) -> list:
    """Send every (client, url, data) post at the same moment, each from its own thread; return
    each post's response (in order). Any exception fails the test: a race must not answer 500."""
    barrier, responses, errors = threading.Barrier(len(posts)), [None] * len(posts), []

    def send(i, client, url, data):
        try:
            barrier.wait(timeout=60)
            responses[i] = client.post(url, data)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i, *post)) for i, post in enumerate(posts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a post is stuck (a lock never released?)"
    assert errors == []
    return responses


def refusals(responses) -> list:
    """What each response that showed its form again said (for a failing assertion's message)."""
    return [
        dict(r.context["form"].errors) if r.status_code == 200 and r.context and "form" in r.context else None
        for r in responses
    ]

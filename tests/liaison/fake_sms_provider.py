"""A real HTTP server on 127.0.0.1 that answers like the SMS provider adapter (``SMS_BACKEND=http``).

It records every request, answers ``{"ok": true}`` or the failure set for a phone number, and
can hold the first request until the test lets it go (to kill a worker in the middle of it).
"""

from __future__ import annotations

import json

from tests.loopback import LoopbackServer


class FakeSmsProvider(LoopbackServer):
    path = "/send"

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.failures: dict[str, tuple[int, dict]] = {}  # phone -> (HTTP status, JSON answer)
        super().__init__()

    def fail(self, phone: str, status: int = 200, **answer) -> None:
        """Answer requests for ``phone`` with ``status`` and ``answer`` (default: ok false)."""
        self.failures[phone] = (status, {"ok": False, **answer})

    def request_ids(self, phone: str | None = None) -> list[str]:
        with self._lock:
            return [r["request_id"] for r in self.requests if phone is None or r["phone"] == phone]

    def answer(self, headers, body):
        request = json.loads(body)
        request["authorization"] = headers.get("Authorization")
        self.requests.append(request)
        status, answer = self.failures.get(request["phone"], (200, {"ok": True}))
        return status, json.dumps(answer, ensure_ascii=False).encode(), "application/json"

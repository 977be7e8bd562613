"""A real HTTP server on 127.0.0.1 that receives webhooks as an integrating system would.

It records every request (headers and raw body) with the status it answered, answers with the
statuses it is told in turn (then 200), and can hold the first request until the test lets it
go (to kill a worker in the middle of it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.loopback import LoopbackServer


@dataclass(frozen=True)
class Receipt:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class WebhookReceiver(LoopbackServer):
    path = "/liaison/events"

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.receipts: list[Receipt] = []
        self.statuses = list(statuses or [])  # answered in turn, then 200
        super().__init__()

    def event_ids(self) -> list[str]:
        with self._lock:
            return [r.headers["X-Liaison-Event-Id"] for r in self.receipts]

    def answered(self) -> list[int]:
        with self._lock:
            return [r.answered for r in self.receipts]

    def answer(self, headers, body):
        status = self.statuses.pop(0) if self.statuses else 200
        self.receipts.append(Receipt(dict(headers.items()), body, status))
        return status, b"", None

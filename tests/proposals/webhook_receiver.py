"""A real HTTP server on 127.0.0.1 that receives webhooks as an integrating system would.

It records every request (headers and raw body) with the status it answered, answers with the
statuses it is told in turn (then 200), and can hold the first request until the test lets it
go (to kill a worker in the middle of it).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Receipt:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, statuses: list[int] | None = None) -> None:
        self.receipts: list[Receipt] = []
        self.statuses = list(statuses or [])  # answered in turn, then 200
        self.hold_first = False
        self.first_received = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/liaison/events"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def event_ids(self) -> list[str]:
        with self._lock:
            return [r.headers["X-Liaison-Event-Id"] for r in self.receipts]

    def answered(self) -> list[int]:
        with self._lock:
            return [r.answered for r in self.receipts]

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.receipts.append(Receipt(dict(self.headers.items()), body, status))
                    first = len(receiver.receipts) == 1
                if first and receiver.hold_first:
                    receiver.first_received.set()
                    receiver.release.wait(timeout=60)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender is gone (a killed worker): nothing to answer
                    pass

            def log_message(self, format, *args):
                pass

        return Handler

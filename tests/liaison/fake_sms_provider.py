"""A real HTTP server on 127.0.0.1 that answers like the SMS provider adapter (``SMS_BACKEND=http``).

It records every request, answers ``{"ok": true}`` or the failure set for a phone number, and
can hold the first request until the test lets it go (to kill a worker in the middle of it).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeSmsProvider:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.failures: dict[str, tuple[int, dict]] = {}  # phone -> (HTTP status, JSON answer)
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
        return f"http://{host}:{port}/send"

    def start(self) -> FakeSmsProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def fail(self, phone: str, status: int = 200, **answer) -> None:
        """Answer requests for ``phone`` with ``status`` and ``answer`` (default: ok false)."""
        self.failures[phone] = (status, {"ok": False, **answer})

    def request_ids(self, phone: str | None = None) -> list[str]:
        with self._lock:
            return [r["request_id"] for r in self.requests if phone is None or r["phone"] == phone]

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["authorization"] = self.headers.get("Authorization")
                with provider._lock:
                    provider.requests.append(body)
                    first = len(provider.requests) == 1
                if first and provider.hold_first:
                    provider.first_received.set()
                    provider.release.wait(timeout=60)
                status, answer = provider.failures.get(body["phone"], (200, {"ok": True}))
                payload = json.dumps(answer, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client is gone (a killed worker): nothing to answer
                    pass

            def log_message(self, format, *args):
                pass

        return Handler

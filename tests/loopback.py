"""A real HTTP server on 127.0.0.1 for the tests that talk to another system over the network (the
SMS provider, an integrating system's webhook receiver): a free port, a thread, POSTs answered
by the subclass's ``answer``, and the first request optionally held until the test lets it go
(to kill a worker in the middle of it)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    path = "/"

    def __init__(self) -> None:
        self.hold_first = False
        self.first_received = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._received = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer(self, headers, body: bytes) -> tuple[int, bytes, str | None]:
        """Record the request (``headers``: the handler's, read case-insensitively) and say what to
        answer: status, body, content type. Called under the server's lock, one request at a time."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with server._lock:
                    status, payload, content_type = server.answer(self.headers, body)
                    server._received += 1
                    first = server._received == 1
                if first and server.hold_first:
                    server.first_received.set()
                    server.release.wait(timeout=60)
                try:
                    self.send_response(status)
                    if content_type:
                        self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client is gone (a killed worker): nothing to answer
                    pass

            def log_message(self, format, *args):
                pass

        return Handler

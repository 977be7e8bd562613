"""Log lines that can be followed from a request into the tasks it enqueued.

Every request gets a request id: the proxy's ``X-Request-ID`` when it sends a sane one (nginx's
``$request_id``, deploy/nginx/liaison_proxy.conf), a new one otherwise; the response carries it
back. Each task published while the request runs carries it in a message header, and the worker
sets it again while the task runs (``liaison.celery``), so the task's log lines show the request's
id; beat's own tasks log ``-``. ``LOG_FORMAT=json`` writes one JSON object per line (time, level,
logger, request id, message, exception) for a log collector; ``plain`` (the default) keeps text.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import uuid

HEADER = "X-Request-ID"
NONE = "-"
_SANE = re.compile(r"[A-Za-z0-9._-]{8,64}")

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=NONE)


def current() -> str:
    return request_id.get()


def accept(value: str | None) -> str:
    """The given id if it is one a proxy would send, else a new one (never a client's free text)."""
    return value if value and _SANE.fullmatch(value) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request_id.set(accept(request.headers.get(HEADER)))
        try:
            response = self.get_response(request)
            response[HEADER] = request_id.get()
            return response
        finally:
            request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Gives every record the current request id (``%(request_id)s``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", NONE),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)

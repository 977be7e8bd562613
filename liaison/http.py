"""What the project reads from a request, in one place."""

from __future__ import annotations


def client_ip(request) -> str | None:
    """The address of the client that sent ``request``: REMOTE_ADDR, as the server saw it.

    The one function for a client's IP (the audit log, rate limits): X-Forwarded-For is not
    believed here, since any client can write it.
    """
    return request.META.get("REMOTE_ADDR") or None

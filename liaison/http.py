"""What the project reads from a request, in one place."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def trusted_proxies() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``settings.TRUSTED_PROXIES`` (addresses or CIDR blocks) as networks."""
    return [ipaddress.ip_network(entry, strict=False) for entry in getattr(settings, "TRUSTED_PROXIES", [])]


def _is_trusted(address, proxies) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_ip(request) -> str | None:
    """The address of the client that sent ``request``.

    The one function for a client's IP (the audit log, login throttling, rate limits).
    REMOTE_ADDR, unless it is one of ``settings.TRUSTED_PROXIES``: then ``X-Forwarded-For`` is
    read from the right, skipping our own proxies, and the first address that is not one of them
    is the client (everything left of it was written by the client and proves nothing). Any
    client can send the header, so from an address that is not a trusted proxy it is ignored.
    """
    # Not an address (a Unix socket's peer, say): no client IP, rather than a value the
    # audit log's and the sign-in counts' IP columns refuse (PostgreSQL's inet).
    remote_address = _address(request.META.get("REMOTE_ADDR") or "")
    remote = str(remote_address) if remote_address is not None else None
    proxies = trusted_proxies()
    if not proxies or not _is_trusted(remote_address, proxies):
        return remote
    hops = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [part for part in hops if part]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # Not an address where the nearest untrusted hop should be: believe nothing further.
            return remote
        if not _is_trusted(address, proxies):
            return str(address)
    # Every hop is one of our proxies (a request from inside): the first of them sent it.
    return str(_address(hops[0])) if hops else remote

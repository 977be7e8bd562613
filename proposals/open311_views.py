"""The Open311 GeoReport v2 API under ``/open311/v2/`` (http://wiki.open311.org/GeoReport_v2).

Services are the active categories (``service_code`` is the category's id). Requests are tickets
(``service_request_id`` is the ticket's id, the number ``/results/<id>/`` shows). Every endpoint
answers in JSON or XML by its suffix, errors as ``[{code, description}]`` (``<errors><error>``).

What leaves through the API is what ``/results/`` may show, and nothing more:
- without a key, ``GET requests`` lists published tickets only (``Ticket.objects.published()``);
- with a key, also the tickets integrating systems filed in the key's region (open or closed);
- never a name, phone, tracking code, the ticket's content or its place (free text that may
  name people or a home address): ``description`` is the title, ``address`` the township,
  ``status_notes`` the published reply summary (empty until the ticket is published).

``POST requests`` files a matter through ``services.ticket_register`` as ``/intake/`` does, with
its limits, and answers the ticket's id and a ``token``. Two extensions, both optional:
``address_id`` is the township's id (required with a county key; a township key files in its own
township), and ``idempotency_key`` (up to 64 characters) makes a resend of the same post return
the first ticket instead of filing a second.

``GET tokens/<token>`` needs no key (the spec's api_key is not among its parameters): the token
is the ticket's id signed with the server's secret, so it can be neither guessed nor forged, and
it resolves to that id and nothing else. With the key that filed it, the POST's
``idempotency_key`` is also a token.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from xml.etree import ElementTree as ET

from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from liaison import idempotency
from liaison.models import Category, Region
from liaison.validators import clean_text
from proposals import ratelimit, transitions
from proposals.api_keys import api_key_find, api_key_refused, ticket_file_by_api
from proposals.models import ApiKey, Ticket, format_code
from proposals.public_forms import IntakeForm

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "application/xml; charset=utf-8"}
MAX_DESCRIPTION = IntakeForm.base_fields["content"].max_length  # the intake's limit (4,000)
MAX_IDEMPOTENCY_KEY = 64
PAGE_SIZE = 100
MAX_DAYS = 90  # the spec's window: the default without dates, and the longest allowed
CLOSED = sorted(transitions.CLOSED)
TOKENS = signing.Signer(salt="open311.token")


# --- answers -------------------------------------------------------------------------------


def _xml_value(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml(root: str, item: str, rows: list[dict]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        element = ET.SubElement(top, item)
        for name, value in row.items():
            child = ET.SubElement(element, name)
            if isinstance(value, list):
                continue  # an empty list of attributes: <attributes/>
            child.text = _xml_value(value)
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)


def answer(fmt: str, root: str, item: str, rows: list[dict], *, status: int = 200) -> HttpResponse:
    """``rows`` as a JSON array, or as ``<root><item>…</item></root>``."""
    body = _xml(root, item, rows) if fmt == "xml" else json.dumps(rows, ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def error(fmt: str, status: int, description: str, *, retry_after: int | None = None) -> HttpResponse:
    response = answer(
        fmt, "errors", "error", [{"code": status, "description": str(description)}], status=status
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    response._has_been_logged = True  # an integrator's mistake, not the server's: no warning per request
    return response


def iso(moment: datetime.datetime | None) -> str | None:
    """ISO 8601 with the offset, as the spec's examples (2010-04-14T06:37:38-08:00)."""
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


class Refused(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after


def _key(request, *, required: bool) -> ApiKey | None:
    """The request's valid key (counted against its own rate limit), None without one when
    ``required`` is False; Refused 403 for an unknown or revoked key, 429 over the key's limit."""
    raw = (request.POST if request.method == "POST" else request.GET).get("api_key", "")
    if not raw and not required:
        return None
    key = api_key_find(raw)
    if key is None:
        _public_limit(request)  # guesses count against the address, as /results/ pages do
        raise Refused(403, _("The api_key is missing or not valid."))
    # Counted before the revoked check: a revoked key still in use writes at most its hourly
    # limit of refusals to the audit log, not one per request of a flood.
    verdict = ratelimit.hit("open311_key", str(key.pk))
    if not verdict.allowed:
        raise Refused(429, _("Too many requests with this api_key; try again later."), verdict.retry_after)
    if key.revoked_at is not None:
        api_key_refused(key=key)
        raise Refused(403, _("This api_key has been revoked."))
    return key


def _public_limit(request) -> None:
    verdict = ratelimit.hit("results_ip", ratelimit.client_ip(request))
    if not verdict.allowed:
        raise Refused(429, _("Too many requests; try again later."), verdict.retry_after)


def _refusing(view):
    def wrapped(request, fmt: str, *args, **kwargs):
        try:
            return view(request, fmt, *args, **kwargs)
        except Refused as refused:
            return error(fmt, refused.status, refused.description, retry_after=refused.retry_after)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- services ------------------------------------------------------------------------------


def _service(category: Category) -> dict:
    return {
        "service_code": str(category.pk),
        "service_name": category.name,
        "description": category.name,
        "metadata": False,
        "type": "realtime",
        "keywords": "",
        "group": "",
    }


@require_GET
@_refusing
def services_list(request, fmt: str):
    """The active categories as services."""
    _public_limit(request)
    rows = [_service(c) for c in Category.objects.filter(is_active=True)]
    return answer(fmt, "services", "service", rows)


@require_GET
@_refusing
def service_definition(request, fmt: str, code: str):
    """A service's definition: no attributes (a category asks for none)."""
    _public_limit(request)
    if not _category(code):
        raise Refused(404, _("No such service_code."))
    body = {"service_code": code, "attributes": []}
    if fmt == "xml":
        top = ET.Element("service_definition")
        ET.SubElement(top, "service_code").text = code
        ET.SubElement(top, "attributes")
        return HttpResponse(
            ET.tostring(top, encoding="utf-8", xml_declaration=True), content_type=CONTENT_TYPES[fmt]
        )
    return HttpResponse(json.dumps(body).encode(), content_type=CONTENT_TYPES[fmt])


def _category(code: str) -> Category | None:
    code = (code or "").strip()
    if not code.isdigit() or len(code) > 9:
        return None
    return Category.objects.filter(is_active=True, pk=int(code)).first()


# --- filing a request ----------------------------------------------------------------------


def _township(key: ApiKey, address_id: str) -> Region:
    """Where the matter is filed: the key's township, or the one ``address_id`` names within the
    key's county; Refused 400 for no or an unknown township, 403 for one outside the key's scope."""
    address_id = (address_id or "").strip()
    if not address_id and key.region.level == Region.Level.TOWNSHIP:
        return key.region
    if not address_id:
        raise Refused(400, _("A county key must give the township's id as address_id."))
    township = (
        Region.objects.townships().filter(pk=int(address_id)).first()
        if address_id.isdigit() and len(address_id) < 10
        else None
    )
    if township is None:
        raise Refused(400, _("address_id is not the id of a township."))
    if not township.is_within(key.region):
        raise Refused(403, _("This api_key may not file matters in that township."))
    return township


def _location(data) -> str:
    """The place as the request gives it: the address, or else lat/long; Refused 400 without."""
    address = clean_text(data.get("address_string", "")).strip()
    if address:
        return address[:200]
    try:
        lat, long = float(data.get("lat", "")), float(data.get("long", ""))
    except ValueError:
        raise Refused(400, _("Give a location: address_string, or lat and long.")) from None
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise Refused(400, _("Give a location: address_string, or lat and long."))
    return f"{lat:.6f},{long:.6f}"


def _nonce(key: ApiKey, value: str) -> str | None:
    """The ticket's ``submission_token`` for ``idempotency_key`` ``value`` of ``key``: a digest,
    so one system's values can never meet another's or an intake form's nonce."""
    if not value:
        return None
    if len(value) > MAX_IDEMPOTENCY_KEY:
        raise Refused(400, _("idempotency_key is longer than 64 characters."))
    return hashlib.sha256(f"open311:{key.pk}:{value}".encode()).hexdigest()[:40]


def _title(description: str) -> str:
    line = description.strip().splitlines()[0].strip() if description.strip() else ""
    return line if len(line) <= 30 else line[:29] + "…"


@_refusing
def request_create(request, fmt: str):
    """File a matter for an integrating system.

    1. The key: 403 unknown or revoked, 429 over its hourly limit.
    2. The service (404 unknown), the location and the description (400 missing or too long).
    3. The township: the key's own, or ``address_id`` within the key's county (403 outside).
    4. ``services.ticket_register`` as the intake page, with the key's ``idempotency_key`` as
       the submission token: a resend returns the first ticket; the filing is audited once.
    """
    data = request.POST
    key = _key(request, required=True)
    assert key is not None
    if not data.get("service_code", "").strip():
        raise Refused(400, _("service_code is required."))
    category = _category(data.get("service_code", ""))
    if category is None:
        raise Refused(404, _("No such service_code."))
    place = _location(data)
    description = clean_text(data.get("description", "")).strip()
    if not description:
        raise Refused(400, _("description is required."))
    if len(description) > MAX_DESCRIPTION:
        raise Refused(400, _("description is longer than %(n)s characters.") % {"n": MAX_DESCRIPTION})
    township = _township(key, data.get("address_id", ""))
    nonce = _nonce(key, data.get("idempotency_key", "").strip())
    name = " ".join(clean_text(data.get(f, "")).strip() for f in ("first_name", "last_name")).strip()
    phone = data.get("phone", "").strip()
    try:
        ticket = ticket_file_by_api(
            key=key,
            township=township,
            category=category,
            title=_title(description),
            content=description,
            place=place,
            proposers=[(name[:32], phone)] if name or phone else [],
            nonce=nonce,
        )
    except ValidationError as exc:
        raise Refused(400, " ".join(exc.messages)) from None
    notice = _("Tracking code %(code)s: the proposer tracks the matter at %(url)s with it.") % {
        "code": format_code(ticket.tracking_code),
        "url": request.build_absolute_uri(reverse("public:track")),
    }
    # No account_id: there are no accounts, and the published schema (RequestResponse) types it
    # as a string, so null is not an answer it allows; the field is optional.
    row = {
        "service_request_id": str(ticket.pk),
        "token": TOKENS.sign(str(ticket.pk)),
        "service_notice": notice,
    }
    return answer(
        fmt, "service_requests", "request", [row], status=201 if not idempotency.replayed(ticket) else 200
    )


# --- reading requests ----------------------------------------------------------------------


def _readable(key: ApiKey | None):
    """The tickets the API may show: published ones, and with a key those integrating systems
    filed in its region."""
    published = Ticket.objects.published()
    if key is None:
        return published
    return published | Ticket.objects.filter(
        source=Ticket.Source.API, township__path__startswith=key.region.path
    )


def _rows(tickets) -> list[dict]:
    rows = []
    for t in tickets:
        published = t.is_published
        rows.append(
            {
                "service_request_id": str(t.pk),
                "status": "closed" if t.status in CLOSED else "open",
                "status_notes": t.reply_summary if published else "",
                "service_name": t.category.name,
                "service_code": str(t.category_id),
                "description": t.title,
                "agency_responsible": t.lead_unit.name if t.lead_unit_id else "",
                "service_notice": "",
                "requested_datetime": iso(t.created_at),
                "updated_datetime": iso(t.updated_at),
                "expected_datetime": None,
                "address": t.township.name,
                "address_id": str(t.township_id),
                "zipcode": None,
                "lat": None,
                "long": None,
                "media_url": None,
            }
        )
    return rows


def _query(tickets):
    return tickets.select_related("category", "lead_unit", "township").only(
        "id",
        "status",
        "is_public_interest",
        "resolution",
        "reply_summary",
        "title",
        "created_at",
        "updated_at",
        "category__name",
        "lead_unit__name",
        "township__name",
    )


def _moment(value: str, *, end: bool = False) -> datetime.datetime | None:
    value = (value or "").strip().replace(" ", "+")  # a "+" offset arrives as a space when not escaped
    if not value:
        return None
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime.datetime.combine(day, datetime.time.max if end else datetime.time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise Refused(400, _("Dates are ISO 8601, e.g. 2026-03-01T00:00:00+08:00."))
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@_refusing
def requests_list(request, fmt: str):
    """Requests by ``service_request_id`` (comma-separated; the other filters are then ignored),
    or by ``service_code`` and ``status`` (open, closed; each comma-separated), ``start_date`` and
    ``end_date`` (by when filed; at most 90 days, the last 90 without either), newest first,
    ``page`` by ``PAGE_SIZE``."""
    key = _key(request, required=False)
    if key is None:
        _public_limit(request)
    tickets = _readable(key)
    get = request.GET
    ids = [i.strip() for i in get.get("service_request_id", "").split(",") if i.strip()]
    if ids:
        tickets = tickets.filter(pk__in=[int(i) for i in ids if i.isdigit() and len(i) < 10])
    else:
        codes = [c.strip() for c in get.get("service_code", "").split(",") if c.strip()]
        if codes:
            tickets = tickets.filter(category_id__in=[int(c) for c in codes if c.isdigit() and len(c) < 10])
        statuses = {s.strip() for s in get.get("status", "").split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            raise Refused(400, _("status is open or closed."))
        if statuses == {"open"}:
            tickets = tickets.exclude(status__in=CLOSED)
        elif statuses == {"closed"}:
            tickets = tickets.filter(status__in=CLOSED)
        start, end = _moment(get.get("start_date", "")), _moment(get.get("end_date", ""), end=True)
        # The spec's window: the last 90 days without dates, and never more than 90 days.
        span = datetime.timedelta(days=MAX_DAYS)
        if start is None and end is None:
            start = timezone.now() - span
        elif start is None:
            start = end - span
        elif end is None:
            end = start + span
        elif end - start > span:
            raise Refused(400, _("start_date and end_date may not span more than 90 days."))
        if start is not None:
            tickets = tickets.filter(created_at__gte=start)
        if end is not None:
            tickets = tickets.filter(created_at__lte=end)
    page = get.get("page", "1")
    number = int(page) if page.isdigit() and 0 < len(page) < 6 and int(page) > 0 else 1
    offset = (number - 1) * PAGE_SIZE
    rows = _rows(_query(tickets).order_by("-created_at", "-id")[offset : offset + PAGE_SIZE])
    return answer(fmt, "service_requests", "request", rows)


@csrf_exempt  # integrating systems post without a session: the api_key authenticates them
@require_http_methods(["GET", "POST"])
def requests_dispatch(request, fmt: str):
    """``GET requests`` lists, ``POST requests`` files."""
    return request_create(request, fmt) if request.method == "POST" else requests_list(request, fmt)


@require_GET
@_refusing
def request_detail(request, fmt: str, pk: str):
    """One request, as a list of one (the spec's form); 404 for any the caller may not read."""
    key = _key(request, required=False)
    if key is None:
        _public_limit(request)
    ticket = _query(_readable(key)).filter(pk=int(pk)).first() if pk.isdigit() and len(pk) < 10 else None
    if ticket is None:
        raise Refused(404, _("No such service_request_id."))
    return answer(fmt, "service_requests", "request", _rows([ticket]))


def _signed_id(token: str) -> int | None:
    """The ticket id a POST's token carries; None for anything the server did not sign."""
    try:
        value = TOKENS.unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() and len(value) < 10 else None


@require_GET
@_refusing
def token_detail(request, fmt: str, token: str):
    """The request a token names, as ``[{service_request_id, token}]`` and nothing more.

    1. The token a POST answered: no key needed (without one, the call counts against the
       address as a page of ``/results/`` does).
    2. Else, with the key that filed it, the POST's ``idempotency_key``.
    3. Anything else: 404 (a forged or unknown token, or an idempotency_key without its key).
    """
    key = _key(request, required=False)
    if key is None:
        _public_limit(request)
    ticket_id = _signed_id(token)
    tickets = Ticket.objects.filter(source=Ticket.Source.API).only("id")
    if ticket_id is not None:
        ticket = tickets.filter(pk=ticket_id).first()
    elif key is not None:
        try:
            nonce = _nonce(key, token)
        except Refused:
            nonce = None
        ticket = tickets.filter(submission_token=nonce).first() if nonce else None
    else:
        ticket = None
    if ticket is None:
        raise Refused(404, _("No such token."))
    return answer(
        fmt, "service_requests", "request", [{"service_request_id": str(ticket.pk), "token": token}]
    )

"""The Open311 GeoReport v2 API: every endpoint in JSON and XML with the spec's field names, types
and date format; the errors; API keys (hashed, revoked, scoped, rate-limited, audited);
exactly-once filing; no personal data in any answer; constant queries per list.

The field lists are the GeoReport v2 spec's (http://wiki.open311.org/GeoReport_v2): its
response examples and the XML element names there (<services><service>, <service_requests>
<request>, <errors><error>, <service_definition>). The answers are also validated against the
Open311 project's published schemas: test_open311_schemas.py.
"""

import datetime
import re
from xml.etree import ElementTree as ET

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from liaison.models import AuditEvent, Category
from proposals.api_keys import api_key_create, api_key_revoke, digest_of
from proposals.models import ApiKey, Proposer, Ticket, new_tracking_code

V2 = "/open311/v2/"
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
TZ = timezone.get_default_timezone()


def at(*args):
    return datetime.datetime(*args, tzinfo=TZ)


@pytest.fixture
def key_a(township_a):
    return api_key_create(actor=None, name="12345 热线", region=township_a)


@pytest.fixture
def key_b(township_b):
    return api_key_create(actor=None, name="河口小程序", region=township_b)


@pytest.fixture
def county_key(county):
    return api_key_create(actor=None, name="县12345", region=county)


def published(n, *, township, category, **fields):
    values = {
        "title": "路灯",
        "content": "居民张大爷（13812345678）反映路灯不亮",
        "place": "东街12号张大爷家",
        "source": "intake",
        "status": "closed",
        "resolution": "satisfied",
        "is_public_interest": True,
        "reply_summary": "已更换路灯",
        "created_at": timezone.now() - datetime.timedelta(days=5),
        "updated_at": timezone.now() - datetime.timedelta(days=1),
        "closed_at": timezone.now() - datetime.timedelta(days=1),
        **fields,
    }
    tickets = Ticket.objects.bulk_create(
        Ticket(category=category, township=township, tracking_code=new_tracking_code(), **values)
        for _ in range(n)
    )
    Proposer.objects.bulk_create(Proposer(ticket=t, name="张大爷", phone="13812345678") for t in tickets)
    return tickets


def file(client, key, fmt="json", **overrides):
    data = {
        "api_key": key,
        "service_code": str(Category.objects.get(name="交通出行").pk),
        "address_string": "东街社区村口",
        "description": "村口三盏路灯坏了一个月，晚上走路不安全。",
        "first_name": "张",
        "last_name": "大爷",
        "phone": "13812345678",
        **overrides,
    }
    return client.post(f"{V2}requests.{fmt}", {k: v for k, v in data.items() if v is not None})


def xml_rows(response, root, item):
    tree = ET.fromstring(response.content)  # noqa: S314 - our own answer
    assert tree.tag == root
    assert all(child.tag == item for child in tree)
    return [{field.tag: field.text for field in child} for child in tree]


def assert_error(response, status, fmt="json"):
    assert response.status_code == status
    if fmt == "xml":
        rows = xml_rows(response, "errors", "error")
        assert rows[0]["code"] == str(status) and rows[0]["description"]
    else:
        body = response.json()
        assert list(body[0]) == ["code", "description"]
        assert body[0]["code"] == status and isinstance(body[0]["description"], str)
    return response


# --- services ------------------------------------------------------------------------------


def test_services_list_every_active_category_with_the_spec_fields(client, category):
    Category.objects.create(name="已停用", is_active=False)
    body = client.get(f"{V2}services.json").json()
    assert [s["service_name"] for s in body] == list(
        Category.objects.filter(is_active=True).values_list("name", flat=True)
    )
    row = next(s for s in body if s["service_code"] == str(category.pk))
    assert list(row) == SERVICE_FIELDS
    assert row["metadata"] is False and row["type"] == "realtime"
    assert all(isinstance(row[f], str) for f in SERVICE_FIELDS if f != "metadata")

    rows = xml_rows(client.get(f"{V2}services.xml"), "services", "service")
    assert list(rows[0]) == SERVICE_FIELDS
    assert {r["service_code"] for r in rows} == {s["service_code"] for s in body}
    assert rows[0]["metadata"] == "false"


def test_a_service_definition_has_no_attributes_and_unknown_codes_are_404(client, category):
    assert client.get(f"{V2}services/{category.pk}.json").json() == {
        "service_code": str(category.pk),
        "attributes": [],
    }
    tree = ET.fromstring(client.get(f"{V2}services/{category.pk}.xml").content)  # noqa: S314 - our own answer
    assert tree.tag == "service_definition"
    assert [c.tag for c in tree] == ["service_code", "attributes"] and len(tree.find("attributes")) == 0
    assert_error(client.get(f"{V2}services/999999.json"), 404)
    assert_error(client.get(f"{V2}services/999999.xml"), 404, "xml")


# --- filing --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_files_a_ticket_through_the_intake_service_and_audits_it(client, category, key_a, fmt):
    key, raw = key_a
    response = file(client, raw, fmt)
    assert response.status_code == 201
    row = xml_rows(response, "service_requests", "request")[0] if fmt == "xml" else response.json()[0]
    assert list(row) == ["service_request_id", "token", "service_notice"]
    ticket = Ticket.objects.get(pk=int(row["service_request_id"]))
    assert ticket.township == key.region and ticket.source == "api" and ticket.status == "registered"
    assert ticket.content == "村口三盏路灯坏了一个月，晚上走路不安全。" and ticket.place == "东街社区村口"
    assert list(ticket.proposers.values_list("name", "phone")) == [("张 大爷", "13812345678")]
    assert ticket.events.get().move == "register"
    audit = AuditEvent.objects.get(verb="open311.filed")
    assert audit.subject_id == str(ticket.pk) and audit.data == {"api_key": key.pk}
    assert audit.region_id == key.region_id


def test_the_same_idempotency_key_files_one_ticket_and_tokens_find_it(client, category, key_a, key_b):
    _key, raw = key_a
    first = file(client, raw, idempotency_key="order-2026-001")
    again = file(client, raw, idempotency_key="order-2026-001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    assert Ticket.objects.count() == 1 and AuditEvent.objects.filter(verb="open311.filed").count() == 1
    # Another key's same value is its own: a second ticket, not the first one shown.
    other = file(client, key_b[1], idempotency_key="order-2026-001", address_id=None)
    assert other.json()[0]["service_request_id"] != first.json()[0]["service_request_id"]
    assert Ticket.objects.count() == 2

    found = client.get(f"{V2}tokens/order-2026-001.json", {"api_key": raw})
    assert found.json() == [
        {"service_request_id": first.json()[0]["service_request_id"], "token": "order-2026-001"}
    ]
    rows = xml_rows(
        client.get(f"{V2}tokens/order-2026-001.xml", {"api_key": raw}), "service_requests", "request"
    )
    assert rows == found.json()
    assert_error(client.get(f"{V2}tokens/unknown.json", {"api_key": raw}), 404)
    # An idempotency_key is a token only with the key that sent it (values like work-order
    # numbers can be guessed); without a key it names nothing, with another key neither.
    assert_error(client.get(f"{V2}tokens/order-2026-001.json"), 404)
    theirs = client.get(f"{V2}tokens/order-2026-001.json", {"api_key": key_b[1]}).json()
    assert theirs == [
        {"service_request_id": other.json()[0]["service_request_id"], "token": "order-2026-001"}
    ]
    assert_error(client.get(f"{V2}tokens/order-2026-001.json", {"api_key": "l311_wrong"}), 403)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_posts_token_finds_the_request_without_a_key_and_reveals_only_its_id(
    client, category, key_a, key_b, fmt, settings
):
    filed = file(client, key_a[1], fmt, idempotency_key="WO-7")
    row = xml_rows(filed, "service_requests", "request")[0] if fmt == "xml" else filed.json()[0]
    pk, token = row["service_request_id"], row["token"]
    again = file(client, key_a[1], fmt, idempotency_key="WO-7")
    assert again.status_code == 200 and again.content == filed.content  # the same token again

    found = client.get(f"{V2}tokens/{token}.{fmt}")  # no api_key
    assert found.status_code == 200
    rows = xml_rows(found, "service_requests", "request") if fmt == "xml" else found.json()
    assert rows == [{"service_request_id": pk, "token": token}]
    ticket = Ticket.objects.get(pk=int(pk))
    for secret in ("张", "大爷", "13812345678", "5678", ticket.tracking_code, "东街社区村口", "路灯"):
        assert secret not in found.content.decode()
    # Another key's call finds it too (the token is the bearer's), and the request itself stays
    # unreadable without the key that filed it.
    assert client.get(f"{V2}tokens/{token}.{fmt}", {"api_key": key_b[1]}).status_code == 200
    assert_error(client.get(f"{V2}requests/{pk}.{fmt}"), 404, fmt)

    # Forged: another id with this token's signature, a bare id, a changed signature.
    other = file(client, key_a[1], fmt)
    other_pk = (xml_rows(other, "service_requests", "request") if fmt == "xml" else other.json())[0][
        "service_request_id"
    ]
    signature = token.split(":", 1)[1]
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for forged in (f"{other_pk}:{signature}", pk, f"{pk}:{flipped}"):
        assert_error(client.get(f"{V2}tokens/{forged}.{fmt}"), 404, fmt)

    # Without a key, token calls count against the address as /results/ pages do.
    cache.clear()
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "results_ip": (1, 3600)}
    assert client.get(f"{V2}tokens/{token}.{fmt}").status_code == 200
    assert_error(client.get(f"{V2}tokens/{token}.{fmt}"), 429, fmt)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_refusals_and_their_statuses(client, category, key_a, fmt, settings):
    key, raw = key_a
    assert_error(file(client, "l311_wrong", fmt), 403, fmt)
    assert_error(file(client, "", fmt), 403, fmt)
    assert_error(file(client, raw, fmt, service_code="999999"), 404, fmt)
    assert_error(file(client, raw, fmt, service_code=""), 400, fmt)
    assert_error(file(client, raw, fmt, address_string=""), 400, fmt)
    assert file(client, raw, fmt, address_string="", lat="30.1", long="120.2").status_code == 201
    assert_error(file(client, raw, fmt, address_string="", lat="300", long="120.2"), 400, fmt)
    assert_error(file(client, raw, fmt, description=""), 400, fmt)
    assert_error(file(client, raw, fmt, description="长" * 4001), 400, fmt)
    assert file(client, raw, fmt, description="长" * 4000).status_code == 201
    assert_error(file(client, raw, fmt, phone="12"), 400, fmt)  # the intake's phone rule
    assert Ticket.objects.count() == 2


def test_a_revoked_key_is_refused_and_the_refusal_audited(client, category, key_a):
    key, raw = key_a
    api_key_revoke(actor=None, key=key)
    assert_error(file(client, raw), 403)
    assert_error(client.get(f"{V2}requests.json", {"api_key": raw}), 403)
    assert Ticket.objects.count() == 0
    assert AuditEvent.objects.filter(verb="open311.refused", outcome="refused").count() == 2


def test_a_revoked_key_in_a_flood_audits_at_most_its_limit(client, category, key_a, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "open311_key": (3, 3600)}
    api_key_revoke(actor=None, key=key_a[0])
    statuses = [file(client, key_a[1]).status_code for _ in range(6)]
    assert statuses == [403, 403, 403, 429, 429, 429]
    assert AuditEvent.objects.filter(verb="open311.refused").count() == 3


def test_each_key_has_its_own_rate_limit(client, category, key_a, key_b, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "open311_key": (2, 3600)}
    assert file(client, key_a[1]).status_code == 201
    assert file(client, key_a[1]).status_code == 201
    refused = assert_error(file(client, key_a[1]), 429)
    assert int(refused["Retry-After"]) > 0
    assert_error(file(client, key_a[1], "xml"), 429, "xml")
    assert file(client, key_b[1]).status_code == 201  # the other key is not affected
    assert Ticket.objects.count() == 3


def test_keys_are_stored_hashed(key_a):
    key, raw = key_a
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.digest == digest_of(raw) and raw not in stored.digest
    assert raw.startswith("l311_") and len(raw) > 40 and stored.prefix == raw[5:13]


# --- scope ---------------------------------------------------------------------------------


def test_a_township_key_cannot_file_or_read_outside_its_township(
    client, category, key_a, key_b, township_a, township_b
):
    assert_error(file(client, key_a[1], address_id=str(township_b.pk)), 403)
    assert file(client, key_a[1], address_id=str(township_a.pk)).status_code == 201
    theirs = int(file(client, key_b[1]).json()[0]["service_request_id"])
    ours = Ticket.objects.get(township=township_a).pk
    assert_error(client.get(f"{V2}requests/{theirs}.json", {"api_key": key_a[1]}), 404)
    assert_error(client.get(f"{V2}requests/{theirs}.xml", {"api_key": key_a[1]}), 404, "xml")
    listed = client.get(f"{V2}requests.json", {"api_key": key_a[1]}).json()
    assert [r["service_request_id"] for r in listed] == [str(ours)]
    assert client.get(f"{V2}requests/{ours}.json", {"api_key": key_a[1]}).json()[0]["status"] == "open"
    # Without a key an open ticket is not published: not found.
    assert_error(client.get(f"{V2}requests/{ours}.json"), 404)


def test_a_county_key_names_the_township_by_address_id(client, category, county_key, township_b, village_a):
    assert_error(file(client, county_key[1]), 400)
    assert_error(file(client, county_key[1], address_id=str(village_a.pk)), 400)
    filed = file(client, county_key[1], address_id=str(township_b.pk))
    assert Ticket.objects.get(pk=int(filed.json()[0]["service_request_id"])).township == township_b


# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_requests_show_published_tickets_field_by_field_without_personal_data(
    client, category, township_a, unit_a, fmt
):
    ticket = published(1, township=township_a, category=category, lead_unit=unit_a)[0]
    published(1, township=township_a, category=category, is_public_interest=False)  # closed, not published
    published(1, township=township_a, category=category, status="replied", is_public_interest=True)
    response = client.get(f"{V2}requests.{fmt}")
    rows = xml_rows(response, "service_requests", "request") if fmt == "xml" else response.json()
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == REQUEST_FIELDS
    expected = {
        "service_request_id": str(ticket.pk),
        "status": "closed",
        "status_notes": "已更换路灯",
        "service_name": "交通出行",
        "service_code": str(category.pk),
        "description": "路灯",
        "agency_responsible": unit_a.name,
        "address": "城关镇",
        "address_id": str(township_a.pk),
    }
    assert {k: row[k] for k in expected} == expected
    assert ISO_WITH_OFFSET.match(row["requested_datetime"]) and ISO_WITH_OFFSET.match(row["updated_datetime"])
    assert row["requested_datetime"] == timezone.localtime(ticket.created_at).isoformat(timespec="seconds")
    text = response.content.decode()
    for secret in ("张大爷", "13812345678", "5678", "东街12号", ticket.tracking_code):
        assert secret not in text
    detail = client.get(f"{V2}requests/{ticket.pk}.{fmt}")
    assert detail.status_code == 200 and detail.content == response.content


def test_filters_ids_service_status_dates_and_pages(client, category, township_a):
    other = Category.objects.create(name="开放接口测试")
    old = published(1, township=township_a, category=category, created_at=at(2026, 3, 2, 9))[0]
    recent = published(2, township=township_a, category=other)
    get = lambda **q: [r["service_request_id"] for r in client.get(f"{V2}requests.json", q).json()]  # noqa: E731
    assert get() == [str(recent[1].pk), str(recent[0].pk)]  # the last 90 days by default, newest first
    assert get(start_date="2026-03-01T00:00:00+08:00", end_date="2026-03-03T00:00:00+08:00") == [str(old.pk)]
    assert get(service_request_id=f"{old.pk},{recent[0].pk}") == [str(recent[0].pk), str(old.pk)]
    assert get(service_code=str(other.pk)) == [str(recent[1].pk), str(recent[0].pk)]
    assert len(get(service_code=f"{other.pk},{category.pk}")) == 2
    assert get(start_date="2026-03-02T00:00:00Z") == [str(old.pk)]  # the spec's w3 form; 90 days on
    assert get(end_date="2026-03-03") == [str(old.pk)]  # the 90 days before
    assert get(status="open") == [] and len(get(status="closed")) == 2
    assert get(page="2") == []
    assert_error(client.get(f"{V2}requests.json", {"status": "pending"}), 400)
    assert_error(client.get(f"{V2}requests.xml", {"start_date": "yesterday"}), 400, "xml")
    too_long = {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-04-02T00:00:00+08:00"}
    assert_error(client.get(f"{V2}requests.json", too_long), 400)


def test_no_response_carries_a_proposers_name_or_phone(client, category, key_a, township_a):
    published(2, township=township_a, category=category)
    filed = file(client, key_a[1], idempotency_key="x1")
    pk = filed.json()[0]["service_request_id"]
    answers = [filed]
    for fmt in ("json", "xml"):
        answers += [
            client.get(f"{V2}services.{fmt}"),
            client.get(f"{V2}requests.{fmt}"),
            client.get(f"{V2}requests.{fmt}", {"api_key": key_a[1]}),
            client.get(f"{V2}requests/{pk}.{fmt}", {"api_key": key_a[1]}),
            client.get(f"{V2}tokens/x1.{fmt}", {"api_key": key_a[1]}),
        ]
    assert all(a.status_code in (200, 201) for a in answers)
    for answer in answers:
        text = answer.content.decode()
        assert "张" not in text and "大爷" not in text and "1381234" not in text and "5678" not in text


@pytest.mark.parametrize("n", [10, 1000])
def test_requests_list_queries_are_constant(
    client, category, township_a, unit_a, n, django_assert_num_queries
):
    published(n, township=township_a, category=category, lead_unit=unit_a)
    with django_assert_num_queries(1):
        rows = client.get(f"{V2}requests.json").json()
    assert len(rows) == min(n, 100)
    with CaptureQueriesContext(connection) as xml_queries:
        rows = xml_rows(client.get(f"{V2}requests.xml"), "service_requests", "request")
    assert len(rows) == min(n, 100) and len(xml_queries) == 1


# --- the admin -----------------------------------------------------------------------------


def test_the_admin_shows_a_new_key_once_stores_its_digest_and_revokes(client, django_user_model, township_a):
    client.force_login(django_user_model.objects.create_superuser("root", password="x-long-pass-1"))
    response = client.post(
        "/admin/proposals/apikey/add/", {"name": "12345 热线", "region": township_a.pk}, follow=True
    )
    assert response.status_code == 200
    raw = re.search(r"l311_[A-Za-z0-9_-]{40,}", response.content.decode()).group(0)
    key = ApiKey.objects.get()
    assert key.digest == digest_of(raw) and key.region == township_a
    assert raw not in client.get(f"/admin/proposals/apikey/{key.pk}/change/").content.decode()
    assert AuditEvent.objects.filter(verb="api_key.created", subject_id=str(key.pk)).exists()
    client.post(
        "/admin/proposals/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEvent.objects.filter(verb="api_key.revoked", subject_id=str(key.pk)).exists()


def test_staff_never_pick_the_api_as_a_tickets_source(township_a):
    from liaison.models import Region
    from proposals.forms import TicketForm
    from reps.models import Representative
    from studios.models import Studio

    form = TicketForm(
        townships=Region.objects.townships(),
        studios=Studio.objects.none(),
        reps=Representative.objects.none(),
    )
    offered = [value for value, _label in form.fields["source"].choices]
    assert "api" not in offered and "intake" not in offered and "phone" in offered


# --- the OpenAPI description ---------------------------------------------------------------


def test_the_openapi_description_covers_every_route_and_the_fields_answered(client):
    from proposals.open311_urls import urlpatterns

    described = client.get(f"{V2}openapi.json").json()
    assert described["openapi"].startswith("3.")
    paths = set(described["paths"])
    routes = {
        "/" + re.sub(r"<str:(\w+)>", r"{\1}", str(p.pattern)).replace("<format:fmt>", "json")
        for p in urlpatterns
        if p.name != "openapi"
    }
    routes = {r.replace("{code}", "{service_code}").replace("{pk}", "{service_request_id}") for r in routes}
    assert paths == routes
    answered = described["paths"]["/requests.json"]["get"]["responses"]["200"]["content"]["application/json"]
    assert list(answered["schema"]["items"]["properties"]) == REQUEST_FIELDS
    services = described["paths"]["/services.json"]["get"]["responses"]["200"]["content"]["application/json"]
    assert list(services["schema"]["items"]["properties"]) == SERVICE_FIELDS
    filed = described["paths"]["/requests.json"]["post"]["responses"]["201"]["content"]["application/json"]
    assert list(filed["schema"]["items"]["properties"]) == ["service_request_id", "token", "service_notice"]
    token = described["paths"]["/tokens/{token}.json"]["get"]
    assert [(p["name"], p["required"]) for p in token["parameters"]] == [("token", True), ("api_key", False)]


# --- the admin, scoped -----------------------------------------------------------------------


@pytest.fixture
def other_county_keys(db):
    """A county that is not the liaison office's, with a county key and a township key."""
    from tests.factories import CountyFactory, TownshipFactory

    elsewhere = CountyFactory(name="太平县")
    township = TownshipFactory(name="太平镇", parent=elsewhere)
    return (
        elsewhere,
        township,
        api_key_create(actor=None, name="太平县12345", region=elsewhere)[0],
        api_key_create(actor=None, name="太平镇小程序", region=township)[0],
    )


@pytest.fixture
def own_keys(county, township_a):
    return (
        api_key_create(actor=None, name="县12345", region=county)[0],
        api_key_create(actor=None, name="12345 热线", region=township_a)[0],
    )


def _listed(client) -> set[str]:
    response = client.get("/admin/proposals/apikey/")
    assert response.status_code == 200
    return set(response.context["cl"].result_list.values_list("name", flat=True))


def _region_choices(client) -> set[int]:
    field = client.get("/admin/proposals/apikey/add/").context["adminform"].form.fields["region"]
    return {region.pk for region in field.queryset}


def test_the_liaison_office_sees_and_creates_keys_of_its_county_only(
    client, liaison_office, county, township_a, township_b, village_a, own_keys, other_county_keys
):
    elsewhere, their_township, their_county_key, their_township_key = other_county_keys
    client.force_login(liaison_office)
    assert _listed(client) == {"县12345", "12345 热线"}
    assert _region_choices(client) == {county.pk, township_a.pk, township_b.pk}  # no village, no 太平县
    assert client.get(f"/admin/proposals/apikey/{own_keys[1].pk}/change/").status_code == 200
    assert client.get(f"/admin/proposals/apikey/{their_township_key.pk}/change/").status_code == 404

    created = client.post("/admin/proposals/apikey/add/", {"name": "河口小程序", "region": township_b.pk})
    assert created.status_code == 302
    key = ApiKey.objects.get(name="河口小程序")
    assert key.region == township_b
    assert AuditEvent.objects.filter(verb="api_key.created", subject_id=str(key.pk)).count() == 1

    # A tampered region id: another county's township, or a village, is refused as a choice.
    for tampered in (their_township.pk, elsewhere.pk, village_a.pk):
        refused = client.post("/admin/proposals/apikey/add/", {"name": "篡改", "region": tampered})
        assert refused.status_code == 200
        assert list(refused.context["adminform"].form.errors) == ["region"]
    assert not ApiKey.objects.filter(name="篡改").exists()
    assert ApiKey.objects.count() == 5

    # Revoking another county's key by its id revokes nothing.
    client.post(
        "/admin/proposals/apikey/",
        {"action": "revoke", "_selected_action": [their_county_key.pk, own_keys[0].pk]},
    )
    assert list(ApiKey.objects.filter(revoked_at__isnull=False).values_list("name", flat=True)) == ["县12345"]


def test_a_superuser_sees_every_key_and_creates_them_anywhere(
    client, django_user_model, own_keys, other_county_keys
):
    elsewhere, their_township, *_keys = other_county_keys
    client.force_login(django_user_model.objects.create_superuser("root", password="x-long-pass-1"))
    assert _listed(client) == {"县12345", "12345 热线", "太平县12345", "太平镇小程序"}
    assert {elsewhere.pk, their_township.pk} <= _region_choices(client)
    client.post("/admin/proposals/apikey/add/", {"name": "太平镇热线", "region": their_township.pk})
    assert ApiKey.objects.get(name="太平镇热线").region == their_township


def test_township_staff_and_other_roles_have_no_key_admin(client, clerk_a, rep_a, own_keys):
    client.force_login(clerk_a)
    assert client.get("/admin/proposals/apikey/").status_code == 403
    assert (
        client.post(
            "/admin/proposals/apikey/add/", {"name": "x", "region": own_keys[1].region_id}
        ).status_code
        == 403
    )
    client.force_login(rep_a)
    assert client.get("/admin/proposals/apikey/").status_code == 302  # to the login page, which then refuses
    assert ApiKey.objects.count() == 2

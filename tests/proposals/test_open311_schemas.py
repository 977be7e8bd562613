"""Every answer of the Open311 API validated against the GeoReport v2 schemas the Open311 project
publishes (open311/schema-validation, ``schema/georeport-v2/``; copied unchanged into
``open311_schemas/``, whose README gives the commits).

What is validated, endpoint by endpoint (JSON: the decoded body; XML: the body read back by
``georeport.xml_list``/``xml_object``, one key per child element, a list per run of repeated
elements, each text typed only as its schema allows, then validated by the same schema and
compared with the JSON answer, which must be equal (but for an empty string, which XML writes as
it writes a null); plus the element names the spec gives):

| endpoint | schema | XML root / item |
|---|---|---|
| GET services | ``services.json`` (array of ``service.json``) and swagger's 200 schema | services / service |
| GET services/<code> | ``service-definition.json`` and swagger's 200 schema | service_definition |
| GET requests | ``requests.json`` (array of ``request.json``) | service_requests / request |
| GET requests/<id> | ``requests.json`` | service_requests / request |
| POST requests | swagger's 200 schema: array of ``#/definitions/RequestResponse`` | service_requests / request |
| GET tokens/<token> | each item: swagger's ``#/definitions/TokenResponse`` | service_requests / request |

Where the published schemas disagree with the spec text or with each other:
- ``account_id``: the spec's example answers null; swagger's ``RequestResponse`` types it as a
  string. Following the schema, the POST answer leaves the (optional) field out.
- ``request.json`` lets the optional fields be null, swagger's ``Request`` does not; the API answers
  null for what it never has (``expected_datetime``, ``zipcode``, ``lat``, ``long``,
  ``media_url``), as the spec's examples do, so requests are validated by ``request.json`` alone.
- One request and a token: swagger's 200 schemas are a single object, while the spec text (and
  swagger's own XML examples, ``<service_requests><request>``) answer a list of one. The API keeps
  the spec's list; the request's list is validated by ``requests.json`` and each token row by
  ``TokenResponse``.
- ``service.json`` requires ``metadata``, swagger's ``Service`` does not: both are checked, and
  the answers carry it.
Errors (``[{code, description}]``) have no published schema: ``test_open311.py`` checks them.
"""

import datetime

import pytest

from liaison.models import Category
from proposals.api_keys import api_key_create
from proposals.models import Ticket
from tests.proposals.georeport import FORMATS, as_xml_reads, errors, validate, xml_list, xml_object
from tests.proposals.test_open311 import V2, file, published

SERVICES_200 = "swagger.json#/paths/~1services.{response_format}/get/responses/200/schema"
DEFINITION_200 = "swagger.json#/paths/~1services~1{service_code}.{response_format}/get/responses/200/schema"
POST_200 = "swagger.json#/paths/~1requests.{response_format}/post/responses/200/schema"
TOKEN_ROW = "swagger.json#/definitions/TokenResponse"


@pytest.fixture
def key_a(township_a):
    return api_key_create(actor=None, name="12345 热线", region=township_a)


def test_the_schemas_refuse_what_the_spec_refuses():
    """The validators are live (otherwise every test below passes whatever the API answers)."""
    assert "date-time" in FORMATS.checkers
    service = {"service_code": "1", "service_name": "路灯", "metadata": False, "type": "realtime"}
    assert errors([service], "services.json") == []
    assert errors([{**service, "metadata": "false"}], "services.json") == [
        "0/metadata: 'false' is not of type 'boolean'"
    ]
    assert errors([{**service, "type": "daily"}], SERVICES_200) == [
        "0/type: 'daily' is not one of ['realtime', 'batch', 'blackbox']"
    ]
    request = {"service_request_id": "7", "status": "open", "service_code": "1"}
    assert errors([request], "requests.json") == ["0: 'requested_datetime' is a required property"]
    assert errors([{**request, "requested_datetime": "2026-03-01 08:00"}], "requests.json") == [
        "0/requested_datetime: '2026-03-01 08:00' is not a 'date-time'"
    ]
    assert errors([{"service_request_id": "7", "account_id": None}], POST_200) == [
        "0/account_id: None is not of type 'string'"
    ]
    assert errors({"service_request_id": 7, "token": "t"}, TOKEN_ROW) == [
        "service_request_id: 7 is not of type 'string'"
    ]


def test_services_and_a_service_definition_match_the_published_schemas(client, category):
    Category.objects.create(name="环境保护")
    body = client.get(f"{V2}services.json").json()
    assert len(body) == Category.objects.filter(is_active=True).count() >= 2
    validate(body, "services.json")
    validate(body, SERVICES_200)
    rows = xml_list(client.get(f"{V2}services.xml").content, "services", "service", "service.json")
    assert rows == as_xml_reads(body)
    validate(rows, "services.json")

    definition = client.get(f"{V2}services/{category.pk}.json").json()
    validate(definition, "service-definition.json")
    validate(definition, DEFINITION_200)
    tree = xml_object(
        client.get(f"{V2}services/{category.pk}.xml").content, "service_definition", "service-definition.json"
    )
    assert tree == definition == {"service_code": str(category.pk), "attributes": []}
    validate(tree, "service-definition.json")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_filing_answers_the_published_post_schema(client, category, key_a, fmt):
    response = file(client, key_a[1], fmt)
    assert response.status_code == 201
    if fmt == "xml":
        rows = xml_list(
            response.content, "service_requests", "request", "swagger.json#/definitions/RequestResponse"
        )
    else:
        rows = response.json()
    validate(rows, POST_200)
    ticket = Ticket.objects.get()
    assert [r["service_request_id"] for r in rows] == [str(ticket.pk)]
    assert list(rows[0]) == ["service_request_id", "token", "service_notice"]


def test_requests_a_request_and_a_token_match_the_published_schemas(
    client, category, township_a, unit_a, key_a
):
    closed = published(1, township=township_a, category=category, lead_unit=unit_a)[0]
    filed = file(client, key_a[1], idempotency_key="WO-1").json()[0]["service_request_id"]
    raw = key_a[1]

    for query in ({}, {"api_key": raw}):
        body = client.get(f"{V2}requests.json", query).json()
        validate(body, "requests.json")
        rows = xml_list(
            client.get(f"{V2}requests.xml", query).content, "service_requests", "request", "request.json"
        )
        assert rows == as_xml_reads(body)
        validate(rows, "requests.json")
    assert [r["service_request_id"] for r in body] == [filed, str(closed.pk)]
    assert body[0]["status"] == "open" and body[0]["expected_datetime"] is None
    assert body[1]["status"] == "closed" and body[1]["agency_responsible"] == unit_a.name

    for pk, query in ((str(closed.pk), {}), (filed, {"api_key": raw})):
        one = client.get(f"{V2}requests/{pk}.json", query).json()
        validate(one, "requests.json")
        assert [r["service_request_id"] for r in one] == [pk]
        rows = xml_list(
            client.get(f"{V2}requests/{pk}.xml", query).content, "service_requests", "request", "request.json"
        )
        assert rows == as_xml_reads(one)

    token = client.get(f"{V2}tokens/WO-1.json", {"api_key": raw}).json()
    assert token == [{"service_request_id": filed, "token": "WO-1"}]
    validate(token[0], TOKEN_ROW)
    rows = xml_list(
        client.get(f"{V2}tokens/WO-1.xml", {"api_key": raw}).content, "service_requests", "request", TOKEN_ROW
    )
    assert rows == token
    signed = file(client, raw, idempotency_key="WO-1").json()[0]["token"]
    keyless = client.get(f"{V2}tokens/{signed}.json").json()  # a POST's token needs no key
    assert keyless == [{"service_request_id": filed, "token": signed}]
    validate(keyless[0], TOKEN_ROW)


def test_dates_are_rfc_3339_with_the_offset(client, category, township_a):
    """16:00 UTC is the next day's midnight in China: written with its +08:00, which the
    schema's date-time format accepts."""
    moment = datetime.datetime(2026, 2, 28, 16, 0, tzinfo=datetime.UTC)
    published(1, township=township_a, category=category, created_at=moment, updated_at=moment)
    body = client.get(
        f"{V2}requests.json", {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-03-02T00:00:00Z"}
    ).json()
    validate(body, "requests.json")
    assert body[0]["requested_datetime"] == "2026-03-01T00:00:00+08:00"

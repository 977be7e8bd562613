"""The OpenAPI 3.0 description of the Open311 API's JSON form, served at
``/open311/v2/openapi.json`` (``docs/api.md`` is the short guide around it).

Written out by hand from ``proposals.open311_views`` (a test checks it against the routes and
against the fields the views answer), so that it says what the API does, not what a generator
guessed from the code.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET


def _string(description: str = "", *, nullable: bool = False, **extra) -> dict:
    schema: dict = {"type": "string", **extra}
    if description:
        schema["description"] = description
    if nullable:
        schema["nullable"] = True
    return schema


DATETIME = _string("ISO 8601 with the offset, e.g. 2026-03-12T16:00:00+08:00", format="date-time")
SERVICE = {
    "type": "object",
    "properties": {
        "service_code": _string("the category's id"),
        "service_name": _string(),
        "description": _string(),
        "metadata": {"type": "boolean", "description": "always false: no service has attributes"},
        "type": _string(enum=["realtime", "batch", "blackbox"]),
        "keywords": _string(),
        "group": _string(),
    },
}
REQUEST = {
    "type": "object",
    "properties": {
        "service_request_id": _string("the ticket's id (the number /results/<id>/ shows)"),
        "status": _string(enum=["open", "closed"]),
        "status_notes": _string("the published reply summary; empty until the ticket is published"),
        "service_name": _string(),
        "service_code": _string(),
        "description": _string("the ticket's title, never its content"),
        "agency_responsible": _string("the lead handling unit"),
        "service_notice": _string(),
        "requested_datetime": DATETIME,
        "updated_datetime": DATETIME,
        "expected_datetime": {**DATETIME, "nullable": True},
        "address": _string("the township's name, never the place as filed"),
        "address_id": _string("the township's id"),
        "zipcode": _string(nullable=True),
        "lat": {"type": "number", "nullable": True},
        "long": {"type": "number", "nullable": True},
        "media_url": _string(nullable=True),
    },
}
ERRORS = {
    "description": "an error",
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"code": {"type": "integer"}, "description": _string()},
                },
            }
        }
    },
}


def _answer(schema: dict, description: str = "ok") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _list(item: dict) -> dict:
    return {"type": "array", "items": item}


def _query(name: str, description: str, *, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": _string(),
    }


def _path(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": _string()}


API_KEY = "an API key (created in the admin)"
DESCRIPTION = {
    "openapi": "3.0.3",
    "info": {
        "title": "Liaison Open311 GeoReport v2",
        "version": "2",
        "description": "GeoReport v2 (http://wiki.open311.org/GeoReport_v2). Every path also answers as .xml "
        "with the spec's element names. Errors: 400, 403 (key), 404, 429 (rate limit).",
    },
    "servers": [{"url": "/open311/v2"}],
    "paths": {
        "/services.json": {
            "get": {
                "summary": "the services (active categories)",
                "responses": {"200": _answer(_list(SERVICE))},
            }
        },
        "/services/{service_code}.json": {
            "get": {
                "summary": "a service definition (no attributes)",
                "parameters": [_path("service_code", "a service_code")],
                "responses": {
                    "200": _answer(
                        {
                            "type": "object",
                            "properties": {
                                "service_code": _string(),
                                "attributes": {"type": "array", "items": {"type": "object"}, "maxItems": 0},
                            },
                        }
                    ),
                    "404": ERRORS,
                },
            }
        },
        "/requests.json": {
            "get": {
                "summary": "requests: published ones, and with api_key those filed in the key's region",
                "parameters": [
                    _query("api_key", API_KEY),
                    _query("service_request_id", "ids, comma-separated (overrides the other filters)"),
                    _query("service_code", "service codes, comma-separated"),
                    _query("status", "open, closed or both, comma-separated"),
                    _query("start_date", "ISO 8601; at most 90 days before end_date"),
                    _query("end_date", "ISO 8601; without either date: the last 90 days"),
                    _query("page", "the page, 100 requests each, newest first"),
                ],
                "responses": {"200": _answer(_list(REQUEST)), "400": ERRORS, "403": ERRORS, "429": ERRORS},
            },
            "post": {
                "summary": "file a matter",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["api_key", "service_code", "description"],
                                "properties": {
                                    "api_key": _string(API_KEY),
                                    "service_code": _string(),
                                    "address_string": _string("the place; or lat and long"),
                                    "lat": {"type": "number"},
                                    "long": {"type": "number"},
                                    "address_id": _string("the township's id: required with a county key"),
                                    "description": _string(maxLength=4000),
                                    "first_name": _string(),
                                    "last_name": _string(),
                                    "phone": _string(),
                                    "idempotency_key": _string(
                                        "up to 64 characters: the same value again files nothing and "
                                        "answers the first request (200)",
                                        maxLength=64,
                                    ),
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _answer(
                        _list(
                            {
                                "type": "object",
                                "properties": {
                                    "service_request_id": _string(),
                                    "token": _string("for GET tokens/{token}, which needs no api_key"),
                                    "service_notice": _string("the tracking code, for the resident"),
                                },
                            }
                        ),
                        "filed",
                    ),
                    "200": {"description": "sent again with the same idempotency_key: the first request"},
                    "400": ERRORS,
                    "403": ERRORS,
                    "404": ERRORS,
                    "429": ERRORS,
                },
            },
        },
        "/requests/{service_request_id}.json": {
            "get": {
                "summary": "one request (a list of one)",
                "parameters": [_path("service_request_id", "the id"), _query("api_key", API_KEY)],
                "responses": {"200": _answer(_list(REQUEST)), "404": ERRORS},
            }
        },
        "/tokens/{token}.json": {
            "get": {
                "summary": "the id of the request a token names, and nothing else",
                "description": "The token a POST answered needs no api_key (without one, the call counts "
                "against the caller's address). With the api_key that filed it, the POST's idempotency_key "
                "is a token too.",
                "parameters": [
                    _path("token", "the token a POST answered, or (with its api_key) the idempotency_key"),
                    _query("api_key", API_KEY),
                ],
                "responses": {
                    "200": _answer(
                        _list(
                            {
                                "type": "object",
                                "properties": {"service_request_id": _string(), "token": _string()},
                            }
                        )
                    ),
                    "403": ERRORS,
                    "404": ERRORS,
                    "429": ERRORS,
                },
            }
        },
    },
}


@require_GET
def openapi(request):
    """The OpenAPI description of the JSON API."""
    return JsonResponse(DESCRIPTION)

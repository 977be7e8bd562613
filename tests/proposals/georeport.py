"""The Open311 project's published GeoReport v2 schemas (``open311_schemas/``, see its README) as
validators, and an XML answer read back into the structure its JSON twin has.

``validate(body, ref)`` checks a decoded JSON answer against a schema by reference:
``"services.json"``, ``"swagger.json#/definitions/TokenResponse"``, ... The files are draft-4
JSON Schema (Swagger 2.0's dialect); their relative ``$ref``s (``services.json`` → ``service.json``)
resolve among themselves. The ``date-time`` format is checked (RFC 3339, through
rfc3339-validator); ``uri`` is not (it would need rfc3987; ``media_url`` is always null here);
``uid`` and ``double`` are Swagger's names, not JSON Schema formats, and no validator checks them.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMAS = Path(__file__).resolve().parent / "open311_schemas"
FILES = (
    "services.json",
    "service.json",
    "service-definition.json",
    "requests.json",
    "request.json",
    "swagger.json",
)
CONTENTS = {name: json.loads((SCHEMAS / name).read_text(encoding="utf-8")) for name in FILES}
REGISTRY = Registry().with_resources(
    (name, Resource.from_contents(contents, default_specification=DRAFT4))
    for name, contents in CONTENTS.items()
)
FORMATS = Draft4Validator.FORMAT_CHECKER


def validator(ref: str) -> Draft4Validator:
    return Draft4Validator({"$ref": ref}, registry=REGISTRY, format_checker=FORMATS)


def errors(body, ref: str) -> list[str]:
    """Every way ``body`` breaks the schema at ``ref`` (empty when it is valid)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(ref).iter_errors(body)]


def validate(body, ref: str) -> None:
    found = errors(body, ref)
    assert found == [], found


def item_schema(ref: str) -> dict:
    """The object schema at ``ref`` (a file, or a file and a JSON pointer), ``$ref``s followed."""
    name, _, pointer = ref.partition("#")
    schema = CONTENTS[name]
    for part in filter(None, pointer.split("/")):
        schema = schema[part.replace("~1", "/").replace("~0", "~")]
    while "$ref" in schema:
        ref = schema["$ref"]
        schema = item_schema(name + ref if ref.startswith("#") else ref)
    return schema


def _types(schema: dict) -> set[str]:
    if "type" in schema:
        return {schema["type"]} if isinstance(schema["type"], str) else set(schema["type"])
    return {t for option in schema.get("anyOf", []) for t in _types(option)}


def _value(element: ET.Element, schema: dict):
    """One field's element as its JSON value, read by the types its schema allows.

    Only a literal the type allows is converted (``true``/``false`` for a boolean, a decimal for a
    number); anything else stays the string it is, so a wrong literal fails the validation
    instead of being repaired here. An element with children is a list of repeated elements
    (``<attributes><attribute>…``); an empty element is an empty list where the schema wants an
    array, null where it allows null, else the empty string.
    """
    types = _types(schema)
    if len(element):
        items = schema.get("items", {})
        return [_object(child, items) for child in element]
    text = element.text
    if text is None:
        if "array" in types:
            return []
        return None if "null" in types else ""
    if "boolean" in types and text in ("true", "false"):
        return text == "true"
    if "integer" in types and text.lstrip("-").isdigit():
        return int(text)
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            return text
    return text


def _object(element: ET.Element, schema: dict) -> dict:
    properties = schema.get("properties", {})
    return {child.tag: _value(child, properties.get(child.tag, {})) for child in element}


def xml_list(content: bytes, root: str, item: str, ref: str) -> list[dict]:
    """The XML answer ``<root><item>…</item>…</root>`` as the list its JSON form is, each item
    read by the object schema at ``ref``; asserts the root's and every item's element name."""
    tree = ET.fromstring(content)  # noqa: S314 - our own answer
    assert tree.tag == root, tree.tag
    assert [child.tag for child in tree] == [item] * len(tree)
    schema = item_schema(ref)
    return [_object(child, schema) for child in tree]


def as_xml_reads(value):
    """``value`` (a JSON answer) as its XML twin reads back: XML writes an empty string and a null
    alike, as an empty element, which the reader takes for null where the schema allows it."""
    if isinstance(value, list):
        return [as_xml_reads(v) for v in value]
    if isinstance(value, dict):
        return {k: None if v == "" else as_xml_reads(v) for k, v in value.items()}
    return value


def xml_object(content: bytes, root: str, ref: str) -> dict:
    """The XML answer ``<root>…</root>`` as the object its JSON form is (the service definition)."""
    tree = ET.fromstring(content)  # noqa: S314 - our own answer
    assert tree.tag == root, tree.tag
    return _object(tree, item_schema(ref))

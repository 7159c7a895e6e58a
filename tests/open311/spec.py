"""GeoReport v2 response structures, written out from the specification
(wiki.open311.org/GeoReport_v2, Service Discovery) and the Open311 project's schemas
(open311/schema-validation, schema/georeport-v2/*.json), with checkers for XML and JSON.

A structure is a list of fields in the specification's order: (name, type, required). Types:
``string``, ``boolean``, ``integer``, ``number``, ``datetime`` (ISO 8601 with an offset),
``uri``, ``enum:a|b``, or ``("list", item)`` where item is a structure or a scalar type.
Required fields must be present and not empty; optional ones may be null (JSON) or an empty
element (XML). XML lists are a plural element holding one singular element per item.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

Field = tuple[str, Any, bool]

SERVICE: list[Field] = [
    ("service_code", "string", True),
    ("service_name", "string", True),
    ("description", "string", False),
    ("metadata", "boolean", True),
    ("type", "enum:realtime|batch|blackbox", True),
    ("keywords", "string", False),
    ("group", "string", False),
]
ATTRIBUTE_VALUE: list[Field] = [("key", "string", True), ("name", "string", True)]
ATTRIBUTE: list[Field] = [
    ("variable", "boolean", True),
    ("code", "string", True),
    ("datatype", "enum:string|number|datetime|text|singlevaluelist|multivaluelist", True),
    ("required", "boolean", True),
    ("datatype_description", "string", False),
    ("order", "integer", False),
    ("description", "string", False),
    ("values", ("list", ATTRIBUTE_VALUE), False),
]
SERVICE_DEFINITION: list[Field] = [
    ("service_code", "string", True),
    ("attributes", ("list", ATTRIBUTE), True),
]
REQUEST: list[Field] = [
    ("service_request_id", "string", True),
    ("status", "enum:open|closed", True),
    ("status_notes", "string", False),
    ("service_name", "string", False),
    ("service_code", "string", True),
    ("description", "string", False),
    ("agency_responsible", "string", False),
    ("service_notice", "string", False),
    ("requested_datetime", "datetime", True),
    ("updated_datetime", "datetime", False),
    ("expected_datetime", "datetime", False),
    ("address", "string", False),
    ("address_id", "string", False),
    ("zipcode", "string", False),
    ("lat", "number", False),
    ("long", "number", False),
    ("media_url", "uri", False),
]
# coord's documented extension after the specification's fields: handoffs as notes.
NOTE: list[Field] = [
    ("type", "enum:transfer|assist", True),
    ("datetime", "datetime", True),
    ("summary", "string", True),
    ("description", "string", True),
]
REQUEST_WITH_NOTES: list[Field] = [*REQUEST, ("notes", ("list", NOTE), True)]
# POST requests: a service_request_id or a token (coord sends both).
CREATED: list[Field] = [
    ("service_request_id", "string", True),
    ("token", "string", True),
    ("service_notice", "string", False),
    ("account_id", "string", False),
]
TOKEN: list[Field] = [("service_request_id", "string", True), ("token", "string", True)]
ENDPOINT: list[Field] = [
    ("specification", "uri", True),
    ("url", "uri", True),
    ("changeset", "datetime", True),
    ("type", "enum:production|test", True),
    ("formats", ("list", "enum:text/xml|application/json"), True),
]
DISCOVERY: list[Field] = [
    ("changeset", "datetime", True),
    ("contact", "string", True),
    ("key_service", "string", True),
    ("endpoints", ("list", ENDPOINT), True),
]
ERROR: list[Field] = [("code", "integer", True), ("description", "string", True)]

# XML: plural element -> singular item element.
ITEMS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_requests": "request",
    "errors": "error",
    "notes": "note",
}

CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}


def _check_datetime(value: str, where: str) -> None:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{where}: no offset in {value!r}"
    assert value.endswith("+07:00"), f"{where}: not in WIB (+07:00): {value!r}"


def _check_scalar_json(kind: str, value: Any, where: str) -> None:
    if kind in ("string", "uri"):
        assert isinstance(value, str), f"{where}: {value!r} is not a string"
        if kind == "uri":
            assert value.startswith(("http://", "https://")), f"{where}: not a URL"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: {value!r} is not a boolean"
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r}"
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), f"{where}: {value!r}"
    elif kind == "datetime":
        assert isinstance(value, str), where
        _check_datetime(value, where)
    elif kind.startswith("enum:"):
        assert value in kind[5:].split("|"), f"{where}: {value!r} not in {kind}"
    else:  # pragma: no cover - a typo in this file
        raise AssertionError(kind)


def check_json(value: Any, structure: list[Field], where: str = "$") -> None:
    """``value`` is an object with exactly the structure's fields, typed as specified."""
    assert isinstance(value, dict), f"{where}: not an object"
    names = [name for name, _, _ in structure]
    assert list(value) == names, f"{where}: fields {list(value)} != {names}"
    for name, kind, required in structure:
        item = value[name]
        if item is None or item == "":
            assert not required, f"{where}.{name} is required"
            continue
        if isinstance(kind, tuple):
            assert isinstance(item, list), f"{where}.{name}: not a list"
            for index, element in enumerate(item):
                if isinstance(kind[1], list):
                    check_json(element, kind[1], f"{where}.{name}[{index}]")
                else:
                    _check_scalar_json(kind[1], element, f"{where}.{name}[{index}]")
        else:
            _check_scalar_json(kind, item, f"{where}.{name}")


def _scalar_from_xml(kind: str, text: str | None, where: str) -> Any:
    if text is None or text == "":
        return None
    if kind == "boolean":
        assert text in ("true", "false"), f"{where}: {text!r} is not true/false"
        return text == "true"
    if kind == "integer":
        assert text.lstrip("-").isdigit(), f"{where}: {text!r} is not an integer"
        return int(text)
    if kind == "number":
        return float(text)
    _check_scalar_json(kind, text, where)
    return text


def check_xml(element: ET.Element, structure: list[Field], where: str = "") -> dict[str, Any]:
    """``element`` has the structure's child elements in order, typed as specified; returns
    the same data as the JSON form so that both can be compared."""
    where = where or element.tag
    tags = [child.tag for child in element]
    names = [name for name, _, _ in structure]
    assert tags == names, f"{where}: elements {tags} != {names}"
    out: dict[str, Any] = {}
    for child, (name, kind, required) in zip(element, structure, strict=True):
        path = f"{where}/{name}"
        if isinstance(kind, tuple):
            item_tag = ITEMS[name]
            assert all(c.tag == item_tag for c in child), f"{path}: items must be <{item_tag}>"
            if isinstance(kind[1], list):
                out[name] = [check_xml(c, kind[1], f"{path}/{item_tag}") for c in child]
            else:
                out[name] = [_scalar_from_xml(kind[1], c.text, f"{path}/{item_tag}") for c in child]
            assert not required or child is not None, path
            continue
        assert len(child) == 0, f"{path}: unexpected children"
        value = _scalar_from_xml(kind, child.text, path)
        assert value is not None or not required, f"{path} is required"
        out[name] = value
    return out


def parse_xml(body: bytes, root: str) -> ET.Element:
    text = body.decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>'), text[:60]
    element = ET.fromstring(body)
    assert element.tag == root, f"root <{element.tag}> != <{root}>"
    return element


def check_list_xml(body: bytes, root: str, structure: list[Field]) -> list[dict[str, Any]]:
    element = parse_xml(body, root)
    item_tag = ITEMS[root]
    assert all(child.tag == item_tag for child in element), f"<{root}> holds only <{item_tag}>"
    return [check_xml(child, structure, f"{root}/{item_tag}") for child in element]


def check_list_json(body: bytes, structure: list[Field]) -> list[dict[str, Any]]:
    value = json.loads(body)
    assert isinstance(value, list), "a JSON array"
    for index, item in enumerate(value):
        check_json(item, structure, f"$[{index}]")
    return value


def normalise_json(items: Any) -> Any:
    """JSON values as XML carries them (numbers as floats, empty strings as null)."""
    if isinstance(items, list):
        return [normalise_json(i) for i in items]
    if isinstance(items, dict):
        return {k: normalise_json(v) for k, v in items.items()}
    if isinstance(items, int | float) and not isinstance(items, bool):
        return float(items)
    if items == "":
        return None
    return items

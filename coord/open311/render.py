"""GeoReport v2 documents as XML (required by the specification) or JSON.

The same plain payload renders both ways: a JSON document is the payload itself; an XML
document wraps it in the specification's root element, and each list in the plural element
with one singular child per item (``<services><service>``, ``<attributes><attribute>``...).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from flask import Response

FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}

# plural element -> its items' element name
ITEM_NAMES = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_requests": "request",
    "errors": "error",
    "notes": "note",
}

# Characters XML 1.0 cannot carry at all (control characters other than tab and newlines).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        item_name = ITEM_NAMES[element.tag]
        for item in value:
            _fill(ET.SubElement(element, item_name), item)
    else:
        element.text = _text(value)


def to_xml(root: str, payload: Any) -> str:
    element = ET.Element(root)
    _fill(element, payload)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element, encoding="unicode")


def to_json(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, allow_nan=False)


def render(root: str, payload: Any, fmt: str, status: int = 200) -> Response:
    """``root`` names the XML root element (``services``, ``service_requests``...)."""
    body = to_xml(root, payload) if fmt == "xml" else to_json(payload)
    return Response(body, status=status, content_type=FORMATS[fmt])


def render_errors(errors: list[tuple[int, str]], fmt: str, status: int) -> Response:
    payload = [{"code": code, "description": description} for code, description in errors]
    return render("errors", payload, fmt, status)

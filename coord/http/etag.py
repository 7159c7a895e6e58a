"""Every ETag coord sends, of two kinds; routes use these helpers, never set the header.

**Record versions** (``etag_for``, ``set_etag``, ``expected_version``): a case's ETag is its
``version`` (``"7"``, strong), which goes up once per command; a change sent with
``If-Match`` of an older version is refused with 412 (the lost-update check), and where the
route requires it a missing ``If-Match`` is 428.

**Data digests** (``data_etag``, ``conditional``) for the public, cacheable reads
(``/public/v1/stats``, ``/open311/v2``): a digest of the data a response shows, never of the
time of the request.

``data_etag`` hashes the response's data (for the statistics: the filters, the weight and the
rows, without ``generated_at``; for Open311: the rendered document, which holds nothing but
data), and ``conditional`` sets it and answers ``If-None-Match`` with 304 and no body. So a
client or a reverse proxy that repeats a request gets 304 for as long as the data is the same,
however much later it asks, and a new ETag as soon as the data differs.

The tag is *weak* (``W/"..."``): equal tags promise the same data, not byte-identical bodies
(the statistics' ``generated_at`` may differ between two computations of the same figures),
which is what ``If-None-Match`` compares (RFC 9110, weak comparison).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from typing import Any

from flask import Response, request

from coord.services.errors import PreconditionFailed, PreconditionRequired


def etag_for(version: int) -> str:
    """The strong ETag of a record's ``version``."""
    return f'"{version}"'


def set_etag(response: Response, version: int) -> Response:
    response.headers["ETag"] = etag_for(version)
    return response


def expected_version(required: bool) -> int | None:
    """The version named by If-Match; 428 if required and missing, 412 if unreadable."""
    raw = request.headers.get("If-Match")
    if raw is None:
        if required:
            raise PreconditionRequired(
                "Send If-Match with the ETag from GET /cases/{id} so that no change is lost."
            )
        return None
    tag = raw.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    if not re.fullmatch(r"[0-9]{1,18}", tag):
        raise PreconditionFailed("If-Match does not name a version of this case; GET it again.")
    return int(tag)


def _plain(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"no ETag digest for {type(value).__name__}")


def data_etag(data: Any) -> str:
    """The opaque tag of ``data``: bytes as they are, anything else as canonical JSON
    (sorted keys; datetimes in ISO 8601). 128 bits of SHA-256, in hex."""
    if isinstance(data, bytes):
        raw = data
    else:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=_plain)
        raw = text.encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def conditional(response: Response, tag: str) -> Response:
    """Set the weak ETag ``tag`` (from ``data_etag``) and answer a matching If-None-Match
    with 304 Not Modified, no body (the other headers, Cache-Control included, stay)."""
    response.set_etag(tag, weak=True)
    response.make_conditional(request)  # in place: 304 and no body when it matches
    return response

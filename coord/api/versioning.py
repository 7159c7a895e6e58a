"""ETag / If-Match on a record's ``version``."""

from __future__ import annotations

import re

from flask import Response, request

from coord.services.errors import PreconditionFailed, PreconditionRequired


def etag_for(version: int) -> str:
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

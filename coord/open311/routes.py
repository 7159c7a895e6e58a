"""GeoReport v2 endpoints under /open311/v2 (docs/open311.md).

GET  discovery.{fmt}               GET  services.{fmt}        GET services/{code}.{fmt}
GET  requests.{fmt}                POST requests.{fmt}         GET requests/{id}.{fmt}
GET  tokens/{token}.{fmt}

``fmt`` is ``xml`` or ``json``. Every error, whatever raised it, is the specification's list
of ``code`` and ``description`` in the requested format: 400 for bad input or a general
failure, 403 for a missing or wrong ``api_key``, 404 for an unknown jurisdiction, service,
request, token or path (405, 413, 429 and 503 keep their HTTP meaning). Never a 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from coord.clock import now_utc
from coord.extensions import db, limiter
from coord.http.etag import conditional, data_etag
from coord.open311 import params, views
from coord.open311.render import FORMATS, render, render_errors
from coord.services.errors import Forbidden, NotAuthenticated, NotFound, ServiceError
from coord.services.open311 import clients, jurisdiction, queries, submissions
from coord.services.uow import run_command

log = logging.getLogger(__name__)

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")


def _read_limit() -> str:
    return str(current_app.config.get("COORD_OPEN311_READ_RATE_LIMIT", "120 per minute"))


def _write_limit() -> str:
    return str(current_app.config.get("COORD_OPEN311_WRITE_RATE_LIMIT", "30 per minute"))


READ_LIMIT = limiter.shared_limit(_read_limit, scope="open311-read", methods=["GET"])
WRITE_LIMIT = limiter.shared_limit(_write_limit, scope="open311-write", methods=["POST"])


class UnknownResource(NotFound):
    def __init__(self) -> None:
        super().__init__(
            "Not found: see discovery.xml for the resources of this GeoReport v2 "
            "server (suffix .xml or .json)."
        )


def _split(name: str) -> tuple[str, str]:
    """``services.json`` -> (``services``, ``json``); an unknown suffix is not found."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or not stem or fmt not in FORMATS:
        raise UnknownResource()
    return stem, fmt


def _requested_format() -> str:
    return "json" if request.path.endswith(".json") else "xml"


def _arg(name: str) -> str | None:
    """A single argument from the query string or the form body; NUL bytes are refused."""
    value = request.values.get(name)
    if value is not None and "\x00" in value:
        raise ServiceError(f"{name} must not contain NUL characters")
    return value


def _check_jurisdiction() -> None:
    jurisdiction.check_jurisdiction(_arg("jurisdiction_id"))


# -- views -------------------------------------------------------------------------------


@bp.route("/<string:resource>", methods=["GET", "POST"])
@READ_LIMIT
@WRITE_LIMIT
def collection(resource: str) -> Response:
    name, fmt = _split(resource)
    if request.method == "POST":
        if name != "requests":
            return _method_not_allowed(fmt, ["GET"])
        return _create_request(fmt)
    _check_jurisdiction()
    if name == "discovery":
        return render("discovery", views.discovery_view(), fmt)
    if name == "services":
        return render(
            "services", [views.service_view(c) for c in jurisdiction.public_categories()], fmt
        )
    if name == "requests":
        filters = params.filters_from_args(
            {
                key: _arg(key)
                for key in (
                    "service_request_id",
                    "service_code",
                    "start_date",
                    "end_date",
                    "status",
                )
            }
        )
        cases = queries.find_requests(filters, now_utc())
        return render("service_requests", views.request_views(cases), fmt)
    raise UnknownResource()


@bp.route("/<string:collection_name>/<string:item>", methods=["GET", "POST"])
@READ_LIMIT
def item(collection_name: str, item: str) -> Response:
    key, fmt = _split(item)
    if collection_name not in ("services", "requests", "tokens"):
        raise UnknownResource()
    if request.method != "GET":
        return _method_not_allowed(fmt, ["GET"])
    _check_jurisdiction()
    if collection_name == "services":
        return render(
            "service_definition", views.service_definition_view(jurisdiction.find_service(key)), fmt
        )
    if collection_name == "requests":
        return render("service_requests", views.request_views([queries.request_by_id(key)]), fmt)
    case = queries.case_for_token(key)
    return render(
        "service_requests",
        [{"service_request_id": views.created_view(case)["service_request_id"], "token": key}],
        fmt,
    )


@bp.route("/", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str = "") -> Response:
    if request.method not in ("GET", "POST"):
        return _method_not_allowed(_requested_format(), ["GET", "POST"])
    raise UnknownResource()


def _attributes() -> dict[str, str]:
    found: dict[str, str] = {}
    for key in request.values:
        match = _ATTRIBUTE.match(key)
        if match:
            values = request.values.getlist(key)
            if any("\x00" in v for v in values):
                raise ServiceError(f"{key} must not contain NUL characters")
            found[match.group(1)] = ",".join(values)
    return found


def _create_request(fmt: str) -> Response:
    _check_jurisdiction()
    attributes = _attributes()
    values = {
        field: _arg(field)
        for field in (
            "service_code",
            "lat",
            "long",
            "address_string",
            "address_id",
            "description",
            "email",
            "first_name",
            "last_name",
            "phone",
            "media_url",
        )
    }
    client = clients.client_for_key(_arg("api_key"))
    if not values["service_code"]:
        raise ServiceError("service_code is required.")
    data = submissions.ServiceRequestIn(
        kelurahan=attributes.get(jurisdiction.KELURAHAN_ATTRIBUTE),
        **values,  # type: ignore[arg-type]
    )

    def submit() -> list[dict[str, Any]]:
        return [views.created_view(submissions.submit_request(client, data, now_utc()))]

    return render("service_requests", run_command(submit), fmt)


@bp.after_request
def _etag(response: Response) -> Response:
    """A successful read carries an ETag of its document (which holds data only, no time of
    the request): a repeat with If-None-Match gets 304 while the data is the same
    (coord/http/etag.py, docs/open311.md). ``no-cache``: a client or proxy may keep the
    document and must ask again with it, instead of the ``no-store`` every other dynamic
    answer gets (coord/web/security.py), which would make the ETag useless."""
    if request.method in ("GET", "HEAD") and response.status_code == 200:
        response.headers.setdefault("Cache-Control", "no-cache")
        return conditional(response, data_etag(response.get_data()))
    return response


def _method_not_allowed(fmt: str, allowed: list[str]) -> Response:
    response = render_errors(
        [(405, f"{request.method} is not supported here; use {' or '.join(allowed)}.")], fmt, 405
    )
    response.headers["Allow"] = ", ".join(allowed)
    return response


# -- errors: the specification's shape, whatever went wrong ------------------------------


def _status_of(exc: ServiceError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Forbidden | NotAuthenticated):
        return 403
    return 400


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> Response:
    db.session.rollback()
    status = _status_of(exc)
    return render_errors([(status, exc.message)], _requested_format(), status)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 400
    if status >= 500:
        status = 400
    description = exc.description or "Bad request"
    if status == 429:
        description = f"Too many requests ({exc.description}); slow down and retry later."
    response = render_errors([(status, description)], _requested_format(), status)
    for header, value in exc.get_headers():
        if header.lower() != "content-type":
            response.headers[header] = value
    return response


@bp.errorhandler(OperationalError)
def _database_down(exc: OperationalError) -> Response:
    db.session.rollback()
    log.warning("database unavailable: %s", exc.orig)
    response = render_errors(
        [(503, "The service is temporarily unavailable; retry shortly.")], _requested_format(), 503
    )
    response.headers["Retry-After"] = "5"
    return response


@bp.errorhandler(Exception)
def _general_error(exc: Exception) -> Response:
    db.session.rollback()
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return _database_down(exc)  # type: ignore[arg-type]
    log.exception("open311: unexpected error")
    return render_errors(
        [
            (
                400,
                "General service error; it has been logged. Please notify the "
                "operators if it persists.",
            )
        ],
        _requested_format(),
        400,
    )

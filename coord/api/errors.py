"""One error shape for everything: flask-smorest's ``{code, status, message, errors}``."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, jsonify, make_response, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from coord.extensions import db
from coord.services.errors import ServiceError, TooManyAttempts

log = logging.getLogger(__name__)


def error_body(status: int, message: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": message,
    }
    if errors:
        body["errors"] = errors
    return body


def error_response(status: int, message: str, errors: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    response = jsonify(error_body(status, message, errors))
    response.status_code = status
    return response


MACHINE_PREFIXES = ("/api/", "/public/v1/", "/open311/", "/healthz", "/readyz", "/metrics")


def wants_html() -> bool:
    """Pages for people get an HTML error page; every machine surface gets JSON."""
    return not request.path.startswith(MACHINE_PREFIXES) and request.accept_mimetypes.accept_html


def html_error(status: int, message: str):  # type: ignore[no-untyped-def]
    from flask import render_template
    from flask_babel import gettext as _

    titles = {
        400: _("Permintaan tidak dapat diproses"),
        401: _("Silakan masuk"),
        403: _("Anda tidak berwenang"),
        404: _("Halaman tidak ditemukan"),
        409: _("Tidak dapat dilakukan sekarang"),
        413: _("Berkas terlalu besar"),
        422: _("Isian tidak valid"),
        429: _("Terlalu banyak permintaan"),
        503: _("Layanan sedang tidak tersedia"),
    }
    hints = {
        403: _("Halaman ini di luar wewenang unit Anda. Hubungi pimpinan bila Anda memerlukannya."),
        404: _("Periksa kembali alamatnya, atau cari kasus melalui menu Cari."),
        400: _("Formulir kedaluwarsa atau tidak lengkap. Muat ulang halaman lalu kirim lagi."),
        429: _("Tunggu sebentar lalu coba lagi."),
        503: _("Coba lagi dalam beberapa saat."),
    }
    body = render_template(
        "errors.html",
        code=status,
        title=titles.get(status, HTTPStatus(status).phrase),
        message=hints.get(status, message),
    )
    return body, status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        if wants_html():
            response = make_response(html_error(exc.status, exc.display))
        else:
            response = error_response(exc.status, exc.message, exc.errors or None)
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        if wants_html():
            return html_error(exc.code or 500, exc.description or "")
        # webargs puts the field errors on exc.data["messages"]
        data = getattr(exc, "data", None) or {}
        errors = data.get("messages") if isinstance(data, dict) else None
        message = data.get("message") if isinstance(data, dict) and data.get("message") else None
        status = exc.code or 500
        if message is None:
            message = exc.description or HTTPStatus(status).phrase
            if status == 422 and errors:
                message = "Some fields are invalid: " + ", ".join(_field_names(errors)) + "."
        response = error_response(status, message, errors)
        for name, value in getattr(exc, "get_headers", lambda: [])() or []:
            if name.lower() not in ("content-type",):
                response.headers[name] = value
        return response

    try:
        from gunicorn.http.errors import ParseException
    except ImportError:  # another server: its own errors
        pass
    else:

        @app.errorhandler(ParseException)
        def _unreadable_body(exc: Exception):  # type: ignore[no-untyped-def]
            """gunicorn raises while the app reads a malformed body (a bad chunk size)."""
            message = "The request body could not be read (malformed chunked encoding?)."
            if wants_html():
                return html_error(400, message)
            return error_response(400, message)

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        log.warning("database unavailable: %s", exc.orig)
        response = error_response(503, "The database is unavailable; retry in a moment.")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        if exc.connection_invalidated:
            response = error_response(503, "The database connection was lost; retry in a moment.")
            response.headers["Retry-After"] = "5"
            return response
        log.exception("database error")
        return error_response(500, "Internal error; it has been logged.")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        db.session.rollback()
        log.exception("unhandled error")
        return error_response(500, "Internal error; it has been logged.")


def _field_names(errors: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for location, fields in errors.items():
        if isinstance(fields, dict):
            names.extend(str(f) for f in fields)
        else:
            names.append(str(location))
    return names

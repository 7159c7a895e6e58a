"""Browser-facing protections in one place: the headers every response carries, and where a
redirect may go (docs/security.md).

- Content-Security-Policy: scripts and styles only from our own files (``coord/web/static``),
  no inline script, no inline style, no plugins, no framing, forms post only to us. The API
  documentation page (ReDoc) gets its own policy: ReDoc injects its styles at run time and
  parses the spec in a Web Worker started from a ``blob:`` URL.
- Strict-Transport-Security on https requests (behind a proxy: ``COORD_PROXY_COUNT`` makes
  ``X-Forwarded-Proto`` count) and always in production.
- ``Cache-Control: no-store`` on every dynamic response (staff pages, API, tracking pages,
  receipts, attachments carry personal data or tokens) unless the view chose its caching
  itself (public statistics, the public history); static files keep their own caching.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, current_app, request

_COMMON = (
    "default-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
CSP = "; ".join(("script-src 'self'", "style-src 'self'", *_COMMON))
# ReDoc (the page at /api/v1/docs): scripts stay our own file, but its CSS-in-JS needs inline
# styles, and it runs a Web Worker from a blob: URL. Nothing on that page is user input.
DOCS_CSP = "; ".join(
    ("script-src 'self'", "style-src 'self' 'unsafe-inline'", "worker-src 'self' blob:", *_COMMON)
)
DOCS_ENDPOINT = "api-docs.openapi_redoc"
HSTS = "max-age=31536000; includeSubDomains"


def register_security_headers(app: Flask) -> None:
    app.after_request(security_headers)


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault(
        "Content-Security-Policy", DOCS_CSP if request.endpoint == DOCS_ENDPOINT else CSP
    )
    if request.is_secure or current_app.config.get("COORD_ENV") == "production":
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static":
        headers.setdefault("Cache-Control", "no-store")
    return response


def local_redirect_target(target: str | None, fallback: str = "/") -> str:
    """``target`` as a path on our own origin, or ``fallback`` if it could lead elsewhere.

    Accepted: a path starting with one ``/`` (not ``//`` or ``/\\``, which browsers read as
    another host), or an absolute http(s) URL to this very host (reduced to its path). Refused:
    anything with whitespace or control characters (browsers drop tabs and newlines from URLs,
    so ``/<tab>/evil`` would become ``//evil``), other schemes, other hosts."""
    if not target or any(ch.isspace() or not ch.isprintable() for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return fallback
        target = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return fallback
    return target

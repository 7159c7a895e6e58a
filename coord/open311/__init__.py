"""The Open311 GeoReport v2 adapter over the case services (docs/open311.md): the HTTP side.

- ``routes``: the /open311/v2 endpoints and their errors in the specification's shape.
- ``params``: the ``GET requests`` arguments read into the request filters.
- ``views``: the GeoReport documents as plain payloads (discovery, services, requests).
- ``render``: a payload as XML or JSON.

What acts on the data (clients, creating and reading requests) is in
``coord.services.open311``.
"""

from __future__ import annotations

from flask import Flask


def register_open311(app: Flask) -> None:
    """Mount /open311/v2: public reads, api_key-authorised creates, no cookies (no CSRF)."""
    from coord.extensions import csrf
    from coord.open311.routes import bp

    app.register_blueprint(bp)
    csrf.exempt(bp)

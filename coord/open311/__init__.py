"""The Open311 GeoReport v2 adapter over the case services (docs/open311.md)."""

from __future__ import annotations

from flask import Flask


def register_open311(app: Flask) -> None:
    """Mount /open311/v2: public reads, api_key-authorised creates, no cookies (no CSRF)."""
    from coord.extensions import csrf
    from coord.open311.routes import bp

    app.register_blueprint(bp)
    csrf.exempt(bp)

"""The JSON API under /api/v1 (flask-smorest) and the health probes."""

from __future__ import annotations

from flask import Flask

from coord.api.auth import authenticate_request
from coord.extensions import api, csrf


def register_api(app: Flask) -> None:
    from coord.api.cases.routes import blp as cases
    from coord.api.categories.routes import blp as categories
    from coord.api.handoffs.routes import blp as handoffs
    from coord.api.health.routes import blp as health
    from coord.api.me.routes import blp as me
    from coord.api.reports.routes import blp as reports
    from coord.api.tokens.routes import blp as tokens
    from coord.api.units.routes import blp as units
    from coord.api.webhooks.routes import blp as webhooks

    for blueprint in (tokens, units, categories, cases, handoffs, me, reports, webhooks):
        blueprint.before_request(authenticate_request)
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # bearer tokens, not cookies: no CSRF exposure
    app.register_blueprint(health)

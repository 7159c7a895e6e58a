"""The JSON API under /api/v1 (flask-smorest) and the health probes."""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import Api

from coord.api.auth import authenticate_request
from coord.api.base import openapi_overrides
from coord.extensions import csrf


def register_api(app: Flask) -> Api:
    """One flask-smorest Api per app (its OpenAPI spec belongs to that app). Every blueprint
    listed in ``authenticated`` requires a bearer token; the public ones rate-limit instead."""
    from coord.api.attachments.routes import blp as attachments
    from coord.api.cases.routes import blp as cases
    from coord.api.categories.routes import blp as categories
    from coord.api.handoffs.routes import blp as handoffs
    from coord.api.health.routes import blp as health
    from coord.api.me.routes import blp as me
    from coord.api.public.stats import blp as public_stats
    from coord.api.public.track import blp as public_track
    from coord.api.reports.routes import blp as reports
    from coord.api.tokens.routes import blp as tokens
    from coord.api.tokens.routes import users_blp as user_tokens
    from coord.api.units.routes import blp as units
    from coord.api.webhooks.routes import blp as webhooks

    api = Api(app)
    api.ma_plugin.converter.add_attribute_function(openapi_overrides)
    app.extensions["coord_api"] = api
    authenticated = (
        tokens,
        user_tokens,
        units,
        categories,
        cases,
        attachments,
        handoffs,
        me,
        reports,
        webhooks,
    )
    public = (public_track, public_stats)
    for blueprint in (*authenticated, *public):
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # bearer tokens or no session at all: no CSRF exposure
    names = frozenset(b.name for b in authenticated)

    @app.before_request
    def _authenticate() -> None:
        if request.blueprint in names:
            authenticate_request()

    app.register_blueprint(health)
    return api

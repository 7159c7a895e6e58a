"""Token login for API clients."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from marshmallow import validate

from coord.api.auth import public
from coord.api.base import Blueprint, Instant, Schema
from coord.clock import now_utc
from coord.extensions import limiter
from coord.services.accounts import authenticate_password, issue_token
from coord.services.uow import unit_of_work

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Authentication")


class LoginIn(Schema):
    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=200), load_only=True
    )


class TokenOut(Schema):
    token = ma.fields.String()
    token_type = ma.fields.String()
    expires_at = Instant(allow_none=True)
    user = ma.fields.Dict()


def _login_limit() -> str:
    return str(current_app.config.get("COORD_LOGIN_RATE_LIMIT", "10 per minute"))


@blp.route("/tokens")
@public
class Tokens(MethodView):
    decorators = [limiter.limit(_login_limit, methods=["POST"])]

    @blp.arguments(LoginIn)
    @blp.response(201, TokenOut)
    @blp.doc(security=[])
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Exchange username and password for a bearer token (rate limited)."""
        now = now_utc()
        with unit_of_work():
            user = authenticate_password(data["username"], data["password"])
            token, plain = issue_token(user, now)
            body = {
                "token": plain,
                "token_type": "Bearer",
                "expires_at": token.expires_at,
                "user": {
                    "id": user.id,
                    "username": user.username,
                    "full_name": user.full_name,
                    "unit": user.unit.code,
                    "roles": sorted(user.roles),
                },
            }
        return body

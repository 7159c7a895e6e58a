"""Token login and logout for API clients, and an admin's revocation of a user's tokens."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from marshmallow import validate

from coord.api.auth import bearer_token, current_actor, public
from coord.api.base import Blueprint
from coord.clock import now_utc
from coord.extensions import limiter
from coord.http.fields import Instant, Schema
from coord.services.accounts import issue_token, log_in, revoke_token, revoke_user_tokens
from coord.services.uow import unit_of_work

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Authentication")
users_blp = Blueprint(
    "user_tokens", __name__, url_prefix="/api/v1/users", description="Users' API tokens"
)


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


class RevokedOut(Schema):
    revoked = ma.fields.Integer(metadata={"description": "How many tokens were revoked."})


def _login_limit() -> str:
    return str(current_app.config.get("COORD_LOGIN_RATE_LIMIT", "10 per minute"))


@blp.route("/tokens")
@public
class Tokens(MethodView):
    decorators = [limiter.limit(_login_limit, methods=["POST"])]

    @blp.arguments(LoginIn)
    @blp.response(201, TokenOut)
    @blp.alt_response(429, description="Too many logins from this address or for this account")
    @blp.doc(security=[])
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Exchange username and password for a bearer token (rate limited per address and
        throttled per account: 429 with Retry-After)."""
        now = now_utc()
        with unit_of_work():
            user = log_in(data["username"], data["password"], now)
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


@blp.route("/tokens/current")
class CurrentToken(MethodView):
    @blp.response(204)
    def delete(self) -> None:
        """Log out: revoke the token this request is made with."""
        with unit_of_work():
            revoke_token(bearer_token(), now_utc())


@users_blp.route("/<id:user_id>/tokens")
class UserTokens(MethodView):
    @users_blp.response(200, RevokedOut)
    def delete(self, user_id: int) -> dict[str, Any]:
        """Revoke every API token of a user, such as a service user whose token leaked
        (admins of the user's unit or of a unit above it; 404 for anyone else)."""
        with unit_of_work():
            revoked = revoke_user_tokens(current_actor(), user_id, now_utc())
        return {"revoked": revoked}

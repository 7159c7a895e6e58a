"""Authentication for the API: bearer tokens, checked before every non-public endpoint."""

from __future__ import annotations

from flask import g, request

from coord.clock import now_utc
from coord.models import User
from coord.services.accounts import user_for_token
from coord.services.errors import NotAuthenticated

# Endpoints reachable without a token (flask endpoint names).
PUBLIC_ENDPOINTS: set[str] = set()


def public(view):  # type: ignore[no-untyped-def]
    """Mark a view function as reachable without authentication."""
    view._coord_public = True
    return view


def authenticate_request() -> None:
    """before_request for API blueprints: resolve ``g.actor`` or refuse with 401."""
    if request.method == "OPTIONS":
        return
    view = _view_function()
    if view is None or getattr(view, "_coord_public", False):
        return
    g.actor = user_for_token(bearer_token(), now_utc())


def bearer_token() -> str:
    """The token of the request's ``Authorization: Bearer`` header (401 without one)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated(
            "Send 'Authorization: Bearer <token>'; get one from POST /api/v1/auth/tokens."
        )
    return token.strip()


def _view_function():  # type: ignore[no-untyped-def]
    from flask import current_app

    if request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    # MethodView classes: check the class attribute
    view_class = getattr(view, "view_class", None)
    if view_class is not None and getattr(view_class, "_coord_public", False):
        return view_class
    return view


def current_actor() -> User:
    actor = g.get("actor")
    if actor is None:
        raise NotAuthenticated("Authentication required.")
    return actor

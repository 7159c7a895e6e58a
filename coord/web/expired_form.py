"""A form refused by CSRF (left open past the token's life, or sent without its token): the
session is kept, the page is shown again with what was typed and a new token, and the message
says what happened and what to do.

Flask-WTF checks the token in a ``before_request`` hook that runs before the session user is
loaded, so the plain 400 page used to show the visitor's header, as if the person had been
signed out, and lost the form. A page whose form can be shown again registers a function that
renders it from ``request.form`` (``@redisplays("staff.intake")``); any other form gets the
error page, with the person still signed in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, flash, g, render_template
from flask import request as current_request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

REDISPLAY: dict[str, Callable[..., Any]] = {}


def redisplays(*endpoints: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``render(**view_args)``: the page of these POST endpoints' form, filled from
    ``request.form``."""

    def register(render: Callable[..., Any]) -> Callable[..., Any]:
        for endpoint in endpoints:
            REDISPLAY[endpoint] = render
        return render

    return register


def register(app: Flask) -> None:
    from coord.web.auth import load_session_user

    @app.errorhandler(CSRFError)
    def _expired_form(exc: CSRFError):  # type: ignore[no-untyped-def]
        if g.get("actor") is None:
            load_session_user()  # the refusal came before the hook that loads the user
        render = REDISPLAY.get(current_request.endpoint or "")
        if render is None or g.get("actor") is None:
            page = render_template(
                "errors.html",
                code=400,
                title=_("Formulir kedaluwarsa"),
                message=_(
                    "Formulir kedaluwarsa atau tidak lengkap. Muat ulang halaman lalu kirim lagi."
                ),
            )
            return page, 400
        flash(_("Formulir kedaluwarsa, periksa lalu kirim lagi."), "error")
        return render(**(current_request.view_args or {})), 400

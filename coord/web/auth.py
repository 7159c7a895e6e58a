"""Session login for the web UI: cookie session, CSRF on every form, rate-limited login."""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from coord.extensions import db
from coord.models import User


def load_session_user() -> None:
    """before_request: the signed-in user of the session, if any, as ``g.actor``."""
    if request.path.startswith(("/api/", "/open311/", "/public/v1/", "/static/")):
        return
    user_id = session.get("user_id")
    if user_id is None:
        return
    user = db.session.get(User, user_id)
    if user is None or not user.active or session.get("auth_version") != auth_version(user):
        session.clear()
        return
    g.actor = user


def auth_version(user: User) -> str:
    """Changes when the password changes, which signs out every other session."""
    return (user.password_hash or "")[-16:]


def login_user(user: User) -> None:
    session.clear()
    session["user_id"] = user.id
    session["auth_version"] = auth_version(user)
    session.permanent = True


def login_required(view):  # type: ignore[no-untyped-def]
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        if g.get("actor") is None:
            flash(_("Silakan masuk terlebih dahulu."), "info")
            return redirect(url_for("staff.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped

"""Session login for the web UI: cookie session, CSRF on every form, rate-limited login.

Flask's session is a signed cookie, so ending a session needs a check on the server: the
cookie carries the user's ``session_epoch`` at login, and logout, a password change or
deactivation raise the epoch (``coord.services.accounts.end_sessions``), which refuses every
cookie issued before. The cookie also carries when it was opened and last used, for the idle
timeout and the absolute lifetime (``COORD_SESSION_IDLE_MINUTES``, ``COORD_SESSION_HOURS``).
"""

from __future__ import annotations

from datetime import datetime
from functools import wraps
from typing import Any

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from coord.clock import now_utc
from coord.extensions import db
from coord.models import User
from coord.services.passwords import MAX_LENGTH, MIN_LENGTH, password_problems

# The keys of the session that belong to the signed-in user (the language choice stays).
AUTH_KEYS = ("user_id", "epoch", "login_at", "seen_at")


def load_session_user() -> None:
    """before_request: the signed-in user of the session, if any, as ``g.actor``."""
    if request.path.startswith(("/api/", "/open311/", "/public/v1/", "/static/")):
        return
    user_id = session.get("user_id")
    if user_id is None:
        return
    now = int(now_utc().timestamp())
    user = db.session.get(User, user_id)
    if (
        user is None
        or not user.active
        or session.get("epoch") != user.session_epoch
        or not _session_is_current(now)
    ):
        forget_user()
        g.session_ended = True
        return
    if now - int(session.get("seen_at") or 0) >= 60:  # the idle limit counts minutes: writing
        session["seen_at"] = now  # at most once a minute spares a new cookie on every response
    g.actor = user


def _session_is_current(now: int) -> bool:
    config = current_app.config
    login_at, seen_at = session.get("login_at"), session.get("seen_at")
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return False  # a cookie from before these checks existed
    idle = int(config["COORD_SESSION_IDLE_MINUTES"]) * 60
    lifetime = int(config["COORD_SESSION_HOURS"]) * 3600
    return now - seen_at <= idle and now - login_at <= lifetime


def login_user(user: User, now: datetime) -> None:
    """Start a fresh session for ``user`` (a new CSRF token too)."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    at = int(now.timestamp())
    session["user_id"] = user.id
    session["epoch"] = user.session_epoch
    session["login_at"] = at
    session["seen_at"] = at
    session.permanent = True


def forget_user() -> None:
    """End the session in this browser (the server-side end is ``end_sessions``)."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def password_problem_messages(password: str, username: str) -> list[str]:
    """What is wrong with a new password, in the user's language (empty when it may be used)."""
    texts = {
        "too_short": _("Kata sandi minimal %(n)s karakter.", n=MIN_LENGTH),
        "too_long": _("Kata sandi maksimal %(n)s karakter.", n=MAX_LENGTH),
        "common": _("Kata sandi ini termasuk yang paling umum dipakai; pilih yang lain."),
        "contains_username": _("Kata sandi tidak boleh memuat nama pengguna."),
    }
    return [texts[code] for code in password_problems(password, username)]


def login_required(view):  # type: ignore[no-untyped-def]
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        if g.get("actor") is None:
            if g.get("session_ended"):
                flash(_("Sesi Anda telah berakhir. Silakan masuk lagi."), "info")
            else:
                flash(_("Silakan masuk terlebih dahulu."), "info")
            return redirect(url_for("staff.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped

"""Staff sign-in pages: the site root (to the inbox, or the public tracking form when
nobody is signed in), login (rate limited per ``COORD_LOGIN_RATE_LIMIT``), logout and the
password change."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from coord.clock import now_utc
from coord.extensions import limiter
from coord.services.accounts import end_sessions, log_in, set_password, verify_password
from coord.services.errors import ServiceError, TooManyAttempts
from coord.services.uow import unit_of_work
from coord.web.auth import (
    forget_user,
    login_required,
    login_user,
    password_problem_messages,
)
from coord.web.security import local_redirect_target
from coord.web.staff.blueprint import blp


def _login_limit() -> str:
    return str(current_app.config.get("COORD_LOGIN_RATE_LIMIT", "10 per minute"))


@blp.get("/")
def home():  # type: ignore[no-untyped-def]
    return redirect(url_for("staff.inbox") if g.get("actor") else url_for("public.track_form"))


@blp.route("/web/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():  # type: ignore[no-untyped-def]
    if request.method == "POST":
        now = now_utc()
        try:
            user = log_in(
                request.form.get("username", "").strip(), request.form.get("password", ""), now
            )
        except TooManyAttempts as exc:
            minutes = max(1, -(-exc.retry_after // 60))
            flash(
                _(
                    "Terlalu banyak percobaan masuk yang gagal untuk akun ini. "
                    "Coba lagi dalam %(minutes)s menit.",
                    minutes=minutes,
                ),
                "error",
            )
            return render_template("staff/login.html"), 429, {"Retry-After": exc.retry_after}
        except ServiceError:
            flash(_("Nama pengguna atau kata sandi salah."), "error")
            return render_template("staff/login.html"), 401
        login_user(user, now)
        target = local_redirect_target(request.args.get("next"), fallback="")
        if not target.startswith("/web"):
            target = url_for("staff.inbox")
        return redirect(target)
    return render_template("staff/login.html")


@blp.post("/web/logout")
def logout():  # type: ignore[no-untyped-def]
    actor = g.get("actor")
    if actor is not None:
        with unit_of_work():
            end_sessions(actor)
    forget_user()
    flash(_("Anda sudah keluar."), "info")
    return redirect(url_for("staff.login"))


@blp.route("/web/password", methods=["GET", "POST"])
@login_required
def change_password():  # type: ignore[no-untyped-def]
    actor = g.actor
    if request.method == "POST":
        current = request.form.get("current", "")
        new = request.form.get("new", "")
        errors = []
        if not verify_password(actor, current):
            errors.append(_("Kata sandi lama salah."))
        errors.extend(password_problem_messages(new, actor.username))
        if new != request.form.get("confirm", ""):
            errors.append(_("Konfirmasi kata sandi tidak sama."))
        if errors:
            for e in errors:
                flash(e, "error")
            return render_template("staff/password.html"), 422
        now = now_utc()
        with unit_of_work():
            set_password(actor, new, now)
        login_user(actor, now)
        flash(_("Kata sandi sudah diganti."), "success")
        return redirect(url_for("staff.inbox"))
    return render_template("staff/password.html")

"""Server-rendered pages for staff (/web) and citizens (/lacak, /statistik).

Pages call the same services as the API; the forms post with a session cookie and a CSRF
token (Flask-WTF). Indonesian first: the message ids are Indonesian and the English catalog
translates them (Flask-Babel).
"""

from __future__ import annotations

from flask import Flask, g, request, session

from coord.extensions import babel

LANGUAGES = ("id", "en")


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    actor = g.get("actor")
    if actor is not None and getattr(actor, "locale", None) in LANGUAGES:
        return actor.locale
    return "id"


def register_web(app: Flask) -> None:
    from coord.web import expired_form, filters
    from coord.web.admin import blp as admin_pages
    from coord.web.auth import load_session_user
    from coord.web.dashboard import blp as dashboard_pages
    from coord.web.public import blp as public_pages
    from coord.web.staff import blp as staff_pages

    babel.init_app(
        app, locale_selector=select_locale, default_locale="id", default_timezone="Asia/Jakarta"
    )
    from flask_babel import get_locale

    app.jinja_env.globals["get_locale"] = get_locale
    app.before_request(load_session_user)
    app.register_blueprint(staff_pages)
    app.register_blueprint(public_pages)
    app.register_blueprint(admin_pages)
    app.register_blueprint(dashboard_pages)
    filters.register(app)
    expired_form.register(app)

    @app.route("/lang/<any(id,en):lang>")
    def set_language(lang: str):  # type: ignore[no-untyped-def]
        from flask import redirect

        from coord.web.security import local_redirect_target

        session["lang"] = lang
        return redirect(local_redirect_target(request.referrer))

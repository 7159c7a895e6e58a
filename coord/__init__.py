"""coord: case tracking and inter-agency coordination for kecamatan offices."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, request
from werkzeug.routing import IntegerConverter

from config.logging import configure_logging, request_id_var
from config.settings import load_config
from coord.web.security import register_security_headers

log = logging.getLogger(__name__)


class IdConverter(IntegerConverter):
    """Positive ids that fit a BIGINT; anything larger is simply not found."""

    def __init__(self, map: Any) -> None:  # noqa: A002 - werkzeug's signature
        super().__init__(map, min=1, max=2**63 - 1)


def create_app(test_config: Mapping[str, Any] | None = None, env: str | None = None) -> Flask:
    """Build the app: config -> extensions -> blueprints -> errors -> cli -> logging."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        static_folder="web/static",
        template_folder="web/templates",
    )
    app.config.update(load_config(env, test_config))
    app.url_map.converters["id"] = IdConverter
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the schemas' field order
    register_logging(app)
    register_request_id(app)  # first: every other hook, and every answer, has the id
    register_extensions(app)
    register_blueprints(app)
    register_errors(app)
    register_cli(app)
    register_response_headers(app)
    register_security_headers(app)  # CSP, HSTS, no-store, nosniff (docs/security.md)
    register_input_guard(app)
    register_refused_body_drain(app)
    proxies = int(app.config.get("COORD_PROXY_COUNT", 0))
    if proxies:  # behind a load balancer: rate limits and logs need the client's address
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    return app


def register_logging(app: Flask) -> None:
    if not app.config.get("TESTING"):
        configure_logging(app.config["COORD_LOG_JSON"], app.config["COORD_LOG_LEVEL"])


def register_extensions(app: Flask) -> None:
    from coord.extensions import csrf, db, limiter, migrate, rq
    from coord.services.session_hooks import install_session_hooks

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    rq.init_app(app)
    limiter.init_app(app)
    csrf.init_app(app)
    install_session_hooks()
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            make_sqlite_transactional(db.engine)
    from coord.services.webhooks.outbox import install_outbox

    install_outbox()  # the webhook outbox hears of every new event (idempotent)
    import coord.models  # noqa: F401  (register every table on the metadata)
    from workers.cron import register_cron

    register_cron(rq)


def make_sqlite_transactional(engine: Any) -> None:
    """pysqlite does not begin a transaction before a SAVEPOINT, so a command's savepoint
    would commit half of it. SQLAlchemy's documented recipe: the driver stays out of the way
    and we emit BEGIN ourselves; a command's transaction is BEGIN IMMEDIATE, which queues
    concurrent writers (each waits up to the busy timeout) instead of failing one of them
    mid-command."""
    from sqlalchemy import event

    if getattr(engine, "_coord_sqlite_ready", False):
        return
    engine._coord_sqlite_ready = True

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        from coord.services.uow import in_command

        # Commands take the write lock up front. Outside a command nothing is begun: each
        # read sees the latest commit (pysqlite's own behaviour) and never blocks a writer.
        if in_command():
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def register_blueprints(app: Flask) -> None:
    from coord.api import register_api
    from coord.metrics import register_metrics
    from coord.web import register_web

    register_api(app)
    register_metrics(app)
    register_web(app)
    from coord.open311 import register_open311

    register_open311(app)  # /open311/v2: its own errors, no bearer token, no CSRF


def register_errors(app: Flask) -> None:
    from coord.api.errors import register_error_handlers

    register_error_handlers(app)


def register_cli(app: Flask) -> None:
    from coord.cli import coord_cli

    app.cli.add_command(coord_cli)


def register_request_id(app: Flask) -> None:
    """The request id (``X-Request-ID``) is set by the very first ``before_request`` hook, so
    that an answer made by any later hook (401 from authentication, 429 from the rate limiter,
    503 when the database is down) carries it, and every log line of the request has it rather
    than the id of the request this thread served before."""

    def _request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        g.request_id = rid
        request_id_var.set(rid)

    app.before_request_funcs.setdefault(None, []).insert(0, _request_id)

    @app.teardown_request
    def _forget_request_id(exc: BaseException | None) -> None:
        request_id_var.set(None)  # lines logged after the request do not claim its id


def register_response_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("X-Request-ID", getattr(g, "request_id", ""))
        return response


def register_input_guard(app: Flask) -> None:
    """Text no database column can hold (a NUL character, a lone surrogate) is refused at the
    door, wherever it comes: a path parameter names nothing (404); a query or form value is
    422 naming the parameter, as the API's schemas answer for JSON bodies. PostgreSQL would
    otherwise refuse it at the driver, mid-request, as a 500."""
    from flask_babel import gettext

    from coord.api.errors import wants_html
    from coord.http.fields import unstorable_text
    from coord.services.errors import InvalidInput, NotFound

    @app.before_request
    def _refuse_unstorable_text() -> None:
        for value in (request.view_args or {}).values():
            if isinstance(value, str) and unstorable_text(value):
                raise NotFound("That name is not found here: no name contains such characters.")
        sources = [("query", request.args)]
        if request.mimetype == "application/x-www-form-urlencoded":
            sources.append(("form", request.form))
        for location, values in sources:
            for name, value in values.items(multi=True):
                problem = unstorable_text(name) or unstorable_text(value)
                if problem is None:
                    continue
                if wants_html():
                    message = gettext(
                        "Isian '%(name)s' berisi karakter yang tidak diizinkan (NUL).", name=name
                    )
                else:
                    message = f"The {location} parameter '{name}' {problem}."
                raise InvalidInput(message, {name: [problem]}, text=message)


MAX_DRAINED_BODY = 16 * 1024 * 1024


def register_refused_body_drain(app: Flask) -> None:
    """After a 413 the body was never read, yet the server has already promised the client a
    kept-alive connection. gunicorn reads at most 64 KiB of what is left and then silently
    closes, so the client's next request on that connection would go unanswered: read the
    rest away here (up to 16 MiB; beyond that the connection closes, as before). A WSGI
    application may not send ``Connection: close`` itself (a hop-by-hop header)."""

    @app.after_request
    def _read_away_refused_body(response):  # type: ignore[no-untyped-def]
        if response.status_code == 413:
            _drain(request.environ)
        return response


def _drain(environ: dict[str, Any]) -> None:
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    declared = environ.get("CONTENT_LENGTH") or ""
    left = int(declared) if declared.isascii() and declared.isdigit() else MAX_DRAINED_BODY
    if left > MAX_DRAINED_BODY:
        return
    try:
        while left > 0:
            chunk = stream.read(min(64 * 1024, left))
            if not chunk:
                return
            left -= len(chunk)
    except Exception:  # noqa: BLE001 - the client went away or sent a malformed body
        return

"""Shared fixtures: a real database (PostgreSQL or SQLite, chosen by COORD_TEST_DATABASE_URL),
a real Redis database, a frozen clock, and a small world of regions, units and users."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask, request, request_finished
from sqlalchemy import text

from coord import clock, create_app
from coord.extensions import db
from tests.factories import World, build_world

DEFAULT_TEST_DB = "postgresql://127.0.0.1:5432/test"
MAX_PAGE_BYTES = 1_000_000  # the heaviest HTML page any test may receive (issue #21)


def _database_url() -> str:
    return os.environ.get("COORD_TEST_DATABASE_URL") or DEFAULT_TEST_DB


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _database_url()
    if url == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'coord-test.sqlite3'}"
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("COORD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def app(database_url: str, redis_url: str) -> Iterator[Flask]:
    os.environ.setdefault("COORD_ENV", "testing")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "RQ_CONNECTION": redis_url,
            "RATELIMIT_STORAGE_URI": "memory://",
            "SERVER_NAME": None,
        },
        env="testing",
    )
    with app.app_context():
        if database_url.startswith("sqlite"):
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        db.drop_all()
        _drop_alembic_version()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _drop_alembic_version() -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def is_postgres(app: Flask) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with empty tables (data is committed for real, so threads, worker
    processes and HTTP servers see it)."""
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    yield
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if is_postgres(app):
                conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(text(f"DELETE FROM {name}"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_internal_errors: the test provokes a 500 on purpose (say why)"
    )


class _InternalErrors(logging.Handler):
    """Collects the requests answered 500 and the errors logged as unexpected (Open311 answers
    those with a 400, as its specification wants, but they are bugs all the same)."""

    LOGGERS = ("coord.api.errors", "coord.open311.routes")

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.found.append(
            f"logged: {record.getMessage()} ({record.exc_info and record.exc_info[1]!r})"
        )

    def response(self, sender: Flask, response: Any, **extra: Any) -> None:
        if response.status_code == 500:
            self.found.append(f"{request.method} {request.full_path} -> 500")
        # No page heavier than 1 MB of HTML (a list rendered without a limit grows past it).
        if response.mimetype == "text/html" and not response.is_streamed:
            size = len(response.get_data())
            if size > MAX_PAGE_BYTES:
                self.found.append(f"{request.method} {request.full_path} -> {size} bytes of HTML")


@pytest.fixture(autouse=True)
def _no_internal_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Any request of any test answered with a 500 (503s for a database that is down are
    intended), or with an HTML page over ``MAX_PAGE_BYTES``, fails that test: the suite as a
    whole then finds these classes of defect."""
    if "app" not in request.fixturenames or request.node.get_closest_marker(
        "allow_internal_errors"
    ):
        yield
        return
    app: Flask = request.getfixturevalue("app")
    watcher = _InternalErrors()
    loggers = [logging.getLogger(name) for name in _InternalErrors.LOGGERS]
    for logger in loggers:
        logger.addHandler(watcher)
    request_finished.connect(watcher.response, app)
    try:
        yield
    finally:
        request_finished.disconnect(watcher.response, app)
        for logger in loggers:
            logger.removeHandler(watcher)
    if watcher.found:
        pytest.fail("internal errors during the test:\n" + "\n".join(watcher.found[:20]))


@pytest.fixture
def frozen_now() -> Iterator[datetime]:
    """Freeze coord's clock at a working hour: Wednesday 2026-03-04 10:00 WIB."""
    at = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
    clock.set_frozen(at)
    yield at
    clock.set_frozen(None)


@pytest.fixture
def world(app: Flask, app_ctx: None) -> World:
    """Two kecamatan, their camat offices and kelurahan, two agencies, and a user for each
    role in each unit (``world.user("kel-a1", "staff")``)."""
    return build_world()


@pytest.fixture
def client(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def redis_conn(app: Flask):  # type: ignore[no-untyped-def]
    """The test Redis database, emptied before and after the test."""
    from redis import Redis

    conn = Redis.from_url(app.config["REDIS_URL"])
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture
def run_worker(app: Flask, redis_conn):  # type: ignore[no-untyped-def]
    """Run a real RQ worker (burst mode) on the real Redis until the queues are empty."""
    from workers.runtime import make_worker

    def drain(queues: list[str] | None = None) -> None:
        worker = make_worker(app, queues)
        worker.work(burst=True, with_scheduler=False)

    return drain


# --------------------------------------------------------------------------------------------
# No secrets in logs (docs/operations.md, "Logs"): every record logged during the suite goes
# through the production handler's filters and is checked, at the end of each test, for API
# tokens, Open311 keys, citizen receipt tokens, the world's password and webhook secrets.

LEAKED_SECRET = re.compile(
    r"\b(?:coord|o311)_[A-Za-z0-9_\-]{16,}"  # API tokens, Open311 api_keys
    r"|\bwhsec_[A-Za-z0-9+/=]{16,}"  # webhook signing secrets
    r"|secret-pass"  # the password of every user of the test world
    r"|\b(?:token|api_key|password|secret)=(?!\[redacted\])[^&\s\"'<>]+",  # e.g. ?token=...
    re.IGNORECASE,
)


class LogCollector(logging.Handler):
    """Keeps every record as the production handler would write it."""

    def __init__(self) -> None:
        from config.logging import ContextFilter, RedactingFilter

        super().__init__(logging.DEBUG)
        self.addFilter(ContextFilter())
        self.addFilter(RedactingFilter())
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a broken record must not break the test
            self.handleError(record)


@pytest.fixture(scope="session")
def log_collector() -> Iterator[LogCollector]:
    collector = LogCollector()
    root = logging.getLogger()
    level = root.level
    root.addHandler(collector)
    root.setLevel(min(level, logging.INFO))  # INFO lines too, as in production
    yield collector
    root.removeHandler(collector)
    root.setLevel(level)


def _keep_collecting(collector: LogCollector) -> None:
    """Alembic's migrations/env.py calls ``logging.config.fileConfig``, which replaces the root
    handlers (tests that migrate run it; it no longer disables the loggers that exist, but a
    logger disabled by an older configuration is enabled again here too): undo that."""
    root = logging.getLogger()
    if collector not in root.handlers:
        root.addHandler(collector)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for logger in logging.Logger.manager.loggerDict.values():
        if isinstance(logger, logging.Logger) and logger.disabled:
            logger.disabled = False


@pytest.fixture(autouse=True)
def _no_secrets_in_logs(log_collector: LogCollector) -> Iterator[None]:
    _keep_collecting(log_collector)
    start = len(log_collector.lines)
    yield
    lines = log_collector.lines[start:]
    del log_collector.lines[start:]
    leaked = [line for line in lines if LEAKED_SECRET.search(line)]
    assert not leaked, "secrets in the log:\n" + "\n".join(leaked[:5])

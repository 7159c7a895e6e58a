"""Settings for coord.

Every value comes from the environment when ``load_config`` is called (from ``create_app``),
never at import time, so tests and processes can set the environment first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = f"sqlite:///{ROOT / 'instance' / 'coord.sqlite3'}"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class BaseConfig:
    """Defaults shared by every environment; ``load`` overlays the environment."""

    ENV_NAME = "base"
    DEBUG = False
    TESTING = False

    @classmethod
    def load(cls) -> dict[str, Any]:
        database_url = normalise_database_url(
            _env("DATABASE_URL", DEFAULT_SQLITE) or DEFAULT_SQLITE
        )
        redis_url = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
        return {
            "COORD_ENV": cls.ENV_NAME,
            "DEBUG": cls.DEBUG,
            "TESTING": cls.TESTING,
            "SECRET_KEY": _env("SECRET_KEY", "dev-secret-change-me"),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_RECORD_QUERIES": False,
            "REDIS_URL": redis_url,
            # The queues' connection gives up after about a second (coord.extensions.AppRedis),
            # so a Redis that is down or frozen cannot hold up a request's after-commit
            # enqueue; workers dequeue through a connection of their own (workers/runtime.py).
            "RQ_CONNECTION": redis_url,
            "RQ_CONNECTION_CLASS": "coord.extensions.AppRedis",
            "RQ_QUEUES": ["default", "webhooks", "sla"],
            "RQ_ASYNC": True,
            "MAX_CONTENT_LENGTH": _env_int("COORD_MAX_BODY_BYTES", 1 * 1024 * 1024),
            # flask-smorest / OpenAPI
            "API_TITLE": "coord",
            "API_VERSION": "v1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/api/v1",
            "OPENAPI_JSON_PATH": "openapi.json",
            "OPENAPI_REDOC_PATH": "/docs",
            "OPENAPI_REDOC_URL": "/static/vendor/redoc.standalone.js",
            "OPENAPI_SWAGGER_UI_PATH": None,
            "API_SPEC_OPTIONS": {
                "components": {
                    "securitySchemes": {
                        "bearer": {"type": "http", "scheme": "bearer"},
                    }
                },
                "security": [{"bearer": []}],
                "info": {
                    "description": (
                        "Case tracking and inter-agency coordination. Authenticate with "
                        "POST /api/v1/auth/tokens and send `Authorization: Bearer <token>`."
                    )
                },
            },
            # Domain settings
            "COORD_BOUNCE_LIMIT": _env_int("COORD_BOUNCE_LIMIT", 3),
            "COORD_DISPUTE_DAYS": _env_int("COORD_DISPUTE_DAYS", 7),
            "COORD_IKM_WEIGHT": _env("COORD_IKM_WEIGHT", "1/9"),  # or "0.11" (docs/reports.md)
            "COORD_TOKEN_HOURS": _env_int("COORD_TOKEN_HOURS", 12),
            "COORD_PUBLIC_BASE_URL": _env("COORD_PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
            # Citizens (docs/citizens.md): public tracking rate limit per IP address.
            "COORD_PUBLIC_RATE_LIMIT": _env("COORD_PUBLIC_RATE_LIMIT", "30 per minute"),
            # Open311 GeoReport v2 (docs/open311.md): the jurisdiction_id, the region whose
            # kelurahan take requests ("" = every kelurahan), the discovery texts, rate limits.
            "COORD_OPEN311_JURISDICTION": _env("COORD_OPEN311_JURISDICTION", "medan.go.id"),
            "COORD_OPEN311_REGION": _env("COORD_OPEN311_REGION", ""),
            "COORD_OPEN311_CONTACT": _env(
                "COORD_OPEN311_CONTACT",
                "Hubungi admin kantor camat untuk bantuan integrasi Open311.",
            ),
            "COORD_OPEN311_KEY_SERVICE": _env(
                "COORD_OPEN311_KEY_SERVICE",
                "api_key diterbitkan oleh admin coord (flask coord create-open311-key NAMA).",
            ),
            "COORD_OPEN311_READ_RATE_LIMIT": _env(
                "COORD_OPEN311_READ_RATE_LIMIT", "120 per minute"
            ),
            "COORD_OPEN311_WRITE_RATE_LIMIT": _env(
                "COORD_OPEN311_WRITE_RATE_LIMIT", "30 per minute"
            ),
            # JSON lines in production (a log collector reads them); lines for a person in
            # development (`make run`). COORD_LOG_JSON overrides either.
            "COORD_LOG_JSON": _env_bool("COORD_LOG_JSON", cls.ENV_NAME == "production"),
            "COORD_LOG_LEVEL": _env("COORD_LOG_LEVEL", "INFO"),
            # Rate limits (Flask-Limiter); storage is Redis, falling back to memory when down.
            "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", redis_url),
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            # Like the queues: a Redis that does not answer within a second is treated as down
            # (the limiter then counts in memory) instead of holding up the request.
            "RATELIMIT_STORAGE_OPTIONS": {
                "socket_connect_timeout": 1,
                "socket_timeout": 1,
                "retry": Retry(NoBackoff(), 0),
            },
            "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
            "RATELIMIT_HEADERS_ENABLED": True,
            "COORD_LOGIN_RATE_LIMIT": _env("COORD_LOGIN_RATE_LIMIT", "10 per minute"),
            # Sessions and credentials (docs/security.md, docs/operations.md): staff sessions
            # end after COORD_SESSION_IDLE_MINUTES without a request and COORD_SESSION_HOURS
            # after login; the cookie is HttpOnly and SameSite=Lax (and Secure in production).
            "COORD_SESSION_IDLE_MINUTES": _env_int("COORD_SESSION_IDLE_MINUTES", 30),
            "COORD_SESSION_HOURS": _env_int("COORD_SESSION_HOURS", 12),
            "PERMANENT_SESSION_LIFETIME": timedelta(hours=_env_int("COORD_SESSION_HOURS", 12)),
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": False,
            # Per-account login throttle (Redis; fails open when Redis is down): after
            # COORD_LOGIN_ACCOUNT_FREE_FAILURES wrong passwords for one username, each further
            # failure locks that username for twice as long as the last one, from
            # COORD_LOGIN_ACCOUNT_BASE_DELAY up to COORD_LOGIN_ACCOUNT_MAX_DELAY seconds; the
            # count is forgotten COORD_LOGIN_ACCOUNT_WINDOW seconds after the last failure.
            "COORD_LOGIN_THROTTLE_ENABLED": _env_bool("COORD_LOGIN_THROTTLE_ENABLED", True),
            "COORD_LOGIN_THROTTLE_REDIS_URL": _env("COORD_LOGIN_THROTTLE_REDIS_URL"),  # REDIS_URL
            "COORD_LOGIN_ACCOUNT_FREE_FAILURES": _env_int("COORD_LOGIN_ACCOUNT_FREE_FAILURES", 5),
            "COORD_LOGIN_ACCOUNT_BASE_DELAY": _env_int("COORD_LOGIN_ACCOUNT_BASE_DELAY", 2),
            "COORD_LOGIN_ACCOUNT_MAX_DELAY": _env_int("COORD_LOGIN_ACCOUNT_MAX_DELAY", 900),
            "COORD_LOGIN_ACCOUNT_WINDOW": _env_int("COORD_LOGIN_ACCOUNT_WINDOW", 3600),
            # How many reverse proxies stand in front (X-Forwarded-For/Proto/Host trusted).
            "COORD_PROXY_COUNT": _env_int("COORD_PROXY_COUNT", 0),
            # Attachments: a local folder (default instance/attachments) and a size limit.
            "COORD_ATTACHMENT_DIR": _env("COORD_ATTACHMENT_DIR"),
            "COORD_ATTACHMENT_MAX_BYTES": _env_int("COORD_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024),
            # Webhooks (docs/webhooks.md): networks that may be sent to although private
            # (comma-separated CIDRs), request timeout, deliveries per job, claim lease, and
            # how long a rotated-out secret keeps signing.
            "COORD_WEBHOOK_ALLOW_CIDRS": _env("COORD_WEBHOOK_ALLOW_CIDRS", ""),
            "COORD_WEBHOOK_TIMEOUT": _env_int("COORD_WEBHOOK_TIMEOUT", 10),
            "COORD_WEBHOOK_BATCH": _env_int("COORD_WEBHOOK_BATCH", 100),
            "COORD_WEBHOOK_LEASE_SECONDS": _env_int("COORD_WEBHOOK_LEASE_SECONDS", 120),
            "COORD_WEBHOOK_ROTATION_OVERLAP_HOURS": _env_int(
                "COORD_WEBHOOK_ROTATION_OVERLAP_HOURS", 24
            ),
            "COORD_PASSWORD_HASH_MEMORY_KIB": _env_int("COORD_PASSWORD_HASH_MEMORY_KIB", 65536),
            # A breached-password list of the operator's, refused on top of the shipped one.
            "COORD_PASSWORD_BLOCKLIST": _env("COORD_PASSWORD_BLOCKLIST"),
            # E-mail for notifications (off unless COORD_SMTP_HOST is set).
            "COORD_SMTP_HOST": _env("COORD_SMTP_HOST"),
            "COORD_SMTP_PORT": _env_int("COORD_SMTP_PORT", 25),
            "COORD_SMTP_USER": _env("COORD_SMTP_USER"),
            "COORD_SMTP_PASSWORD": _env("COORD_SMTP_PASSWORD"),
            "COORD_SMTP_STARTTLS": _env_bool("COORD_SMTP_STARTTLS", False),
            "COORD_MAIL_FROM": _env("COORD_MAIL_FROM", "coord@localhost"),
        }


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    DEBUG = False


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"

    @classmethod
    def load(cls) -> dict[str, Any]:
        values = super().load()
        if values["SECRET_KEY"] == "dev-secret-change-me":
            raise RuntimeError("SECRET_KEY must be set in production")
        # Production is served over https: the session cookie goes over https only, under a
        # __Host- name (no Domain, Path=/, Secure), which a sibling host cannot overwrite.
        if _env_bool("COORD_SESSION_COOKIE_SECURE", True):
            values["SESSION_COOKIE_SECURE"] = True
            values["SESSION_COOKIE_NAME"] = "__Host-coord_session"
        return values


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True

    @classmethod
    def load(cls) -> dict[str, Any]:
        values = super().load()
        values["RATELIMIT_ENABLED"] = _env_bool("RATELIMIT_ENABLED", False)
        # Like the per-address limits: off in the shared test app, on in the tests of it.
        values["COORD_LOGIN_THROTTLE_ENABLED"] = _env_bool("COORD_LOGIN_THROTTLE_ENABLED", False)
        values["COORD_LOG_JSON"] = False
        # Cheap hashes keep the suite fast; production uses the argon2 defaults.
        values["COORD_PASSWORD_HASH_MEMORY_KIB"] = 1024
        return values


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def engine_options_for(database_url: str) -> dict[str, Any]:
    """Pool settings per engine: SQLite waits for its file lock, PostgreSQL pings and pools.

    PostgreSQL sessions run without JIT compilation (``jit=off``, the reports' setting since
    issue 15, now every connection's): the staff pages send short reads whose cost estimates
    at a million cases pass the JIT threshold, and compiling took 290 ms of a 450 ms inbox
    query that runs in 160 ms without it (docs/performance.md, "Staff pages")."""
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {
        "pool_pre_ping": True,
        "pool_size": _env_int("DATABASE_POOL_SIZE", 5),
        "max_overflow": 10,
        "connect_args": {"options": "-c jit=off"},
    }


def load_config(
    env: str | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the settings for ``env`` (default ``COORD_ENV``, else development)."""
    name = env or _env("COORD_ENV", "development") or "development"
    try:
        cls = CONFIGS[name]
    except KeyError as exc:
        raise RuntimeError(f"COORD_ENV must be one of {sorted(CONFIGS)}, got {name!r}") from exc
    values = cls.load()
    if overrides:
        values.update(overrides)
    values["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(values["SQLALCHEMY_DATABASE_URI"])
    values.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", engine_options_for(values["SQLALCHEMY_DATABASE_URI"])
    )
    return values

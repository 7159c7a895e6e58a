"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from coord.extensions import db

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """The process is up."""
    return jsonify(status="ok")


def redis_reachable() -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        client = Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=1
        )
        return bool(client.ping())
    except (RedisError, OSError):
        return False


@blp.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    """Ready when the database and Redis answer."""
    checks = {"database": False, "redis": redis_reachable()}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:  # noqa: BLE001 - any failure means not ready
        db.session.rollback()
    ok = all(checks.values())
    return jsonify(status="ok" if ok else "unavailable", checks=checks), (200 if ok else 503)

"""The per-account login throttle (OWASP ASVS 2.2.1), next to the per-address rate limit.

After ``COORD_LOGIN_ACCOUNT_FREE_FAILURES`` wrong passwords for one username, each further
failure locks that username for twice as long as the one before, starting at
``COORD_LOGIN_ACCOUNT_BASE_DELAY`` seconds and capped at ``COORD_LOGIN_ACCOUNT_MAX_DELAY``
(15 minutes), so that nobody can keep a real user out for long. Attempts during a lock are
refused without looking at the password (and do not count); a successful login clears the
count, which is otherwise forgotten ``COORD_LOGIN_ACCOUNT_WINDOW`` seconds after the last
failure. Usernames that do not exist are counted the same way, so the answers do not tell
which accounts exist.

The counts live in Redis under a hash of the username. When Redis cannot be reached the
throttle fails open: login works, limited per address only, and a warning is logged.
"""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import datetime
from typing import cast

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError

from coord.extensions import AppRedis
from coord.services.errors import TooManyAttempts

log = logging.getLogger(__name__)

KEY_PREFIX = "coord:login-throttle:"


def _enabled() -> bool:
    return bool(current_app.config.get("COORD_LOGIN_THROTTLE_ENABLED", True))


def _redis() -> Redis:
    """One client per app and URL, the app's kind (``AppRedis``: gives up after a second,
    no retries): a hung Redis must not hold logins."""
    config = current_app.config
    url = config.get("COORD_LOGIN_THROTTLE_REDIS_URL") or config["REDIS_URL"]
    clients: dict[str, Redis] = current_app.extensions.setdefault("coord_login_throttle", {})
    if url not in clients:
        clients[url] = AppRedis.from_url(url)
    return clients[url]


def _key(username: str) -> str:
    return KEY_PREFIX + hashlib.sha256(username.strip().lower().encode()).hexdigest()


def _fail_open(exc: RedisError) -> None:
    log.warning("login throttle unavailable, logins are limited per address only: %s", exc)


def ensure_not_locked(username: str, now: datetime) -> None:
    """Raise TooManyAttempts while ``username`` is locked after failed logins."""
    if not _enabled():
        return
    try:
        locked_until = cast("bytes | None", _redis().hget(_key(username), "locked_until"))
    except RedisError as exc:
        _fail_open(exc)
        return
    if locked_until is None:
        return
    wait = float(locked_until) - now.timestamp()
    if wait > 0:
        raise TooManyAttempts(
            "Too many failed logins for this account; try again later.", math.ceil(wait)
        )


def lock_seconds(failures: int) -> int:
    """How long ``failures`` wrong passwords in a row lock the username (0: not at all)."""
    config = current_app.config
    free = int(config["COORD_LOGIN_ACCOUNT_FREE_FAILURES"])
    if failures < free:
        return 0
    base = int(config["COORD_LOGIN_ACCOUNT_BASE_DELAY"])
    cap = int(config["COORD_LOGIN_ACCOUNT_MAX_DELAY"])
    return min(cap, base * 2 ** min(failures - free, 32))


def record_failure(username: str, now: datetime) -> None:
    """Count a wrong password for ``username`` and lock it when the count calls for it."""
    if not _enabled():
        return
    key = _key(username)
    window = int(current_app.config["COORD_LOGIN_ACCOUNT_WINDOW"])
    try:
        client = _redis()
        failures = cast(int, client.hincrby(key, "failures", 1))
        delay = lock_seconds(failures)
        pipe = client.pipeline()
        if delay:
            pipe.hset(key, "locked_until", str(now.timestamp() + delay))
        pipe.expire(key, max(window, delay))
        pipe.execute()
    except RedisError as exc:
        _fail_open(exc)


def record_success(username: str) -> None:
    """A correct password clears the count of ``username``."""
    if not _enabled():
        return
    try:
        _redis().delete(_key(username))
    except RedisError as exc:
        _fail_open(exc)

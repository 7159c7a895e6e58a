"""Enqueue background jobs after the transaction commits.

Jobs carry ids only. If Redis is unreachable the work is not lost: the rows that describe it
(deliveries, clocks, notifications) are already committed and the periodic sweeps pick them
up once Redis is back.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError

from coord.extensions import rq
from coord.services.uow import after_commit

log = logging.getLogger(__name__)


def enqueue_now(queue: str, func_path: str, *args: Any, **options: Any) -> bool:
    """Enqueue ``func_path(*args)``; False (and a warning) when Redis is unreachable."""
    try:
        rq.get_queue(queue).enqueue(func_path, *args, result_ttl=0, failure_ttl=86400, **options)
        return True
    except (RedisError, OSError) as exc:
        log.warning("could not enqueue %s (%s); the sweep will retry", func_path, exc)
        return False


def enqueue_after_commit(queue: str, func_path: str, *args: Any, **options: Any) -> None:
    after_commit(lambda: enqueue_now(queue, func_path, *args, **options))

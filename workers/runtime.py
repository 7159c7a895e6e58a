"""The RQ worker that runs coord's jobs: one fresh app context (and database session) per
job, the job id stamped on every log line, and no fork per job (RQ's SimpleWorker), because
forking a Flask app per job caps throughput far below what webhooks need.

The worker rides out a Redis outage instead of quitting: its own Redis connection retries
every command until Redis answers again (one WARNING line when Redis goes away, one INFO line
when it is back, no traceback), so a worker that loses Redis in the middle of a job finishes
the job, records it once Redis is back and goes on dequeuing. A stop (SIGTERM) during the
outage ends the waiting.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask
from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from rq import Queue, SimpleWorker, Worker
from rq.exceptions import InvalidJobOperation
from rq.worker.base import BaseWorker

from config.logging import job_id_var
from coord.extensions import rq

log = logging.getLogger(__name__)
T = TypeVar("T")

# Waits between attempts while Redis is away: 0.5 s, doubling, at most this long.
MAX_REDIS_WAIT_SECONDS = 10.0
WORKER_CONNECT_TIMEOUT_SECONDS = 5.0


class AppContextMixin:
    """Runs every job inside an application context of its own (a fresh database session),
    with the job's id on every log line. Built on RQ's public ``perform_job``, so it holds
    for the forking worker (in the work horse) and the simple one alike."""

    app: Flask

    def perform_job(self, job: Any, queue: Any) -> bool:
        token = job_id_var.set(job.id)
        try:
            with self.app.app_context():
                ok = bool(super().perform_job(job, queue))  # type: ignore[misc]
                if ok:
                    log_job_outcome(job.func_name, _result_of(job))
                return ok
        finally:
            job_id_var.reset(token)


def _result_of(job: Any) -> Any:
    try:
        return job.return_value()  # RQ's public read of the stored result
    except (RedisError, OSError):
        return None


def log_job_outcome(func_name: str, result: Any) -> None:
    """One line per finished job, in place of RQ's per-job lines (DEBUG, see
    ``config.logging.QuietJobLines``): INFO, except a periodic job that did nothing (returned
    0 or None), which is DEBUG, so that an idle development log stays quiet."""
    from workers.cron import SCHEDULE

    periodic = func_name in {item.job.path for item in SCHEDULE}
    level = logging.DEBUG if periodic and not result else logging.INFO
    log.log(level, "%s done: %s", func_name, result)


# Process-wide, not on the retry object: redis-py deep-copies that into every connection.
_outage: dict[str, float | bool | None] = {"since": None, "stopping": False}


class PatientRetry(Retry):
    """Retry a Redis command until Redis answers again (a worker's connection only: the web
    gives up after a second, coord.extensions.AppRedis). Stops retrying once the worker was
    asked to stop, so that a stop during an outage is not held up."""

    def __init__(self) -> None:
        super().__init__(
            ExponentialBackoff(cap=MAX_REDIS_WAIT_SECONDS, base=0.5),
            -1,
            (RedisConnectionError, RedisTimeoutError, socket.timeout, ConnectionResetError),
        )

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        self._backoff.reset()
        failures = 0
        while True:
            try:
                result = do()
            except self._supported_errors as error:
                if (is_retryable and not is_retryable(error)) or _outage["stopping"]:
                    raise
                failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                _note_outage(error)
                time.sleep(self._backoff.compute(failures))
                continue
            if failures and _outage["since"] is not None:
                _note_recovery()
            return result


def _note_outage(error: BaseException) -> None:
    if _outage["since"] is None:
        _outage["since"] = time.monotonic()
        log.warning(
            "lost Redis (%s); retrying until it answers, every %.0f s at most",
            str(error) or type(error).__name__,
            MAX_REDIS_WAIT_SECONDS,
        )


def _note_recovery() -> None:
    since = _outage["since"]
    _outage["since"] = None
    if isinstance(since, float):
        log.info("Redis answers again after %.0f s; carrying on", time.monotonic() - since)


class PatientMixin:
    """Worker behaviour around a Redis outage (see the module docstring)."""

    def request_stop(self, signum: Any, frame: Any) -> None:
        _outage["stopping"] = True  # before RQ's handler, which may raise StopRequested
        super().request_stop(signum, frame)  # type: ignore[misc]

    def handle_job_success(self, job: Any, queue: Any, started_job_registry: Any) -> None:
        try:
            super().handle_job_success(job, queue, started_job_registry)  # type: ignore[misc]
        except InvalidJobOperation:
            # Redis came back empty (restarted without persistence, or flushed) while the job
            # ran: the work is done and committed, and Redis has no record left to update.
            log.warning("job %s finished, but Redis lost its record meanwhile", job.id)

    def teardown(self) -> None:
        try:
            super().teardown()  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            log.warning("stopping without deregistering from Redis (%s)", exc)


class PatientSimpleWorker(AppContextMixin, PatientMixin, SimpleWorker):
    pass


class PatientWorker(AppContextMixin, PatientMixin, Worker):
    pass


def worker_connection(app: Flask) -> Redis:
    """A Redis connection of the worker's own: patient (``PatientRetry``), and without the
    web's one-second read timeout (RQ sets one longer than its blocking dequeue)."""
    url = app.config["RQ_CONNECTION"]
    if not isinstance(url, str):
        raise RuntimeError("RQ_CONNECTION must be a redis:// URL")
    return Redis.from_url(
        url,
        socket_connect_timeout=WORKER_CONNECT_TIMEOUT_SECONDS,
        socket_keepalive=True,
        health_check_interval=30,
        retry=PatientRetry(),
    )


def make_worker(
    app: Flask, queues: list[str] | None = None, *, fork: bool = False, name: str | None = None
) -> BaseWorker:
    """A worker on the app's queues (all of them, in priority order, by default)."""
    _outage.update(since=None, stopping=False)
    connection = worker_connection(app)
    with app.app_context():
        names = queues or list(rq.queues)
        unknown = [q for q in names if q not in rq.queues]
        if unknown:
            raise KeyError(f"unknown queue(s): {', '.join(unknown)}")
        chosen = [Queue(q, connection=connection) for q in names]
    worker_cls: type[PatientSimpleWorker | PatientWorker] = (
        PatientWorker if fork else PatientSimpleWorker
    )
    worker = worker_cls(chosen, connection=connection, name=name)
    worker.app = app
    return worker

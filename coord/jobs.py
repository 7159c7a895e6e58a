"""Every background job, in one registry: its name, the dotted path of its function (in
``workers/``) and the queue it runs on; and ``enqueue``, the one way to put a job on its queue.

Services enqueue a job by its constant (``jobs.enqueue(jobs.NOTIFY_SLA_EVENTS, ids)``), from
an after-commit hook (``after_commit`` or ``enqueue_after_commit``), never by spelling a path
or a queue. The periodic jobs' table (``workers/cron.py``) and the workers' queues
(``flask rq worker``) read the same constants. coord does not import ``workers``: RQ imports
the function by its path in the worker; ``tests/workers/test_jobs.py`` checks every path.

Jobs carry ids only. If Redis is unreachable the work is not lost: the rows that describe it
(deliveries, clocks, notifications) are already committed and the periodic sweeps pick them
up once Redis is back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from coord.extensions import rq
from coord.services.uow import after_commit

log = logging.getLogger(__name__)

# The queues, as the config's RQ_QUEUES lists them (a worker of all of them serves them in
# that order).
DEFAULT = "default"
WEBHOOKS = "webhooks"
SLA = "sla"
QUEUES = (DEFAULT, WEBHOOKS, SLA)


@dataclass(frozen=True)
class Job:
    path: str  # dotted path of the job function
    queue: str

    @property
    def name(self) -> str:
        return self.path.rpartition(".")[2]


SWEEP_SLA = Job("workers.sla.sweep_sla", SLA)
NOTIFY_SLA_EVENTS = Job("workers.notifications.notify_sla_events", DEFAULT)
NOTIFY_RECENT_SLA_EVENTS = Job("workers.notifications.notify_recent_sla_events", DEFAULT)
SEND_DUE_EMAILS = Job("workers.notifications.send_due_emails", DEFAULT)
DELIVER_ENDPOINT = Job("workers.webhooks.deliver_endpoint", WEBHOOKS)
SWEEP_WEBHOOK_OUTBOX = Job("workers.webhooks.sweep_outbox", DEFAULT)
CLOSE_EXPIRED_RESOLUTIONS = Job("workers.citizens.close_expired_resolutions", DEFAULT)

JOBS: tuple[Job, ...] = (
    SWEEP_SLA,
    NOTIFY_SLA_EVENTS,
    NOTIFY_RECENT_SLA_EVENTS,
    SEND_DUE_EMAILS,
    DELIVER_ENDPOINT,
    SWEEP_WEBHOOK_OUTBOX,
    CLOSE_EXPIRED_RESOLUTIONS,
)


def enqueue(job: Job, *args: Any, **options: Any) -> bool:
    """Put ``job(*args)`` on its queue now (from an after-commit hook: never for rows that
    might still roll back); False (and a warning) when Redis is unreachable. ``options`` go to
    RQ (``job_timeout``)."""
    try:
        rq.get_queue(job.queue).enqueue(job.path, *args, result_ttl=0, failure_ttl=86400, **options)
        return True
    except (RedisError, OSError) as exc:
        log.warning("could not enqueue %s (%s); the sweep will retry", job.path, exc)
        return False


def enqueue_after_commit(job: Job, *args: Any, **options: Any) -> None:
    """``enqueue`` once the current transaction commits (never if it rolls back)."""
    after_commit(lambda: enqueue(job, *args, **options))


def redis_of(job: Job) -> Redis:
    """The Redis connection of ``job``'s queue (for gates that go with its jobs)."""
    connection: Redis = rq.get_queue(job.queue).connection
    return connection

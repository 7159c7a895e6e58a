"""Enqueueing delivery jobs: at most one job per endpoint waits in the queue at a time (a
Redis key, the gate, is set before the enqueue and cleared by the job as it starts), so
thousands of events for one endpoint become a few jobs of up to ``COORD_WEBHOOK_BATCH``
deliveries each. The periodic sweep enqueues the endpoints whose due deliveries no live
job holds: after Redis was down or flushed, a worker was killed, or a retry fell due.

The job is ``jobs.DELIVER_ENDPOINT``; the gate lives in the Redis of its queue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import or_, select

from coord import jobs
from coord.extensions import db
from coord.models import DeliveryStatus, WebhookDelivery
from coord.services.uow import after_commit
from coord.services.webhooks.settings import settings

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Enqueueing jobs: at most one waiting job per endpoint


def _gate_key(endpoint_id: int) -> str:
    return f"coord:webhooks:queued:{endpoint_id}"


def _schedule_after_commit(endpoint_ids: set[int]) -> None:
    ids = sorted(endpoint_ids)

    def enqueue() -> None:
        schedule_endpoint_jobs(ids)

    after_commit(enqueue)


def schedule_endpoint_jobs(endpoint_ids: Iterable[int]) -> int:
    """Enqueue ``deliver_endpoint`` for each endpoint that has no job waiting yet; returns how
    many were enqueued. Redis down: logged, and the sweep does it later."""
    ids = list(endpoint_ids)
    if not ids:
        return 0
    lease = int(settings().lease.total_seconds())
    try:
        connection = jobs.redis_of(jobs.DELIVER_ENDPOINT)
        pipe = connection.pipeline(transaction=False)
        for endpoint_id in ids:
            pipe.set(_gate_key(endpoint_id), "1", nx=True, ex=max(lease, 1))
        opened = pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("could not enqueue webhook deliveries (%s); the sweep will retry", exc)
        return 0
    enqueued = 0
    for endpoint_id, was_free in zip(ids, opened, strict=True):
        if not was_free:
            continue  # a job for this endpoint is already waiting and will see these rows
        if jobs.enqueue(jobs.DELIVER_ENDPOINT, endpoint_id, job_timeout=lease + 60):
            enqueued += 1
        else:
            release_gate(endpoint_id)
    return enqueued


def release_gate(endpoint_id: int) -> None:
    """Called by the job as it starts: rows written from now on enqueue a new job."""
    try:
        jobs.redis_of(jobs.DELIVER_ENDPOINT).delete(_gate_key(endpoint_id))
    except (RedisError, OSError) as exc:
        log.warning("could not clear the webhook job gate of endpoint %s (%s)", endpoint_id, exc)


# --------------------------------------------------------------------------------------------
# Due deliveries that no live job holds, and the sweep that enqueues them


def _claimable(now: datetime, lease: timedelta) -> list[Any]:
    table = WebhookDelivery.__table__
    return [
        table.c.status == DeliveryStatus.PENDING.value,
        table.c.next_attempt_at <= now,
        or_(table.c.enqueued_at.is_(None), table.c.enqueued_at < now - lease),
    ]


# A job waiting in the queue claims its endpoint's due deliveries within moments of starting;
# deliveries due this long and still unclaimed mean that the endpoint's gate has no job behind
# it. That happens when Redis was frozen: the web gave up on the gate's SET NX (and enqueued
# nothing), but Redis carried the SET out once it woke up.
GATE_STALE_AFTER = timedelta(seconds=30)


def sweep(now: datetime) -> int:
    """Enqueue a job for every endpoint with due deliveries that no live job holds; returns
    how many jobs were enqueued. Runs from the cron table every 15 s. The gate of an endpoint
    whose deliveries have waited unclaimed for ``GATE_STALE_AFTER`` is cleared first."""
    config = settings()
    table = WebhookDelivery.__table__
    claimable = _claimable(now, config.lease)
    endpoint_ids: list[int] = list(
        db.session.execute(select(table.c.endpoint_id).where(*claimable).distinct()).scalars()
    )
    if endpoint_ids:
        overdue: Iterable[int] = db.session.execute(
            select(table.c.endpoint_id)
            .where(*claimable, table.c.next_attempt_at <= now - GATE_STALE_AFTER)
            .distinct()
        ).scalars()
        for endpoint_id in overdue:
            release_gate(endpoint_id)
    return schedule_endpoint_jobs(endpoint_ids)

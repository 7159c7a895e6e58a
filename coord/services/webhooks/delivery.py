"""The delivery job's work: claim a batch of an endpoint's due deliveries under a lease,
POST them over one keep-alive connection, and record each outcome on its own row
(delivered, retry later, failed, or the endpoint disabled by a 410); the next batch is
enqueued while due deliveries remain. ``workers.webhooks.deliver_endpoint`` runs it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.exc import DBAPIError

from coord.clock import now_utc
from coord.domain import netguard, retry
from coord.extensions import db
from coord.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from coord.services.uow import unit_of_work
from coord.services.webhooks.endpoints import _cancel_pending, _disable
from coord.services.webhooks.scheduling import _claimable, schedule_endpoint_jobs
from coord.services.webhooks.settings import WebhookSettings, settings
from coord.services.webhooks.transport import Attempt, Claimed, Target, open_session, post_once

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Claiming due deliveries under a lease


def claim(
    endpoint_id: int, now: datetime, config: WebhookSettings
) -> tuple[Target | None, list[Claimed]]:
    """Claim up to ``batch`` due deliveries of the endpoint for this job (commits). Rows held
    by another live job are skipped (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite runs one
    writer at a time); a claim whose lease ran out (its worker died) is claimed again."""
    table = WebhookDelivery.__table__
    with unit_of_work():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None:
            return None, []
        if not endpoint.active:
            _cancel_pending(endpoint_id, "cancelled: endpoint turned off")
            return None, []
        due = (
            select(table.c.id)
            .where(table.c.endpoint_id == endpoint_id, *_claimable(now, config.lease))
            .order_by(table.c.next_attempt_at, table.c.id)
            .limit(config.batch)
            .with_for_update(skip_locked=True)
        )
        rows = db.session.execute(
            update(table)
            .where(table.c.id.in_(due))
            .values(enqueued_at=now)
            .returning(table.c.id, table.c.msg_id, table.c.payload, table.c.attempts)
        ).all()
        signing_secrets = [endpoint.secret]
        if (
            endpoint.previous_secret
            and endpoint.previous_secret_expires_at is not None
            and now < endpoint.previous_secret_expires_at
        ):
            signing_secrets.append(endpoint.previous_secret)
        target = Target(id=endpoint.id, url=endpoint.url, secrets=signing_secrets)
    claimed = sorted(
        (Claimed(r.id, r.msg_id, r.payload, r.attempts) for r in rows), key=lambda c: c.id
    )
    return target, claimed


# --------------------------------------------------------------------------------------------
# One batch: claim, send, record


@dataclass
class BatchResult:
    endpoint_id: int
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    disabled: bool = False
    outcomes: dict[int, str] = field(default_factory=dict)


def deliver_batch(
    endpoint_id: int,
    *,
    rng: random.Random | None = None,
    open_http: Callable[[Sequence[netguard.IPNetwork]], requests.Session] = open_session,
) -> BatchResult:
    """Claim and send one batch of the endpoint's due deliveries and record every outcome,
    each message's as soon as its answer is in (one short commit per message sent).

    2xx: delivered. 410: the endpoint is turned off and its pending deliveries cancelled.
    A refused destination: failed at once. Anything else (other status, redirect, timeout,
    network error): attempted again on the retry schedule, ``failed`` after the last attempt.
    When the endpoint cannot be reached at all, the rest of the batch counts the same attempt
    rather than waiting out a timeout each. Deliveries left when the time budget runs out go
    back unattempted. Enqueues the next batch while due deliveries remain.
    """
    config = settings()
    result = BatchResult(endpoint_id)
    target, claimed = claim(endpoint_id, now_utc(), config)
    result.claimed = len(claimed)
    if target is None or not claimed:
        return result
    if len(claimed) >= config.batch:
        schedule_endpoint_jobs([endpoint_id])  # let another worker start on the next batch

    started = time.monotonic()
    deadline = started + config.time_budget
    updates: list[dict[str, Any]] = []  # outcomes of messages not sent, written at the end
    gone: Attempt | None = None
    unreachable: Attempt | None = None
    with open_http(config.allow_networks) as session, _outcome_writer() as record_now:
        for item in claimed:
            if gone is not None:
                break
            if time.monotonic() > deadline:
                updates.append(_released(item))
                result.released += 1
                continue
            sent = unreachable is None
            attempt = unreachable or post_once(session, target, item, config.timeout, deadline)
            attempted_at = now_utc()
            if attempt.status_code == 410:
                gone = attempt
                record_now(_failed(item, attempt, attempted_at))
                result.failed += 1
                result.outcomes[item.id] = DeliveryStatus.FAILED.value
                continue
            if attempt.unreachable and unreachable is None:
                unreachable = Attempt(
                    error=f"not sent: endpoint unreachable ({attempt.error})", unreachable=True
                )
            row = _outcome(item, attempt, attempted_at, rng)
            if sent:
                # Written before the next message goes out: if the worker dies (or the
                # database goes away) later in the batch, only the message in flight at that
                # moment is sent again (docs/webhooks.md).
                record_now(row)
            else:
                updates.append(row)
            result.outcomes[item.id] = row["b_status"]
            if row["b_status"] == DeliveryStatus.DELIVERED.value:
                result.delivered += 1
            elif row["b_status"] == DeliveryStatus.FAILED.value:
                result.failed += 1
            else:
                result.retrying += 1

    _record(updates)
    if gone is not None:
        with unit_of_work():
            endpoint = db.session.get(WebhookEndpoint, endpoint_id)
            if endpoint is not None:
                _disable(endpoint, "the receiver answered 410 Gone", now_utc())
                endpoint.version += 1
        result.disabled = True
        log.warning("webhook endpoint %s disabled: the receiver answered 410 Gone", endpoint_id)
    elif result.released or _has_due(endpoint_id, config):
        schedule_endpoint_jobs([endpoint_id])
    log.info(
        "webhook batch for endpoint %s: %s delivered, %s to retry, %s failed, %s handed back",
        endpoint_id,
        result.delivered,
        result.retrying,
        result.failed,
        result.released,
    )
    return result


_UPDATE_COLUMNS = (
    "status",
    "attempts",
    "next_attempt_at",
    "enqueued_at",
    "last_attempt_at",
    "last_status_code",
    "last_error",
    "delivered_at",
)


def _row(item: Claimed, **values: Any) -> dict[str, Any]:
    return {"b_id": item.id, **{f"b_{k}": values.get(k) for k in _UPDATE_COLUMNS}}


def _released(item: Claimed) -> dict[str, Any]:
    return {"b_id": item.id, "b_release": True}


def _failed(item: Claimed, attempt: Attempt, at: datetime) -> dict[str, Any]:
    return _row(
        item,
        status=DeliveryStatus.FAILED.value,
        attempts=item.attempts + 1,
        next_attempt_at=None,
        enqueued_at=None,
        last_attempt_at=at,
        last_status_code=attempt.status_code,
        last_error=attempt.error,
        delivered_at=None,
    )


def _outcome(
    item: Claimed, attempt: Attempt, at: datetime, rng: random.Random | None
) -> dict[str, Any]:
    attempts = item.attempts + 1
    if attempt.delivered:
        return _row(
            item,
            status=DeliveryStatus.DELIVERED.value,
            attempts=attempts,
            next_attempt_at=None,
            enqueued_at=None,
            last_attempt_at=at,
            last_status_code=attempt.status_code,
            last_error=None,
            delivered_at=at,
        )
    if attempt.refused:
        return _failed(item, attempt, at)
    delay = retry.next_retry_delay(
        attempts, retry_after=retry.parse_retry_after(attempt.retry_after, at), rng=rng
    )
    if delay is None:
        failed = _failed(item, attempt, at)
        failed["b_last_error"] = f"gave up after {attempts} attempts; last: {attempt.error}"[:1000]
        return failed
    return _row(
        item,
        status=DeliveryStatus.PENDING.value,
        attempts=attempts,
        next_attempt_at=at + delay,
        enqueued_at=None,
        last_attempt_at=at,
        last_status_code=attempt.status_code,
        last_error=(attempt.error or "")[:1000],
        delivered_at=None,
    )


def _outcome_statement() -> Any:
    table = WebhookDelivery.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.status == DeliveryStatus.PENDING.value)
        .values({c: bindparam(f"b_{c}", type_=table.c[c].type) for c in _UPDATE_COLUMNS})
    )


@contextmanager
def _outcome_writer() -> Iterator[Callable[[dict[str, Any]], None]]:
    """A function that writes and commits one message's outcome at once: one statement, on a
    connection of the batch's own (autocommit on PostgreSQL, so one round trip per message).

    On PostgreSQL these commits do not wait for the disk (``synchronous_commit`` off, on this
    connection while the batch runs): a killed worker or a lost connection cannot undo them;
    only a crash of the database server itself can lose its last fraction of a second of
    them, and those messages are then sent again (delivery is at least once)."""
    statement = _outcome_statement()
    with db.engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("SET synchronous_commit TO off")

        def record_now(row: dict[str, Any]) -> None:
            conn.execute(statement, row)
            if not postgres:
                conn.commit()  # SQLite: the driver runs the UPDATE on its own, in autocommit

        try:
            yield record_now
        finally:
            if postgres and not conn.invalidated:
                try:
                    conn.exec_driver_sql("RESET synchronous_commit")
                except DBAPIError:
                    conn.invalidate()  # do not hand the setting on through the pool


def _record(updates: list[dict[str, Any]]) -> None:
    """Write outcomes (one executemany per kind of change) and commit. Only rows still
    pending are touched, so a delivery cancelled or redone meanwhile is left alone."""
    if not updates:
        return
    table = WebhookDelivery.__table__
    outcomes = [u for u in updates if not u.get("b_release")]
    released = [{"b_id": u["b_id"]} for u in updates if u.get("b_release")]
    with unit_of_work():
        if outcomes:
            db.session.execute(_outcome_statement(), outcomes)
        if released:
            db.session.execute(
                update(table)
                .where(
                    table.c.id == bindparam("b_id"), table.c.status == DeliveryStatus.PENDING.value
                )
                .values(enqueued_at=None),
                released,
            )


def _has_due(endpoint_id: int, config: WebhookSettings) -> bool:
    table = WebhookDelivery.__table__
    found = db.session.execute(
        select(
            exists().where(table.c.endpoint_id == endpoint_id, *_claimable(now_utc(), config.lease))
        )
    ).scalar()
    return bool(found)

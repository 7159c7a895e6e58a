"""Webhooks (DESIGN.md section 6): endpoints, the outbox, and sending deliveries.

- Endpoint commands (create, update, delete, rotate the secret, ping) for the admins and
  liaisons of the endpoint's unit.
- The outbox writer: subscribed to ``EVENT_SUBSCRIBERS``, it turns each new event into one
  ``WebhookDelivery`` row per subscribed endpoint, in the transaction that wrote the event, and
  after the commit enqueues one ``deliver_endpoint`` job per endpoint touched.
- Delivery: a job claims a batch of an endpoint's due deliveries under a lease, POSTs them over
  one keep-alive connection, and records each outcome on its own row (delivered, retry later,
  failed, or the endpoint disabled by a 410). A periodic sweep enqueues the endpoints whose due
  deliveries no job holds: after Redis was down or flushed, a worker was killed, or a retry fell
  due.

At most one job per endpoint waits in the queue at a time (a Redis key gates the enqueue), so
thousands of events for one endpoint become a few jobs of up to ``COORD_WEBHOOK_BATCH``
deliveries each, not thousands of jobs.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from flask import current_app
from redis.exceptions import RedisError
from requests.adapters import HTTPAdapter
from sqlalchemy import bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.exc import DBAPIError
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from coord.clock import now_utc
from coord.domain import netguard, retry, signing
from coord.domain.states import HandoffStatus
from coord.domain.tracking import format_tracking_code
from coord.extensions import db, rq
from coord.models import (
    Case,
    CaseEvent,
    DeliveryStatus,
    Handoff,
    Role,
    Unit,
    UnitKind,
    User,
    Visibility,
    WebhookDelivery,
    WebhookEndpoint,
)
from coord.services import config_cache
from coord.services.configuration import may_configure_unit
from coord.services.dispatch import enqueue_now
from coord.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from coord.services.events import EVENT_SUBSCRIBERS, PublishedEvent
from coord.services.policy import Actor
from coord.services.uow import after_commit, unit_of_work

log = logging.getLogger(__name__)
E = TypeVar("E", bound=BaseException)

QUEUE = "webhooks"
DELIVER_JOB = "workers.webhooks.deliver_endpoint"

# --------------------------------------------------------------------------------------------
# Event types

EVENT_TYPES: tuple[str, ...] = (
    "case.created",
    "case.updated",
    "case.resolved",
    "case.closed",
    "case.reopened",
    "case.cancelled",
    "handoff.requested",
    "handoff.accepted",
    "handoff.rejected",
    "handoff.recalled",
    "handoff.completed",
    "sla.warning",
    "sla.breached",
    "case.escalated",
    "case.bounced",
    "feedback.received",
    "ping",
)
# What an endpoint may subscribe to; ``ping`` is sent on request whatever it subscribed.
SUBSCRIBABLE_TYPES: tuple[str, ...] = tuple(t for t in EVENT_TYPES if t != "ping")

# Internal event type (CaseEvent.type) -> webhook event type. Anything else is not sent.
WEBHOOK_TYPE: dict[str, str] = {
    "case.created": "case.created",
    "case.started": "case.updated",
    "case.assigned": "case.updated",
    "case.held": "case.updated",
    "case.resumed": "case.updated",
    "case.updated": "case.updated",
    "case.reassigned": "case.updated",
    "case.commented": "case.updated",  # public comments only (see write_outbox)
    "case.resolved": "case.resolved",
    "case.closed": "case.closed",
    "case.reopened": "case.reopened",
    "case.disputed": "case.reopened",
    "case.cancelled": "case.cancelled",
    "handoff.requested": "handoff.requested",
    "handoff.accepted": "handoff.accepted",
    "handoff.rejected": "handoff.rejected",
    "handoff.recalled": "handoff.recalled",
    "handoff.completed": "handoff.completed",
    "sla.warning": "sla.warning",
    "sla.breached": "sla.breached",
    "case.escalated": "case.escalated",
    "case.bounced": "case.bounced",
    "feedback.received": "feedback.received",
}
# Also sent to the camat office whose kecamatan holds the case.
CAMAT_OFFICE_TYPES = frozenset({"sla.breached", "case.escalated"})

# --------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class WebhookSettings:
    allow_networks: tuple[netguard.IPNetwork, ...]
    timeout: float
    batch: int
    lease: timedelta
    rotation_overlap: timedelta
    public_base_url: str

    @property
    def time_budget(self) -> float:
        """Seconds a job may spend sending before it hands the rest back: half the lease,
        so that a claim never expires while its job is still working on it."""
        return max(self.lease.total_seconds() / 2 - self.timeout, 1.0)


def settings() -> WebhookSettings:
    config = current_app.config
    try:
        allow = netguard.parse_allow_list(config.get("COORD_WEBHOOK_ALLOW_CIDRS", ""))
    except ValueError as exc:
        raise RuntimeError(f"COORD_WEBHOOK_ALLOW_CIDRS: {exc}") from exc
    return WebhookSettings(
        allow_networks=tuple(allow),
        timeout=float(config.get("COORD_WEBHOOK_TIMEOUT", 10)),
        batch=max(int(config.get("COORD_WEBHOOK_BATCH", 100)), 1),
        lease=timedelta(seconds=int(config.get("COORD_WEBHOOK_LEASE_SECONDS", 120))),
        rotation_overlap=timedelta(
            hours=int(config.get("COORD_WEBHOOK_ROTATION_OVERLAP_HOURS", 24))
        ),
        public_base_url=str(config.get("COORD_PUBLIC_BASE_URL", "")).rstrip("/"),
    )


# --------------------------------------------------------------------------------------------
# Who may manage a unit's endpoints: its admins and liaisons, and the admins whose
# jurisdiction holds the unit (coord.services.configuration.may_configure_unit).

MANAGING_ROLES = (Role.ADMIN, Role.LIAISON)


def may_manage(actor: Actor, unit: Unit) -> bool:
    if not isinstance(actor, User):
        return False
    if actor.unit_id == unit.id and actor.has_role(*MANAGING_ROLES):
        return True
    return may_configure_unit(actor, unit)


def unit_for_management(actor: Actor, unit_code: str) -> Unit:
    """The unit named ``unit_code`` if ``actor`` may manage its webhooks (the unit directory
    is public, so another unit's webhooks are forbidden rather than not found)."""
    unit = db.session.execute(select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"No unit '{unit_code}'.")
    if not may_manage(actor, unit):
        raise Forbidden(
            f"Only admins and liaisons of {unit.name}, and admins whose jurisdiction holds it, "
            "may manage its webhooks."
        )
    return unit


def get_endpoint(actor: Actor, endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
    """An endpoint the actor may manage: one of their own unit (members without the admin or
    liaison role are forbidden) or of a unit their admin jurisdiction holds; any other is
    not found."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    if for_update:
        query = query.with_for_update(of=WebhookEndpoint).execution_options(populate_existing=True)
    endpoint = db.session.execute(query).unique().scalar_one_or_none()
    if endpoint is None or not isinstance(actor, User):
        raise NotFound("No webhook endpoint with that id in your scope.")
    if actor.unit_id != endpoint.unit_id and not may_manage(actor, endpoint.unit):
        raise NotFound("No webhook endpoint with that id in your scope.")
    if not may_manage(actor, endpoint.unit):
        raise Forbidden(
            f"Only admins and liaisons of {endpoint.unit.name} may manage its webhooks."
        )
    return endpoint


def get_delivery(actor: Actor, delivery_id: int, *, for_update: bool = False) -> WebhookDelivery:
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    delivery = db.session.execute(query).scalar_one_or_none()
    if delivery is None:
        raise NotFound("No delivery with that id in your scope.")
    try:
        get_endpoint(actor, delivery.endpoint_id)
    except NotFound:
        raise NotFound("No delivery with that id in your scope.") from None
    return delivery


# --------------------------------------------------------------------------------------------
# Destination checks (the SSRF guard at registration; delivery checks again at connect time)


def resolve_addresses(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IP literals resolve to themselves)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_destination(url: str, allow: Sequence[netguard.IPNetwork]) -> str:
    """Return ``url`` if it may receive webhooks; else ``InvalidInput`` naming ``url``."""
    if len(url) > 2000:
        raise InvalidInput.field("url", "at most 2000 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput.field("url", f"not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidInput.field("url", "must start with https:// or http://")
    if not parts.hostname:
        raise InvalidInput.field("url", "must name a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput.field(
            "url", "must not contain credentials; receivers verify the signature"
        )
    if parts.fragment:
        raise InvalidInput.field("url", "must not contain a #fragment")
    try:
        addresses = resolve_addresses(
            parts.hostname, port or (443 if parts.scheme == "https" else 80)
        )
    except (OSError, UnicodeError) as exc:
        raise InvalidInput.field("url", f"the host '{parts.hostname}' does not resolve") from exc
    problem = netguard.refusal(addresses, allow)
    if problem is not None:
        raise InvalidInput.field(
            "url",
            f"refused: {problem}; webhooks go to public addresses unless the operator "
            "allows the network (COORD_WEBHOOK_ALLOW_CIDRS)",
        )
    return url


def _event_types(values: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(values))
    unknown = [v for v in chosen if v not in SUBSCRIBABLE_TYPES]
    if unknown:
        raise InvalidInput.field("event_types", f"unknown event types: {', '.join(unknown)}")
    if not chosen:
        raise InvalidInput.field("event_types", "subscribe to at least one event type")
    return chosen


# --------------------------------------------------------------------------------------------
# Endpoint commands


def create_endpoint(
    actor: Actor,
    unit_code: str,
    *,
    url: str,
    event_types: Sequence[str],
    now: datetime,
    description: str | None = None,
    active: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint for ``unit_code`` (its admins and liaisons). Checks the URL
    (http/https, resolves to an allowed address) and the event types; returns the endpoint
    and its new secret, which is shown this once."""
    unit = unit_for_management(actor, unit_code)
    config = settings()
    endpoint = WebhookEndpoint(
        unit_id=unit.id,
        url=check_destination(url, config.allow_networks),
        description=description,
        event_types=_event_types(event_types),
        active=active,
        secret=signing.generate_secret(),
        disabled_reason=None if active else "created inactive",
        created_at=now,
        updated_at=now,
        version=1,
    )
    endpoint.unit = unit
    db.session.add(endpoint)
    db.session.flush()
    log.info("webhook endpoint %s created for unit %s", endpoint.id, unit.code)
    return endpoint, endpoint.secret


def update_endpoint(
    actor: Actor, endpoint_id: int, changes: dict[str, Any], now: datetime
) -> WebhookEndpoint:
    """Change the URL (checked again), event types, description or active flag. Turning an
    endpoint off cancels its pending deliveries; turning it on clears the disabled reason."""
    endpoint = get_endpoint(actor, endpoint_id, for_update=True)
    if "url" in changes and changes["url"] != endpoint.url:
        endpoint.url = check_destination(changes["url"], settings().allow_networks)
    if "event_types" in changes:
        endpoint.event_types = _event_types(changes["event_types"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "active" in changes and changes["active"] != endpoint.active:
        if changes["active"]:
            endpoint.active = True
            endpoint.disabled_reason = None
        else:
            who = actor.username if isinstance(actor, User) else "system"
            _disable(endpoint, f"turned off by {who}", now)
    endpoint.version += 1
    endpoint.updated_at = now
    return endpoint


def delete_endpoint(actor: Actor, endpoint_id: int) -> None:
    """Remove an endpoint with its delivery log."""
    endpoint = get_endpoint(actor, endpoint_id, for_update=True)
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.flush()
    log.info("webhook endpoint %s deleted", endpoint_id)


def rotate_secret(
    actor: Actor, endpoint_id: int, now: datetime, *, overlap: timedelta | None = None
) -> tuple[WebhookEndpoint, str]:
    """Generate a new secret; the current one keeps signing beside it for ``overlap``
    (default ``COORD_WEBHOOK_ROTATION_OVERLAP_HOURS``). Returns the new secret, shown once.
    A secret already on its way out is dropped: at most two secrets sign at a time."""
    endpoint = get_endpoint(actor, endpoint_id, for_update=True)
    overlap = settings().rotation_overlap if overlap is None else overlap
    if overlap > timedelta(0):
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + overlap
    else:
        endpoint.previous_secret = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret = signing.generate_secret()
    endpoint.version += 1
    endpoint.updated_at = now
    log.info("webhook endpoint %s secret rotated", endpoint.id)
    return endpoint, endpoint.secret


def ping_endpoint(actor: Actor, endpoint_id: int, now: datetime) -> WebhookDelivery:
    """Queue a ``ping`` message to the endpoint (whatever it subscribed to)."""
    endpoint = get_endpoint(actor, endpoint_id)
    if not endpoint.active:
        raise Conflict(
            "The endpoint is turned off; turn it on (PATCH active=true) before pinging it.",
            {"active": ["false"]},
        )
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_id=None,
        msg_id=new_msg_id(),
        event_type="ping",
        payload={
            "type": "ping",
            "timestamp": _iso(now),
            "data": {
                "endpoint_id": endpoint.id,
                "unit": endpoint.unit.code,
                "message": "ping from coord",
            },
        },
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    db.session.add(delivery)
    db.session.flush()
    _schedule_after_commit({endpoint.id})
    return delivery


def redeliver(actor: Actor, delivery_id: int, now: datetime) -> WebhookDelivery:
    """Send a delivered, failed or cancelled message again: a new series of attempts under
    the same ``webhook-id``, so a receiver that already has it can recognise it."""
    delivery = get_delivery(actor, delivery_id, for_update=True)
    if delivery.status == DeliveryStatus.PENDING.value:
        raise Conflict(
            "This delivery is still pending; it will be attempted again by itself.",
            {"status": [delivery.status]},
        )
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or not endpoint.active:
        raise Conflict(
            "The endpoint is turned off; turn it on before redelivering.", {"active": ["false"]}
        )
    delivery.status = DeliveryStatus.PENDING.value
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.enqueued_at = None
    delivery.delivered_at = None
    db.session.flush()
    _schedule_after_commit({delivery.endpoint_id})
    return delivery


def _disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> int:
    """Turn the endpoint off and cancel what it still had pending; returns how many."""
    endpoint.active = False
    endpoint.disabled_reason = reason[:500]
    endpoint.updated_at = now
    return _cancel_pending(endpoint.id, f"cancelled: endpoint turned off ({reason})"[:1000])


def _cancel_pending(endpoint_id: int, why: str) -> int:
    table = WebhookDelivery.__table__
    result = db.session.execute(
        update(table)
        .where(table.c.endpoint_id == endpoint_id, table.c.status == DeliveryStatus.PENDING.value)
        .values(
            status=DeliveryStatus.CANCELLED.value,
            next_attempt_at=None,
            enqueued_at=None,
            last_error=why,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# The outbox writer


def install_outbox() -> None:
    """Subscribe the outbox writer to new events (idempotent)."""
    if write_outbox not in EVENT_SUBSCRIBERS:
        EVENT_SUBSCRIBERS.append(write_outbox)


def new_msg_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def kecamatan_of(region_code: str) -> str | None:
    parts = region_code.split(".")
    return ".".join(parts[:3]) if len(parts) >= 3 else None


def _active_endpoints() -> dict[int, list[tuple[int, frozenset[str]]]]:
    """Active endpoints by unit id, with the event types each subscribes to."""
    endpoints: dict[int, list[tuple[int, frozenset[str]]]] = {}
    for endpoint_id, unit_id, event_types in db.session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.unit_id, WebhookEndpoint.event_types).where(
            WebhookEndpoint.active.is_(True)
        )
    ):
        endpoints.setdefault(unit_id, []).append((endpoint_id, frozenset(event_types or ())))
    return endpoints


def write_outbox(events: list[PublishedEvent]) -> None:
    """One delivery row per (event, subscribed active endpoint of a unit that should hear of
    it), written with one multi-row insert; the endpoints' jobs are enqueued after commit.

    Who hears of an event: the unit that owns the case; for an event about a handoff, the
    sending and the receiving unit; for ``sla.breached`` and ``case.escalated`` also the camat
    office of the case's kecamatan; for a manager's reassignment also the previous owner.
    """
    typed = [(ev, WEBHOOK_TYPE[ev.type]) for ev in events if ev.type in WEBHOOK_TYPE]
    if not typed:
        return
    comment_ids = [ev.event_id for ev, _ in typed if ev.type == "case.commented"]
    if comment_ids:
        public = set(
            db.session.execute(
                select(CaseEvent.id).where(
                    CaseEvent.id.in_(comment_ids), CaseEvent.visibility == Visibility.PUBLIC.value
                )
            ).scalars()
        )
        typed = [(ev, t) for ev, t in typed if ev.type != "case.commented" or ev.event_id in public]
        if not typed:
            return

    recipients = _recipients(typed)
    endpoints = config_cache.cached_value(("webhook_endpoints",), _active_endpoints)
    if not endpoints or not endpoints.keys() & set().union(*recipients):
        return

    targets: list[tuple[PublishedEvent, str, list[int]]] = []
    for (ev, webhook_type), units in zip(typed, recipients, strict=True):
        chosen = sorted(
            {
                endpoint_id
                for unit_id in units
                for endpoint_id, subscribed in endpoints.get(unit_id, ())
                if webhook_type in subscribed
            }
        )
        if chosen:
            targets.append((ev, webhook_type, chosen))
    if not targets:
        return

    payloads = _payloads([(ev, t) for ev, t, _ in targets])
    now = now_utc()
    rows = [
        {
            "endpoint_id": endpoint_id,
            "event_id": ev.event_id,
            "msg_id": new_msg_id(),
            "event_type": webhook_type,
            "payload": payload,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for (ev, webhook_type, endpoint_ids), payload in zip(targets, payloads, strict=True)
        for endpoint_id in endpoint_ids
    ]
    db.session.execute(insert(WebhookDelivery.__table__), rows)
    _schedule_after_commit({endpoint_id for _, _, ids in targets for endpoint_id in ids})


def _recipients(typed: list[tuple[PublishedEvent, str]]) -> list[set[int]]:
    kecamatans = {
        k for ev, t in typed if t in CAMAT_OFFICE_TYPES and (k := kecamatan_of(ev.region_code))
    }
    camat_offices: dict[str, list[int]] = {}
    if kecamatans:
        for unit_id, region_code in db.session.execute(
            select(Unit.id, Unit.region_code).where(
                Unit.kind == UnitKind.CAMAT_OFFICE.value, Unit.region_code.in_(kecamatans)
            )
        ):
            camat_offices.setdefault(region_code, []).append(unit_id)
    previous_owner_codes = {
        ev.details["owner_unit"][0]
        for ev, _ in typed
        if ev.type == "case.reassigned" and _before_value(ev.details.get("owner_unit"))
    }
    previous_owners: dict[str, int] = {}
    if previous_owner_codes:
        previous_owners = dict(
            db.session.execute(  # type: ignore[arg-type]
                select(Unit.code, Unit.id).where(Unit.code.in_(previous_owner_codes))
            ).all()
        )

    result: list[set[int]] = []
    for ev, webhook_type in typed:
        units = {ev.owner_unit_id}
        if ev.handoff_from_unit_id is not None:
            units.add(ev.handoff_from_unit_id)
        if ev.handoff_to_unit_id is not None:
            units.add(ev.handoff_to_unit_id)
        if webhook_type in CAMAT_OFFICE_TYPES:
            units.update(camat_offices.get(kecamatan_of(ev.region_code) or "", ()))
        if ev.type == "case.reassigned":
            before = _before_value(ev.details.get("owner_unit"))
            if before in previous_owners:
                units.add(previous_owners[before])
        result.append(units)
    return result


def _before_value(change: Any) -> Any:
    if isinstance(change, list | tuple) and len(change) == 2:
        return change[0]
    return None


def _payloads(typed: list[tuple[PublishedEvent, str]]) -> list[dict[str, Any]]:
    """The frozen ``{"type", "timestamp", "data"}`` body of each event."""
    unit_ids: set[int] = set()
    handoff_ids: set[int] = set()
    for ev, _ in typed:
        unit_ids.add(ev.owner_unit_id)
        if ev.handoff_id is not None:
            handoff_ids.add(ev.handoff_id)
            unit_ids.update(u for u in (ev.handoff_from_unit_id, ev.handoff_to_unit_id) if u)
    codes: dict[int, str] = dict(
        db.session.execute(  # type: ignore[arg-type]
            select(Unit.id, Unit.code).where(Unit.id.in_(unit_ids))
        ).all()
    )
    statuses: dict[int, str] = dict(
        db.session.execute(  # type: ignore[arg-type]
            select(Case.id, Case.status).where(Case.id.in_({ev.case_id for ev, _ in typed}))
        ).all()
    )
    handoffs: dict[int, tuple[str, str]] = {}
    if handoff_ids:
        handoffs = {
            hid: (kind, status)
            for hid, kind, status in db.session.execute(
                select(Handoff.id, Handoff.kind, Handoff.status).where(Handoff.id.in_(handoff_ids))
            )
        }
    base = str(current_app.config.get("COORD_PUBLIC_BASE_URL", "")).rstrip("/")

    payloads = []
    for ev, webhook_type in typed:
        data: dict[str, Any] = {
            "event_id": ev.event_id,
            "event": ev.type,
            "case_id": ev.case_id,
            "tracking_code": format_tracking_code(ev.tracking_code),
            "case_version": ev.case_version,
            "status": statuses.get(ev.case_id),
            "owner_unit": codes.get(ev.owner_unit_id),
            "url": f"{base}/api/v1/cases/{ev.case_id}",
        }
        if ev.handoff_id is not None:
            kind, status = handoffs.get(ev.handoff_id, (None, None))
            handoff: dict[str, Any] = {
                "id": ev.handoff_id,
                "kind": kind,
                "status": status,
                "from_unit": codes.get(ev.handoff_from_unit_id or 0),
                "to_unit": codes.get(ev.handoff_to_unit_id or 0),
                "url": f"{base}/api/v1/handoffs/{ev.handoff_id}",
            }
            if status == HandoffStatus.PENDING.value:
                handoff["accept_url"] = f"{base}/api/v1/handoffs/{ev.handoff_id}/accept"
                handoff["reject_url"] = f"{base}/api/v1/handoffs/{ev.handoff_id}/reject"
            data["handoff"] = handoff
        data["changes"] = ev.details
        payloads.append({"type": webhook_type, "timestamp": _iso(ev.at), "data": data})
    return payloads


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
        connection = rq.get_queue(QUEUE).connection
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
        if enqueue_now(QUEUE, DELIVER_JOB, endpoint_id, job_timeout=lease + 60):
            enqueued += 1
        else:
            release_gate(endpoint_id)
    return enqueued


def release_gate(endpoint_id: int) -> None:
    """Called by the job as it starts: rows written from now on enqueue a new job."""
    try:
        rq.get_queue(QUEUE).connection.delete(_gate_key(endpoint_id))
    except (RedisError, OSError) as exc:
        log.warning("could not clear the webhook job gate of endpoint %s (%s)", endpoint_id, exc)


# --------------------------------------------------------------------------------------------
# Claiming due deliveries under a lease


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


@dataclass
class Claimed:
    id: int
    msg_id: str
    payload: dict[str, Any]
    attempts: int


@dataclass
class Target:
    """What a job needs of its endpoint, copied out of the session before sending."""

    id: int
    url: str
    secrets: list[str]


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
# Sending: guarded connections, one keep-alive session per batch


class DestinationRefused(NewConnectionError):
    """The destination resolved to an address webhooks may not go to."""

    def __init__(self, conn: Any, problem: str) -> None:
        self.problem = problem
        super().__init__(conn, f"destination refused: {problem}")


def _guarded_connect(conn: HTTPConnection, allow: Sequence[netguard.IPNetwork]) -> socket.socket:
    """Resolve, check every address, then connect to a checked address (never resolving
    again, so a DNS answer that changes between check and connect cannot slip through)."""
    host = conn._dns_host  # type: ignore[attr-defined]
    try:
        infos = socket.getaddrinfo(host, conn.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    problem = netguard.refusal(addresses, allow)
    if problem is not None:
        raise DestinationRefused(conn, problem)
    error: OSError | None = None
    for address in addresses:
        try:
            return urllib3_connection.create_connection(
                (address, conn.port or 80),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
            ) from exc
        except OSError as exc:
            error = exc
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}")


def _guarded_pool_classes(allow: Sequence[netguard.IPNetwork]) -> dict[str, type]:
    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _guarded_connect(self, allow)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _guarded_connect(self, allow)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections go only to allowed addresses, never retried by
    urllib3 (retries are ours, on the delivery's schedule)."""

    def __init__(self, allow: Sequence[netguard.IPNetwork]) -> None:
        self._allow = tuple(allow)
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pool_classes(self._allow)


USER_AGENT = "coord-webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024


def open_session(allow: Sequence[netguard.IPNetwork]) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment: the guard decides
    adapter = GuardedAdapter(allow)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Content-Type": "application/json"})
    return session


@dataclass
class Attempt:
    """What one POST came to."""

    status_code: int | None = None
    error: str | None = None
    retry_after: str | None = None
    refused: bool = False
    unreachable: bool = False  # no connection at all: the rest of the batch would fail too

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _cause(exc: BaseException, kind: type[E]) -> E | None:
    """The exception of type ``kind`` somewhere inside what requests raised, if any
    (requests wraps urllib3's MaxRetryError, which holds the connection's error as reason)."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        if isinstance(current, BaseException):
            stack.extend([getattr(current, "reason", None), current.__cause__, current.__context__])
            stack.extend(a for a in current.args if isinstance(a, BaseException))
    return None


def _wall_clock() -> int:
    # The signature timestamp is the moment of sending by the real clock: receivers compare it
    # with their own clocks (five minutes' tolerance), so a frozen test clock must not leak here.
    return int(time.time())


def post_once(
    session: requests.Session, target: Target, claimed: Claimed, timeout: float, deadline: float
) -> Attempt:
    body = json.dumps(claimed.payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = signing.signed_headers(target.secrets, claimed.msg_id, _wall_clock(), body)
    try:
        response = session.post(
            target.url,
            data=body,
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        )
    except requests.ConnectionError as exc:
        refused = _cause(exc, DestinationRefused)
        if refused is not None:
            return Attempt(error=f"destination refused: {refused.problem}", refused=True)
        if isinstance(exc, requests.ConnectTimeout) or _cause(exc, NewConnectionError) is not None:
            return Attempt(error=f"could not connect: {_short(exc)}", unreachable=True)
        return Attempt(error=f"connection failed: {_short(exc)}")
    except requests.Timeout:
        return Attempt(error=f"no response within {timeout:g} s")
    except requests.RequestException as exc:
        return Attempt(error=f"request failed: {_short(exc)}")
    except Exception as exc:  # never let one message wedge the batch under an endless lease
        log.exception(
            "webhook delivery %s to endpoint %s failed unexpectedly", claimed.id, target.id
        )
        return Attempt(error=f"unexpected error: {type(exc).__name__}")
    with response:
        snippet = _read_some(response, deadline)
    attempt = Attempt(
        status_code=response.status_code, retry_after=response.headers.get("Retry-After")
    )
    if not attempt.delivered:
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location", "")[:300]
            attempt.error = f"HTTP {response.status_code}: redirect to {location!r} not followed"
        else:
            attempt.error = f"HTTP {response.status_code}" + (f": {snippet}" if snippet else "")
    return attempt


def _read_some(response: requests.Response, deadline: float) -> str:
    """Up to 64 KiB of the response (so the connection can be reused), within the deadline;
    returns the start of it as text for the delivery log."""
    data = b""
    try:
        for chunk in response.iter_content(8192):
            data += chunk
            if len(data) >= MAX_RESPONSE_BYTES or time.monotonic() > deadline:
                break
    except requests.RequestException:
        pass
    return data[:200].decode("utf-8", "replace").strip()


def _short(exc: BaseException) -> str:
    return str(exc)[:300]


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

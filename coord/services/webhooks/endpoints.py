"""Webhook endpoints: who may manage a unit's endpoints (its admins and liaisons, and the
admins whose jurisdiction holds it), the destination check at registration (the SSRF
guard; delivery checks again at connect time), and the endpoint commands: create, update,
delete, rotate the secret, ping, redeliver, and turning an endpoint off with its pending
deliveries cancelled.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update

from coord.domain import netguard, signing
from coord.extensions import db
from coord.models import DeliveryStatus, Role, Unit, User, WebhookDelivery, WebhookEndpoint
from coord.services.configuration import may_configure_unit
from coord.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from coord.services.policy import Actor
from coord.services.webhooks.event_types import SUBSCRIBABLE_TYPES
from coord.services.webhooks.outbox import _iso, new_msg_id
from coord.services.webhooks.scheduling import _schedule_after_commit
from coord.services.webhooks.settings import settings

log = logging.getLogger(__name__)


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

"""The outbox writer: subscribed to ``EVENT_SUBSCRIBERS`` (``install_outbox``), it turns each
new event into one ``WebhookDelivery`` row per subscribed endpoint, in the transaction that
wrote the event, and after the commit enqueues one ``deliver_endpoint`` job per endpoint
touched. Also the message ids and the frozen payload of each event.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import insert, select

from coord.clock import now_utc
from coord.domain.states import HandoffStatus
from coord.domain.tracking import format_tracking_code
from coord.extensions import db
from coord.models import (
    Case,
    CaseEvent,
    DeliveryStatus,
    Handoff,
    Unit,
    UnitKind,
    Visibility,
    WebhookDelivery,
    WebhookEndpoint,
)
from coord.services import config_cache
from coord.services.events import EVENT_SUBSCRIBERS, PublishedEvent
from coord.services.webhooks.event_types import CAMAT_OFFICE_TYPES, WEBHOOK_TYPE
from coord.services.webhooks.scheduling import _schedule_after_commit


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

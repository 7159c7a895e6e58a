"""Writing the append-only audit trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from coord.extensions import db
from coord.models import Case, CaseEvent, Handoff, User, Visibility
from coord.services.policy import Actor, SystemActor


@dataclass(frozen=True)
class PublishedEvent:
    """What subscribers (the webhook outbox) learn of a new event, without ORM objects, so
    bulk writers such as the SLA sweep can publish many at once."""

    event_id: int
    type: str
    at: datetime
    case_id: int
    tracking_code: str
    case_version: int
    owner_unit_id: int
    region_code: str
    handoff_id: int | None = None
    handoff_from_unit_id: int | None = None
    handoff_to_unit_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


# Called with every batch of new events inside their transaction (the outbox subscribes).
EVENT_SUBSCRIBERS: list[Callable[[list[PublishedEvent]], None]] = []


def publish(events: list[PublishedEvent]) -> None:
    if events:
        for subscriber in EVENT_SUBSCRIBERS:
            subscriber(events)


# Event types the public timeline shows by default.
PUBLIC_TYPES = frozenset(
    {
        "case.created",
        "case.started",
        "case.held",
        "case.resumed",
        "case.resolved",
        "case.reopened",
        "case.closed",
        "case.cancelled",
        "handoff.accepted",
    }
)


def actor_label(actor: Actor) -> str:
    if isinstance(actor, SystemActor):
        return actor.label
    return f"{actor.full_name} ({actor.unit.name})"


def record_event(
    case: Case,
    type_: str,
    actor: Actor,
    now: datetime,
    *,
    changes: dict[str, Any] | None = None,
    handoff: Handoff | None = None,
    body: str | None = None,
    visibility: Visibility | str | None = None,
) -> CaseEvent:
    """Append one event for ``case`` in the current transaction; returns it flushed.

    One flush writes the change and the event (the version is already bumped by ``touch``;
    the relationships fill the ids of a case or handoff that is not inserted yet)."""
    if visibility is None:
        visibility = Visibility.PUBLIC if type_ in PUBLIC_TYPES else Visibility.INTERNAL
    event = CaseEvent(
        case=case,
        handoff=handoff,
        type=type_,
        at=now,
        actor_user_id=actor.id if isinstance(actor, User) else None,
        actor_unit_id=actor.unit_id if isinstance(actor, User) else None,
        actor_label=actor_label(actor),
        visibility=Visibility(visibility).value,
        case_version=case.version,
        body=body,
        changes=_jsonable(changes or {}),
    )
    db.session.add(event)
    db.session.flush()
    publish(
        [
            PublishedEvent(
                event_id=event.id,
                type=type_,
                at=now,
                case_id=case.id,
                tracking_code=case.tracking_code,
                case_version=case.version,
                owner_unit_id=case.owner_unit_id,
                region_code=case.region_code,
                handoff_id=handoff.id if handoff is not None else None,
                handoff_from_unit_id=handoff.from_unit_id if handoff is not None else None,
                handoff_to_unit_id=handoff.to_unit_id if handoff is not None else None,
                details=event.changes,
            )
        ]
    )
    return event


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value

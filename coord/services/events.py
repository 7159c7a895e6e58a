"""Writing the append-only audit trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import inspect
from sqlalchemy.orm import InstanceState

from coord.extensions import db
from coord.models import Case, CaseEvent, Handoff, User, Visibility
from coord.services.bulk import insert_new
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


class EventDetails(TypedDict, total=False):
    """What an event may carry beside its case, type, actor and time."""

    changes: dict[str, Any] | None
    handoff: Handoff | None
    body: str | None
    visibility: Visibility | str | None


def new_event(
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
    """One event for ``case``, not yet written (``record_event`` or ``bulk.insert_new``
    writes it, then ``publish_event``)."""
    if visibility is None:
        visibility = Visibility.PUBLIC if type_ in PUBLIC_TYPES else Visibility.INTERNAL
    return CaseEvent(
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


def publish_event(event: CaseEvent) -> None:
    """Tell the subscribers (the webhook outbox) of a written event."""
    case, handoff = event.case, event.handoff
    publish(
        [
            PublishedEvent(
                event_id=event.id,
                type=event.type,
                at=event.at,
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


def record_event(
    case: Case, type_: str, actor: Actor, now: datetime, **details: Unpack[EventDetails]
) -> CaseEvent:
    """Append one event for ``case`` in the current transaction; returns it written.

    When the case (and handoff) are in the database already, the event is inserted with a
    Core statement (``bulk.insert_new``) and their own changes flush at the commit;
    otherwise one flush writes them and the event (the relationships fill the ids)."""
    event = new_event(case, type_, actor, now, **details)
    handoff = event.handoff
    if _in_database(case) and (handoff is None or _in_database(handoff)):
        insert_new([event])
    else:
        db.session.add(event)
        db.session.flush()
    publish_event(event)
    return event


def _in_database(obj: Case | Handoff) -> bool:
    state: InstanceState[Any] = inspect(obj)
    return state.persistent


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value

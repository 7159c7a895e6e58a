"""The attention feed: what needs a person now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from coord.domain.states import OPEN_CASE_STATUSES, HandoffStatus
from coord.extensions import db
from coord.models import Case, Handoff, Notification, Role, User
from coord.presenters import case_view, handoff_view
from coord.services.errors import NotFound
from coord.services.policy import (
    allowed_case_actions,
    in_jurisdiction,
    readable_cases,
    reporter_visible_case_ids,
)

LIMIT = 50
OPEN = [s.value for s in OPEN_CASE_STATUSES]


def attention_feed(actor: User, now: datetime) -> dict[str, Any]:
    notifications = list(
        db.session.execute(
            select(Notification)
            .where(
                Notification.user_id == actor.id,
                Notification.read_at.is_(None),
                Notification.deliver_after <= now,
            )
            .order_by(Notification.deliver_after.desc(), Notification.id.desc())
            .limit(LIMIT)
        ).scalars()
    )
    handoffs: list[Handoff] = []
    if actor.has_role(Role.LIAISON, Role.MANAGER, Role.STAFF):
        handoffs = list(
            db.session.execute(
                select(Handoff)
                .where(
                    Handoff.to_unit_id == actor.unit_id,
                    Handoff.status == HandoffStatus.PENDING.value,
                )
                .order_by(Handoff.ack_due_at.asc().nulls_last(), Handoff.id)
                .limit(LIMIT)
            )
            .unique()
            .scalars()
        )
    breached_query = select(Case).where(
        readable_cases(actor), Case.breached.is_(True), Case.status.in_(OPEN)
    )
    if not actor.has_role(Role.MANAGER):
        breached_query = breached_query.where(Case.owner_unit_id == actor.unit_id)
    breached = list(
        db.session.execute(
            breached_query.order_by(Case.resolution_due_at.asc().nulls_last()).limit(LIMIT)
        )
        .unique()
        .scalars()
    )
    bounced = bounced_cases(actor)
    visible = reporter_visible_case_ids(actor, breached + bounced)
    unread = db.session.execute(
        select(func.count(Notification.id)).where(
            Notification.user_id == actor.id,
            Notification.read_at.is_(None),
            Notification.deliver_after <= now,
        )
    ).scalar_one()
    return {
        "notifications": notifications,
        "handoffs_to_acknowledge": [handoff_view(h) for h in handoffs],
        "breached_cases": [
            case_view(c, c.id in visible, actions=allowed_case_actions(actor, c)) for c in breached
        ],
        "bounced_cases": [
            case_view(c, c.id in visible, actions=allowed_case_actions(actor, c)) for c in bounced
        ],
        "counts": {
            "notifications": unread,
            "handoffs_to_acknowledge": len(handoffs),
            "breached_cases": len(breached),
            "bounced_cases": len(bounced),
        },
    }


def bounced_cases(actor: User) -> list[Case]:
    """Open bounced cases in a manager's jurisdiction, oldest first (the decision queue)."""
    if not actor.has_role(Role.MANAGER):
        return []
    return list(
        db.session.execute(
            select(Case)
            .where(
                Case.bounced.is_(True),
                Case.status.in_(OPEN),
                in_jurisdiction(Case.region_code, actor.unit.region_code),
            )
            .order_by(Case.bounced_at)
            .limit(LIMIT)
        )
        .unique()
        .scalars()
    )


def mark_read(actor: User, notification_id: int, now: datetime) -> Notification:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != actor.id:
        raise NotFound("No such notification of yours.")
    if notification.read_at is None:
        notification.read_at = now
    return notification

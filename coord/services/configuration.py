"""Admin configuration: SLA policy versions and unit calendars."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from coord.domain.calendar import calendar_from_config, calendar_to_config
from coord.extensions import db
from coord.models import Category, Role, SlaPolicy, Unit
from coord.services.errors import Forbidden, InvalidInput, NotFound
from coord.services.policy import Actor, region_within
from coord.services.sla import current_policy


def require_admin(actor: Actor) -> None:
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("Only admins may change configuration.")


def can_configure_unit(actor: Actor, unit: Unit) -> bool:
    """Admins configure their own unit and the units inside their unit's jurisdiction."""
    if not actor.has_role(Role.ADMIN) or actor.unit_id is None:
        return False
    return unit.id == actor.unit_id or region_within(unit.region_code, actor.unit.region_code)  # type: ignore[union-attr]


def get_unit(code: str) -> Unit:
    unit = db.session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"No unit '{code}'.")
    return unit


def get_category(code: str) -> Category:
    category = db.session.execute(
        select(Category).where(Category.code == code)
    ).scalar_one_or_none()
    if category is None:
        raise NotFound(f"No category '{code}'.")
    return category


def publish_policy(
    actor: Actor, category_code: str, data: dict[str, Any], now: datetime
) -> SlaPolicy:
    """Publish new targets for a category and priority as a new version. Open cases keep
    the version they were opened under; new cases get this one."""
    require_admin(actor)
    category = get_category(category_code)
    percents = sorted(set(data.get("warning_percents") or [50, 80]))
    if any(not 0 < p < 100 for p in percents):
        raise InvalidInput.field("warning_percents", "each between 1 and 99")
    previous = current_policy(category.id, data["priority"])
    latest = db.session.execute(
        select(func.max(SlaPolicy.version)).where(
            SlaPolicy.category_id == category.id, SlaPolicy.priority == data["priority"]
        )
    ).scalar_one()
    if previous is not None:
        previous.superseded_at = now
        db.session.flush()
    policy = SlaPolicy(
        category_id=category.id,
        priority=data["priority"],
        version=(latest or 0) + 1,
        response_minutes=data["response_minutes"],
        resolution_minutes=data["resolution_minutes"],
        handoff_ack_minutes=data["handoff_ack_minutes"],
        warning_percents=percents,
        clock=data.get("clock", "business"),
        created_at=now,
    )
    db.session.add(policy)
    db.session.flush()
    return policy


def policies_of(category_code: str) -> list[SlaPolicy]:
    category = get_category(category_code)
    return list(
        db.session.execute(
            select(SlaPolicy)
            .where(SlaPolicy.category_id == category.id)
            .order_by(SlaPolicy.priority, SlaPolicy.version)
        ).scalars()
    )


def set_unit_calendar(actor: Actor, unit_code: str, config: dict[str, Any]) -> Unit:
    """Replace a unit's working calendar (hours per weekday, closed dates). Deadlines
    already running keep the calendar they started with; new clocks use this one."""
    unit = get_unit(unit_code)
    if not can_configure_unit(actor, unit):
        raise Forbidden("Only an admin of this unit or of a unit above it may change its calendar.")
    try:
        calendar = calendar_from_config(config)
    except ValueError as exc:
        raise InvalidInput(f"Invalid calendar: {exc}", {"calendar": [str(exc)]}) from exc
    unit.calendar = calendar_to_config(calendar)
    unit.timezone = calendar.timezone
    return unit


def unit_calendar_config(unit_code: str) -> dict[str, Any]:
    from coord.services.sla import unit_calendar

    return calendar_to_config(unit_calendar(get_unit(unit_code)))

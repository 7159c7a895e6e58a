"""SLA clocks on cases and handoffs: which calendar, which policy, which due times."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from coord.domain.calendar import ALWAYS_OPEN, DEFAULT_CALENDAR, WorkingCalendar, calendar_from_config
from coord.extensions import db
from coord.models import Case, ClockKind, Handoff, SlaPolicy, Unit, UnitKind
from coord.services.policy import in_jurisdiction


def unit_calendar(unit: Unit | None) -> WorkingCalendar:
    if unit is None or not unit.calendar:
        return DEFAULT_CALENDAR
    return calendar_from_config(unit.calendar)


def camat_office_for_region(region_code: str) -> Unit | None:
    """The camat office whose jurisdiction (a kecamatan) holds ``region_code``."""
    parts = region_code.split(".")
    if len(parts) < 3:
        return None
    kecamatan = ".".join(parts[:3])
    return db.session.execute(
        select(Unit)
        .where(Unit.kind == UnitKind.CAMAT_OFFICE.value, in_jurisdiction(Unit.region_code, kecamatan))
        .order_by(Unit.id)
        .limit(1)
    ).scalar_one_or_none()


def current_policy(category_id: int, priority: str) -> SlaPolicy | None:
    return db.session.execute(
        select(SlaPolicy).where(
            SlaPolicy.category_id == category_id,
            SlaPolicy.priority == priority,
            SlaPolicy.superseded_at.is_(None),
        )
    ).scalar_one_or_none()


def case_calendar(case: Case) -> WorkingCalendar:
    """Case clocks run on the camat office's calendar, or 24x7 for urgent-hazard policies."""
    if case.sla_policy is not None and case.sla_policy.clock == ClockKind.ALWAYS.value:
        return ALWAYS_OPEN
    return unit_calendar(camat_office_for_region(case.region_code))


def start_case_clocks(case: Case) -> None:
    """Attach the current policy version and set the response and resolution due times."""
    policy = current_policy(case.category_id, case.priority)
    case.sla_policy = policy
    if policy is None:
        case.response_due_at = case.resolution_due_at = None
        return
    calendar = case_calendar(case)
    case.response_due_at = calendar.add(case.received_at, policy.response_minutes)
    case.resolution_due_at = calendar.add(case.received_at, policy.resolution_minutes)


def start_handoff_clock(handoff: Handoff, case: Case, now: datetime) -> None:
    policy = case.sla_policy
    if policy is None:
        handoff.ack_due_at = None
        return
    calendar = ALWAYS_OPEN if policy.clock == ClockKind.ALWAYS.value else unit_calendar(handoff.to_unit)
    handoff.ack_due_at = calendar.add(now, policy.handoff_ack_minutes)


def pause_case_clocks(case: Case, now: datetime) -> None:
    case.paused_at = now


def resume_case_clocks(case: Case, now: datetime) -> int:
    """Move the open due times later by the business time spent on hold; returns minutes."""
    if case.paused_at is None:
        return 0
    calendar = case_calendar(case)
    paused_minutes = calendar.between(case.paused_at, now)
    if paused_minutes > 0:
        if case.first_response_at is None and case.response_due_at is not None:
            case.response_due_at = calendar.add(case.response_due_at, paused_minutes)
        if case.resolution_due_at is not None:
            case.resolution_due_at = calendar.add(case.resolution_due_at, paused_minutes)
    case.paused_at = None
    return paused_minutes

"""Reading GeoReport v2 requests: the cases of public categories in the region served, by
id (the tracking code), by token, or by the GET requests filters (newest first, at most
1000, within 90 days), with their latest public events and their handoffs as notes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from coord.domain.states import CaseStatus, HandoffKind, HandoffStatus
from coord.domain.tracking import normalise_tracking_code
from coord.extensions import db
from coord.models import Case, CaseEvent, Category, Channel, Handoff, Visibility
from coord.services.errors import NotFound
from coord.services.open311.jurisdiction import in_scope, iso_wib

MAX_REQUESTS = 1000
DEFAULT_SPAN = timedelta(days=90)
CLOSED_STATUSES = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value, CaseStatus.CANCELLED.value)


def _requests_query() -> Select[Any]:
    return (
        select(Case)
        .join(Category, Category.id == Case.category_id)
        .where(Category.public.is_(True), in_scope(Case.region_code))
    )


def request_by_id(text: str) -> Case:
    code = normalise_tracking_code(text)
    case = None
    if code is not None:
        case = (
            db.session.execute(_requests_query().where(Case.tracking_code == code))
            .unique()
            .scalar_one_or_none()
        )
    if case is None:
        raise NotFound(f"service_request_id '{text[:40]}' not found.")
    return case


def case_for_token(token: str) -> Case:
    """Only requests created through Open311 resolve from their token."""
    case = None
    if 0 < len(token) <= 64:
        case = (
            db.session.execute(
                _requests_query().where(
                    Case.citizen_token == token, Case.channel == Channel.OPEN311.value
                )
            )
            .unique()
            .scalar_one_or_none()
        )
    if case is None:
        raise NotFound("token not found.")
    return case


@dataclass
class RequestFilters:
    service_request_ids: list[str] | None = None
    service_codes: list[str] | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    statuses: list[str] | None = None


def find_requests(filters: RequestFilters, now: datetime) -> list[Case]:
    """Matching requests, newest first, at most 1000, within 90 days unless ids are given
    (``service_request_id`` overrides every other filter, as the specification says)."""
    query = _requests_query()
    if filters.service_request_ids:
        codes = [c for c in (normalise_tracking_code(i) for i in filters.service_request_ids) if c]
        if not codes:
            return []
        query = query.where(Case.tracking_code.in_(codes))
    else:
        start, end = filters.start_date, filters.end_date
        if start is None and end is None:
            end = now
        if start is None:
            assert end is not None
            start = end - DEFAULT_SPAN
        if end is None:
            end = start + DEFAULT_SPAN
        query = query.where(Case.received_at >= start, Case.received_at <= end)
        if filters.service_codes:
            query = query.where(Category.code.in_(filters.service_codes))
        if filters.statuses and set(filters.statuses) != {"open", "closed"}:
            closed = Case.status.in_(CLOSED_STATUSES)
            query = query.where(closed if "closed" in filters.statuses else ~closed)
    query = query.order_by(Case.received_at.desc(), Case.id.desc()).limit(MAX_REQUESTS)
    return list(db.session.execute(query).unique().scalars())


def latest_public_events(case_ids: list[int]) -> dict[int, CaseEvent]:
    if not case_ids:
        return {}
    latest = (
        select(func.max(CaseEvent.id))
        .where(CaseEvent.case_id.in_(case_ids), CaseEvent.visibility == Visibility.PUBLIC.value)
        .group_by(CaseEvent.case_id)
    )
    events = (
        db.session.execute(select(CaseEvent).where(CaseEvent.id.in_(latest))).unique().scalars()
    )
    return {event.case_id: event for event in events}


_NOTE_STATUS = {
    HandoffStatus.PENDING.value: "Menunggu konfirmasi {to}",
    HandoffStatus.ACCEPTED.value: "Diterima oleh {to}",
    HandoffStatus.COMPLETED.value: "Bagian {to} sudah selesai",
}


def handoff_notes(case_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Handoffs as GeoReport ``notes`` (unit names and states only: the staff's handoff notes
    and reject reasons are internal; rejected and recalled handoffs changed nothing)."""
    notes: dict[int, list[dict[str, Any]]] = {}
    if not case_ids:
        return notes
    rows = (
        db.session.execute(
            select(Handoff)
            .where(Handoff.case_id.in_(case_ids), Handoff.status.in_(list(_NOTE_STATUS)))
            .order_by(Handoff.requested_at, Handoff.id)
        )
        .unique()
        .scalars()
    )
    for handoff in rows:
        to, frm = handoff.to_unit.name, handoff.from_unit.name
        if handoff.kind == HandoffKind.TRANSFER.value:
            summary = f"Dialihkan dari {frm} ke {to}"
        else:
            summary = f"Koordinasi: {frm} meminta bantuan {to}"
        notes.setdefault(handoff.case_id, []).append(
            {
                "type": handoff.kind,
                "datetime": iso_wib(handoff.requested_at),
                "summary": summary,
                "description": _NOTE_STATUS[handoff.status].format(to=to),
            }
        )
    return notes

"""The handoff report: handoffs per receiving unit (acknowledged, on time, pending,
rejected by reason, acknowledgement time) and the bounced cases with their route of owners."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from coord.domain.states import HandoffKind, HandoffStatus, RejectReason
from coord.domain.tracking import format_tracking_code
from coord.extensions import db
from coord.models import Case, CaseEvent, Handoff
from coord.services.bulk import id_in
from coord.services.policy import Actor, readable_cases, report_scope
from coord.services.reports.filters import ReportFilters, _Lookups, _period_where
from coord.services.reports.scope import CANCELLED, require_report_reader
from coord.services.reports.sql import (
    MEDIAN,
    _aggregate,
    _count_if,
    _long_period,
    _prepare_session,
)

ACKNOWLEDGED_STATUSES = (
    HandoffStatus.ACCEPTED.value,
    HandoffStatus.REJECTED.value,
    HandoffStatus.COMPLETED.value,
)
REJECT_REASONS = tuple(r.value for r in RejectReason)

HANDOFF_COLUMNS = (
    "unit",
    "unit_name",
    "handoffs",
    "acknowledged",
    "acknowledged_on_time",
    "pending",
    "ack_minutes_median",
    "rejected",
    *(f"rejected_{r}" for r in REJECT_REASONS),
    "bounced_cases",
)
BOUNCED_COLUMNS = (
    "case_id",
    "tracking_code",
    "owner_unit",
    "bounced_at",
    "still_bounced",
    "ownership_moves",
    "route",
)


def handoff_report(
    actor: Actor,
    filters: ReportFilters,
    *,
    portable: bool | None = None,
    with_bounced: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """Handoffs per receiving unit (requested in the period, on cases ``actor`` may read), and
    the bounced cases among them with their route of owners (unless ``with_bounced`` is false:
    the dashboard and the CSV show only the rows). Figures: docs/reports.md."""
    require_report_reader(actor)
    _prepare_session(parallel=_long_period(filters))
    lookups = _Lookups.current()
    # One row per handoff, no join: the acknowledgement clock's figures are on the handoff
    # (coord.services.sla.handoff_answered), the case's scope and category are id sets.
    case = aliased(Case, name="handoff_case")
    period_and_unit = _period_where(Handoff.requested_at, filters)
    if filters.unit:
        period_and_unit.append(Handoff.to_unit_id == lookups.unit_id(filters.unit))
    category_id = lookups.category_id(filters.category) if filters.category else None
    where = [report_scope(actor, Handoff.case_id), *period_and_unit]
    if category_id is not None:
        where.append(Handoff.case_id.in_(select(case.id).where(case.category_id == category_id)))
    # A closed acknowledgement clock (ack_minutes) is an answer even if the handoff moved on.
    acknowledged = or_(Handoff.status.in_(ACKNOWLEDGED_STATUSES), Handoff.ack_minutes.is_not(None))
    bounced_transfer = and_(
        Handoff.kind == HandoffKind.TRANSFER.value,
        Handoff.case_id.in_(select(case.id).where(case.bounced_at.is_not(None))),
    )
    # A handoff on a cancelled case counts in ``handoffs`` only (CANCELLED): the cancelled
    # cases' ids, read once and matched to the handoffs by id (an outer join, no join of the
    # cases themselves); ``live`` is true for every other handoff.
    cancelled = select(case.id.label("id")).where(case.status == CANCELLED).subquery("cancelled")
    live = cancelled.c.id.is_(None)
    source = (
        select(Handoff.id)
        .select_from(Handoff)
        .outerjoin(cancelled, cancelled.c.id == Handoff.case_id)
        .where(*where)
    )
    counts = [
        func.count().label("handoffs"),
        _count_if(and_(acknowledged, live)).label("acknowledged"),
        _count_if(and_(Handoff.ack_met.is_(True), live)).label("acknowledged_on_time"),
        _count_if(and_(Handoff.status == HandoffStatus.PENDING.value, live)).label("pending"),
        _count_if(and_(Handoff.status == HandoffStatus.REJECTED.value, live)).label("rejected"),
        *(
            _count_if(and_(Handoff.reject_reason == r, live)).label(f"rejected_{r}")
            for r in REJECT_REASONS
        ),
        func.count(func.distinct(sql_case((and_(bounced_transfer, live), Handoff.case_id)))).label(
            "bounced_cases"
        ),
    ]
    index, grouped = _aggregate(
        source,
        [Handoff.to_unit_id.label("unit")],
        counts,
        {"ack": sql_case((live, Handoff.ack_minutes))},
        [("ack_minutes_median", "ack", MEDIAN)],
        portable=portable,
    )
    report = []
    for row in grouped:
        unit_id = row[index["unit"]]
        item: dict[str, Any] = {
            "unit": lookups.unit_code(unit_id),
            "unit_name": lookups.unit_name(unit_id),
        }
        for column in HANDOFF_COLUMNS[2:]:
            value = row[index[column]]
            item[column] = value if column == "ack_minutes_median" else int(value)
        item["rejections"] = {r: item[f"rejected_{r}"] for r in REJECT_REASONS}
        report.append(item)
    report.sort(key=lambda r: r["unit"])
    if not report or not with_bounced:
        return {"rows": report, "bounced": []}
    # The ids of the (few) bounced cases, read from those cases (ix_cases_bounced) and their
    # handoffs, then their rows and routes by id.
    bounced = (
        select(Handoff.case_id)
        .distinct()
        .join(case, case.id == Handoff.case_id)
        .where(
            case.bounced_at.is_not(None),
            case.status != CANCELLED,
            Handoff.kind == HandoffKind.TRANSFER.value,
            report_scope(actor, case.id, case.region_code),
            *period_and_unit,
        )
    )
    if category_id is not None:
        bounced = bounced.where(case.category_id == category_id)
    bounced_ids = sorted(db.session.execute(bounced).scalars())
    return {"rows": report, "bounced": _bounced_cases(actor, bounced_ids, lookups)}


def _bounced_cases(actor: Actor, ids: list[int], lookups: _Lookups) -> list[dict[str, Any]]:
    """The bounced cases with their route: the first owner, then the receiver of each
    accepted transfer in the order of the handoff.accepted events (one row per move).
    Listed cases pass the exact scope rule too (``report_scope`` decides its shortcut in a
    statement of its own; a case named here must never be outside the reader's scope)."""
    if not ids:
        return []
    cases = db.session.execute(
        select(
            Case.id,
            Case.tracking_code,
            Case.owner_unit_id,
            Case.bounced_at,
            Case.bounced,
            Case.ownership_moves,
        )
        .where(id_in(Case.id, ids), readable_cases(actor))
        .order_by(Case.bounced_at, Case.id)
    ).all()
    if not cases:
        return []
    routes: dict[int, list[str]] = {}
    moves = db.session.execute(
        select(CaseEvent.case_id, Handoff.from_unit_id, Handoff.to_unit_id)
        .join(Handoff, Handoff.id == CaseEvent.handoff_id)
        .where(
            CaseEvent.type == "handoff.accepted",
            Handoff.kind == HandoffKind.TRANSFER.value,
            id_in(CaseEvent.case_id, ids),
        )
        .order_by(CaseEvent.case_id, CaseEvent.id)
    )
    for case_id, from_unit, to_unit in moves:
        route = routes.setdefault(case_id, [lookups.unit_code(from_unit)])
        route.append(lookups.unit_code(to_unit))
    return [
        {
            "case_id": c.id,
            "tracking_code": format_tracking_code(c.tracking_code),
            "owner_unit": lookups.unit_code(c.owner_unit_id),
            "bounced_at": c.bounced_at,
            "still_bounced": c.bounced,
            "ownership_moves": c.ownership_moves,
            "route": routes.get(c.id, []),
        }
        for c in cases
    ]

"""The breach list (``GET /api/v1/reports/breaches``, the dashboard's breaches CSV): clocks
that breached on the cases the reader may read, not cancelled ones."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from coord.domain.states import OPEN_CASE_STATUSES
from coord.domain.tracking import format_tracking_code
from coord.extensions import db
from coord.models import Case, Category, ClockState, Handoff, SlaClock, Unit
from coord.services.policy import Actor, readable_cases
from coord.services.reports.scope import CANCELLED

BREACH_COLUMNS = (
    "case_id",
    "tracking_code",
    "title",
    "category",
    "case_status",
    "owner_unit",
    "clock",
    "handoff_id",
    "handoff_to_unit",
    "due_at",
    "breached_at",
    "completed_at",
    "minutes_over",
    "open",
)


def breaches(
    actor: Actor, filters: dict[str, Any], *, limit: int | None, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Clocks that breached (recorded by the sweep, or closed late) on cases in scope that
    were not cancelled (docs/reports.md, "Cancelled cases")."""
    owner = aliased(Unit)
    receiver = aliased(Unit)
    breached_at = func.coalesce(SlaClock.breached_at, SlaClock.due_at)
    query: Any = (  # more columns than select()'s typed overloads know
        select(
            Case.id,
            Case.tracking_code,
            Case.title,
            Category.code,
            Case.status,
            owner.code,
            SlaClock.name,
            SlaClock.handoff_id,
            receiver.code,
            SlaClock.due_at,
            breached_at,
            SlaClock.completed_at,
            SlaClock.minutes_over,
        )
        .join(Case, Case.id == SlaClock.case_id)
        .join(Category, Category.id == Case.category_id)
        .join(owner, owner.id == Case.owner_unit_id)
        .outerjoin(Handoff, Handoff.id == SlaClock.handoff_id)
        .outerjoin(receiver, receiver.id == Handoff.to_unit_id)
        .where(
            SlaClock.state == ClockState.BREACHED.value,
            Case.status != CANCELLED,  # docs/reports.md, "Cancelled cases"
            readable_cases(actor),
        )
    )
    if filters.get("since"):
        query = query.where(breached_at >= filters["since"])
    if filters.get("until"):
        query = query.where(breached_at < filters["until"])
    if filters.get("owner_unit"):
        query = query.where(owner.code == filters["owner_unit"])
    if filters.get("clock"):
        query = query.where(SlaClock.name == filters["clock"])
    open_statuses = [s.value for s in OPEN_CASE_STATUSES]
    if "open" in filters:
        condition = Case.status.in_(open_statuses)
        query = query.where(condition if filters["open"] else ~condition)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    query = query.order_by(breached_at.desc(), SlaClock.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = []
    for r in db.session.execute(query):
        rows.append(
            {
                "case_id": r[0],
                "tracking_code": format_tracking_code(r[1]),
                "title": r[2],
                "category": r[3],
                "case_status": r[4],
                "owner_unit": r[5],
                "clock": r[6],
                "handoff_id": r[7],
                "handoff_to_unit": r[8],
                "due_at": r[9],
                "breached_at": r[10],
                "completed_at": r[11],
                "minutes_over": r[12],
                "open": r[4] in open_statuses,
            }
        )
    return rows, total

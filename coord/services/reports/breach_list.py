"""The breach list (``GET /api/v1/reports/breaches``, the dashboard's open breaches and its
breaches CSV): clocks that breached on the cases the reader may read, not cancelled ones."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from coord.domain.states import OPEN_CASE_STATUSES
from coord.domain.tracking import format_tracking_code
from coord.extensions import db
from coord.models import Case, Category, ClockState, Handoff, SlaClock, Unit
from coord.services.policy import Actor, cases_in_scope
from coord.services.reports.scope import CANCELLED
from coord.services.reports.sql import _prepare_session

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
    were not cancelled (docs/reports.md, "Cancelled cases"), the latest breach first: one
    page of ``limit`` rows from ``offset`` (``None``: all) and the list's true length.

    The cases in scope come first (``cases_in_scope``; with ``open`` true, a jurisdiction's
    open cases through the partial index of open cases), then their breached clocks by case:
    a camat manager's dashboard reads a few thousand clocks, not every breached clock there
    is. The page is sorted and counted on the clocks alone (``COUNT(*) OVER ()``: the rows
    are sorted whole anyway; only a page past the end is counted on its own), and only the
    page's rows are joined to their cases and units."""
    _prepare_session(parallel=False)
    open_statuses = [s.value for s in OPEN_CASE_STATUSES]
    # The cases whose clocks are listed: in scope, not cancelled (docs/reports.md, "Cancelled
    # cases"), of the owner unit, open or not.
    wanted: list[Any] = [Case.status != CANCELLED]
    if filters.get("owner_unit"):
        wanted.append(
            Case.owner_unit_id.in_(select(Unit.id).where(Unit.code == filters["owner_unit"]))
        )
    if "open" in filters:
        condition = Case.status.in_(open_statuses)
        wanted.append(condition if filters["open"] else ~condition)
    breached_at = func.coalesce(SlaClock.breached_at, SlaClock.due_at)
    clocks = select(SlaClock.id).where(
        SlaClock.state == ClockState.BREACHED.value,
        SlaClock.case_id.in_(cases_in_scope(actor, Case.id, where=wanted)),
    )
    if filters.get("since"):
        clocks = clocks.where(breached_at >= filters["since"])
    if filters.get("until"):
        clocks = clocks.where(breached_at < filters["until"])
    if filters.get("clock"):
        clocks = clocks.where(SlaClock.name == filters["clock"])
    # The page's clocks alone (sorted, counted), then the cases and units of those rows.
    page: Any = (
        clocks.add_columns(breached_at.label("breached_at"), func.count().over().label("total"))
        .order_by(breached_at.desc(), SlaClock.id.desc())
        .offset(offset)
    )
    if limit is not None:
        page = page.limit(limit)
    page = page.subquery("page")
    owner = aliased(Unit)
    receiver = aliased(Unit)
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
            page.c.breached_at,
            SlaClock.completed_at,
            SlaClock.minutes_over,
            page.c.total,
        )
        .select_from(page)
        .join(SlaClock, SlaClock.id == page.c.id)
        .join(Case, Case.id == SlaClock.case_id)
        .join(Category, Category.id == Case.category_id)
        .join(owner, owner.id == Case.owner_unit_id)
        .outerjoin(Handoff, Handoff.id == SlaClock.handoff_id)
        .outerjoin(receiver, receiver.id == Handoff.to_unit_id)
        .order_by(page.c.breached_at.desc(), page.c.id.desc())
    )
    found = db.session.execute(query).all()
    if found:
        total = found[0].total
    elif offset == 0:
        total = 0
    else:  # past the end: the length on its own
        total = db.session.execute(select(func.count()).select_from(clocks.subquery())).scalar_one()
    rows = []
    for r in found:
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

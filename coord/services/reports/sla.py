"""The SLA compliance report: per owner unit, category and WIB month of received_at, cases,
open, resolved, on time, breached and overdue, and response and resolution time percentiles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case

from coord.domain.states import CaseStatus
from coord.models import Case
from coord.services.policy import Actor
from coord.services.reports.filters import ReportFilters, _Lookups
from coord.services.reports.scope import (
    CANCELLED,
    OPEN_STATUS_VALUES,
    _case_where,
    require_report_reader,
)
from coord.services.reports.sql import (
    MEDIAN,
    P90,
    _aggregate,
    _count_if,
    _long_period,
    _period_label,
    _prepare_session,
    _share,
    _unit_partitions,
)

DONE_STATUSES = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)


SLA_DIMENSIONS = ("unit", "category", "month")
SLA_COLUMNS = (
    "unit",
    "unit_name",
    "category",
    "month",
    "cases",
    "open",
    "resolved",
    "resolved_on_time",
    "breached",
    "open_overdue",
    "on_time_share",
    "response_minutes_median",
    "response_minutes_p90",
    "resolution_minutes_median",
    "resolution_minutes_p90",
)


def sla_report(
    actor: Actor,
    filters: ReportFilters,
    now: datetime,
    *,
    by: Sequence[str] = SLA_DIMENSIONS,
    portable: bool | None = None,
    percentiles: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """SLA compliance per owner unit, category and WIB month of received_at (or the subset of
    those dimensions in ``by``), over the cases ``actor`` may read. Figures: docs/reports.md.
    ``portable`` forces the window-function percentiles on PostgreSQL too (tests compare);
    ``percentiles`` limits which percentile columns are computed (the others are None)."""
    require_report_reader(actor)
    _prepare_session()
    lookups = _Lookups()
    # One row per case, no join: the clocks' figures are on the case (coord.services.sla
    # writes them when a clock closes or reopens). Grouped in the order of ix_cases_report
    # (owner unit, month, category), which PostgreSQL then reads without sorting.
    dimension_columns = {
        "unit": Case.owner_unit_id.label("unit"),
        "month": Case.received_month.label("month"),
        "category": Case.category_id.label("category"),
    }
    keys = [d for d in SLA_DIMENSIONS if d in by]
    group = [d for d in ("unit", "month", "category") if d in by]
    open_case = Case.status.in_(OPEN_STATUS_VALUES)
    live_case = Case.status != CANCELLED
    source = select(Case.id).select_from(Case).where(*_case_where(actor, filters, lookups))
    counts = [
        func.count().label("cases"),
        # open = cases - resolved - cancelled (every other status is open): one comparison
        # per case instead of four.
        _count_if(Case.status == CANCELLED).label("cancelled"),
        _count_if(Case.status.in_(DONE_STATUSES)).label("resolved"),
        _count_if(Case.resolution_met.is_(True)).label("resolved_on_time"),
        # cases.breached: a response or resolution clock breached (sweep or late close);
        # not counted for a cancelled case.
        _count_if(and_(Case.breached.is_(True), live_case)).label("breached"),
        _count_if(
            and_(
                Case.resolution_due_at < now,
                open_case,
                or_(
                    # Not on hold: the resolution clock is running (or breached), and the
                    # case's resolution_due_at is the clock's due time.
                    Case.paused_at.is_(None),
                    # On hold, the clock is paused and its stored due time is stale (it moves
                    # on resume): overdue only if it had breached before the hold.
                    Case.resolution_breached_on_hold.is_(True),
                ),
            )
        ).label("open_overdue"),
    ]
    # A cancelled case may have answered before it was cancelled: its response time is left
    # out. Resolution figures (resolution_minutes, resolution_met) need no such test: a case
    # is cancelled only from new, in progress or on hold, and reopening clears them.
    metrics = {
        "response": sql_case((live_case, Case.response_minutes)),
        "resolution": Case.resolution_minutes,
    }
    every = [
        (f"{metric}_minutes_{name}", metric, fraction)
        for metric in metrics
        for name, fraction in (("median", MEDIAN), ("p90", P90))
    ]
    wanted = [w for w in every if percentiles is None or w[0] in percentiles]
    index, grouped = _aggregate(
        source,
        [dimension_columns[k] for k in group],
        counts,
        metrics,
        wanted,
        portable=portable,
        partitions=(
            _unit_partitions(Case.owner_unit_id, lookups)
            if group[:1] == ["unit"] and _long_period(filters)
            else ()
        ),
    )

    # Up to tens of thousands of rows (every unit, category and month of a city): plain
    # loops over the rows' lists, each label looked up once.
    unit_at = index.get("unit")
    category_at = index.get("category")
    month_at = index.get("month")
    months: dict[Any, str] = {}
    at = {name: index[name] for name in ("cases", "cancelled", "resolved")}
    at.update({name: index[name] for name in ("resolved_on_time", "breached", "open_overdue")})
    percentile_at = [(label, index.get(label)) for label, _metric, _fraction in every]
    units, categories = lookups.units, lookups.categories
    report = []
    for row in grouped:
        item: dict[str, Any] = {}
        if unit_at is not None:
            item["unit"], item["unit_name"] = units[row[unit_at]]
        if category_at is not None:
            item["category"] = categories[row[category_at]]
        if month_at is not None:
            month = row[month_at]
            label = months.get(month)
            if label is None:
                label = months[month] = _period_label(month, "month")
            item["month"] = label
        cases, resolved = row[at["cases"]], row[at["resolved"]]
        on_time, overdue = row[at["resolved_on_time"]], row[at["open_overdue"]]
        item["cases"] = cases
        item["open"] = cases - resolved - row[at["cancelled"]]
        item["resolved"] = resolved
        item["resolved_on_time"] = on_time
        item["breached"] = row[at["breached"]]
        item["open_overdue"] = overdue
        item["on_time_share"] = _share(on_time, resolved + overdue)
        for label, i in percentile_at:
            item[label] = None if i is None else row[i]
        report.append(item)
    if keys:
        report.sort(key=itemgetter(*keys))
    return report

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
    _is_postgres,
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
    return sla_reports(actor, filters, now, [by], portable=portable, percentiles=percentiles)[0]


def sla_reports(
    actor: Actor,
    filters: ReportFilters,
    now: datetime,
    sets: Sequence[Sequence[str]],
    *,
    portable: bool | None = None,
    percentiles: Sequence[str] | None = None,
) -> list[list[dict[str, Any]]]:
    """``sla_report`` by each of the dimension ``sets`` (the dashboard: per unit and per
    category), in that order. On PostgreSQL the period's cases are read once for all of
    them (``GROUPING SETS``); elsewhere (or ``portable``) one query per set."""
    require_report_reader(actor)
    _prepare_session(parallel=_long_period(filters))
    lookups = _Lookups.current()
    # One row per case, no join: the clocks' figures are on the case (coord.services.sla
    # writes them when a clock closes or reopens). Grouped in the order of ix_cases_report
    # (owner unit, month, category), which PostgreSQL then reads without sorting.
    dimension_columns = {
        "unit": Case.owner_unit_id,
        "month": Case.received_month,
        "category": Case.category_id,
    }
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

    def grouping(by: Sequence[str]) -> list[str]:
        return [d for d in ("unit", "month", "category") if d in by]

    def aggregate(
        group: list[str], grouping_sets: Sequence[list[str]] = ()
    ) -> tuple[dict[str, int], list[list[Any]]]:
        return _aggregate(
            source,
            [dimension_columns[k].label(k) for k in group],
            counts,
            metrics,
            wanted,
            portable=portable,
            partitions=(
                _unit_partitions(Case.owner_unit_id, lookups)
                if group[:1] == ["unit"] and _long_period(filters) and not grouping_sets
                else ()
            ),
            grouping_sets=[[dimension_columns[k] for k in g] for g in grouping_sets],
        )

    if len(sets) == 1 or portable or not _is_postgres():
        return [_rows(*aggregate(grouping(by)), by, lookups, every) for by in sets]
    # Every dimension of any set; GROUPING(...) tells each row's set: a bit per dimension,
    # the last one lowest, set when the row is not grouped by it.
    group = grouping([d for by in sets for d in by])
    index, grouped = aggregate(group, [grouping(by) for by in sets])
    at = index["grouping_set"]
    reports = []
    for by in sets:
        mask = sum(1 << (len(group) - 1 - i) for i, d in enumerate(group) if d not in by)
        own = {k: v for k, v in index.items() if k not in group or k in by}
        reports.append(_rows(own, [r for r in grouped if r[at] == mask], by, lookups, every))
    return reports


def _rows(
    index: dict[str, int],
    grouped: list[list[Any]],
    by: Sequence[str],
    lookups: _Lookups,
    every: list[tuple[str, str, tuple[int, int]]],
) -> list[dict[str, Any]]:
    """The report's rows from ``_aggregate``'s positions and grouped lists."""
    keys = [d for d in SLA_DIMENSIONS if d in by]
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

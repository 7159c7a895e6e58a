"""The backlog report: open cases per owner unit by age (whole days since received_at)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy import case as sql_case

from coord.extensions import db
from coord.models import Case
from coord.services.policy import Actor, cases_in_scope
from coord.services.reports.filters import ReportFilters, _Lookups
from coord.services.reports.scope import OPEN_STATUS_VALUES, _filter_where, require_report_reader
from coord.services.reports.sql import _count_if, _prepare_session

# Age buckets of the backlog: whole days elapsed since received_at, (label, first day, last day).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-2", 0, 2),
    ("3-5", 3, 5),
    ("6-14", 6, 14),
    ("15-30", 15, 30),
    ("31+", 31, None),
)

BACKLOG_COLUMNS = ("unit", "unit_name", "open", *(f"age_{label}" for label, _, _ in AGE_BUCKETS))


def backlog_report(actor: Actor, filters: ReportFilters, now: datetime) -> list[dict[str, Any]]:
    """Open cases per owner unit by age: whole days elapsed since received_at at ``now``
    (0-2, 3-5, 6-14, 15-30, 31+). Each bucket is a range of received_at, so SQL compares
    instants and no date arithmetic differs between the engines.

    The open cases in scope are read as ``cases_in_scope`` rows (a jurisdiction's open cases
    through the partial index of open cases, ``ix_cases_open_region``), then counted."""
    require_report_reader(actor)
    _prepare_session()
    lookups = _Lookups.current()
    open_cases = cases_in_scope(
        actor,
        Case.id,
        Case.owner_unit_id,
        Case.received_at,
        where=[Case.status.in_(OPEN_STATUS_VALUES), *_filter_where(filters, lookups)],
    ).subquery("open_cases")
    received_at = open_cases.c.received_at
    buckets = []
    for label, _first, last in AGE_BUCKETS:
        # age <= last days  <=>  now - received_at < last + 1 days  <=>  received_at > boundary
        if last is None:
            condition: ColumnElement[bool] = true()
        else:
            condition = received_at > now - timedelta(days=last + 1)
        buckets.append((label, condition))
    # CASE picks the first matching (youngest) bucket, so each case lands in exactly one.
    bucket = sql_case(*[(c, label) for label, c in buckets[:-1]], else_=buckets[-1][0])
    query = select(
        open_cases.c.owner_unit_id.label("unit"),
        func.count().label("open"),
        *(_count_if(bucket == label).label(f"age_{label}") for label, _ in buckets),
    ).group_by(open_cases.c.owner_unit_id)
    report = []
    for row in db.session.execute(query):
        data = row._mapping
        item: dict[str, Any] = {
            "unit": lookups.unit_code(data["unit"]),
            "unit_name": lookups.unit_name(data["unit"]),
        }
        for column in BACKLOG_COLUMNS[2:]:
            item[column] = int(data[column])
        report.append(item)
    report.sort(key=lambda r: r["unit"])
    return report

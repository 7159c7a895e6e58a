"""The scope of a report: who may read reports (``require_report_reader``), which cases a
report reads (``_case_where``: the reader's scope, the received_at range, unit and category),
and the statuses every report counts by, with the one rule for cancelled cases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from coord.domain.states import OPEN_CASE_STATUSES, CaseStatus
from coord.models import Case, Role
from coord.services.errors import Forbidden
from coord.services.policy import Actor, SystemActor, report_scope
from coord.services.reports.filters import ReportFilters, _Lookups, _period_where

# The one rule for cancelled cases (docs/reports.md, "Cancelled cases"): a cancelled case
# counts as received (``cases``; its handoffs in ``handoffs``) and in no other figure of any
# report: not open, resolved, on time, breached or overdue, no response, resolution or
# acknowledgement time, not in the breach list nor among the bounced cases. The figures
# stored on the case when its clocks closed (migration 0007) stay as measured; the reports
# leave them out by the case's status.
CANCELLED = CaseStatus.CANCELLED.value
OPEN_STATUS_VALUES = tuple(sorted(s.value for s in OPEN_CASE_STATUSES))


def require_report_reader(actor: Actor) -> None:
    """Reports (other than the breach list) are for managers; the service itself may too."""
    if isinstance(actor, SystemActor):
        return
    if not actor.has_role(Role.MANAGER):
        raise Forbidden("Reports are for managers; ask a manager of your unit for this report.")


def _case_where(
    actor: Actor, filters: ReportFilters, lookups: _Lookups, *, unit_column: Any = None
) -> list[ColumnElement[bool]]:
    """Scope, the received_at range, the owner unit (or ``unit_column``) and the category."""
    return [
        report_scope(actor, Case.id, Case.region_code),
        *_filter_where(filters, lookups, unit_column=unit_column),
    ]


def _filter_where(
    filters: ReportFilters, lookups: _Lookups, *, unit_column: Any = None
) -> list[ColumnElement[bool]]:
    """The received_at range, the owner unit (or ``unit_column``) and the category."""
    clauses = list(_period_where(Case.received_at, filters))
    if filters.unit:
        column = unit_column if unit_column is not None else Case.owner_unit_id
        clauses.append(column == lookups.unit_id(filters.unit))
    if filters.category:
        clauses.append(Case.category_id == lookups.category_id(filters.category))
    return clauses

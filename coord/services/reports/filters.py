"""The shared filter and period types of the reports: the WIB zone, the periods a report
groups by, ``ReportFilters`` (range, unit, category) and ``month_range``; ``_Lookups`` (unit
and category codes and names, filter codes as ids) and ``_period_where`` (an instant range as
SQL conditions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select

from coord.extensions import db
from coord.models import Category, Unit
from coord.services.uow import transaction_memo

WIB = ZoneInfo("Asia/Jakarta")

PERIODS = ("month", "quarter", "year")


@dataclass(frozen=True)
class ReportFilters:
    """Filters every report takes: an instant range (``until`` exclusive), a unit code and a
    category code. What the range and the unit apply to depends on the report."""

    since: datetime | None = None
    until: datetime | None = None
    unit: str | None = None
    category: str | None = None


def month_range(month: str) -> tuple[datetime, datetime]:
    """``YYYY-MM`` -> the month's first instant and the next month's first instant, in WIB."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=WIB)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=WIB)
    return start.astimezone(UTC), end.astimezone(UTC)


class _Lookups:
    """Codes and names of units and categories (small tables), and filter codes as ids."""

    @classmethod
    def current(cls) -> _Lookups:
        """Read once per transaction (the dashboard runs five reports in one)."""
        memo = transaction_memo()
        found = memo.get(cls)
        if found is None:
            found = memo[cls] = cls()
        return found

    def __init__(self) -> None:
        self.units = {
            r.id: (r.code, r.name)
            for r in db.session.execute(select(Unit.id, Unit.code, Unit.name))
        }
        categories = db.session.execute(
            select(Category.id, Category.code, Category.name_id, Category.name_en)
        ).all()
        self.categories = {r.id: r.code for r in categories}
        self.category_names = {r.code: (r.name_id, r.name_en) for r in categories}
        self._unit_ids = {code: uid for uid, (code, _) in self.units.items()}
        self._category_ids = {code: cid for cid, code in self.categories.items()}

    def names_by_code(self, english: bool) -> dict[str, dict[str, str]]:
        """Category and unit names by code, for people reading the reports' codes: the
        English category name where ``english`` and one is set."""
        return {
            "category_names": {
                code: (en if english and en else name)
                for code, (name, en) in self.category_names.items()
            },
            "unit_names": dict(self.units.values()),
        }

    def unit_id(self, code: str) -> int:
        return self._unit_ids.get(code, -1)  # unknown code: matches nothing

    def category_id(self, code: str) -> int:
        return self._category_ids.get(code, -1)

    def unit_code(self, unit_id: int) -> str:
        return self.units[unit_id][0]

    def unit_name(self, unit_id: int) -> str:
        return self.units[unit_id][1]


def _period_where(column: Any, filters: ReportFilters) -> list[ColumnElement[bool]]:
    clauses = []
    if filters.since is not None:
        clauses.append(column >= filters.since)
    if filters.until is not None:
        clauses.append(column < filters.until)
    return clauses


def names_by_code(english: bool) -> dict[str, dict[str, str]]:
    """Category and unit names by code (``category_names``, ``unit_names``), from the lookups
    the reports read once per transaction."""
    return _Lookups.current().names_by_code(english)

"""Reports, computed by the database (aggregates), never by loading cases into Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import pairwise
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy import case as sql_case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from coord.domain.ikm import (
    ELEMENTS,
    WEIGHTS,
    ElementTotal,
    compute_ikm,
    parse_weight,
)
from coord.domain.states import (
    OPEN_CASE_STATUSES,
    CaseStatus,
    HandoffKind,
    HandoffStatus,
    RejectReason,
)
from coord.domain.tracking import format_tracking_code
from coord.extensions import db
from coord.models import (
    Case,
    CaseEvent,
    Category,
    ClockState,
    Feedback,
    Handoff,
    Role,
    SlaClock,
    Unit,
)
from coord.services.bulk import id_in
from coord.services.errors import Forbidden, InvalidInput
from coord.services.policy import SYSTEM, Actor, SystemActor, readable_cases, report_scope

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


# -- manager reports: SLA compliance, handoffs, backlog, IKM (docs/reports.md) ---------------

WIB = ZoneInfo("Asia/Jakarta")
DONE_STATUSES = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
# The one rule for cancelled cases (docs/reports.md, "Cancelled cases"): a cancelled case
# counts as received (``cases``; its handoffs in ``handoffs``) and in no other figure of any
# report: not open, resolved, on time, breached or overdue, no response, resolution or
# acknowledgement time, not in the breach list nor among the bounced cases. The figures
# stored on the case when its clocks closed (migration 0007) stay as measured; the reports
# leave them out by the case's status.
CANCELLED = CaseStatus.CANCELLED.value
OPEN_STATUS_VALUES = tuple(sorted(s.value for s in OPEN_CASE_STATUSES))
ACKNOWLEDGED_STATUSES = (
    HandoffStatus.ACCEPTED.value,
    HandoffStatus.REJECTED.value,
    HandoffStatus.COMPLETED.value,
)
REJECT_REASONS = tuple(r.value for r in RejectReason)

# Age buckets of the backlog: whole days elapsed since received_at, (label, first day, last day).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-2", 0, 2),
    ("3-5", 3, 5),
    ("6-14", 6, 14),
    ("15-30", 15, 30),
    ("31+", 31, None),
)

# Percentiles as exact fractions p = num/den, interpolated like PostgreSQL's percentile_cont.
MEDIAN = (1, 2)
P90 = (9, 10)

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


def require_report_reader(actor: Actor) -> None:
    """Reports (other than the breach list) are for managers; the service itself may too."""
    if isinstance(actor, SystemActor):
        return
    if not actor.has_role(Role.MANAGER):
        raise Forbidden("Reports are for managers; ask a manager of your unit for this report.")


# -- SQL building blocks that differ between PostgreSQL and SQLite ---------------------------


class _WibPeriod(FunctionElement[str]):
    """The WIB calendar period of a UTC instant: on PostgreSQL the period's first local
    instant (``date_trunc`` in the zone), on SQLite (which stores naive UTC text) the label,
    seven hours on (WIB has had no daylight saving since 1964); ``_period_label`` turns
    both into the same ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY``."""

    type = String()
    inherit_cache = True


class wib_month(_WibPeriod):  # noqa: N801 - reads like the SQL function it is
    name = "wib_month"
    inherit_cache = True


class wib_quarter(_WibPeriod):  # noqa: N801
    name = "wib_quarter"
    inherit_cache = True


class wib_year(_WibPeriod):  # noqa: N801
    name = "wib_year"
    inherit_cache = True


_PG_UNITS = {"wib_month": "month", "wib_quarter": "quarter", "wib_year": "year"}


@compiles(_WibPeriod, "postgresql")
def _wib_period_pg(element: _WibPeriod, compiler: Any, **kw: Any) -> str:
    # date_trunc gives a timestamp, cheaper to group and sort than text; see _period_label.
    column = compiler.process(list(element.clauses)[0], **kw)
    return f"date_trunc('{_PG_UNITS[element.name]}', {column} AT TIME ZONE 'Asia/Jakarta')"


@compiles(_WibPeriod, "sqlite")
def _wib_period_sqlite(element: _WibPeriod, compiler: Any, **kw: Any) -> str:
    column = compiler.process(list(element.clauses)[0], **kw)
    if element.name == "wib_month":
        return f"strftime('%Y-%m', {column}, '+7 hours')"
    if element.name == "wib_year":
        return f"strftime('%Y', {column}, '+7 hours')"
    return (
        f"(strftime('%Y', {column}, '+7 hours') || '-Q' || "
        f"((CAST(strftime('%m', {column}, '+7 hours') AS INTEGER) + 2) / 3))"
    )


PERIOD_FUNCTIONS: dict[str, type[_WibPeriod]] = {
    "month": wib_month,
    "quarter": wib_quarter,
    "year": wib_year,
}


def _period_label(value: Any, period: str) -> str:
    """``YYYY-MM``, ``YYYY-Qn`` or ``YYYY``: PostgreSQL returns the period's first local
    instant, SQLite the label itself; ``cases.received_month`` is the number YYYYMM."""
    if isinstance(value, int):
        return f"{value // 100:04d}-{value % 100:02d}"
    if not isinstance(value, datetime):
        return str(value)
    if period == "month":
        return f"{value.year:04d}-{value.month:02d}"
    if period == "quarter":
        return f"{value.year:04d}-Q{(value.month - 1) // 3 + 1}"
    return f"{value.year:04d}"


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _prepare_session() -> None:
    """Reports read up to a million rows at once. On PostgreSQL, for this transaction only:
    memory for sorts and hashes (COORD_REPORT_WORK_MEM, default 256MB), no JIT compilation
    (its start-up costs more than it saves on these one-pass aggregates), and the random
    page cost of cached or solid-state storage, so that the clocks of the cases in a period
    are read through their index instead of scanning every clock."""
    if not _is_postgres():
        return
    settings = {
        "work_mem": str(current_app.config.get("COORD_REPORT_WORK_MEM", "256MB")),
        "jit": "off",
        "random_page_cost": "1.1",
        # Parallel workers for the aggregates split by unit (see _aggregate), even when the
        # planner's default start-up cost estimate would keep them idle.
        "parallel_setup_cost": "100",
        "parallel_tuple_cost": "0.01",
    }
    for name, value in settings.items():
        db.session.execute(select(func.set_config(name, value, True)))


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    # COUNT(*) FILTER (WHERE ...) on both engines: cheaper than SUM(CASE ...) per row.
    return func.count().filter(condition)


def _percentiles(
    values: Subquery,
    keys: Sequence[str],
    value: str,
    fractions: Sequence[tuple[int, int]],
) -> dict[tuple[Any, ...], dict[tuple[int, int], float]]:
    """Percentiles of ``values.c[value]`` per group of ``keys``, in one portable query.

    Definition (PostgreSQL's percentile_cont, Excel's PERCENTILE.INC): over the n sorted
    values v0..v(n-1), p falls at position h = p(n-1); the result is v[floor h] + (h - floor
    h)(v[ceil h] - v[floor h]). ROW_NUMBER and COUNT windows rank each group; integer
    arithmetic on p = num/den picks the two neighbours, so both engines agree exactly.
    """
    key_cols = [values.c[k] for k in keys]
    ranked = select(
        *key_cols,
        values.c[value].label("v"),
        (func.row_number().over(partition_by=key_cols, order_by=values.c[value]) - 1).label("k"),
        func.count().over(partition_by=key_cols).label("n"),
    ).subquery("ranked")
    k, n, v = ranked.c.k, ranked.c.n, ranked.c.v
    wanted = []
    columns = []
    for num, den in fractions:
        scaled = (n - 1) * num
        low = scaled // den
        high = low + sql_case((scaled % den > 0, 1), else_=0)
        wanted.extend([k == low, k == high])
        low_value = func.max(sql_case((k == low, v)))
        high_value = func.max(sql_case((k == high, v)))
        share = (func.max(n) - 1) * num % den
        columns.append((low_value * den + (high_value - low_value) * share) * 1.0 / den)
    query = (
        select(*[ranked.c[key] for key in keys], *columns)
        .where(or_(*wanted))
        .group_by(*[ranked.c[key] for key in keys])
    )
    result: dict[tuple[Any, ...], dict[tuple[int, int], float]] = {}
    for row in db.session.execute(query):
        group = tuple(row[: len(keys)])
        result[group] = {
            fraction: round(float(row[len(keys) + i]), 1) for i, fraction in enumerate(fractions)
        }
    return result


def _ratio(numerator: int, denominator: int, places: int) -> float:
    """numerator / denominator (non-negative, denominator > 0) rounded half up to ``places``
    decimals in integer arithmetic: the same number as ``float(round_half_up(Fraction(
    numerator, denominator), places))``, without building fractions for every row of a
    report of tens of thousands of rows."""
    scale = 10**places
    return ((2 * scale * numerator + denominator) // (2 * denominator)) / scale


def _share(numerator: int, denominator: int) -> float | None:
    """The on-time share, rounded half up to 4 decimals; None when the denominator is 0."""
    if denominator <= 0:
        return None
    return _ratio(numerator, denominator, 4)


class _Lookups:
    """Codes and names of units and categories (small tables), and filter codes as ids."""

    def __init__(self) -> None:
        self.units = {
            r.id: (r.code, r.name)
            for r in db.session.execute(select(Unit.id, Unit.code, Unit.name))
        }
        self.categories = {
            r.id: r.code for r in db.session.execute(select(Category.id, Category.code))
        }
        self._unit_ids = {code: uid for uid, (code, _) in self.units.items()}
        self._category_ids = {code: cid for cid, code in self.categories.items()}

    def unit_id(self, code: str) -> int:
        return self._unit_ids.get(code, -1)  # unknown code: matches nothing

    def category_id(self, code: str) -> int:
        return self._category_ids.get(code, -1)

    def unit_code(self, unit_id: int) -> str:
        return self.units[unit_id][0]

    def unit_name(self, unit_id: int) -> str:
        return self.units[unit_id][1]


REPORT_PARTITIONS = 4
LONG_PERIOD = timedelta(days=92)


def _long_period(filters: ReportFilters) -> bool:
    """More than a quarter, or open-ended, and not one unit: worth splitting among parallel
    workers (a short period is read through the received_at index, once)."""
    if filters.unit:
        return False
    if filters.since is None or filters.until is None:
        return True
    return filters.until - filters.since > LONG_PERIOD


def _unit_partitions(column: Any, lookups: _Lookups) -> list[ColumnElement[bool]]:
    """Conditions that split ``column`` (a unit id) into REPORT_PARTITIONS ranges holding
    about as many units each and, together, every integer: whole groups for ``_aggregate``."""
    ids = sorted(lookups.units)
    if len(ids) < REPORT_PARTITIONS:
        return []
    size = -(-len(ids) // REPORT_PARTITIONS)
    bounds = [ids[i] for i in range(size, len(ids), size)]
    if not bounds:
        return []
    parts: list[ColumnElement[bool]] = [column < bounds[0]]
    parts += [and_(column >= low, column < high) for low, high in pairwise(bounds)]
    parts.append(column >= bounds[-1])
    return parts


def _period_where(column: Any, filters: ReportFilters) -> list[ColumnElement[bool]]:
    clauses = []
    if filters.since is not None:
        clauses.append(column >= filters.since)
    if filters.until is not None:
        clauses.append(column < filters.until)
    return clauses


def _case_where(
    actor: Actor, filters: ReportFilters, lookups: _Lookups, *, unit_column: Any = None
) -> list[ColumnElement[bool]]:
    """Scope, the received_at range, the owner unit (or ``unit_column``) and the category."""
    clauses = [report_scope(actor, Case.id, Case.region_code)]
    clauses.extend(_period_where(Case.received_at, filters))
    if filters.unit:
        column = unit_column if unit_column is not None else Case.owner_unit_id
        clauses.append(column == lookups.unit_id(filters.unit))
    if filters.category:
        clauses.append(Case.category_id == lookups.category_id(filters.category))
    return clauses


# -- SLA compliance ----------------------------------------------------------------------------

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


def _aggregate(
    source: Select[Any],
    keys: list[Any],
    counts: list[Any],
    metrics: dict[str, Any],
    wanted: list[tuple[str, str, tuple[int, int]]],
    *,
    portable: bool | None = None,
    partitions: Sequence[ColumnElement[bool]] = (),
) -> tuple[dict[str, int], list[list[Any]]]:
    """Group ``source`` (its FROM, joins and WHERE) by ``keys``: the ``counts`` columns and,
    per (label, metric, fraction) in ``wanted``, that percentile of the metric's values
    (``metrics``: a column, NULL where a row has no value), rounded to one decimal. Returns
    the position of each column by label and one list per group: the keys, then the columns
    (plain lists: a city's report over two years has tens of thousands of groups).

    PostgreSQL computes the percentiles in the same pass with ``percentile_cont``; elsewhere
    (or with ``portable``) the window-function query of ``_percentiles`` does, with the same
    definition, so both engines give the same numbers.

    ``partitions``: conditions on the leading key that split the rows into disjoint sets of
    whole groups. PostgreSQL then runs one aggregate per set, ``UNION ALL``: percentiles have
    no partial aggregation, so this is how the sets are aggregated by parallel workers
    (Parallel Append) instead of one process."""
    use_window = (not _is_postgres()) if portable is None else portable
    columns = list(counts)
    if not use_window:
        for label, metric, (num, den) in wanted:
            # Ordered-set aggregates skip NULLs.
            columns.append(
                func.percentile_cont(Fraction(num, den).__float__())
                .within_group(metrics[metric])
                .label(label)
            )
    query: Any = source.with_only_columns(*keys, *columns).group_by(*keys)
    if partitions and not use_window:
        query = union_all(*(query.where(condition) for condition in partitions))
    result = db.session.execute(query)
    index = {name: i for i, name in enumerate(result.keys())}
    rows: list[list[Any]] = [list(row) for row in result.all()]
    rounded = [index[label] for label, _metric, _fraction in wanted if label in index]
    for row in rows:
        for i in rounded:
            if (value := row[i]) is not None:
                row[i] = round(float(value), 1)
    if not use_window:
        return index, rows
    for label, _metric, _fraction in wanted:
        index[label] = len(index)
    if not rows:
        return index, rows
    used = {metric for _label, metric, _fraction in wanted}
    per_metric = [
        source.with_only_columns(
            *keys, literal(metric).label("metric"), value.label("minutes")
        ).where(value.is_not(None))
        for metric, value in metrics.items()
        if metric in used
    ]
    values = (per_metric[0] if len(per_metric) == 1 else union_all(*per_metric)).subquery("values")
    key_names = [k.name for k in keys]
    fractions = sorted({fraction for _label, _metric, fraction in wanted})
    found = _percentiles(values, [*key_names, "metric"], "minutes", fractions)
    width = len(keys)
    for row in rows:
        key = tuple(row[:width])
        row.extend(found.get((*key, metric), {}).get(fraction) for _l, metric, fraction in wanted)
    return index, rows


# -- handoffs ----------------------------------------------------------------------------------

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
    actor: Actor, filters: ReportFilters, *, portable: bool | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Handoffs per receiving unit (requested in the period, on cases ``actor`` may read), and
    the bounced cases among them with their route of owners. Figures: docs/reports.md."""
    require_report_reader(actor)
    _prepare_session()
    lookups = _Lookups()
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
    if not report:
        return {"rows": [], "bounced": []}
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


# -- backlog -----------------------------------------------------------------------------------

BACKLOG_COLUMNS = ("unit", "unit_name", "open", *(f"age_{label}" for label, _, _ in AGE_BUCKETS))


def backlog_report(actor: Actor, filters: ReportFilters, now: datetime) -> list[dict[str, Any]]:
    """Open cases per owner unit by age: whole days elapsed since received_at at ``now``
    (0-2, 3-5, 6-14, 15-30, 31+). Each bucket is a range of received_at, so SQL compares
    instants and no date arithmetic differs between the engines."""
    require_report_reader(actor)
    _prepare_session()
    lookups = _Lookups()
    buckets = []
    for label, _first, last in AGE_BUCKETS:
        # age <= last days  <=>  now - received_at < last + 1 days  <=>  received_at > boundary
        if last is None:
            condition: ColumnElement[bool] = true()
        else:
            condition = Case.received_at > now - timedelta(days=last + 1)
        buckets.append((label, condition))
    # CASE picks the first matching (youngest) bucket, so each case lands in exactly one.
    bucket = sql_case(*[(c, label) for label, c in buckets[:-1]], else_=buckets[-1][0])
    query = (
        select(
            Case.owner_unit_id.label("unit"),
            func.count().label("open"),
            *(_count_if(bucket == label).label(f"age_{label}") for label, _ in buckets),
        )
        .where(Case.status.in_(OPEN_STATUS_VALUES), *_case_where(actor, filters, lookups))
        .group_by(Case.owner_unit_id)
    )
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


# -- IKM (SKM survey index) --------------------------------------------------------------------

IKM_COLUMNS = (
    "unit",
    "unit_name",
    "period",
    "respondents",
    *(f"nrr_{e}" for e in ELEMENTS),
    "ikm",
    "band",
    "band_label",
)


def ikm_weight() -> Fraction:
    return parse_weight(current_app.config.get("COORD_IKM_WEIGHT"))


def ikm_report(
    actor: Actor, filters: ReportFilters, *, period: str = "month", weight: Fraction | None = None
) -> list[dict[str, Any]]:
    """IKM per resolving unit and WIB period (month, quarter or year) of the answers'
    submission, over feedback on cases ``actor`` may read. The database counts and sums the
    answers per element; coord.domain.ikm weighs, rounds and bands them."""
    require_report_reader(actor)
    if period not in PERIODS:
        raise InvalidInput.field("period", f"must be one of {', '.join(PERIODS)}")
    weight = ikm_weight() if weight is None else weight
    _prepare_session()
    lookups = _Lookups()
    period_column = PERIOD_FUNCTIONS[period](Feedback.submitted_at).label("period")
    where = [*_period_where(Feedback.submitted_at, filters)]
    if not isinstance(actor, SystemActor):
        where.append(report_scope(actor, Feedback.case_id))
    if filters.unit:
        where.append(Feedback.unit_id == lookups.unit_id(filters.unit))
    if filters.category:
        # The case decides the category; an id set, no join.
        category_id = lookups.category_id(filters.category)
        where.append(Feedback.case_id.in_(select(Case.id).where(Case.category_id == category_id)))
    element_columns = []
    for element in ELEMENTS:
        column = getattr(Feedback, element)
        element_columns.append(func.count(column).label(f"{element}_answers"))
        element_columns.append(func.coalesce(func.sum(column), 0).label(f"{element}_total"))
    query = (
        select(
            Feedback.unit_id.label("unit"),
            period_column,
            func.count().label("respondents"),
            *element_columns,
        )
        .select_from(Feedback)
        .where(*where)
        .group_by(Feedback.unit_id, period_column)
    )
    report = []
    for row in db.session.execute(query):
        data = row._mapping
        totals = {
            e: ElementTotal(int(data[f"{e}_answers"]), int(data[f"{e}_total"])) for e in ELEMENTS
        }
        result = compute_ikm(int(data["respondents"]), totals, weight)
        item: dict[str, Any] = {
            "unit": lookups.unit_code(data["unit"]),
            "unit_name": lookups.unit_name(data["unit"]),
            "period": _period_label(data["period"], period),
            "respondents": result.respondents,
        }
        # NRR shown rounded half up to three decimals (as result.nrr_rounded(), in integer
        # arithmetic: thousands of rows per report).
        item["nrr"] = {
            e: None if not (t := totals[e]).answers else _ratio(t.total, t.answers, 3)
            for e in ELEMENTS
        }
        item.update({f"nrr_{e}": item["nrr"][e] for e in ELEMENTS})
        item["ikm"] = None if result.index is None else float(result.index)
        item["band"] = result.band.code if result.band else None
        item["band_label"] = result.band.label if result.band else None
        report.append(item)
    report.sort(key=lambda r: (r["unit"], r["period"]))
    return report


def weight_label(weight: Fraction) -> str:
    return next((label for label, value in WEIGHTS.items() if value == weight), str(weight))


# -- public statistics (GET /public/v1/stats) --------------------------------------------------

PUBLIC_COLUMNS = (
    "unit",
    "unit_name",
    "month",
    "cases",
    "resolved",
    "on_time_share",
    "resolution_minutes_median",
    "ikm",
    "band",
    "respondents",
)
PUBLIC_DEFAULT_MONTHS = 12


def default_public_range(now: datetime) -> tuple[datetime, datetime]:
    """The last twelve WIB months, the current one included."""
    local = now.astimezone(WIB)
    index = local.year * 12 + local.month - 1 - (PUBLIC_DEFAULT_MONTHS - 1)
    since, _ = month_range(f"{index // 12:04d}-{index % 12 + 1:02d}")
    _, until = month_range(f"{local.year:04d}-{local.month:02d}")
    return since, until


def public_stats(filters: ReportFilters, now: datetime) -> list[dict[str, Any]]:
    """Per unit and WIB month: cases received (by owner unit), resolved, on-time share and
    median working minutes to resolution, and the IKM of the answers submitted that month
    for the unit that resolved. Unit codes and names and counts only: no case, no person."""
    sla = sla_report(
        SYSTEM, filters, now, by=("unit", "month"), percentiles=["resolution_minutes_median"]
    )
    ikm = ikm_report(SYSTEM, filters, period="month")
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sla:
        merged[(row["unit"], row["month"])] = {
            "unit": row["unit"],
            "unit_name": row["unit_name"],
            "month": row["month"],
            "cases": row["cases"],
            "resolved": row["resolved"],
            "on_time_share": row["on_time_share"],
            "resolution_minutes_median": row["resolution_minutes_median"],
            "ikm": None,
            "band": None,
            "respondents": 0,
        }
    for row in ikm:
        item = merged.setdefault(
            (row["unit"], row["period"]),
            {
                "unit": row["unit"],
                "unit_name": row["unit_name"],
                "month": row["period"],
                "cases": 0,
                "resolved": 0,
                "on_time_share": None,
                "resolution_minutes_median": None,
            },
        )
        item.update(ikm=row["ikm"], band=row["band"], respondents=row["respondents"])
    return [merged[key] for key in sorted(merged)]


__all__ = [
    "BACKLOG_COLUMNS",
    "BOUNCED_COLUMNS",
    "BREACH_COLUMNS",
    "HANDOFF_COLUMNS",
    "IKM_COLUMNS",
    "SLA_COLUMNS",
    "ReportFilters",
    "backlog_report",
    "breaches",
    "handoff_report",
    "ikm_report",
    "ikm_weight",
    "default_public_range",
    "month_range",
    "public_stats",
    "require_report_reader",
    "sla_report",
    "weight_label",
]

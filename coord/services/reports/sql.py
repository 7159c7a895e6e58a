"""SQL helpers shared by the reports: the WIB calendar periods as SQL functions (PostgreSQL
and SQLite), per-transaction settings, ``COUNT(*) FILTER``, portable percentiles, rounded
ratios, the split of long city-wide reports among parallel workers, and ``_aggregate``, the
grouped counts and percentiles every aggregate report is built on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from itertools import pairwise
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy import case as sql_case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from coord.extensions import db
from coord.services.reports.filters import ReportFilters, _Lookups
from coord.services.uow import transaction_memo

# Percentiles as exact fractions p = num/den, interpolated like PostgreSQL's percentile_cont.
MEDIAN = (1, 2)
P90 = (9, 10)


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


def _prepare_session(*, parallel: bool = True) -> None:
    """Reports read up to a million rows at once. On PostgreSQL, for this transaction only,
    in one statement: memory for sorts and hashes (COORD_REPORT_WORK_MEM, default 256MB), no
    JIT compilation (its start-up costs more than it saves on these one-pass aggregates), and
    the random page cost of cached or solid-state storage, so that the clocks of the cases in
    a period are read through their index instead of scanning every clock.

    ``parallel``: whether the planner may use parallel workers (the server's setting) or not
    (``max_parallel_workers_per_gather`` 0). Worth it for a long period (``_long_period``);
    a quarter or less is read through the received_at index by one process, where workers
    would each build the reader's scope (a camat's tens of thousands of case ids) again, and
    take the cores of a web server's other requests (the managers' dashboard)."""
    if not _is_postgres():
        return
    memo = transaction_memo()
    if memo.get("report_parallel") == parallel:  # already so in this transaction
        return
    memo["report_parallel"] = parallel
    settings = {
        "work_mem": str(current_app.config.get("COORD_REPORT_WORK_MEM", "256MB")),
        "jit": "off",
        "random_page_cost": "1.1",
        # Parallel workers for the aggregates split by unit (see _aggregate), even when the
        # planner's default start-up cost estimate would keep them idle.
        "parallel_setup_cost": "100",
        "parallel_tuple_cost": "0.01",
    }
    columns = [func.set_config(name, value, True) for name, value in settings.items()]
    workers = "max_parallel_workers_per_gather"
    columns.append(
        func.set_config(
            workers,
            literal_column(f"(SELECT reset_val FROM pg_settings WHERE name = '{workers}')")
            if parallel
            else literal("0"),
            True,
        )
    )
    db.session.execute(select(*columns))


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


def _aggregate(
    source: Select[Any],
    keys: list[Any],
    counts: list[Any],
    metrics: dict[str, Any],
    wanted: list[tuple[str, str, tuple[int, int]]],
    *,
    portable: bool | None = None,
    partitions: Sequence[ColumnElement[bool]] = (),
    grouping_sets: Sequence[Sequence[Any]] = (),
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
    (Parallel Append) instead of one process.

    ``grouping_sets`` (PostgreSQL, not ``portable``, no ``partitions``): group by each of
    these lists of the ``keys``' columns in one pass (``GROUPING SETS``) instead of by
    ``keys``; the column ``grouping_set`` holds each row's ``GROUPING(keys)``, and a key
    its set does not group by is NULL."""
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
    if grouping_sets:
        plain = [getattr(k, "element", k) for k in keys]  # the columns under their labels
        query: Any = source.with_only_columns(
            *keys, func.grouping(*plain).label("grouping_set"), *columns
        ).group_by(func.grouping_sets(*(tuple_(*columns_) for columns_ in grouping_sets)))
    else:
        query = source.with_only_columns(*keys, *columns).group_by(*keys)
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
    if not rows or not wanted:
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

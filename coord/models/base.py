"""Shared column types and helpers for the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, TypeDecorator
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC; SQLite gets them back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BIGINT primary keys on PostgreSQL, INTEGER (rowid alias) on SQLite.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
JSONType = (
    JSON().with_variant(postgresql.JSONB(), "postgresql").with_variant(sqlite.JSON(), "sqlite")
)


def enum_check(column: str, values: Any) -> str:
    """SQL for a CHECK that ``column`` is one of the enum's values."""
    quoted = ", ".join(f"'{v.value if hasattr(v, 'value') else v}'" for v in values)
    return f"{column} IN ({quoted})"


class wib_month_number(FunctionElement[int]):  # noqa: N801 - reads like the SQL it renders
    """``YYYYMM`` of the WIB (Asia/Jakarta) calendar month holding a UTC instant column, as
    SQL an engine accepts in a generated column (immutable on PostgreSQL, deterministic on
    SQLite, which stores naive UTC text; WIB has had no daylight saving since 1964)."""

    type = Integer()
    name = "wib_month_number"
    inherit_cache = True


@compiles(wib_month_number, "postgresql")
def _wib_month_number_pg(element: wib_month_number, compiler: Any, **kw: Any) -> str:
    column = compiler.process(list(element.clauses)[0], **kw)
    local = f"({column} AT TIME ZONE 'Asia/Jakarta')"
    return f"CAST(EXTRACT(YEAR FROM {local}) * 100 + EXTRACT(MONTH FROM {local}) AS INTEGER)"


@compiles(wib_month_number, "sqlite")
def _wib_month_number_sqlite(element: wib_month_number, compiler: Any, **kw: Any) -> str:
    column = compiler.process(list(element.clauses)[0], **kw)
    return f"CAST(strftime('%Y%m', {column}, '+7 hours') AS INTEGER)"

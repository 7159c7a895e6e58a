"""Set-based writes for services that write thousands of rows per transaction (the SLA sweep
and its notification fan-out), with the one switch between the two databases here:

- PostgreSQL: ``COPY ... FROM STDIN`` (psycopg 3) on the session's own connection for inserts,
  ids taken from the table's sequence first; one ``UPDATE ... FROM unnest(...)`` per batch
  of row updates; ``INSERT ... ON CONFLICT DO NOTHING`` for idempotent inserts.
- SQLite: Core ``insert``/``update`` executemany (``RETURNING`` for the ids; ``INSERT ... ON
  CONFLICT DO NOTHING``, i.e. ``INSERT OR IGNORE``, for idempotent inserts).

Everything runs in the session's current transaction. These helpers do not flush the ORM
session: callers write with them only what no pending ORM object also changes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Table, bindparam, insert, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from coord.extensions import db


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _driver_connection() -> Any:
    return db.session.connection().connection.driver_connection


def _is_json(table: Table, column: str) -> bool:
    return isinstance(table.c[column].type, JSON)  # JSONType: JSON with a JSONB variant


def next_ids(table: Table, n: int) -> list[int]:
    """``n`` fresh ids from ``table``'s id sequence (PostgreSQL only), in ascending order."""
    if n <= 0:
        return []
    rows: list[int] = list(
        db.session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": n},
        )
        .scalars()
        .all()
    )
    return sorted(rows)


def bulk_insert(
    table: Table, rows: Sequence[dict[str, Any]], *, return_ids: bool = False
) -> list[int]:
    """Insert ``rows`` (dicts with the same keys, Python values as for Core) into ``table``.

    Returns the new ids in the order of ``rows`` when ``return_ids``, else ``[]``. A unique
    violation raises ``sqlalchemy.exc.IntegrityError`` on both databases (``unit_of_work``
    turns it into ``Conflict``).
    """
    if not rows:
        return []
    if not is_postgres():
        if return_ids:
            return list(
                db.session.execute(
                    insert(table).returning(table.c.id, sort_by_parameter_order=True), list(rows)
                ).scalars()
            )
        db.session.execute(insert(table), list(rows))
        return []

    import psycopg

    columns = list(rows[0])
    ids = next_ids(table, len(rows)) if return_ids else []
    json_cols = [i for i, c in enumerate(columns) if _is_json(table, c)]
    copy_sql = (
        f"COPY {table.name} ({', '.join((['id'] if return_ids else []) + columns)}) FROM STDIN"
    )
    try:
        with _driver_connection().cursor() as cur, cur.copy(copy_sql) as copy:
            for i, row in enumerate(rows):
                values = [row[c] for c in columns]
                for j in json_cols:
                    if values[j] is not None:
                        values[j] = json.dumps(values[j])
                copy.write_row((ids[i], *values) if return_ids else values)
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(copy_sql, None, exc) from exc
    return ids


def insert_ignoring_duplicates(
    table: Table, rows: Sequence[dict[str, Any]], conflict_columns: Sequence[str]
) -> None:
    """Insert ``rows``, skipping any that would violate the unique key on ``conflict_columns``
    (PostgreSQL ``ON CONFLICT DO NOTHING``, SQLite ``INSERT OR IGNORE``): safe to repeat."""
    if not rows:
        return
    dialect_insert = postgresql.insert if is_postgres() else sqlite.insert
    statement = dialect_insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    db.session.execute(statement, list(rows))


def update_rows(table: Table, rows: Sequence[dict[str, Any]], key: str = "id") -> None:
    """Set each row's columns on the row of ``table`` whose ``key`` matches: one statement per
    call on PostgreSQL (``UPDATE ... FROM unnest(arrays)``), one executemany on SQLite."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    if not is_postgres():
        statement = (
            update(table)
            .where(table.c[key] == bindparam(f"b_{key}", type_=table.c[key].type))
            .values({c: bindparam(f"b_{c}", type_=table.c[c].type) for c in columns})
        )
        db.session.execute(statement, [{f"b_{c}": row[c] for c in row} for row in rows])
        return
    dialect = db.session.get_bind().dialect
    names = [key, *columns]
    arrays = ", ".join(f"CAST(:{c} AS {table.c[c].type.compile(dialect=dialect)}[])" for c in names)
    sets = ", ".join(f"{c} = v.{c}" for c in columns)
    sql = text(
        f"UPDATE {table.name} AS t SET {sets} FROM unnest({arrays}) AS v({', '.join(names)})"
        f" WHERE t.{key} = v.{key}"
    )
    db.session.execute(sql, {c: [row[c] for row in rows] for c in names})


def id_in(column: Any, ids: Sequence[int]) -> Any:
    """``column IN ids`` as one array parameter on PostgreSQL (``= ANY(:ids)``, no thousand
    bound parameters to process and parse), an expanding ``IN`` on SQLite."""
    if is_postgres():
        from sqlalchemy import BigInteger, any_
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))
    return column.in_(list(ids))

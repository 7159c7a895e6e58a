"""Set-based writes for services that write thousands of rows per transaction (the SLA sweep
and its notification fan-out), with the one switch between the two databases here:

- PostgreSQL: ``COPY ... FROM STDIN`` (psycopg 3) on the session's own connection for inserts,
  ids taken from the table's sequence first; one ``UPDATE ... FROM unnest(...)`` per batch
  of row updates; ``INSERT ... ON CONFLICT DO NOTHING`` for idempotent inserts.
- SQLite: Core ``insert``/``update`` executemany (``RETURNING`` for the ids; ``INSERT ... ON
  CONFLICT DO NOTHING``, i.e. ``INSERT OR IGNORE``, for idempotent inserts).

Everything runs in the session's current transaction. These helpers do not flush the ORM
session: callers write with them only what no pending ORM object also changes.

``insert_new`` serves the API's hot commands instead: it inserts new ORM objects with Core
statements and hands them to the session as loaded, clean objects (docs/decisions.md,
"Hot commands insert with Core").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import JSON, Column, Table, bindparam, insert, inspect, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import (
    ColumnProperty,
    InstanceState,
    Mapper,
    Session,
    make_transient,
    make_transient_to_detached,
)
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.interfaces import MANYTOONE
from sqlalchemy.sql.dml import Insert

from coord.extensions import Model, db
from coord.models import Case, Handoff, SlaClock
from coord.services.uow import FAST_UPDATES_KEY


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


@dataclass(frozen=True)
class _InsertPlan:
    """How ``insert_new`` writes the objects of one mapped class."""

    written: tuple[tuple[str, str, Any], ...]  # (attribute, column, Python default or None)
    returned: tuple[tuple[str, Column[Any]], ...]  # (attribute, column) the database fills
    many_to_one: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (relationship, fk pairs)
    statement: Insert


@cache
def _insert_plan(mapper: Mapper[Any]) -> _InsertPlan:
    table = mapper.local_table
    assert isinstance(table, Table)
    written: list[tuple[str, str, Any]] = []
    returned: list[tuple[str, Column[Any]]] = []
    for column in table.columns:
        key = mapper.get_property_by_column(column).key
        generated = column.computed is not None or (
            column.server_default is not None and column.default is None
        )
        if generated or column is table.autoincrement_column:
            returned.append((key, column))
            continue
        default = column.default
        if default is None:
            written.append((key, column.key, None))
        elif default.is_scalar:  # type: ignore[attr-defined]
            value = default.arg  # type: ignore[attr-defined]
            written.append((key, column.key, lambda value=value: value))
        else:  # a callable default, wrapped by SQLAlchemy to take an execution context
            func = default.arg  # type: ignore[attr-defined]
            written.append((key, column.key, lambda func=func: func(None)))
    many_to_one = tuple(
        (
            rel.key,
            tuple(
                (
                    mapper.get_property_by_column(local).key,
                    rel.mapper.get_property_by_column(remote).key,
                )
                for local, remote in rel.local_remote_pairs
            ),
        )
        for rel in mapper.relationships
        if rel.direction is MANYTOONE and not rel.viewonly
    )
    statement = insert(table)
    if returned:
        statement = statement.returning(*(c for _, c in returned), sort_by_parameter_order=True)
    return _InsertPlan(tuple(written), tuple(returned), many_to_one, statement)


def insert_new(*groups: Sequence[Model]) -> None:
    """Insert new (transient) ORM objects, one Core statement per group, groups in the order
    given (parents first); then add them all to the session as persistent, loaded and clean.

    What a flush of the same objects would write, without the unit of work (which costs
    more than the statements themselves on the API's hot commands):

    - each group holds objects of one class;
    - a many-to-one relationship set on an object fills its foreign key (the related object
      must be persistent or in an earlier group);
    - a column not set takes its Python default, else NULL; ids, server defaults and
      computed columns come back through ``RETURNING``;
    - relationships set between the objects (``case.clocks``, ``clock.case``) stay loaded.

    Only for objects no pending ORM change depends on: nothing here flushes the session.
    """
    session = db.session()
    connection = session.connection()
    inserted: list[Model] = []
    for objects in groups:
        if not objects:
            continue
        plan = _insert_plan(inspect(type(objects[0])))
        rows = []
        for obj in objects:
            values = obj.__dict__
            for relation, pairs in plan.many_to_one:
                target = values.get(relation)
                if target is not None:
                    for local, remote in pairs:
                        setattr(obj, local, getattr(target, remote))
            row = {}
            for key, column, default in plan.written:
                if key not in values:
                    setattr(obj, key, None if default is None else default())
                row[column] = values[key]
            rows.append(row)
        if plan.returned:
            result = connection.execute(plan.statement, rows if len(rows) > 1 else rows[0])
            for obj, generated in zip(objects, result.all(), strict=True):
                for (key, _), value in zip(plan.returned, generated, strict=True):
                    setattr(obj, key, value)
        else:
            connection.execute(plan.statement, rows)
        inserted.extend(objects)
    for obj in inserted:
        make_transient_to_detached(obj)
    session.add_all(inserted)


# -- updates of the hot rows without the unit of work -----------------------------------------

# The rows the API's hot commands change (a case, its handoff, their clocks). A flush whose
# only work is column changes on these is written by ``write_simple_updates``.
_FAST_UPDATE_CLASSES = (Case, Handoff, SlaClock)


def write_simple_updates(session: Session, flush_context: Any, instances: Any) -> None:
    """``before_flush``, in commands run with ``unit_of_work(fast_updates=True)``: when the
    flush has nothing to do but change columns of loaded cases, handoffs and clocks, write
    each with one Core ``UPDATE`` (the ORM's optimistic version check included) and put the
    objects back in the session as loaded, so the unit of work finds nothing left to do.
    Anything else (new or deleted rows, other classes, collection changes, a savepoint)
    leaves the whole flush to the unit of work, which costs about 1 ms of CPU more per
    forward or accept than the statements themselves. Public SQLAlchemy API only: attribute
    history to find the changes, ``make_transient_to_detached`` to mark them written."""
    if not session.info.get(FAST_UPDATES_KEY):
        return
    if instances or session.new or session.deleted or session.in_nested_transaction():
        return
    updates = []
    for obj in session.dirty:
        found = _update_of(obj)
        if found is None:
            return
        updates.append(found)
    order = _table_order()
    updates.sort(key=lambda u: (order[u.table], u.key))  # the unit of work's order: parents first
    connection = session.connection()
    for update_ in updates:
        if update_.values:
            result = connection.execute(
                _update_statement(update_.table, tuple(update_.values)), update_.values
            )
            if result.rowcount != 1:
                raise StaleDataError(
                    f"UPDATE statement on table '{update_.table.name}' expected to update 1 "
                    f"row(s); {result.rowcount} were matched."
                )
        for key, value in update_.generated.items():
            setattr(update_.obj, key, value)
        # What a flush does after writing: the object is as loaded from its row now.
        make_transient(update_.obj)
        make_transient_to_detached(update_.obj)
        session.add(update_.obj)


@cache
def _table_order() -> dict[Table, int]:
    return {table: i for i, table in enumerate(Model.metadata.sorted_tables)}


@cache
def _update_statement(table: Table, names: tuple[str, ...]) -> Any:
    """``UPDATE table SET <columns> WHERE <primary key> [AND <version>]`` for parameter
    ``names``: ``w_<column>`` are the row's key and version as loaded, the rest the new
    values (built once per set of names)."""
    where = [
        table.c[n[2:]] == bindparam(n, type_=table.c[n[2:]].type) for n in names if n[:2] == "w_"
    ]
    values = {n: bindparam(n, type_=table.c[n].type) for n in names if n[:2] != "w_"}
    return update(table).where(*where).values(values)


@dataclass(frozen=True)
class _Update:
    obj: Any
    table: Table
    key: tuple[Any, ...]  # the primary key
    values: dict[str, Any]  # parameters of the UPDATE (empty: nothing to write)
    generated: dict[str, Any]  # attribute values the ORM would generate (the next version)


def _update_of(obj: Any) -> _Update | None:
    """The UPDATE that writes ``obj``'s changes, or None when the unit of work must."""
    if not isinstance(obj, _FAST_UPDATE_CLASSES):
        return None
    state: InstanceState[Any] = inspect(obj)
    mapper = state.mapper
    table = mapper.local_table
    assert isinstance(table, Table)
    values: dict[str, Any] = {}
    for key in set(mapper.attrs.keys()) - state.unmodified:  # changed since load
        prop = mapper.attrs[key]
        if not isinstance(prop, ColumnProperty):
            if not _foreign_keys_agree(obj, mapper, prop):
                return None
            continue
        column = prop.columns[0]
        history = state.attrs[key].history
        if not history.has_changes():
            continue  # set to the value it had
        if column.primary_key:
            return None
        values[column.key] = history.added[0] if history.added else None
    pk = tuple(getattr(obj, mapper.get_property_by_column(c).key) for c in table.primary_key)
    generated: dict[str, Any] = {}
    if not values:
        return _Update(obj, table, pk, {}, generated)
    for column, value in zip(table.primary_key, pk, strict=True):
        values[f"w_{column.key}"] = value
    version = mapper.version_id_col
    if version is not None:
        key = mapper.get_property_by_column(version).key
        history = state.attrs[key].history
        loaded = list(history.deleted or history.unchanged)[0]  # the version as loaded
        values[f"w_{version.key}"] = loaded
        next_version = mapper.version_id_generator
        if version.key not in values and next_version:  # False: the service sets it
            generated[key] = values[str(version.key)] = next_version(loaded)
    return _Update(obj, table, pk, values, generated)


def _foreign_keys_agree(obj: Any, mapper: Mapper[Any], rel: Any) -> bool:
    """A changed relationship is written by its foreign key: only a many-to-one whose key
    already names the new target (the hot commands set both)."""
    if rel.direction is not MANYTOONE or rel.viewonly:
        return False  # a collection changed: rows to insert or unlink
    target = getattr(obj, rel.key)
    return all(
        getattr(obj, mapper.get_property_by_column(local).key)
        == (None if target is None else getattr(target, remote.key))
        for local, remote in rel.local_remote_pairs
    )

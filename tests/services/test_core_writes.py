"""The hot commands' Core writes (coord/services/bulk.py).

``insert_new``: a new case's rows are exactly what the database holds, and the objects it
leaves in the session are loaded and clean: reading them costs no query, and committing
them writes nothing more. ``write_simple_updates``: a case changed elsewhere since it was
loaded is refused as the ORM would refuse it, and nothing of the command is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from coord.clock import now_utc
from coord.extensions import db
from coord.models import Case, CaseEvent, CaseUnit, IdempotencyKey, SlaClock
from coord.services import case_intake
from coord.services import cases as case_service
from coord.services.errors import Conflict
from coord.services.uow import unit_of_work
from tests.factories import World, make_case, new_case_data


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """The SQL statements the test's engine runs while the fixture is active."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def columns_of(obj: Any) -> dict[str, Any]:
    return {attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs}


def test_a_new_case_is_loaded_clean_and_equal_to_its_rows(
    world: World, statements: list[str]
) -> None:
    staff = world.user("kel-a1", "staff")
    with unit_of_work(keep_loaded=True):
        case, _ = case_intake.create_case(
            staff, new_case_data(), now_utc(), idempotency_key="key-1"
        )
        written = [s.split()[2] for s in statements if s.startswith("INSERT")]
        session = db.session()
        assert not session.new and not session.dirty
        objects = [
            case,
            *case.clocks,
            *session.execute(select(CaseUnit)).scalars(),  # from the identity map
            *session.execute(select(IdempotencyKey)).scalars(),
        ]
        statements.clear()
    # Committing the command wrote no row a second time: the commit was all it sent.
    assert [s for s in statements if not s.startswith("SELECT")] == []
    # (SQLite may insert several rows with RETURNING one by one.)
    assert list(dict.fromkeys(written)) == [
        "cases",
        "sla_clocks",
        "case_units",
        "idempotency_keys",
        "case_events",
    ]

    statements.clear()
    in_memory = [columns_of(obj) for obj in objects]
    assert statements == []  # every column was loaded: no lazy load, no refresh
    assert in_memory[0]["received_month"] is not None  # computed by the database
    assert in_memory[0]["resolution_count"] == 0  # its default

    db.session.expire_all()
    assert [columns_of(obj) for obj in objects] == in_memory  # what the database holds
    assert {c.name for c in case.clocks} == {"response", "resolution"}
    assert all(clock.case is case for clock in case.clocks)
    event_row = db.session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id)).scalar()
    assert event_row is not None and event_row.type == "case.created"


def test_a_case_created_with_core_takes_later_orm_changes(world: World) -> None:
    staff = world.user("kel-a1", "staff")
    with unit_of_work(keep_loaded=True):
        case, _ = case_intake.create_case(staff, new_case_data(), now_utc())
        case_id = case.id
    with unit_of_work():
        case_service.start_case(staff, case_id, now_utc())
    db.session.expire_all()
    stored = db.session.get(Case, case_id)
    assert stored is not None and stored.status == "in_progress" and stored.version == 2
    clocks = db.session.execute(select(SlaClock).where(SlaClock.case_id == case_id)).scalars()
    assert {c.name: c.state for c in clocks}["response"] == "met"


@pytest.mark.parametrize("fast_updates", [True, False], ids=["core", "unit-of-work"])
def test_a_case_changed_elsewhere_since_it_was_loaded_is_refused(
    world: World, fast_updates: bool
) -> None:
    case_id = make_case(world).id
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case is not None and case.version == 1
    case.title = "Judul dari sesi ini"
    case.version += 1  # as every command does (cases.touch)
    with db.engine.begin() as other:  # another process: its own change, committed first
        cases = Case.__table__
        other.execute(
            update(cases)
            .where(cases.c.id == case_id)
            .values(title="Judul dari tempat lain", version=cases.c.version + 1)
        )

    with pytest.raises(Conflict), unit_of_work(fast_updates=fast_updates):
        case.status = "in_progress"

    db.session.expire_all()
    stored = db.session.get(Case, case_id)
    assert stored is not None
    assert (stored.title, stored.status, stored.version) == ("Judul dari tempat lain", "new", 2)


@pytest.mark.parametrize("fast_updates", [True, False], ids=["core", "unit-of-work"])
def test_an_update_leaves_the_case_clean_and_equal_to_its_row(
    world: World, statements: list[str], fast_updates: bool
) -> None:
    case_id = make_case(world).id
    staff = world.user("kel-a1", "staff")
    statements.clear()
    with unit_of_work(keep_loaded=True, fast_updates=fast_updates):
        case = case_service.start_case(staff, case_id, now_utc())
        db.session.flush()
        assert not db.session.dirty
    updated = [s.split()[1] for s in statements if s.startswith("UPDATE")]
    # The case, then its response clock: each row written once, parents first.
    assert updated == ["cases", "sla_clocks"]
    in_memory = columns_of(case)
    db.session.expire_all()
    assert columns_of(case) == in_memory
    assert (case.status, case.version) == ("in_progress", 2)


def test_core_updates_write_what_the_unit_of_work_writes(world: World, frozen_now: Any) -> None:
    staff = world.user("kel-a1", "staff")
    rows = []
    for fast_updates in (True, False):
        case_id = make_case(world).id
        with unit_of_work(fast_updates=fast_updates):
            case_service.start_case(staff, case_id, now_utc())
        db.session.expire_all()
        case = db.session.get(Case, case_id)
        assert case is not None
        clocks = sorted(case.clocks, key=lambda c: c.name)
        ignore = {"id", "case_id", "tracking_code", "citizen_token", "created_at", "updated_at"}
        rows.append(
            [
                {k: v for k, v in columns_of(obj).items() if k not in ignore}
                for obj in (case, *clocks)
            ]
        )
    assert rows[0] == rows[1]


@pytest.fixture
def orm_flushes() -> Iterator[list[Any]]:
    """The flushes the unit of work carried out (``after_flush`` fires only when it had work)."""
    seen: list[Any] = []

    def record(session: Any, flush_context: Any) -> None:
        seen.append(flush_context)

    event.listen(Session, "after_flush", record)
    yield seen
    event.remove(Session, "after_flush", record)


def test_an_api_forward_and_accept_leave_their_updates_to_core(
    app: Any, world: World, statements: list[str], orm_flushes: list[Any]
) -> None:
    """The API's hot commands opt in to the Core updates: their flushes leave the unit of
    work nothing to do, and every changed row is written exactly once."""
    case_id = make_case(world).id
    client = app.test_client()
    staff, liaison = world.headers("kel-a1", "staff"), world.headers("dinas-pu", "liaison")
    statements.clear()
    orm_flushes.clear()
    forwarded = client.post(
        f"/api/v1/cases/{case_id}/handoffs",
        headers=staff,
        json={"kind": "transfer", "to_unit": "dinas-pu"},
    )
    assert forwarded.status_code == 201, forwarded.get_json()
    assert orm_flushes == []
    assert [s.split()[1] for s in statements if s.startswith("UPDATE")] == ["cases", "sla_clocks"]

    statements.clear()
    accepted = client.post(
        f"/api/v1/handoffs/{forwarded.get_json()['id']}/accept",
        headers=liaison,
        json={},
    )
    assert accepted.status_code == 200, accepted.get_json()
    assert orm_flushes == []
    updated = [s.split()[1] for s in statements if s.startswith("UPDATE")]
    assert sorted(updated) == ["cases", "handoffs", "sla_clocks"], updated


@pytest.fixture
def row_updates() -> Iterator[list[tuple[str, Any]]]:
    """(table, primary key) of every UPDATE the engine runs while the fixture is active:
    Core's ``w_id`` parameter or the ORM's ``<table>_id``."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if not statement.startswith("UPDATE"):
            return
        table = statement.split()[1]
        for params in parameters if isinstance(parameters, list) else [parameters]:
            if isinstance(params, dict):
                seen.append((table, params.get("w_id", params.get(f"{table}_id"))))
            else:  # SQLite's positional parameters: the key comes after the values
                seen.append((table, tuple(params)[-2:]))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_the_hot_commands_write_each_row_once(
    app: Any, world: World, row_updates: list[tuple[str, Any]]
) -> None:
    """Start, forward and accept (what an API client does most) write each changed row with
    one UPDATE: a lookup in the middle of a command must not flush half of its changes.
    (Other commands still write the case twice: docs/performance.md, "Known".)"""
    case_id = make_case(world).id
    client = app.test_client()
    staff, liaison = world.headers("kel-a1", "staff"), world.headers("dinas-pu", "liaison")
    written = []
    for path, headers, body in (
        (f"/api/v1/cases/{case_id}/start", staff, {}),
        (f"/api/v1/cases/{case_id}/handoffs", staff, {"kind": "transfer", "to_unit": "dinas-pu"}),
        ("/api/v1/handoffs/{handoff}/accept", liaison, {}),
    ):
        row_updates.clear()
        response = client.post(
            path.format(handoff=written[-1]["id"] if written else 0), headers=headers, json=body
        )
        assert response.status_code in (200, 201), response.get_json()
        written.append(response.get_json())
        assert row_updates, f"{path} wrote nothing"
        repeated = sorted({u for u in row_updates if row_updates.count(u) > 1})
        assert repeated == [], f"{path}: rows updated more than once: {repeated} in {row_updates}"

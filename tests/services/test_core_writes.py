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

from coord.clock import now_utc
from coord.extensions import db
from coord.models import Case, CaseEvent, CaseUnit, IdempotencyKey, SlaClock
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
        case, _ = case_service.create_case(
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
        case, _ = case_service.create_case(staff, new_case_data(), now_utc())
        case_id = case.id
    with unit_of_work():
        case_service.start_case(staff, case_id, now_utc())
    db.session.expire_all()
    stored = db.session.get(Case, case_id)
    assert stored is not None and stored.status == "in_progress" and stored.version == 2
    clocks = db.session.execute(select(SlaClock).where(SlaClock.case_id == case_id)).scalars()
    assert {c.name: c.state for c in clocks}["response"] == "met"


def test_a_case_changed_elsewhere_since_it_was_loaded_is_refused(world: World) -> None:
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

    with pytest.raises(Conflict), unit_of_work():
        case.status = "in_progress"

    db.session.expire_all()
    stored = db.session.get(Case, case_id)
    assert stored is not None
    assert (stored.title, stored.status, stored.version) == ("Judul dari tempat lain", "new", 2)


def test_an_update_leaves_the_case_clean_and_equal_to_its_row(
    world: World, statements: list[str]
) -> None:
    case_id = make_case(world).id
    staff = world.user("kel-a1", "staff")
    statements.clear()
    with unit_of_work(keep_loaded=True):
        case = case_service.start_case(staff, case_id, now_utc())
        db.session.flush()
        assert not db.session.dirty
    updated = [s.split()[1] for s in statements if s.startswith("UPDATE")]
    assert set(updated) == {"cases", "sla_clocks"}  # the case and its response clock
    in_memory = columns_of(case)
    db.session.expire_all()
    assert columns_of(case) == in_memory
    assert (case.status, case.version) == ("in_progress", 2)

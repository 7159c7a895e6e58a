"""Case commands through ``unit_of_work``: every public action in every status, the fields each
action needs, assists that block resolving, the on-hold clock, the audit trail and bouncing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from coord.clock import now_utc
from coord.extensions import db
from coord.models import Case, CaseEvent, Handoff
from coord.services import case_intake
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.errors import Conflict, Forbidden, InvalidInput
from coord.services.transitions import TransitionConflict
from coord.services.uow import unit_of_work
from tests.factories import World, case_in_status, make_case, new_case_data

STATUSES = ["new", "in_progress", "pending_transfer", "on_hold", "resolved", "closed", "cancelled"]

# DESIGN.md section 4, written out for the public actions: action -> {from: (to, event type)}.
EXPECTED: dict[str, dict[str, str]] = {
    "start": {"new": "in_progress"},
    "assign": {"new": "in_progress", "in_progress": "in_progress"},
    "hold": {"in_progress": "on_hold"},
    "resume": {"on_hold": "in_progress"},
    "resolve": {"new": "resolved", "in_progress": "resolved"},
    "reopen": {"resolved": "in_progress"},
    "close": {"resolved": "closed"},
    "cancel": {"new": "cancelled", "in_progress": "cancelled", "on_hold": "cancelled"},
}
EVENT_TYPE = {
    "start": "case.started",
    "assign": "case.assigned",
    "hold": "case.held",
    "resume": "case.resumed",
    "resolve": "case.resolved",
    "reopen": "case.reopened",
    "close": "case.closed",
    "cancel": "case.cancelled",
}


def run_action(world: World, action: str, case_id: int, now: datetime) -> Case:
    """Perform ``action`` as the person DESIGN.md names for it, with valid arguments."""
    staff = world.user("kel-a1", "staff")
    s = case_service
    calls: dict[str, Callable[[], Case]] = {
        "start": lambda: s.start_case(staff, case_id, now),
        "assign": lambda: s.assign_case(staff, case_id, world.user("kel-a1", "liaison").id, now),
        "hold": lambda: s.hold_case(staff, case_id, "menunggu fotokopi KTP", now),
        "resume": lambda: s.resume_case(staff, case_id, now),
        "resolve": lambda: s.resolve_case(staff, case_id, "lubang sudah ditambal", now),
        "reopen": lambda: s.reopen_case(staff, case_id, "warga: masih berlubang", now),
        "close": lambda: s.close_case(staff, case_id, now),
        "cancel": lambda: s.cancel_case(world.user("camat-a", "manager"), case_id, "spam", now),
    }
    with unit_of_work():
        return calls[action]()


def fresh_case(case_id: int) -> Case:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case is not None
    return case


def events_of(case_id: int) -> list[CaseEvent]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        ).scalars()
    )


def snapshot(case_id: int) -> tuple[str, int, list[tuple[int, str, int, Any]]]:
    case = fresh_case(case_id)
    rows = [(e.id, e.type, e.case_version, e.changes) for e in events_of(case_id)]
    return case.status, case.version, rows


def assert_nothing_written(case_id: int, before: tuple[Any, ...]) -> None:
    assert snapshot(case_id) == before


@pytest.mark.parametrize("status", STATUSES)
def test_every_action_in_every_status(world: World, frozen_now: datetime, status: str) -> None:
    """A refused action changes nothing, so one case takes every refusal; each allowed action
    gets a fresh case in ``status``."""
    problems: list[str] = []
    refused_on = case_in_status(world, status)
    assert refused_on.status == status
    before = snapshot(refused_on.id)
    for action in (a for a in EXPECTED if status not in EXPECTED[a]):
        try:
            run_action(world, action, refused_on.id, frozen_now)
        except TransitionConflict as refused:
            assert refused.status == 409
            assert refused.current == status
            assert f"that is {status};" in refused.message
            assert refused.errors == {"status": [status]}
        else:
            problems.append(f"{action} in {status}: allowed, expected 409")
            break
        if snapshot(refused_on.id) != before:
            problems.append(f"{action} in {status}: refused but something was written")
            break

    for action in (a for a in EXPECTED if status in EXPECTED[a]):
        target = EXPECTED[action][status]
        case = case_in_status(world, status)
        case_before = snapshot(case.id)
        run_action(world, action, case.id, frozen_now)
        after = fresh_case(case.id)
        new_events = events_of(case.id)[len(case_before[2]) :]
        if after.status != target:
            problems.append(f"{action} in {status}: status {after.status}, expected {target}")
        if after.version <= case_before[1]:
            problems.append(f"{action} in {status}: version {case_before[1]} -> {after.version}")
        if [e.type for e in new_events] != [EVENT_TYPE[action]]:
            problems.append(f"{action} in {status}: events {[e.type for e in new_events]}")
            continue
        event = new_events[0]
        if event.changes.get("status") != [status, target]:
            problems.append(f"{action} in {status}: changes {event.changes}")
        if event.case_version != after.version:
            problems.append(f"{action} in {status}: event version {event.case_version}")
        if event.at != frozen_now or event.actor_user_id is None:
            problems.append(f"{action} in {status}: event at {event.at} by {event.actor_user_id}")
    assert problems == []


def test_assign_records_who_was_assigned_before_and_after(world: World) -> None:
    case = case_in_status(world, "in_progress")
    starter = world.user("kel-a1", "staff")
    liaison = world.user("kel-a1", "liaison")
    assert case.assignee_id == starter.id
    run_action(world, "assign", case.id, now_utc())
    assert fresh_case(case.id).assignee_id == liaison.id
    assert events_of(case.id)[-1].changes["assignee_id"] == [starter.id, liaison.id]


def test_assign_to_someone_outside_the_owner_unit_is_refused(world: World) -> None:
    case = make_case(world)
    before = snapshot(case.id)
    with pytest.raises(InvalidInput) as bad, unit_of_work():
        case_service.assign_case(
            world.user("kel-a1", "staff"), case.id, world.user("dinas-pu", "staff").id, now_utc()
        )
    assert bad.value.status == 422 and "assignee_id" in bad.value.errors
    assert_nothing_written(case.id, before)


# -- required fields --------------------------------------------------------------------------

BLANKS = [None, "", "   "]


def _hold(world: World, case_id: int, value: Any) -> Case:
    return case_service.hold_case(world.user("kel-a1", "staff"), case_id, value, now_utc())


def _resolve(world: World, case_id: int, value: Any) -> Case:
    return case_service.resolve_case(world.user("kel-a1", "staff"), case_id, value, now_utc())


def _cancel(world: World, case_id: int, value: Any) -> Case:
    return case_service.cancel_case(world.user("camat-a", "manager"), case_id, value, now_utc())


@pytest.mark.parametrize(
    ("action", "field", "status", "call"),
    [
        ("hold", "reason", "in_progress", _hold),
        ("resolve", "note", "in_progress", _resolve),
        ("cancel", "reason", "in_progress", _cancel),
    ],
)
def test_required_field_missing_or_blank_is_invalid_input(
    world: World, action: str, field: str, status: str, call: Any
) -> None:
    """Hold needs a reason, resolve a note, cancel a reason: a 422 naming the field, not a 409
    from a database constraint, and nothing written."""
    case = case_in_status(world, status)
    before = snapshot(case.id)
    for value in BLANKS:
        with pytest.raises(InvalidInput) as bad, unit_of_work():
            call(world, case.id, value)
        assert bad.value.status == 422, value
        assert field in bad.value.errors, (value, bad.value.errors)
        assert_nothing_written(case.id, before)


def test_cancel_with_an_unknown_reason_is_invalid_input(world: World) -> None:
    case = make_case(world)
    before = snapshot(case.id)
    with pytest.raises(InvalidInput) as bad, unit_of_work():
        _cancel(world, case.id, "bosan")
    assert "reason" in bad.value.errors
    assert_nothing_written(case.id, before)


def test_cancel_as_duplicate_needs_the_other_case(world: World) -> None:
    manager = world.user("camat-a", "manager")
    original = make_case(world, title="Jalan rusak pertama")
    case = make_case(world)
    before = snapshot(case.id)
    for duplicate_of in (None, case.id, 10**12):
        with pytest.raises(InvalidInput) as bad, unit_of_work():
            case_service.cancel_case(
                manager, case.id, "duplicate", now_utc(), duplicate_of=duplicate_of
            )
        assert "duplicate_of" in bad.value.errors
        assert_nothing_written(case.id, before)
    with unit_of_work():
        case_service.cancel_case(manager, case.id, "duplicate", now_utc(), duplicate_of=original.id)
    cancelled = fresh_case(case.id)
    assert (cancelled.status, cancelled.duplicate_of_id, cancelled.cancel_reason) == (
        "cancelled",
        original.id,
        "duplicate",
    )
    assert events_of(case.id)[-1].changes["reason"] == "duplicate"


def test_cancel_withdraws_open_assists(world: World) -> None:
    case = case_in_status(world, "in_progress")
    with unit_of_work():
        assist = handoff_service.request_handoff(
            world.user("kel-a1", "staff"), case.id, "assist", "dinas-pu", "bantu ukur", now_utc()
        )
    run_action(world, "cancel", case.id, now_utc())
    db.session.expire_all()
    assert db.session.get(Handoff, assist.id).status == "recalled"
    assert [e.type for e in events_of(case.id)][-2:] == ["handoff.recalled", "case.cancelled"]


# -- resolving with assists -------------------------------------------------------------------


def _request_assist(world: World, case_id: int, to_unit: str = "dinas-pu") -> int:
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            world.user("kel-a1", "staff"),
            case_id,
            "assist",
            to_unit,
            "mohon bantuan alat berat",
            now_utc(),
        )
    return handoff.id


def _accept(world: World, handoff_id: int, unit: str = "dinas-pu") -> None:
    with unit_of_work():
        handoff_service.accept_handoff(world.user(unit, "liaison"), handoff_id, now_utc())


def _assert_resolve_refused(world: World, case_id: int) -> None:
    before = snapshot(case_id)
    with pytest.raises(Conflict) as refused:
        run_action(world, "resolve", case_id, now_utc())
    assert refused.value.status == 409
    assert "Dinas PU" in refused.value.message
    assert_nothing_written(case_id, before)


def test_resolve_refused_while_an_assist_is_open_then_allowed_once_completed(world: World) -> None:
    for status in ("new", "in_progress"):
        case = case_in_status(world, status)
        handoff_id = _request_assist(world, case.id)
        _assert_resolve_refused(world, case.id)
        _accept(world, handoff_id)
        _assert_resolve_refused(world, case.id)
        with unit_of_work():
            handoff_service.complete_handoff(
                world.user("dinas-pu", "staff"), handoff_id, "alat berat sudah dikirim", now_utc()
            )
        run_action(world, "resolve", case.id, now_utc())
        assert fresh_case(case.id).status == "resolved"


def test_resolve_allowed_after_the_owner_withdraws_the_assist(world: World) -> None:
    for accepted in (False, True):
        case = case_in_status(world, "in_progress")
        handoff_id = _request_assist(world, case.id)
        if accepted:
            _accept(world, handoff_id)
        _assert_resolve_refused(world, case.id)
        with unit_of_work():
            handoff_service.recall_handoff(world.user("kel-a1", "staff"), handoff_id, now_utc())
        db.session.expire_all()
        assert db.session.get(Handoff, handoff_id).status == "recalled"
        run_action(world, "resolve", case.id, now_utc())
        assert fresh_case(case.id).status == "resolved"


def test_one_open_assist_among_finished_ones_still_blocks(world: World) -> None:
    case = case_in_status(world, "in_progress")
    done = _request_assist(world, case.id, "dinas-pu")
    _accept(world, done)
    with unit_of_work():
        handoff_service.complete_handoff(
            world.user("dinas-pu", "staff"), done, "selesai", now_utc()
        )
    still_open = _request_assist(world, case.id, "dlh")
    before = snapshot(case.id)
    with pytest.raises(Conflict) as refused:
        run_action(world, "resolve", case.id, now_utc())
    assert "Dinas Lingkungan Hidup" in refused.value.message
    assert_nothing_written(case.id, before)
    with unit_of_work():
        handoff_service.reject_handoff(
            world.user("dlh", "liaison"), still_open, "not_our_jurisdiction", now_utc()
        )
    run_action(world, "resolve", case.id, now_utc())
    assert fresh_case(case.id).status == "resolved"


# -- on hold ----------------------------------------------------------------------------------


def test_hold_then_resume_moves_the_resolution_deadline_later(
    world: World, frozen_now: datetime
) -> None:
    case = case_in_status(world, "in_progress")
    due_before = case.resolution_due_at
    assert due_before is not None
    run_action(world, "hold", case.id, frozen_now)
    held = fresh_case(case.id)
    assert held.paused_at == frozen_now and held.hold_reason == "menunggu fotokopi KTP"
    run_action(world, "resume", case.id, frozen_now + timedelta(hours=2))
    resumed = fresh_case(case.id)
    assert resumed.resolution_due_at > due_before
    assert resumed.paused_at is None and resumed.hold_reason is None
    event = events_of(case.id)[-1]
    assert event.type == "case.resumed"
    assert event.changes["resolution_due_at"] == [
        due_before.isoformat(),
        resumed.resolution_due_at.isoformat(),
    ]
    assert event.changes["paused_business_minutes"] > 0


# -- audit trail ------------------------------------------------------------------------------


def test_events_are_append_only_and_carry_the_case_version(world: World) -> None:
    staff = world.user("kel-a1", "staff")
    case = make_case(world)
    seen: list[tuple[int, str, int, Any]] = []

    def step(command: Callable[[], object]) -> None:
        with unit_of_work():
            command()
        current = fresh_case(case.id)
        rows = [(e.id, e.type, e.case_version, e.changes) for e in events_of(case.id)]
        assert rows[: len(seen)] == seen, "an earlier event changed or disappeared"
        assert len(rows) == len(seen) + 1
        assert rows[-1][2] == current.version
        assert rows[-1][2] > seen[-1][2], "the event names the version the change produced"
        seen[:] = rows

    seen[:] = [(e.id, e.type, e.case_version, e.changes) for e in events_of(case.id)]
    assert [r[1] for r in seen] == ["case.created"] and seen[0][2] == fresh_case(case.id).version
    step(lambda: case_service.start_case(staff, case.id, now_utc()))
    step(lambda: case_service.comment_on_case(staff, case.id, "sudah dicek", "internal", now_utc()))
    step(lambda: case_service.hold_case(staff, case.id, "menunggu warga", now_utc()))
    step(lambda: case_service.resume_case(staff, case.id, now_utc()))
    step(
        lambda: case_intake.edit_case(
            staff, case.id, {"priority": "high"}, now_utc(), expected_version=None
        )
    )
    step(lambda: case_service.resolve_case(staff, case.id, "beres", now_utc()))
    step(lambda: case_service.reopen_case(staff, case.id, "belum beres", now_utc()))
    step(lambda: case_service.resolve_case(staff, case.id, "beres sekarang", now_utc()))
    step(lambda: case_service.close_case(staff, case.id, now_utc()))
    ids = [r[0] for r in seen]
    versions = [r[2] for r in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert [r[1] for r in seen] == [
        "case.created",
        "case.started",
        "case.commented",
        "case.held",
        "case.resumed",
        "case.updated",
        "case.resolved",
        "case.reopened",
        "case.resolved",
        "case.closed",
    ]


def test_a_failed_create_leaves_no_case_behind(world: World) -> None:
    """One transaction per command: an error after the insert rolls the case back too."""
    with pytest.raises(RuntimeError), unit_of_work():
        case_intake.create_case(world.user("kel-a1", "staff"), new_case_data(), now_utc())
        raise RuntimeError("the outbox could not be written")
    db.session.remove()
    assert db.session.execute(select(func.count()).select_from(Case)).scalar_one() == 0


def test_a_failed_action_changes_nothing(world: World) -> None:
    case = make_case(world)
    before = snapshot(case.id)
    with pytest.raises(RuntimeError), unit_of_work():
        case_service.start_case(world.user("kel-a1", "staff"), case.id, now_utc())
        raise RuntimeError("crash after the change")
    assert_nothing_written(case.id, before)


# -- bouncing ---------------------------------------------------------------------------------


def _move(world: World, case_id: int, from_unit: str, to_unit: str) -> None:
    now = now_utc()
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            world.user(from_unit, "staff"), case_id, "transfer", to_unit, "bukan wewenang kami", now
        )
    with unit_of_work():
        handoff_service.accept_handoff(world.user(to_unit, "liaison"), handoff.id, now)


def bounced_events(case_id: int) -> list[CaseEvent]:
    return [e for e in events_of(case_id) if e.type == "case.bounced"]


def test_bounced_after_the_limit_of_moves_and_cleared_by_a_managers_reassignment(
    world: World, app: Any
) -> None:
    assert app.config["COORD_BOUNCE_LIMIT"] == 3
    case = make_case(world)
    _move(world, case.id, "kel-a1", "dinas-pu")
    _move(world, case.id, "dinas-pu", "dlh")
    two = fresh_case(case.id)
    assert (two.ownership_moves, two.bounced, bounced_events(case.id)) == (2, False, [])
    _move(world, case.id, "dlh", "kel-a2")
    three = fresh_case(case.id)
    assert (three.ownership_moves, three.bounced, three.owner_unit.code) == (3, True, "kel-a2")
    assert len(bounced_events(case.id)) == 1
    assert bounced_events(case.id)[0].changes["bounced"] == [False, True]

    _move(world, case.id, "kel-a2", "dinas-pu")
    assert fresh_case(case.id).bounced is True
    assert len(bounced_events(case.id)) == 1, "a bounced case is flagged once"

    staff_attempt_before = snapshot(case.id)
    with pytest.raises(Forbidden), unit_of_work():
        case_service.assign_case(
            world.user("dinas-pu", "staff"), case.id, None, now_utc(), owner_unit="kel-a1"
        )
    assert_nothing_written(case.id, staff_attempt_before)

    with unit_of_work():
        case_service.assign_case(
            world.user("camat-a", "manager"),
            case.id,
            None,
            now_utc(),
            owner_unit="kel-a1",
            note="Kelurahan yang menangani",
        )
    decided = fresh_case(case.id)
    assert (decided.bounced, decided.owner_unit.code, decided.status) == (
        False,
        "kel-a1",
        "in_progress",
    )
    event = events_of(case.id)[-1]
    assert event.type == "case.reassigned"
    assert event.changes["bounced"] == [True, False]
    assert event.changes["owner_unit"] == ["dinas-pu", "kel-a1"]

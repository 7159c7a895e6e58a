"""Handoff commands through ``unit_of_work``: transfers move ownership only when accepted,
rejections and recalls give the case back as it was, assists leave owner and status alone,
and every action in a state that forbids it is a 409 that writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from coord.clock import now_utc
from coord.extensions import db
from coord.models import Case, CaseEvent, Handoff
from coord.services import case_records
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from coord.services.uow import unit_of_work
from tests.factories import World, case_in_status, make_case


def request(
    world: World, case_id: int, kind: str, to_unit: str = "dinas-pu", from_unit: str = "kel-a1"
) -> Handoff:
    with unit_of_work():
        return handoff_service.request_handoff(
            world.user(from_unit, "staff"),
            case_id,
            kind,
            to_unit,
            "mohon ditindaklanjuti",
            now_utc(),
        )


def accept(world: World, handoff_id: int, unit: str = "dinas-pu") -> Handoff:
    with unit_of_work():
        return handoff_service.accept_handoff(world.user(unit, "liaison"), handoff_id, now_utc())


def reject(
    world: World,
    handoff_id: int,
    unit: str = "dinas-pu",
    reason: Any = "not_our_jurisdiction",
    note: str | None = None,
) -> Handoff:
    with unit_of_work():
        return handoff_service.reject_handoff(
            world.user(unit, "liaison"), handoff_id, reason, now_utc(), note=note
        )


def recall(world: World, handoff_id: int, unit: str = "kel-a1") -> Handoff:
    with unit_of_work():
        return handoff_service.recall_handoff(world.user(unit, "staff"), handoff_id, now_utc())


def complete(world: World, handoff_id: int, unit: str = "dinas-pu") -> Handoff:
    with unit_of_work():
        return handoff_service.complete_handoff(
            world.user(unit, "staff"), handoff_id, "sudah dibantu", now_utc()
        )


ACTIONS = {"accept": accept, "reject": reject, "recall": recall, "complete": complete}


def state(case_id: int, handoff_id: int | None = None) -> dict[str, Any]:
    """Everything a refused action must leave alone."""
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case is not None
    handoff = db.session.get(Handoff, handoff_id) if handoff_id else None
    return {
        "case": (
            case.status,
            case.version,
            case.owner_unit_id,
            case.status_before_transfer,
            case.ownership_moves,
        ),
        "handoff": (handoff.status, handoff.version, handoff.acted_at) if handoff else None,
        "events": [
            (e.id, e.type)
            for e in db.session.execute(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
            ).scalars()
        ],
    }


def last_event(case_id: int) -> CaseEvent:
    db.session.expire_all()
    return db.session.execute(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id.desc()).limit(1)
    ).scalar_one()


def test_transfer_accept_moves_ownership_and_starts_work(world: World) -> None:
    case = case_in_status(world, "new")
    handoff = request(world, case.id, "transfer")
    pending = state(case.id, handoff.id)
    assert pending["case"][0] == "pending_transfer"
    assert pending["case"][2] == world.units["kel-a1"].id, "ownership moves only on accept"
    assert pending["case"][3] == "new"
    assert last_event(case.id).type == "handoff.requested"

    accepted = accept(world, handoff.id)
    assert accepted.status == "accepted" and accepted.acted_at is not None
    moved = db.session.get(Case, case.id)
    assert (
        moved.status,
        moved.owner_unit.code,
        moved.status_before_transfer,
        moved.ownership_moves,
        moved.assignee_id,
    ) == ("in_progress", "dinas-pu", None, 1, None)
    event = last_event(case.id)
    assert event.type == "handoff.accepted" and event.handoff_id == handoff.id
    assert event.changes["owner_unit"] == ["kel-a1", "dinas-pu"]
    assert event.changes["case_status"] == ["pending_transfer", "in_progress"]
    # The new owner works the case; the old owner can still read it but no longer act on it.
    assert case_records.load_case(world.user("kel-a1", "staff"), case.id).id == case.id
    with pytest.raises(Forbidden), unit_of_work():
        case_service.hold_case(world.user("kel-a1", "staff"), case.id, "menunggu", now_utc())
    with unit_of_work():
        case_service.hold_case(world.user("dinas-pu", "staff"), case.id, "menunggu", now_utc())
    assert db.session.get(Case, case.id).status == "on_hold"


def test_reject_or_recall_returns_the_case_to_its_previous_status(world: World) -> None:
    for how in ("reject", "recall"):
        for previous in ("new", "in_progress"):
            case = case_in_status(world, previous)
            handoff = request(world, case.id, "transfer")
            assert state(case.id)["case"][0] == "pending_transfer"
            if how == "reject":
                done = reject(
                    world, handoff.id, reason="incomplete_information", note="foto kurang jelas"
                )
                assert (done.status, done.reject_reason, done.reject_note) == (
                    "rejected",
                    "incomplete_information",
                    "foto kurang jelas",
                )
            else:
                done = recall(world, handoff.id)
                assert done.status == "recalled"
            after = state(case.id)["case"]
            assert after[0] == previous, (how, previous)
            assert after[2] == world.units["kel-a1"].id and after[3] is None and after[4] == 0
            event = last_event(case.id)
            assert event.type == f"handoff.{done.status}"
            assert event.changes["case_status"] == ["pending_transfer", previous]
            # The case can be forwarded again, somewhere else.
            assert request(world, case.id, "transfer", to_unit="dlh").status == "pending"


def test_reject_needs_a_known_reason_and_a_note_for_other(world: World) -> None:
    case = case_in_status(world, "in_progress")
    handoff = request(world, case.id, "transfer")
    before = state(case.id, handoff.id)
    for reason, note, field in (
        (None, None, "reason"),
        ("", None, "reason"),
        ("bosan", None, "reason"),
        ("other", None, "note"),
        ("other", "   ", "note"),
    ):
        with pytest.raises(InvalidInput) as bad:
            reject(world, handoff.id, reason=reason, note=note)
        assert bad.value.status == 422
        assert field in bad.value.errors, (reason, note, bad.value.errors)
        assert state(case.id, handoff.id) == before, (reason, note)
    done = reject(world, handoff.id, reason="other", note="sudah ditangani kelurahan lain")
    assert (done.status, done.reject_reason) == ("rejected", "other")


def test_assist_keeps_owner_and_status(world: World) -> None:
    for status in ("new", "in_progress", "on_hold"):
        case = case_in_status(world, status)
        handoff = request(world, case.id, "assist")
        assert handoff.kind == "assist" and handoff.status == "pending"
        accept(world, handoff.id)
        after = state(case.id)["case"]
        assert (after[0], after[2], after[4]) == (status, world.units["kel-a1"].id, 0)
        event = last_event(case.id)
        assert event.type == "handoff.accepted" and "owner_unit" not in event.changes
        finished = complete(world, handoff.id)
        assert finished.status == "completed" and finished.completion_note == "sudah dibantu"
        assert state(case.id)["case"][0] == status
        assert last_event(case.id).type == "handoff.completed"


def test_the_assisting_unit_may_read_the_case_and_comment(world: World) -> None:
    case = case_in_status(world, "in_progress")
    handoff = request(world, case.id, "assist")
    accept(world, handoff.id)
    helper = world.user("dinas-pu", "staff")
    assert case_records.load_case(helper, case.id).id == case.id
    with unit_of_work():
        case_service.comment_on_case(helper, case.id, "tim sudah ke lokasi", "internal", now_utc())
    with pytest.raises(Forbidden), unit_of_work():
        case_service.resolve_case(helper, case.id, "selesai", now_utc())


def test_complete_only_for_an_accepted_assist(world: World) -> None:
    case = case_in_status(world, "in_progress")
    assist = request(world, case.id, "assist")
    before = state(case.id, assist.id)
    with pytest.raises(Conflict) as refused:
        complete(world, assist.id)
    assert refused.value.status == 409 and "pending" in refused.value.message
    assert state(case.id, assist.id) == before

    transfer = request(world, case.id, "transfer", to_unit="dlh")
    accept(world, transfer.id, unit="dlh")
    before = state(case.id, transfer.id)
    with pytest.raises(Conflict) as refused:
        complete(world, transfer.id, unit="dlh")
    assert refused.value.status == 409
    assert state(case.id, transfer.id) == before


def test_a_second_open_assist_to_the_same_unit_is_refused(world: World) -> None:
    case = case_in_status(world, "in_progress")
    first = request(world, case.id, "assist")
    before = state(case.id, first.id)
    with pytest.raises(Conflict) as refused:
        request(world, case.id, "assist")
    assert refused.value.status == 409 and "Dinas PU" in refused.value.message
    assert state(case.id, first.id) == before
    accept(world, first.id)
    with pytest.raises(Conflict):
        request(world, case.id, "assist")
    # Another unit may be asked at the same time; the same unit again once the first is done.
    assert request(world, case.id, "assist", to_unit="dlh").status == "pending"
    complete(world, first.id)
    assert request(world, case.id, "assist").status == "pending"


def test_a_handoff_to_the_owner_itself_or_an_unknown_unit_is_invalid_input(world: World) -> None:
    case = case_in_status(world, "in_progress")
    before = state(case.id)
    for kind in ("transfer", "assist"):
        with pytest.raises(InvalidInput) as bad:
            request(world, case.id, kind, to_unit="kel-a1")
        assert bad.value.status == 422 and "to_unit" in bad.value.errors
        with pytest.raises(InvalidInput) as unknown:
            request(world, case.id, kind, to_unit="dinas-tidak-ada")
        assert "to_unit" in unknown.value.errors
        assert state(case.id) == before


def test_forwarding_is_refused_unless_new_or_in_progress(world: World) -> None:
    for status in ("pending_transfer", "on_hold", "resolved", "closed", "cancelled"):
        case = case_in_status(world, status)
        before = state(case.id)
        with pytest.raises(Conflict) as refused:
            request(world, case.id, "transfer", to_unit="dlh")
        assert refused.value.status == 409 and status in refused.value.message, status
        assert state(case.id) == before


def _handoff_in(world: World, kind: str, status: str) -> tuple[int, int]:
    case = case_in_status(world, "in_progress")
    handoff = request(world, case.id, kind)
    if status in ("accepted", "completed"):
        accept(world, handoff.id)
    if status == "completed":
        complete(world, handoff.id)
    if status == "rejected":
        reject(world, handoff.id)
    if status == "recalled":
        recall(world, handoff.id)
    assert state(case.id, handoff.id)["handoff"][0] == status
    return case.id, handoff.id


# kind -> action -> the handoff states that allow it (DESIGN.md section 4).
ALLOWED = {
    "transfer": {
        "accept": {"pending"},
        "reject": {"pending"},
        "recall": {"pending"},
        "complete": set(),
    },
    "assist": {
        "accept": {"pending"},
        "reject": {"pending"},
        "recall": {"pending", "accepted"},
        "complete": {"accepted"},
    },
}
STATES = {
    "transfer": ["pending", "accepted", "rejected", "recalled"],
    "assist": ["pending", "accepted", "rejected", "recalled", "completed"],
}


@pytest.mark.parametrize("kind", ["transfer", "assist"])
def test_every_handoff_action_in_every_state(world: World, kind: str) -> None:
    """Refusals change nothing, so one handoff per state takes all of them; each allowed
    action gets a fresh handoff in that state."""
    expected_after = {
        "accept": "accepted",
        "reject": "rejected",
        "recall": "recalled",
        "complete": "completed",
    }
    problems = []
    for status in STATES[kind]:
        case_id, handoff_id = _handoff_in(world, kind, status)
        before = state(case_id, handoff_id)
        for action, run in ACTIONS.items():
            if status in ALLOWED[kind][action]:
                continue
            try:
                run(world, handoff_id)
            except Conflict as refused:
                if refused.status != 409:
                    problems.append(f"{kind} {action} in {status}: status {refused.status}")
                if (kind == "assist" or action != "complete") and status not in refused.message:
                    problems.append(f"{kind} {action} in {status}: {refused.message!r}")
            else:
                problems.append(f"{kind} {action} in {status}: allowed, expected 409")
                break
            if state(case_id, handoff_id) != before:
                problems.append(f"{kind} {action} in {status}: refused but something changed")
                break
        for action, run in ACTIONS.items():
            if status not in ALLOWED[kind][action]:
                continue
            case_id, handoff_id = _handoff_in(world, kind, status)
            run(world, handoff_id)
            got = state(case_id, handoff_id)["handoff"][0]
            if got != expected_after[action]:
                problems.append(f"{kind} {action} in {status}: became {got}")
    assert problems == []


def test_who_may_act_on_a_handoff(world: World) -> None:
    case = case_in_status(world, "in_progress")
    handoff = request(world, case.id, "transfer")
    before = state(case.id, handoff.id)
    now = now_utc()
    attempts = [
        # staff of the receiving unit may not answer for it
        (
            Forbidden,
            lambda: handoff_service.accept_handoff(
                world.user("dinas-pu", "staff"), handoff.id, now
            ),
        ),
        (
            Forbidden,
            lambda: handoff_service.reject_handoff(
                world.user("dinas-pu", "staff"), handoff.id, "other", now, note="x"
            ),
        ),
        # the sender cannot accept its own request
        (
            Forbidden,
            lambda: handoff_service.accept_handoff(
                world.user("kel-a1", "liaison"), handoff.id, now
            ),
        ),
        # the receiver cannot recall what it was sent
        (
            Forbidden,
            lambda: handoff_service.recall_handoff(
                world.user("dinas-pu", "liaison"), handoff.id, now
            ),
        ),
        # a unit that is not party to it does not see it
        (
            NotFound,
            lambda: handoff_service.accept_handoff(world.user("dlh", "liaison"), handoff.id, now),
        ),
        (
            NotFound,
            lambda: handoff_service.accept_handoff(world.user("dlh", "liaison"), 10**12, now),
        ),
    ]
    for error, attempt in attempts:
        with pytest.raises(error), unit_of_work():
            attempt()
        assert state(case.id, handoff.id) == before
    # a manager of the receiving unit may answer for it
    with unit_of_work():
        handoff_service.accept_handoff(world.user("dinas-pu", "manager"), handoff.id, now)
    assert state(case.id, handoff.id)["handoff"][0] == "accepted"


def test_the_new_owner_may_withdraw_an_assist_its_predecessor_asked_for(world: World) -> None:
    """DESIGN.md section 4: a case cannot be resolved while an assist is open "unless the owner
    withdraws it". After a transfer the owner is the receiving unit, and it must be able to."""
    case = case_in_status(world, "in_progress")
    assist = request(world, case.id, "assist", to_unit="dinas-pu")
    transfer = request(world, case.id, "transfer", to_unit="dlh")
    accept(world, transfer.id, unit="dlh")
    assert state(case.id)["case"][2] == world.units["dlh"].id
    with pytest.raises(Conflict), unit_of_work():
        case_service.resolve_case(world.user("dlh", "staff"), case.id, "selesai", now_utc())
    recall(world, assist.id, unit="dlh")
    assert state(case.id, assist.id)["handoff"][0] == "recalled"
    with unit_of_work():
        case_service.resolve_case(world.user("dlh", "staff"), case.id, "selesai", now_utc())
    assert state(case.id)["case"][0] == "resolved"


def test_only_the_owner_may_forward(world: World) -> None:
    case = make_case(world)
    before = state(case.id)
    with pytest.raises(NotFound), unit_of_work():
        handoff_service.request_handoff(
            world.user("dlh", "staff"), case.id, "transfer", "dinas-pu", None, now_utc()
        )
    with pytest.raises(Forbidden), unit_of_work():
        handoff_service.request_handoff(
            world.user("camat-a", "manager"), case.id, "transfer", "dinas-pu", None, now_utc()
        )
    assert state(case.id) == before

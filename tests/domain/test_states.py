"""The case and handoff state tables against DESIGN.md section 4, written out here by hand.

Every (action, status) pair is checked: an allowed pair gives the documented target, a refused
one raises ``TransitionRefused`` naming the current state (the API shows that message on 409).
"""

from __future__ import annotations

import itertools

import pytest

from coord.domain.states import (
    CASE_ACTIONS,
    CASE_TRANSITIONS,
    HANDOFF_TRANSITIONS,
    CaseStatus,
    HandoffStatus,
    TransitionRefused,
    case_actions_allowed,
    case_transition,
    handoff_transition,
)

NEW, IN_PROGRESS, PENDING_TRANSFER, ON_HOLD, RESOLVED, CLOSED, CANCELLED = (
    "new",
    "in_progress",
    "pending_transfer",
    "on_hold",
    "resolved",
    "closed",
    "cancelled",
)
BACK = "<status before the transfer>"
ALL_CASE = [NEW, IN_PROGRESS, PENDING_TRANSFER, ON_HOLD, RESOLVED, CLOSED, CANCELLED]

# DESIGN.md section 4, row by row: action -> {from: to}. Anything missing must be refused.
EXPECTED_CASE: dict[str, dict[str, str]] = {
    # "new | start / assign | in_progress"; assigning another person while the work goes on
    # keeps the case in progress.
    "start": {NEW: IN_PROGRESS},
    "assign": {NEW: IN_PROGRESS, IN_PROGRESS: IN_PROGRESS},
    "forward": {NEW: PENDING_TRANSFER, IN_PROGRESS: PENDING_TRANSFER},
    "transfer_accepted": {PENDING_TRANSFER: IN_PROGRESS},
    "transfer_rejected": {PENDING_TRANSFER: BACK},
    "transfer_recalled": {PENDING_TRANSFER: BACK},
    "hold": {IN_PROGRESS: ON_HOLD},
    "resume": {ON_HOLD: IN_PROGRESS},
    "resolve": {NEW: RESOLVED, IN_PROGRESS: RESOLVED},
    "reopen": {RESOLVED: IN_PROGRESS},
    "close": {RESOLVED: CLOSED},
    "cancel": {NEW: CANCELLED, IN_PROGRESS: CANCELLED, ON_HOLD: CANCELLED},
    # Assists leave the status alone and need a case its owner is still working.
    "request_assist": {NEW: NEW, IN_PROGRESS: IN_PROGRESS, ON_HOLD: ON_HOLD},
    # Comments: every state except the final ones (closed, cancelled).
    "comment": {s: s for s in (NEW, IN_PROGRESS, PENDING_TRANSFER, ON_HOLD, RESOLVED)},
    # A jurisdiction manager moves ownership (the bounced-case decision) of an open case.
    "reassign": {NEW: IN_PROGRESS, IN_PROGRESS: IN_PROGRESS, ON_HOLD: ON_HOLD},
    # Details can be edited while the case is open.
    "edit": {s: s for s in (NEW, IN_PROGRESS, PENDING_TRANSFER, ON_HOLD)},
}

PENDING, ACCEPTED, REJECTED, RECALLED, COMPLETED = (
    "pending",
    "accepted",
    "rejected",
    "recalled",
    "completed",
)
ALL_HANDOFF = [PENDING, ACCEPTED, REJECTED, RECALLED, COMPLETED]

# Handoff: pending -> accepted | rejected | recalled; an accepted assist goes on to completed;
# the owner may withdraw an assist it no longer needs, pending or accepted.
EXPECTED_HANDOFF: dict[str, dict[str, str]] = {
    "accept": {PENDING: ACCEPTED},
    "reject": {PENDING: REJECTED},
    "recall": {PENDING: RECALLED},
    "complete": {ACCEPTED: COMPLETED},
    "withdraw": {PENDING: RECALLED, ACCEPTED: RECALLED},
}


def test_the_tables_cover_exactly_the_documented_actions_and_states() -> None:
    assert set(CASE_TRANSITIONS) == set(EXPECTED_CASE)
    assert set(HANDOFF_TRANSITIONS) == set(EXPECTED_HANDOFF)
    assert {s.value for s in CaseStatus} == set(ALL_CASE)
    assert {s.value for s in HandoffStatus} == set(ALL_HANDOFF)
    assert set(CASE_ACTIONS) == {
        "start",
        "assign",
        "hold",
        "resume",
        "resolve",
        "reopen",
        "close",
        "cancel",
    }


@pytest.mark.parametrize(("action", "status"), list(itertools.product(EXPECTED_CASE, ALL_CASE)))
def test_case_transition(action: str, status: str) -> None:
    expected = EXPECTED_CASE[action].get(status)
    if expected is None:
        with pytest.raises(TransitionRefused) as refused:
            case_transition(action, CaseStatus(status), CaseStatus.IN_PROGRESS)
        assert refused.value.current == status
        assert f"that is {status};" in str(refused.value)
        assert refused.value.subject == "case"
        return
    if expected == BACK:
        for before in (NEW, IN_PROGRESS):
            assert case_transition(action, CaseStatus(status), CaseStatus(before)) == before
        return
    assert case_transition(action, CaseStatus(status)) == expected


@pytest.mark.parametrize("action", ["transfer_rejected", "transfer_recalled"])
def test_going_back_without_a_remembered_status_is_refused(action: str) -> None:
    with pytest.raises(TransitionRefused) as refused:
        case_transition(action, CaseStatus.PENDING_TRANSFER, None)
    assert "pending_transfer" in str(refused.value)


def test_the_refusal_names_the_states_that_would_allow_it() -> None:
    with pytest.raises(TransitionRefused) as refused:
        case_transition("resume", CaseStatus.CLOSED)
    message = str(refused.value)
    assert "closed" in message and "allowed only when on_hold" in message


@pytest.mark.parametrize(
    ("action", "status"), list(itertools.product(EXPECTED_HANDOFF, ALL_HANDOFF))
)
def test_handoff_transition(action: str, status: str) -> None:
    expected = EXPECTED_HANDOFF[action].get(status)
    if expected is None:
        with pytest.raises(TransitionRefused) as refused:
            handoff_transition(action, HandoffStatus(status))
        assert refused.value.current == status
        assert refused.value.subject == "handoff"
        assert f"a handoff that is {status};" in str(refused.value)
        return
    assert handoff_transition(action, HandoffStatus(status)) == expected


@pytest.mark.parametrize("status", ALL_CASE)
def test_allowed_public_actions_per_status(status: str) -> None:
    """What the UI offers for a case is what the table allows, in the documented order."""
    expected = [
        a
        for a in ("start", "assign", "hold", "resume", "resolve", "reopen", "close", "cancel")
        if status in EXPECTED_CASE[a]
    ]
    assert case_actions_allowed(CaseStatus(status)) == expected


def test_unknown_status_is_not_silently_accepted() -> None:
    with pytest.raises(ValueError):
        case_transition("start", "archived")  # type: ignore[arg-type]

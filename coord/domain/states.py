"""Case and handoff state machines (DESIGN.md section 4) as data.

Pure Python: no Flask, no database. Services ask ``case_transition`` / ``handoff_transition``
for the target state; anything not in the tables is refused with the current state named.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CaseStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    PENDING_TRANSFER = "pending_transfer"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class HandoffStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    RECALLED = "recalled"
    COMPLETED = "completed"


class HandoffKind(StrEnum):
    TRANSFER = "transfer"
    ASSIST = "assist"


class RejectReason(StrEnum):
    NOT_OUR_JURISDICTION = "not_our_jurisdiction"
    INCOMPLETE_INFORMATION = "incomplete_information"
    DUPLICATE = "duplicate"
    OTHER = "other"


OPEN_CASE_STATUSES = frozenset(
    {CaseStatus.NEW, CaseStatus.IN_PROGRESS, CaseStatus.PENDING_TRANSFER, CaseStatus.ON_HOLD}
)

# Sentinel target: "back to the status the case had before the transfer was requested".
PREVIOUS = "previous"

S = CaseStatus

# action -> {from status: to status}
CASE_TRANSITIONS: dict[str, dict[CaseStatus, str]] = {
    "start": {S.NEW: S.IN_PROGRESS},
    "assign": {S.NEW: S.IN_PROGRESS, S.IN_PROGRESS: S.IN_PROGRESS},
    "forward": {S.NEW: S.PENDING_TRANSFER, S.IN_PROGRESS: S.PENDING_TRANSFER},
    "transfer_accepted": {S.PENDING_TRANSFER: S.IN_PROGRESS},
    "transfer_rejected": {S.PENDING_TRANSFER: PREVIOUS},
    "transfer_recalled": {S.PENDING_TRANSFER: PREVIOUS},
    "hold": {S.IN_PROGRESS: S.ON_HOLD},
    "resume": {S.ON_HOLD: S.IN_PROGRESS},
    "resolve": {S.NEW: S.RESOLVED, S.IN_PROGRESS: S.RESOLVED},
    "reopen": {S.RESOLVED: S.IN_PROGRESS},
    "close": {S.RESOLVED: S.CLOSED},
    "cancel": {S.NEW: S.CANCELLED, S.IN_PROGRESS: S.CANCELLED, S.ON_HOLD: S.CANCELLED},
    # Assistance requests leave the status alone but need a case that is still being worked.
    "request_assist": {
        S.NEW: S.NEW,
        S.IN_PROGRESS: S.IN_PROGRESS,
        S.ON_HOLD: S.ON_HOLD,
    },
    # Comments are allowed in every state except the final ones.
    "comment": {s: s for s in CaseStatus if s not in (S.CLOSED, S.CANCELLED)},
    # Manager reassignment of the owner unit (decides bounced cases).
    "reassign": {S.NEW: S.IN_PROGRESS, S.IN_PROGRESS: S.IN_PROGRESS, S.ON_HOLD: S.ON_HOLD},
    # Editing details (title, description, category, priority, location).
    "edit": {
        S.NEW: S.NEW,
        S.IN_PROGRESS: S.IN_PROGRESS,
        S.ON_HOLD: S.ON_HOLD,
        S.PENDING_TRANSFER: S.PENDING_TRANSFER,
    },
}

H = HandoffStatus
HANDOFF_TRANSITIONS: dict[str, dict[HandoffStatus, HandoffStatus]] = {
    "accept": {H.PENDING: H.ACCEPTED},
    "reject": {H.PENDING: H.REJECTED},
    "recall": {H.PENDING: H.RECALLED},
    "complete": {H.ACCEPTED: H.COMPLETED},
    # The owner withdraws an assist it no longer needs (pending or accepted).
    "withdraw": {H.PENDING: H.RECALLED, H.ACCEPTED: H.RECALLED},
}

CASE_ACTIONS = ("start", "assign", "hold", "resume", "resolve", "reopen", "close", "cancel")
HANDOFF_ACTIONS = ("accept", "reject", "recall", "complete")


@dataclass(eq=False)  # not frozen: raising sets __traceback__, __context__ and __notes__
class TransitionRefused(Exception):
    """An action the current state forbids; the services turn it into a 409 conflict."""

    subject: str
    action: str
    current: str
    allowed_from: tuple[str, ...]

    def __str__(self) -> str:
        allowed = ", ".join(self.allowed_from) or "no state"
        return (
            f"Cannot {self.action.replace('_', ' ')} a {self.subject} that is {self.current}; "
            f"allowed only when {allowed}."
        )


def case_transition(
    action: str, current: CaseStatus, previous: CaseStatus | None = None
) -> CaseStatus:
    """Return the status after ``action`` or raise ``TransitionRefused``."""
    table = CASE_TRANSITIONS[action]
    current = CaseStatus(current)
    if current not in table:
        raise TransitionRefused("case", action, current.value, tuple(s.value for s in table))
    target = table[current]
    if target == PREVIOUS:
        if previous is None:
            raise TransitionRefused("case", action, current.value, ())
        return CaseStatus(previous)
    return CaseStatus(target)


def handoff_transition(action: str, current: HandoffStatus) -> HandoffStatus:
    table = HANDOFF_TRANSITIONS[action]
    current = HandoffStatus(current)
    if current not in table:
        raise TransitionRefused("handoff", action, current.value, tuple(s.value for s in table))
    return table[current]


def case_actions_allowed(current: CaseStatus) -> list[str]:
    """The public case actions the state allows (the UI shows only these)."""
    return [a for a in CASE_ACTIONS if CaseStatus(current) in CASE_TRANSITIONS[a]]

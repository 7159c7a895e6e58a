"""Apply the pure state table to a case row."""

from __future__ import annotations

from coord.domain.states import CaseStatus, TransitionRefused, case_transition
from coord.models import Case
from coord.services.errors import Conflict


class TransitionConflict(Conflict):
    def __init__(self, refused: TransitionRefused) -> None:
        super().__init__(str(refused), {"status": [refused.current]})
        self.current = refused.current


def apply_case_transition(case: Case, action: str) -> CaseStatus:
    """Move ``case`` to the status the table gives for ``action`` or raise a 409 conflict."""
    previous = CaseStatus(case.status_before_transfer) if case.status_before_transfer else None
    try:
        target = case_transition(action, CaseStatus(case.status), previous)
    except TransitionRefused as refused:
        raise TransitionConflict(refused) from refused
    case.status = target.value
    return target

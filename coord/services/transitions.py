"""Apply the pure state table to a case row."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from coord.domain.states import CaseStatus, TransitionRefused, case_transition
from coord.labels import STATUS
from coord.models import Case
from coord.services.errors import Conflict


class TransitionConflict(Conflict):
    def __init__(self, refused: TransitionRefused) -> None:
        super().__init__(
            str(refused),
            {"status": [refused.current]},
            text=_l(
                'Tindakan itu tidak dapat dilakukan: keadaannya sekarang "%(status)s". '
                "Muat ulang halaman untuk melihat tindakan yang tersedia.",
                status=STATUS.get(refused.current, refused.current),
            ),
        )
        self.current = refused.current


def check_case_transition(case: Case, action: str) -> CaseStatus:
    """The status ``action`` would lead ``case`` to, or a 409 conflict naming its state.

    Services never let the domain's ``TransitionRefused`` escape: only ``ServiceError``s
    become HTTP answers; anything else is an internal error."""
    previous = CaseStatus(case.status_before_transfer) if case.status_before_transfer else None
    try:
        return case_transition(action, CaseStatus(case.status), previous)
    except TransitionRefused as refused:
        raise TransitionConflict(refused) from refused


def apply_case_transition(case: Case, action: str) -> CaseStatus:
    """Move ``case`` to the status the table gives for ``action`` or raise a 409 conflict."""
    target = check_case_transition(case, action)
    case.status = target.value
    return target

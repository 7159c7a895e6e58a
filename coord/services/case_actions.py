"""Every case action and handoff action by name, for the API and the staff pages alike.

``CASE_COMMANDS`` and ``HANDOFF_COMMANDS`` are the one table of which service function runs
an action and which fields of the request it reads; ``run_case_action`` and
``run_handoff_action`` look the action up and call it. The HTTP layers only turn their input
(a JSON body, a form) into a ``payload`` dict and the result into a response. A new action is
a row here (see docs/decisions.md, "Layers").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coord.domain.states import CASE_ACTIONS, HANDOFF_ACTIONS
from coord.models import Case, Handoff
from coord.services import cases, handoffs
from coord.services.errors import InvalidInput
from coord.services.policy import Actor


class MissingFields(InvalidInput):
    """An action sent without a field it needs (422, before anything is loaded). The pages
    word it in Indonesian from ``fields``."""

    def __init__(self, action: str, fields: list[str]) -> None:
        super().__init__(
            f"'{action}' needs: {', '.join(fields)}.",
            {f: ["required for " + action] for f in fields},
        )
        self.action = action
        self.fields = fields


@dataclass(frozen=True)
class Command:
    """How an action calls its service function: ``fn(actor, id, *fields, now, **options)``.

    ``fields`` are passed by position between the id and ``now``, ``options`` by keyword;
    ``required`` fields must be non-empty in the payload."""

    fn: Callable[..., Any]
    fields: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    @property
    def reads(self) -> frozenset[str]:
        """Every payload field the action reads."""
        return frozenset(self.fields + self.options)

    def __call__(
        self, actor: Actor, target_id: int, payload: Mapping[str, Any], now: datetime, **kw: Any
    ) -> Any:
        args = [payload.get(name) for name in self.fields]
        options = {name: payload.get(name) for name in self.options}
        return self.fn(actor, target_id, *args, now, **options, **kw)


CASE_COMMANDS: dict[str, Command] = {
    "start": Command(cases.start_case),
    # With ``owner_unit`` (even blank) it is a manager's reassignment to another unit.
    "assign": Command(cases.assign_case, ("assignee_id",), ("owner_unit", "note")),
    "hold": Command(cases.hold_case, ("reason",), required=("reason",)),
    "resume": Command(cases.resume_case),
    "resolve": Command(cases.resolve_case, ("note",), required=("note",)),
    "reopen": Command(cases.reopen_case, ("reason",), required=("reason",)),
    "close": Command(cases.close_case, options=("note",)),
    "cancel": Command(
        cases.cancel_case, ("reason",), ("note", "duplicate_of"), required=("reason",)
    ),
}

HANDOFF_COMMANDS: dict[str, Command] = {
    "accept": Command(handoffs.accept_handoff, options=("note",)),
    "reject": Command(handoffs.reject_handoff, ("reason",), ("note",)),
    "recall": Command(handoffs.recall_handoff, options=("note",)),
    "complete": Command(handoffs.complete_handoff, ("note",)),
}

assert tuple(CASE_COMMANDS) == CASE_ACTIONS
assert tuple(HANDOFF_COMMANDS) == HANDOFF_ACTIONS


def _command(table: dict[str, Command], action: str, payload: Mapping[str, Any]) -> Command:
    command = table.get(action)
    if command is None:
        raise InvalidInput.field("action", f"one of {', '.join(table)}")
    missing = [name for name in command.required if not payload.get(name)]
    if missing:
        raise MissingFields(action, missing)
    return command


def run_case_action(
    actor: Actor,
    case_id: int,
    action: str,
    payload: Mapping[str, Any],
    now: datetime,
    *,
    expected_version: int | None = None,
) -> Case:
    """Run the case action ``action`` (start, assign, hold, ...) with the fields of
    ``payload`` it reads; ``expected_version`` (If-Match, or the page's hidden field) makes a
    stale version a 412. Call inside ``unit_of_work``."""
    command = _command(CASE_COMMANDS, action, payload)
    case: Case = command(actor, case_id, payload, now, expected_version=expected_version)
    return case


def run_handoff_action(
    actor: Actor, handoff_id: int, action: str, payload: Mapping[str, Any], now: datetime
) -> Handoff:
    """Run the handoff action ``action`` (accept, reject, recall, complete) with the fields
    of ``payload`` it reads. Call inside ``unit_of_work``."""
    command = _command(HANDOFF_COMMANDS, action, payload)
    handoff: Handoff = command(actor, handoff_id, payload, now)
    return handoff

"""Who may read and do what: every role and unit-scope rule, in one place.

Reading is decided by ``readable_cases`` (a SQL clause, so lists stay one indexed query) and
``can_read_case``; acting by the ``CASE_RULES`` and ``HANDOFF_RULES`` tables. Something the
actor may not read is reported as not found (404), something readable but not theirs to act
on as forbidden (403).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    exists,
    false,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import aliased

from coord.extensions import db
from coord.models import (
    Case,
    CaseUnit,
    CaseUnitRole,
    Handoff,
    Region,
    ReporterPrivacy,
    Role,
    User,
)
from coord.services.errors import Forbidden, NotFound
from coord.services.uow import transaction_memo

WORK_ROLES = (Role.STAFF, Role.LIAISON, Role.MANAGER)


@dataclass(frozen=True)
class SystemActor:
    """The service itself (sweeps, automatic closing) or a citizen on a public page."""

    label: str = "system"
    unit_id: None = None
    id: None = None

    @property
    def roles(self) -> frozenset[str]:
        return frozenset()

    def has_role(self, *roles: str) -> bool:
        return False


SYSTEM = SystemActor()
Actor = User | SystemActor


def in_jurisdiction(region_column: Any, jurisdiction: str) -> ColumnElement[bool]:
    """Region codes nest by prefix: ``12.71.01`` holds ``12.71.01.1001`` (``region_column``:
    a string column or column expression)."""
    return or_(region_column == jurisdiction, region_column.like(jurisdiction + ".%"))


def region_within(region_code: str, jurisdiction: str) -> bool:
    return region_code == jurisdiction or region_code.startswith(jurisdiction + ".")


def _touched_by_unit(unit_id: int) -> ColumnElement[bool]:
    return exists().where(CaseUnit.case_id == Case.id, CaseUnit.unit_id == unit_id)


def readable_cases(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on ``Case`` for the cases ``actor`` may read."""
    if isinstance(actor, SystemActor):
        return true()
    clauses: list[ColumnElement[bool]] = []
    if actor.has_role(*WORK_ROLES):
        clauses.append(_touched_by_unit(actor.unit_id))
    if actor.has_role(Role.MANAGER):
        clauses.append(in_jurisdiction(Case.region_code, actor.unit.region_code))
    return or_(*clauses) if clauses else false()


def report_scope(actor: Actor, case_id: Any, region_code: Any | None = None) -> ColumnElement[bool]:
    """The cases ``actor`` may read, exactly as ``readable_cases``, as a condition on a case id
    column (``cases.id``, ``handoffs.case_id``, ...) and, when the case row is at hand, its
    ``region_code`` column: shaped for reports that read up to every case at once.

    - A manager whose jurisdiction holds every case there is (a city agency in a one-city
      deployment: no case lies in a region outside it, which a few index probes tell) reads
      the whole table: no condition at all, so the report's aggregates can run in parallel.
    - Otherwise, instead of one OR that the planner answers with a scan of everything, two
      id sets: the cases located in the jurisdiction and the cases the unit touched
      (``case_units``). On PostgreSQL, which enforces ``cases.region_code`` ->
      ``regions.code``, the jurisdiction is the list of its region codes (the plain index on
      ``cases.region_code`` finds their cases); SQLite, which does not enforce foreign keys,
      compares the case's own region code (``in_jurisdiction``).

    The first check is its own statement: a case outside the jurisdiction committed between
    it and the report's query (the first such case ever) could appear in that one report."""
    if isinstance(actor, SystemActor):
        return true()
    clauses: list[ColumnElement[bool]] = []
    if actor.has_role(Role.MANAGER):
        if _jurisdiction_holds_everything(actor.unit.region_code):
            return true()
        other = aliased(Case)
        located = _located(actor.unit.region_code)
        clauses.append(
            located(region_code)
            if region_code is not None
            else case_id.in_(select(other.id).where(located(other.region_code)))
        )
    if actor.has_role(*WORK_ROLES):
        touched = select(CaseUnit.case_id).where(CaseUnit.unit_id == actor.unit_id)
        clauses.append(case_id.in_(touched))
    return or_(*clauses) if clauses else false()


def cases_in_scope(
    actor: Actor, *columns: Any, where: Sequence[Any] = ()
) -> Select[Any] | CompoundSelect:
    """``SELECT columns FROM cases WHERE where`` over the cases ``actor`` may read (the rule
    of ``readable_cases`` and ``report_scope``), for a selective ``where`` such as the open
    cases: the cases located in the jurisdiction UNION those the unit touched, each set
    found through its own index (the region codes in the partial index of open cases,
    ``case_units`` by unit), so that the planner counts a few thousand rows where the OR of
    ``report_scope`` (made for reports over whole periods) looks like half the table.
    ``columns`` must include ``Case.id``: the union keeps a case found both ways once."""

    def part(*conditions: Any) -> Select[Any]:
        return select(*columns).select_from(Case).where(*where, *conditions)

    if isinstance(actor, SystemActor):
        return part()
    parts: list[Select[Any]] = []
    if actor.has_role(Role.MANAGER):
        if _jurisdiction_holds_everything(actor.unit.region_code):
            return part()
        parts.append(part(_located(actor.unit.region_code)(Case.region_code)))
    if actor.has_role(*WORK_ROLES):
        touched = select(CaseUnit.case_id).where(CaseUnit.unit_id == actor.unit_id)
        parts.append(part(Case.id.in_(touched)))
    if not parts:
        return part(false())
    return parts[0] if len(parts) == 1 else union(*parts)


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _jurisdiction_holds_everything(jurisdiction: str) -> bool:
    """No case lies outside ``jurisdiction`` (a few index probes, once per transaction)."""
    memo, key = transaction_memo(), ("jurisdiction_holds_everything", jurisdiction)
    if key not in memo:
        other = aliased(Case)
        beyond: ColumnElement[bool]
        if _is_postgres():
            outside = select(Region.code).where(~in_jurisdiction(Region.code, jurisdiction))
            beyond = other.region_code.in_(outside)
        else:
            beyond = ~in_jurisdiction(other.region_code, jurisdiction)
        memo[key] = not db.session.execute(select(select(other.id).where(beyond).exists())).scalar()
    return bool(memo[key])


def _located(jurisdiction: str) -> Callable[[Any], ColumnElement[bool]]:
    """A condition on a region code column: within ``jurisdiction``; on PostgreSQL as the
    list of its region codes (an index finds each), on SQLite by the code's prefix."""
    if _is_postgres():
        inside = select(Region.code).where(in_jurisdiction(Region.code, jurisdiction))
        return lambda column: column.in_(inside)
    return lambda column: in_jurisdiction(column, jurisdiction)


def _unit_relations(case: Case, unit_id: int) -> set[str]:
    rows = db.session.execute(
        select(CaseUnit.relation).where(CaseUnit.case_id == case.id, CaseUnit.unit_id == unit_id)
    ).scalars()
    return set(rows)


def is_jurisdiction_manager(actor: Actor, case: Case) -> bool:
    return (
        isinstance(actor, User)
        and actor.has_role(Role.MANAGER)
        and region_within(case.region_code, actor.unit.region_code)
    )


def can_read_case(actor: Actor, case: Case) -> bool:
    if isinstance(actor, SystemActor):
        return True
    if is_jurisdiction_manager(actor, case):
        return True
    if not actor.has_role(*WORK_ROLES):
        return False
    # The owner unit always reads its case: no need to ask case_units (the common path).
    return actor.unit_id == case.owner_unit_id or bool(_unit_relations(case, actor.unit_id))


def ensure_can_read(actor: Actor, case: Case | None) -> Case:
    if case is None or not can_read_case(actor, case):
        raise NotFound("No case with that id in your scope.")
    return case


def _owner_member(actor: Actor, case: Case) -> bool:
    return (
        isinstance(actor, User)
        and actor.has_role(*WORK_ROLES)
        and actor.unit_id == case.owner_unit_id
    )


def _owner_or_manager(actor: Actor, case: Case) -> bool:
    return _owner_member(actor, case) or is_jurisdiction_manager(actor, case)


def _any_worker_who_reads(actor: Actor, case: Case) -> bool:
    return isinstance(actor, User) and actor.has_role(*WORK_ROLES)  # reading already checked


def _system(actor: Actor, case: Case) -> bool:
    return isinstance(actor, SystemActor)


CaseRule = Callable[[Actor, Case], bool]

# action -> rule; "who" column of DESIGN.md section 4.
CASE_RULES: dict[str, CaseRule] = {
    "edit": _owner_member,
    "start": _owner_member,
    "assign": _owner_member,
    "hold": _owner_member,
    "resume": _owner_member,
    "resolve": _owner_member,
    "reopen": lambda a, c: _owner_member(a, c) or _system(a, c),
    "close": lambda a, c: _owner_or_manager(a, c) or _system(a, c),
    "cancel": is_jurisdiction_manager,
    "reassign": is_jurisdiction_manager,
    "comment": _any_worker_who_reads,
    "forward": _owner_member,
    "request_assist": _owner_member,
}

_WHO = {
    "cancel": "a manager whose jurisdiction holds the case",
    "reassign": "a manager whose jurisdiction holds the case",
    "close": "the owning unit or a manager of the jurisdiction",
    "comment": "staff of a unit working on the case",
}


def authorize_case(actor: Actor, action: str, case: Case) -> None:
    """Raise ``NotFound`` if ``actor`` may not read the case, ``Forbidden`` if not act."""
    ensure_can_read(actor, case)
    if not CASE_RULES[action](actor, case):
        who = _WHO.get(action, "staff of the unit that owns the case")
        raise Forbidden(f"Only {who} may {action.replace('_', ' ')} it.")


def allowed_case_actions(actor: Actor, case: Case) -> list[str]:
    """The actions ``actor`` may take on ``case`` now: allowed by the state table AND by the
    rules above. The UI shows exactly these; the API refuses the rest."""
    from coord.domain.states import CASE_TRANSITIONS, CaseStatus

    status = CaseStatus(case.status)
    names = (
        "start",
        "assign",
        "hold",
        "resume",
        "resolve",
        "reopen",
        "close",
        "cancel",
        "forward",
        "request_assist",
        "comment",
        "edit",
        "reassign",
    )
    return [
        name for name in names if status in CASE_TRANSITIONS[name] and CASE_RULES[name](actor, case)
    ]


def allowed_handoff_actions(actor: Actor, handoff: Handoff) -> list[str]:
    """The handoff actions ``actor`` may take now (state table AND the rules below)."""
    from coord.domain.states import HANDOFF_TRANSITIONS, HandoffStatus

    status = HandoffStatus(handoff.status)
    allowed = []
    for action in ("accept", "reject", "complete", "recall"):
        if action == "complete" and handoff.kind != "assist":
            continue
        table = HANDOFF_TRANSITIONS[
            "withdraw" if action == "recall" and handoff.kind == "assist" else action
        ]
        if status in table and HANDOFF_RULES[action](actor, handoff):
            allowed.append(action)
    return allowed


def _member_of(unit_id: int, *roles: str) -> Callable[[Actor], bool]:
    def check(actor: Actor) -> bool:
        return isinstance(actor, User) and actor.unit_id == unit_id and actor.has_role(*roles)

    return check


HandoffRule = Callable[[Actor, Handoff], bool]
HANDOFF_RULES: dict[str, HandoffRule] = {
    # Liaisons answer for their unit; a manager of the receiving unit may too.
    "accept": lambda a, h: _member_of(h.to_unit_id, Role.LIAISON, Role.MANAGER)(a),
    "reject": lambda a, h: _member_of(h.to_unit_id, Role.LIAISON, Role.MANAGER)(a),
    "complete": lambda a, h: _member_of(h.to_unit_id, *WORK_ROLES)(a),
    # The sender takes a request back; for an assist, the case's current owner may too (it
    # may have inherited the request with the case and needs it gone to resolve).
    "recall": lambda a, h: (
        _member_of(h.from_unit_id, *WORK_ROLES)(a)
        or (h.kind == "assist" and _member_of(h.case.owner_unit_id, *WORK_ROLES)(a))
    ),
}

_HANDOFF_WHO = {
    "accept": "a liaison of the receiving unit",
    "reject": "a liaison of the receiving unit",
    "complete": "staff of the assisting unit",
    "recall": "staff of the unit that sent it",
}


def readable_handoffs(actor: Actor) -> ColumnElement[bool]:
    """Handoffs to or from the actor's unit, plus those on cases a manager may read."""
    if isinstance(actor, SystemActor):
        return true()
    if not actor.has_role(*WORK_ROLES):
        return false()
    mine = or_(
        Handoff.to_unit_id == actor.unit_id,
        Handoff.from_unit_id == actor.unit_id,
        exists().where(Case.id == Handoff.case_id, Case.owner_unit_id == actor.unit_id),
    )
    if actor.has_role(Role.MANAGER):
        in_scope = exists().where(
            Case.id == Handoff.case_id, in_jurisdiction(Case.region_code, actor.unit.region_code)
        )
        return or_(mine, in_scope)
    return mine


def can_read_handoff(actor: Actor, handoff: Handoff) -> bool:
    if isinstance(actor, SystemActor):
        return True
    if not actor.has_role(*WORK_ROLES):
        return False
    if actor.unit_id in (handoff.to_unit_id, handoff.from_unit_id, handoff.case.owner_unit_id):
        return True
    return is_jurisdiction_manager(actor, handoff.case)


def authorize_handoff(actor: Actor, action: str, handoff: Handoff) -> None:
    if not can_read_handoff(actor, handoff):
        raise NotFound("No handoff with that id in your scope.")
    if not HANDOFF_RULES[action](actor, handoff):
        raise Forbidden(f"Only {_HANDOFF_WHO[action]} may {action} this handoff.")


def reporter_visible_case_ids(actor: Actor, cases: list[Case]) -> set[int]:
    """Ids of ``cases`` whose reporter contact data ``actor`` may see (one query per page).

    Named reporters: units that owned or recorded the case, and managers of its jurisdiction.
    Confidential reporters: only the recording unit. Anonymous: nobody (there is nothing).
    """
    if isinstance(actor, SystemActor) or not cases:
        return set()
    if not actor.has_role(*WORK_ROLES):
        return set()
    # The owner and the recording unit know from the case itself; only cases this unit owned
    # or recorded earlier need case_units.
    ids = [c.id for c in cases if actor.unit_id not in (c.owner_unit_id, c.recorded_by_unit_id)]
    owned = (
        set(
            db.session.execute(
                select(CaseUnit.case_id).where(
                    CaseUnit.case_id.in_(ids),
                    CaseUnit.unit_id == actor.unit_id,
                    CaseUnit.relation.in_([CaseUnitRole.OWNER.value, CaseUnitRole.RECORDER.value]),
                )
            ).scalars()
        )
        if ids
        else set()
    )
    visible: set[int] = set()
    for case in cases:
        if case.reporter_privacy == ReporterPrivacy.CONFIDENTIAL:
            if case.recorded_by_unit_id == actor.unit_id:
                visible.add(case.id)
        elif (
            actor.unit_id in (case.owner_unit_id, case.recorded_by_unit_id)
            or case.id in owned
            or is_jurisdiction_manager(actor, case)
        ):
            visible.add(case.id)
    return visible

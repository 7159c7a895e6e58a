"""The case lifecycle: start, assign (and the managers' reassignment), hold, resume,
resolve, reopen, close, cancel and comment. Each command locks the case, checks permission
and the state table, changes it, writes its events and flushes; ``unit_of_work`` commits.
Recording and editing a case: ``coord.services.case_intake``."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from coord.domain.states import HandoffKind, HandoffStatus
from coord.extensions import db
from coord.models import CancelReason, Case, CaseUnitRole, Handoff, User, Visibility
from coord.services import sla
from coord.services.case_records import (
    add_case_unit,
    check_version,
    load_case,
    mark_first_response,
    require_text,
    resolve_unit,
    touch,
)
from coord.services.errors import Conflict, InvalidInput
from coord.services.events import record_event
from coord.services.policy import Actor, authorize_case, can_read_case
from coord.services.transitions import apply_case_transition, check_case_transition


def start_case(
    actor: Actor, case_id: int, now: datetime, *, expected_version: int | None = None
) -> Case:
    """Owner staff start work: ``new`` -> ``in_progress``. Writes ``case.started``."""
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "start", case)
    check_version(case, expected_version)
    mark_first_response(case, actor, now)  # before any change: its clock lookup autoflushes
    apply_case_transition(case, "start")
    if case.assignee_id is None and isinstance(actor, User):
        case.assignee_id = actor.id
    touch(case, now)
    record_event(case, "case.started", actor, now, changes={"status": ["new", case.status]})
    return case


def assign_case(
    actor: Actor,
    case_id: int,
    assignee_id: int | None,
    now: datetime,
    *,
    owner_unit: str | None = None,
    note: str | None = None,
    expected_version: int | None = None,
) -> Case:
    """Assign a person of the owner unit; a jurisdiction manager may also move ownership to
    another unit (the decision on a bounced case). Writes ``case.assigned`` and, for a new
    owner, ``case.reassigned``."""
    case = load_case(actor, case_id, for_update=True)
    check_version(case, expected_version)
    if owner_unit is not None:
        return _reassign_owner(actor, case, owner_unit, assignee_id, note, now)
    authorize_case(actor, "assign", case)
    if assignee_id is None:
        raise InvalidInput.field(
            "assignee_id",
            "required unless owner_unit is given",
            _l("Pilih petugas yang ditugaskan."),
        )
    assignee = _assignee_of_unit(assignee_id, case.owner_unit_id)
    before_status = case.status
    apply_case_transition(case, "assign")
    mark_first_response(case, actor, now)
    before = case.assignee_id
    case.assignee_id = assignee.id
    touch(case, now)
    record_event(
        case,
        "case.assigned",
        actor,
        now,
        body=note,
        changes={"assignee_id": [before, assignee.id], "status": [before_status, case.status]},
    )
    return case


def _assignee_of_unit(user_id: int, unit_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.unit_id != unit_id or not user.active:
        raise InvalidInput.field(
            "assignee_id",
            "must be an active user of the unit that owns the case",
            _l("Pilih petugas aktif dari unit pemegang kasus."),
        )
    return user


def _reassign_owner(
    actor: Actor,
    case: Case,
    owner_code: str,
    assignee_id: int | None,
    note: str | None,
    now: datetime,
) -> Case:
    authorize_case(actor, "reassign", case)
    new_owner = resolve_unit(owner_code, "owner_unit")
    before_status = case.status
    apply_case_transition(case, "reassign")
    before_owner = case.owner_unit.code
    was_bounced = case.bounced
    moves_before = case.ownership_moves
    case.owner_unit = new_owner
    case.owner_unit_id = new_owner.id
    case.assignee_id = _assignee_of_unit(assignee_id, new_owner.id).id if assignee_id else None
    case.bounced = False  # the managers' decision settles the ping-pong ...
    case.ownership_moves = 0  # ... and counting starts again (the events keep the history)
    touch(case, now)
    add_case_unit(case, new_owner.id, CaseUnitRole.OWNER)
    record_event(
        case,
        "case.reassigned",
        actor,
        now,
        body=note,
        visibility=Visibility.PUBLIC,
        changes={
            "owner_unit": [before_owner, new_owner.code],
            "status": [before_status, case.status],
            "bounced": [was_bounced, False],
            "ownership_moves": [moves_before, 0],
        },
    )
    return case


def hold_case(
    actor: Actor, case_id: int, reason: str, now: datetime, *, expected_version: int | None = None
) -> Case:
    """Pause: ``in_progress`` -> ``on_hold`` with a reason; the SLA clock stops."""
    reason = require_text("reason", reason)
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "hold", case)
    check_version(case, expected_version)
    apply_case_transition(case, "hold")
    case.hold_reason = reason
    sla.pause_case_clocks(case, now)
    touch(case, now)
    record_event(
        case, "case.held", actor, now, body=reason, changes={"status": ["in_progress", "on_hold"]}
    )
    return case


def resume_case(
    actor: Actor, case_id: int, now: datetime, *, expected_version: int | None = None
) -> Case:
    """``on_hold`` -> ``in_progress``; due times move later by the paused business time."""
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "resume", case)
    check_version(case, expected_version)
    apply_case_transition(case, "resume")
    before = {"response_due_at": case.response_due_at, "resolution_due_at": case.resolution_due_at}
    paused = sla.resume_case_clocks(case, now)
    case.hold_reason = None
    touch(case, now)
    record_event(
        case,
        "case.resumed",
        actor,
        now,
        changes={
            "status": ["on_hold", "in_progress"],
            "paused_business_minutes": paused,
            "resolution_due_at": [before["resolution_due_at"], case.resolution_due_at],
            "response_due_at": [before["response_due_at"], case.response_due_at],
        },
    )
    return case


def open_assists(case: Case) -> list[Handoff]:
    return list(
        db.session.execute(
            select(Handoff).where(
                Handoff.case_id == case.id,
                Handoff.kind == HandoffKind.ASSIST.value,
                Handoff.status.in_([HandoffStatus.PENDING.value, HandoffStatus.ACCEPTED.value]),
            )
        ).scalars()
    )


def resolve_case(
    actor: Actor, case_id: int, note: str, now: datetime, *, expected_version: int | None = None
) -> Case:
    """``new``/``in_progress`` -> ``resolved`` with a resolution note. Refused while an
    assistance request is still open (complete it or withdraw it first)."""
    note = require_text("note", note)
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "resolve", case)
    check_version(case, expected_version)
    before_status = case.status
    pending = open_assists(case)
    if pending and before_status in ("new", "in_progress"):
        units = ", ".join(h.to_unit.name for h in pending)
        raise Conflict(
            f"The case still has open assistance requests ({units}); wait for them to be "
            "completed or withdraw them before resolving.",
            text=_l(
                "Masih ada permintaan bantuan yang terbuka (%(units)s). Tunggu sampai selesai "
                "atau tarik kembali sebelum menyelesaikan kasus.",
                units=units,
            ),
        )
    case.resolution_note = note
    case.resolution_count += 1
    apply_case_transition(case, "resolve")
    mark_first_response(case, actor, now)
    sla.case_resolved(case, now)
    case.resolved_at = now
    touch(case, now)
    record_event(
        case,
        "case.resolved",
        actor,
        now,
        body=note,
        changes={"status": [before_status, "resolved"]},
    )
    return case


def reopen_case(
    actor: Actor,
    case_id: int,
    reason: str,
    now: datetime,
    *,
    expected_version: int | None = None,
    event_type: str = "case.reopened",
) -> Case:
    """``resolved`` -> ``in_progress`` (owner staff, or a citizen's dispute via the system)."""
    reason = require_text("reason", reason)
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "reopen", case)
    check_version(case, expected_version)
    apply_case_transition(case, "reopen")
    previous_note = case.resolution_note
    case.resolution_note = None
    case.resolved_at = None
    sla.case_reopened(case, now)
    touch(case, now)
    record_event(
        case,
        event_type,
        actor,
        now,
        body=reason,
        visibility=Visibility.PUBLIC,
        changes={"status": ["resolved", "in_progress"], "resolution_note": [previous_note, None]},
    )
    return case


def close_case(
    actor: Actor,
    case_id: int,
    now: datetime,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> Case:
    """``resolved`` -> ``closed`` (by hand, or by the system after the dispute window)."""
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "close", case)
    check_version(case, expected_version)
    apply_case_transition(case, "close")
    case.closed_at = now
    touch(case, now)
    record_event(
        case, "case.closed", actor, now, body=note, changes={"status": ["resolved", "closed"]}
    )
    return case


def cancel_case(
    actor: Actor,
    case_id: int,
    reason: str,
    now: datetime,
    *,
    note: str | None = None,
    duplicate_of: int | None = None,
    expected_version: int | None = None,
) -> Case:
    """Managers cancel invalid, spam or duplicate cases; open assists are withdrawn."""
    if reason not in {r.value for r in CancelReason}:
        raise InvalidInput.field(
            "reason",
            f"must be one of {[r.value for r in CancelReason]}",
            _l("Pilih alasan pembatalan dari daftar."),
        )
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "cancel", case)
    check_version(case, expected_version)
    before_status = case.status
    if reason == CancelReason.DUPLICATE.value:
        if duplicate_of is None:
            raise InvalidInput.field(
                "duplicate_of",
                "name the case this one duplicates",
                _l("Tulis nomor kasus yang diduplikasi."),
            )
        original = db.session.get(Case, duplicate_of)
        if original is None or original.id == case.id or not can_read_case(actor, original):
            raise InvalidInput.field(
                "duplicate_of",
                "no such other case",
                _l("Kasus dengan nomor itu tidak ditemukan. Periksa nomornya."),
            )
        case.duplicate_of_id = original.id
    assists = open_assists(case)
    case.cancel_reason = reason
    case.cancel_note = note
    apply_case_transition(case, "cancel")
    sla.stop_clocks(case, now)
    for handoff in assists:
        handoff.status = HandoffStatus.RECALLED.value
        handoff.acted_at = now
        handoff.acted_by_id = actor.id if isinstance(actor, User) else None
        record_event(
            case,
            "handoff.recalled",
            actor,
            now,
            handoff=handoff,
            changes={"status": ["open", "recalled"], "why": "case cancelled"},
        )
    touch(case, now)
    record_event(
        case,
        "case.cancelled",
        actor,
        now,
        body=note,
        changes={"status": [before_status, "cancelled"], "reason": reason},
    )
    return case


def comment_on_case(actor: Actor, case_id: int, body: str, visibility: str, now: datetime) -> Case:
    """Any unit working on the case may comment; public comments reach the citizen."""
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "comment", case)
    check_case_transition(case, "comment")
    if visibility == Visibility.PUBLIC.value:
        mark_first_response(case, actor, now)
    touch(case, now)
    record_event(case, "case.commented", actor, now, body=body, visibility=visibility)
    return case

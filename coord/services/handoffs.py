"""Handoff commands: forward (transfer), request assistance (assist), accept, reject,
recall (or withdraw an assist) and complete. Bounce detection lives here because only an
accepted transfer moves ownership."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from coord.domain.states import (
    CaseStatus,
    HandoffKind,
    HandoffStatus,
    RejectReason,
    TransitionRefused,
    handoff_transition,
)
from coord.extensions import db
from coord.models import Case, CaseUnitRole, Handoff, User, Visibility
from coord.services import sla
from coord.services.bulk import insert_new
from coord.services.case_records import (
    add_case_unit,
    bounce_limit,
    get_case_for_update,
    load_case,
    mark_first_response,
    require_text,
    resolve_unit,
    touch,
)
from coord.services.errors import Conflict, InvalidInput, NotFound
from coord.services.events import new_event, publish_event, record_event
from coord.services.notifications import notify_bounced
from coord.services.policy import Actor, authorize_case, authorize_handoff
from coord.services.transitions import TransitionConflict, apply_case_transition


def request_handoff(
    actor: Actor, case_id: int, kind: str, to_unit_code: str, note: str | None, now: datetime
) -> Handoff:
    """Forward a case (``transfer``: ``new``/``in_progress`` -> ``pending_transfer``) or ask
    another unit for assistance (``assist``: status unchanged). Starts the receiver's
    acknowledgement clock. Writes ``handoff.requested``."""
    case = load_case(actor, case_id, for_update=True)
    action = "forward" if kind == HandoffKind.TRANSFER.value else "request_assist"
    authorize_case(actor, action, case)
    to_unit = resolve_unit(to_unit_code, "to_unit")
    if to_unit.id == case.owner_unit_id:
        raise InvalidInput.field(
            "to_unit",
            "the case is already owned by that unit",
            _l("Kasus ini sudah dipegang unit tersebut. Pilih unit lain."),
        )
    if kind == HandoffKind.ASSIST.value:
        already = db.session.execute(
            select(Handoff.id).where(
                Handoff.case_id == case.id,
                Handoff.to_unit_id == to_unit.id,
                Handoff.kind == kind,
                Handoff.status.in_([HandoffStatus.PENDING.value, HandoffStatus.ACCEPTED.value]),
            )
        ).first()
        if already is not None:
            raise Conflict(
                f"{to_unit.name} already has an open assistance request on this case.",
                text=_l(
                    "%(unit)s sudah punya permintaan bantuan yang terbuka untuk kasus ini. "
                    "Tunggu jawabannya.",
                    unit=to_unit.name,
                ),
            )
    # The clock lookup comes before any change, so that the changes flush once, together.
    mark_first_response(case, actor, now)
    before_status = case.status
    if kind == HandoffKind.TRANSFER.value:
        apply_case_transition(case, "forward")
        case.status_before_transfer = before_status
    else:
        apply_case_transition(case, "request_assist")
    touch(case, now)
    handoff = Handoff(
        case_id=case.id,
        kind=kind,
        from_unit_id=case.owner_unit_id,
        to_unit_id=to_unit.id,
        note=note,
        status=HandoffStatus.PENDING.value,
        requested_by_id=actor.id if isinstance(actor, User) else None,
        requested_at=now,
    )
    set_committed_value(handoff, "to_unit", to_unit)
    clock = sla.start_handoff_clock(handoff, case, now)
    event = new_event(
        case,
        "handoff.requested",
        actor,
        now,
        handoff=handoff,
        body=note,
        changes={
            "kind": kind,
            "to_unit": to_unit.code,
            "status": [before_status, case.status],
            "ack_due_at": handoff.ack_due_at,
        },
    )
    # The new rows with Core statements (bulk.insert_new); the case's own changes (status,
    # version, first response) are flushed at the commit.
    insert_new([handoff], [clock] if clock is not None else [], [event])
    set_committed_value(handoff, "case", case)
    add_case_unit(
        case,
        to_unit.id,
        CaseUnitRole.TRANSFER_TARGET if kind == HandoffKind.TRANSFER.value else CaseUnitRole.ASSIST,
    )
    publish_event(event)
    return handoff


def get_handoff_for_update(handoff_id: int) -> Handoff | None:
    return (
        db.session.execute(
            select(Handoff)
            .where(Handoff.id == handoff_id)
            .with_for_update(of=Handoff)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one_or_none()
    )


def _load(actor: Actor, handoff_id: int, action: str) -> tuple[Handoff, Case]:
    """Lock the case first, then the handoff: one lock order for every command."""
    case = get_case_for_update(
        select(Handoff.case_id).where(Handoff.id == handoff_id).scalar_subquery()
    )
    handoff = get_handoff_for_update(handoff_id) if case is not None else None
    if case is None or handoff is None:
        raise NotFound("No handoff with that id in your scope.")
    authorize_handoff(actor, action, handoff)
    return handoff, case


def _transition(handoff: Handoff, action: str) -> str:
    before = handoff.status
    try:
        handoff.status = handoff_transition(action, HandoffStatus(handoff.status)).value
    except TransitionRefused as refused:
        raise TransitionConflict(refused) from refused
    return before


def accept_handoff(
    actor: Actor, handoff_id: int, now: datetime, *, note: str | None = None
) -> Handoff:
    """The receiving liaison accepts. A transfer moves ownership (and may flag the case
    ``bounced`` after ``COORD_BOUNCE_LIMIT`` moves); an assist starts the receiver's part.
    Writes ``handoff.accepted`` and possibly ``case.bounced``."""
    handoff, case = _load(actor, handoff_id, "accept")
    # The clock lookup comes before any change, so that the changes flush once, together.
    sla.handoff_answered(case, handoff, now)
    _transition(handoff, "accept")
    handoff.acted_at = now
    handoff.acted_by_id = actor.id if isinstance(actor, User) else None
    changes: dict[str, object] = {"status": ["pending", "accepted"], "kind": handoff.kind}
    transfer = handoff.kind == HandoffKind.TRANSFER.value
    if transfer:
        before_owner = case.owner_unit.code
        apply_case_transition(case, "transfer_accepted")
        case.status_before_transfer = None
        case.owner_unit = handoff.to_unit
        case.owner_unit_id = handoff.to_unit_id
        case.assignee_id = None
        case.ownership_moves += 1
        changes["owner_unit"] = [before_owner, handoff.to_unit.code]
        changes["case_status"] = ["pending_transfer", case.status]
    touch(case, now)
    if transfer:
        add_case_unit(case, handoff.to_unit_id, CaseUnitRole.OWNER)
    record_event(case, "handoff.accepted", actor, now, handoff=handoff, body=note, changes=changes)
    if (
        handoff.kind == HandoffKind.TRANSFER.value
        and not case.bounced
        and case.ownership_moves >= bounce_limit()
    ):
        case.bounced = True
        case.bounced_at = now
        event = record_event(
            case,
            "case.bounced",
            actor,
            now,
            handoff=handoff,
            changes={"ownership_moves": case.ownership_moves, "bounced": [False, True]},
        )
        notify_bounced(
            case.id, event.id, case.tracking_code, case.title, case.region_code, now, now
        )
    return handoff


def reject_handoff(
    actor: Actor, handoff_id: int, reason: str, now: datetime, *, note: str | None = None
) -> Handoff:
    """The receiving liaison refuses with a reason; a transfer's case returns to its
    previous status with the sender. Writes ``handoff.rejected``."""
    if reason not in {r.value for r in RejectReason}:
        raise InvalidInput.field(
            "reason",
            f"must be one of {[r.value for r in RejectReason]}",
            _l("Pilih alasan penolakan dari daftar."),
        )
    note = (note or "").strip() or None
    if reason == RejectReason.OTHER.value and not note:
        raise InvalidInput.field(
            "note",
            "explain the reason when it is 'other'",
            _l("Untuk alasan 'Lainnya', tulis keterangannya."),
        )
    handoff, case = _load(actor, handoff_id, "reject")
    handoff.reject_reason = reason
    _transition(handoff, "reject")
    sla.handoff_answered(case, handoff, now)
    handoff.reject_note = note
    handoff.acted_at = now
    handoff.acted_by_id = actor.id if isinstance(actor, User) else None
    changes: dict[str, object] = {"status": ["pending", "rejected"], "reason": reason}
    if handoff.kind == HandoffKind.TRANSFER.value:
        apply_case_transition(case, "transfer_rejected")
        case.status_before_transfer = None
        changes["case_status"] = ["pending_transfer", case.status]
    touch(case, now)
    record_event(case, "handoff.rejected", actor, now, handoff=handoff, body=note, changes=changes)
    return handoff


def recall_handoff(
    actor: Actor, handoff_id: int, now: datetime, *, note: str | None = None
) -> Handoff:
    """The sending unit takes a pending request back; for an assist it may also withdraw
    one already accepted (so that the case can be resolved). Writes ``handoff.recalled``."""
    handoff, case = _load(actor, handoff_id, "recall")
    action = "withdraw" if handoff.kind == HandoffKind.ASSIST.value else "recall"
    before = _transition(handoff, action)
    sla.stop_clocks(case, now, handoff_id=handoff.id)
    handoff.acted_at = now
    handoff.acted_by_id = actor.id if isinstance(actor, User) else None
    changes: dict[str, object] = {"status": [before, "recalled"]}
    if handoff.kind == HandoffKind.TRANSFER.value:
        apply_case_transition(case, "transfer_recalled")
        case.status_before_transfer = None
        changes["case_status"] = ["pending_transfer", case.status]
    touch(case, now)
    record_event(case, "handoff.recalled", actor, now, handoff=handoff, body=note, changes=changes)
    return handoff


def complete_handoff(actor: Actor, handoff_id: int, note: str, now: datetime) -> Handoff:
    """The assisting unit reports its part done with a note. Writes ``handoff.completed``."""
    note = require_text("note", note)
    handoff, case = _load(actor, handoff_id, "complete")
    if handoff.kind != HandoffKind.ASSIST.value:
        raise Conflict(
            "Only assistance requests are completed; a transfer is accepted or rejected.",
            {"kind": [handoff.kind]},
        )
    _transition(handoff, "complete")
    handoff.completion_note = note
    handoff.completed_at = now
    touch(case, now)
    record_event(
        case,
        "handoff.completed",
        actor,
        now,
        handoff=handoff,
        body=note,
        visibility=Visibility.INTERNAL,
        changes={"status": ["accepted", "completed"]},
    )
    return handoff


__all__ = [
    "CaseStatus",
    "accept_handoff",
    "complete_handoff",
    "recall_handoff",
    "reject_handoff",
    "request_handoff",
]

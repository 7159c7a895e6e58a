"""Turn models into plain dicts for the API and pages, applying the privacy rules."""

from __future__ import annotations

from typing import Any

from coord.domain.privacy import mask_email, mask_name, mask_phone
from coord.domain.states import CaseStatus, case_actions_allowed
from coord.domain.tracking import format_tracking_code
from coord.models import Case, CaseEvent, Handoff, ReporterPrivacy, SlaClock


def reporter_view(case: Case, visible: bool) -> dict[str, Any]:
    privacy = case.reporter_privacy
    if privacy == ReporterPrivacy.ANONYMOUS.value:
        return {
            "privacy": privacy,
            "name": None,
            "phone": None,
            "email": None,
            "nik": None,
            "masked": False,
        }
    if visible:
        return {
            "privacy": privacy,
            "name": case.reporter_name,
            "phone": case.reporter_phone,
            "email": case.reporter_email,
            "nik": case.reporter_nik,
            "masked": False,
        }
    hide_name = privacy == ReporterPrivacy.CONFIDENTIAL.value
    return {
        "privacy": privacy,
        "name": mask_name(case.reporter_name) if hide_name else case.reporter_name,
        "phone": mask_phone(case.reporter_phone),
        "email": mask_email(case.reporter_email),
        "nik": None,
        "masked": True,
    }


def clock_view(clock: SlaClock) -> dict[str, Any]:
    return {
        "name": clock.name,
        "handoff_id": clock.handoff_id,
        "state": clock.state,
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "target_minutes": clock.target_minutes,
        "paused_minutes": clock.paused_minutes,
        "breached_at": clock.breached_at,
        "completed_at": clock.completed_at,
        "minutes_over": clock.minutes_over,
    }


def case_view(
    case: Case,
    reporter_visible: bool,
    clocks: list[SlaClock] | None = None,
    actions: list[str] | None = None,
) -> dict[str, Any]:
    policy = case.sla_policy
    return {
        "id": case.id,
        "tracking_code": format_tracking_code(case.tracking_code),
        "title": case.title,
        "description": case.description,
        "category": case.category.code,
        "priority": case.priority,
        "channel": case.channel,
        "status": case.status,
        "received_at": case.received_at,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "reporter": reporter_view(case, reporter_visible),
        "location": {
            "region_code": case.region_code,
            "region_name": case.region.name,
            "address": case.address,
            "latitude": case.latitude,
            "longitude": case.longitude,
        },
        "owner_unit": {"code": case.owner_unit.code, "name": case.owner_unit.name},
        "recorded_by_unit": {
            "code": case.recorded_by_unit.code,
            "name": case.recorded_by_unit.name,
        },
        "assignee": (
            {"id": case.assignee.id, "full_name": case.assignee.full_name}
            if case.assignee
            else None
        ),
        "hold_reason": case.hold_reason,
        "resolution_note": case.resolution_note,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "cancel_reason": case.cancel_reason,
        "duplicate_of": case.duplicate_of_id,
        "ownership_moves": case.ownership_moves,
        "bounced": case.bounced,
        "sla": {
            "policy_id": policy.id if policy else None,
            "policy_version": policy.version if policy else None,
            "first_response_at": case.first_response_at,
            "response_due_at": case.response_due_at,
            "resolution_due_at": case.resolution_due_at,
            "paused_at": case.paused_at,
            "breached": case.breached,
            "clocks": [clock_view(c) for c in (clocks or [])],
        },
        "allowed_actions": actions
        if actions is not None
        else case_actions_allowed(CaseStatus(case.status)),
        "version": case.version,
        "url": f"/api/v1/cases/{case.id}",
    }


def event_view(event: CaseEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "at": event.at,
        "actor": event.actor_label,
        "actor_unit": event.actor_unit.code if event.actor_unit else None,
        "visibility": event.visibility,
        "body": event.body,
        "changes": event.changes,
        "handoff_id": event.handoff_id,
        "case_version": event.case_version,
    }


def handoff_view(handoff: Handoff) -> dict[str, Any]:
    case = handoff.case
    return {
        "id": handoff.id,
        "case_id": handoff.case_id,
        "tracking_code": format_tracking_code(case.tracking_code),
        "case_title": case.title,
        "kind": handoff.kind,
        "status": handoff.status,
        "from_unit": {"code": handoff.from_unit.code, "name": handoff.from_unit.name},
        "to_unit": {"code": handoff.to_unit.code, "name": handoff.to_unit.name},
        "note": handoff.note,
        "requested_at": handoff.requested_at,
        "ack_due_at": handoff.ack_due_at,
        "acted_at": handoff.acted_at,
        "reject_reason": handoff.reject_reason,
        "reject_note": handoff.reject_note,
        "completion_note": handoff.completion_note,
        "completed_at": handoff.completed_at,
        "breached": handoff.breached,
        "version": handoff.version,
        "url": f"/api/v1/handoffs/{handoff.id}",
        "case_url": f"/api/v1/cases/{handoff.case_id}",
    }

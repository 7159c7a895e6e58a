"""Case request and response schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate, validates_schema

from coord.domain.states import CaseStatus, HandoffKind
from coord.http.case_body import one_of
from coord.http.fields import Instant, Schema, Text
from coord.models import Priority, Visibility


class LocationEdit(Schema):
    """Only the parts sent change."""

    region_code = ma.fields.String(validate=validate.Length(min=1, max=20))
    address = Text(max_length=500, allow_none=True)
    latitude = ma.fields.Float(allow_none=True, validate=validate.Range(-90, 90))
    longitude = ma.fields.Float(allow_none=True, validate=validate.Range(-180, 180))


class CaseEdit(Schema):
    title = Text(max_length=200)
    description = Text(max_length=10_000)
    category = ma.fields.String(validate=validate.Length(min=1, max=64))
    priority = ma.fields.String(validate=one_of(Priority))
    location = ma.fields.Nested(LocationEdit)

    @validates_schema
    def _not_empty(self, data, **kwargs):  # type: ignore[no-untyped-def]
        if not data:
            raise ma.ValidationError("send at least one field to change", "_schema")


class ReporterOut(Schema):
    privacy = ma.fields.String()
    name = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    nik = ma.fields.String(allow_none=True)
    masked = ma.fields.Boolean(
        metadata={"description": "true when contact data is hidden from you"}
    )


class LocationOut(Schema):
    region_code = ma.fields.String()
    region_name = ma.fields.String()
    address = ma.fields.String(allow_none=True)
    latitude = ma.fields.Float(allow_none=True)
    longitude = ma.fields.Float(allow_none=True)


class UnitRef(Schema):
    code = ma.fields.String()
    name = ma.fields.String()


class UserRef(Schema):
    id = ma.fields.Integer()
    full_name = ma.fields.String()


class ClockOut(Schema):
    name = ma.fields.String(metadata={"description": "response, resolution or handoff_ack"})
    handoff_id = ma.fields.Integer(allow_none=True)
    state = ma.fields.String(metadata={"description": "running, paused, met, breached or stopped"})
    started_at = Instant()
    due_at = Instant()
    target_minutes = ma.fields.Integer(metadata={"description": "working minutes"})
    paused_minutes = ma.fields.Integer(
        metadata={"description": "working time spent on hold, whole minutes rounded down"}
    )
    breached_at = Instant(allow_none=True)
    completed_at = Instant(allow_none=True)
    minutes_over = ma.fields.Integer(
        allow_none=True,
        metadata={
            "description": "once closed: working minutes after (+) or before (-) the due time"
        },
    )


class SlaOut(Schema):
    policy_id = ma.fields.Integer(allow_none=True)
    policy_version = ma.fields.Integer(allow_none=True)
    first_response_at = Instant(allow_none=True)
    response_due_at = Instant(allow_none=True)
    resolution_due_at = Instant(allow_none=True)
    paused_at = Instant(allow_none=True)
    breached = ma.fields.Boolean()
    clocks = ma.fields.List(ma.fields.Nested(ClockOut))


class CaseOut(Schema):
    id = ma.fields.Integer()
    tracking_code = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String()
    category = ma.fields.String()
    priority = ma.fields.String()
    channel = ma.fields.String()
    status = ma.fields.String()
    received_at = Instant()
    created_at = Instant()
    updated_at = Instant()
    reporter = ma.fields.Nested(ReporterOut)
    location = ma.fields.Nested(LocationOut)
    owner_unit = ma.fields.Nested(UnitRef)
    recorded_by_unit = ma.fields.Nested(UnitRef)
    assignee = ma.fields.Nested(UserRef, allow_none=True)
    hold_reason = ma.fields.String(allow_none=True)
    resolution_note = ma.fields.String(allow_none=True)
    resolved_at = Instant(allow_none=True)
    closed_at = Instant(allow_none=True)
    cancel_reason = ma.fields.String(allow_none=True)
    duplicate_of = ma.fields.Integer(allow_none=True)
    ownership_moves = ma.fields.Integer()
    bounced = ma.fields.Boolean()
    sla = ma.fields.Nested(SlaOut)
    allowed_actions = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "what you may do now, given the case's state and your permissions"
        },
    )
    version = ma.fields.Integer()
    url = ma.fields.String()


class CaseListArgs(Schema):
    status = ma.fields.List(ma.fields.String(validate=one_of(CaseStatus)))
    owner_unit = ma.fields.String(validate=validate.Length(max=64))
    category = ma.fields.String(validate=validate.Length(max=64))
    priority = ma.fields.String(validate=one_of(Priority))
    breached = ma.fields.Boolean()
    bounced = ma.fields.Boolean()
    due_before = Instant()
    updated_since = Instant()
    q = ma.fields.String(validate=validate.Length(min=1, max=200))


class ActionIn(Schema):
    """Body of ``POST /cases/{id}/{action}``; which fields are required depends on the action."""

    note = Text(max_length=10_000, load_default=None, allow_none=True)
    reason = Text(max_length=2000, load_default=None, allow_none=True)
    assignee_id = ma.fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(1, 2**63 - 1)
    )
    owner_unit = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=64)
    )
    duplicate_of = ma.fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(1, 2**63 - 1)
    )


class CommentIn(Schema):
    body = Text(required=True, max_length=10_000)
    visibility = ma.fields.String(
        load_default=Visibility.INTERNAL.value, validate=one_of(Visibility)
    )


class EventOut(Schema):
    id = ma.fields.Integer()
    type = ma.fields.String()
    at = Instant()
    actor = ma.fields.String()
    actor_unit = ma.fields.String(allow_none=True)
    visibility = ma.fields.String()
    body = ma.fields.String(allow_none=True)
    changes = ma.fields.Dict()
    handoff_id = ma.fields.Integer(allow_none=True)
    case_version = ma.fields.Integer()


class HandoffCreate(Schema):
    kind = ma.fields.String(required=True, validate=one_of(HandoffKind))
    to_unit = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    note = Text(max_length=10_000, load_default=None, allow_none=True)

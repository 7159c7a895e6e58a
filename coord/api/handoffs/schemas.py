"""Handoff schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from coord.api.cases.schemas import UnitRef
from coord.domain.states import HandoffKind, HandoffStatus, RejectReason
from coord.http.fields import Instant, Schema, Text


class HandoffOut(Schema):
    id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    tracking_code = ma.fields.String()
    case_title = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String()
    from_unit = ma.fields.Nested(UnitRef)
    to_unit = ma.fields.Nested(UnitRef)
    note = ma.fields.String(allow_none=True)
    requested_at = Instant()
    ack_due_at = Instant(allow_none=True)
    acted_at = Instant(allow_none=True)
    reject_reason = ma.fields.String(allow_none=True)
    reject_note = ma.fields.String(allow_none=True)
    completion_note = ma.fields.String(allow_none=True)
    completed_at = Instant(allow_none=True)
    breached = ma.fields.Boolean()
    version = ma.fields.Integer()
    url = ma.fields.String()
    case_url = ma.fields.String()


class HandoffListArgs(Schema):
    direction = ma.fields.String(validate=validate.OneOf(["incoming", "outgoing"]))
    status = ma.fields.List(
        ma.fields.String(validate=validate.OneOf([s.value for s in HandoffStatus]))
    )
    kind = ma.fields.String(validate=validate.OneOf([k.value for k in HandoffKind]))
    overdue = ma.fields.Boolean()


class AcceptIn(Schema):
    note = Text(max_length=10_000, load_default=None, allow_none=True)


class RejectIn(Schema):
    reason = ma.fields.String(
        required=True, validate=validate.OneOf([r.value for r in RejectReason])
    )
    note = Text(max_length=10_000, load_default=None, allow_none=True)


class CompleteIn(Schema):
    note = Text(required=True, max_length=10_000)

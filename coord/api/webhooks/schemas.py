"""Webhook endpoint and delivery schemas. Secrets appear only in the create and rotate
answers (``EndpointWithSecret``), never in any other response."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from coord.http.fields import Instant, Schema, Text
from coord.models import DeliveryStatus
from coord.services.webhooks.event_types import SUBSCRIBABLE_TYPES


def _encodable(value: str) -> None:
    # The base Schema refuses NUL only; a lone surrogate would reach the database and fail there.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ma.ValidationError("must be valid Unicode text") from None


def _url_characters(value: str) -> None:
    _encodable(value)
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        raise ma.ValidationError("must not contain spaces or control characters")


EVENT_TYPE = ma.fields.String(validate=validate.OneOf(SUBSCRIBABLE_TYPES))


class EndpointCreate(Schema):
    url = ma.fields.String(
        required=True, validate=[validate.Length(min=1, max=2000), _url_characters]
    )
    event_types = ma.fields.List(
        EVENT_TYPE, required=True, validate=validate.Length(min=1, max=len(SUBSCRIBABLE_TYPES) * 2)
    )
    description = Text(max_length=500, load_default=None, allow_none=True, validate=[_encodable])
    active = ma.fields.Boolean(load_default=True)


class EndpointEdit(Schema):
    url = ma.fields.String(validate=[validate.Length(min=1, max=2000), _url_characters])
    event_types = ma.fields.List(
        EVENT_TYPE, validate=validate.Length(min=1, max=len(SUBSCRIBABLE_TYPES) * 2)
    )
    description = Text(max_length=500, allow_none=True, validate=[_encodable])
    active = ma.fields.Boolean()


class RotateIn(Schema):
    overlap_hours = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=24 * 14),
        metadata={
            "description": "How long the current secret keeps signing beside the new one "
            "(default COORD_WEBHOOK_ROTATION_OVERLAP_HOURS, 24)."
        },
    )


class EndpointOut(Schema):
    id = ma.fields.Integer()
    unit = ma.fields.String()
    url = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    event_types = ma.fields.List(ma.fields.String())
    active = ma.fields.Boolean()
    disabled_reason = ma.fields.String(allow_none=True)
    previous_secret_expires_at = Instant(
        allow_none=True,
        metadata={"description": "Until then the previous secret also signs every message."},
    )
    created_at = Instant()
    updated_at = Instant()
    version = ma.fields.Integer()
    deliveries_url = ma.fields.String()


class EndpointWithSecret(EndpointOut):
    secret = ma.fields.String(metadata={"description": "Shown only in this answer; store it now."})


class DeliveryOut(Schema):
    id = ma.fields.Integer()
    endpoint_id = ma.fields.Integer()
    msg_id = ma.fields.String(
        metadata={"description": "The webhook-id header, the same on every retry."}
    )
    event_type = ma.fields.String()
    event_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String()
    attempts = ma.fields.Integer()
    created_at = Instant()
    next_attempt_at = Instant(allow_none=True)
    last_attempt_at = Instant(allow_none=True)
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    delivered_at = Instant(allow_none=True)
    payload = ma.fields.Dict()
    url = ma.fields.String()


class DeliveryListArgs(Schema):
    status = ma.fields.List(
        ma.fields.String(validate=validate.OneOf([s.value for s in DeliveryStatus]))
    )
    event_type = ma.fields.String(validate=validate.OneOf(tuple(SUBSCRIBABLE_TYPES) + ("ping",)))

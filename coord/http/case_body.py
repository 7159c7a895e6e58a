"""The body of a new case, as the API takes it and as the staff intake form is read: one
validation for both."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import validate, validates_schema

from coord.http.fields import Instant, Pattern, Schema, Text
from coord.models import Channel, Priority, ReporterPrivacy

NIK = Pattern(
    r"\A[0-9]{16}\Z",
    error="NIK has 16 digits",
    people=_l("NIK terdiri dari 16 angka; tulis tanpa spasi atau titik, atau kosongkan."),
)
PHONE = Pattern(
    r"\A\+?[0-9][0-9 \-]{5,19}\Z",
    error="a phone number of digits, e.g. 081234567890",
    people=_l("Tulis nomor HP dengan angka, misalnya 081234567890."),
)


def one_of(enum) -> validate.OneOf:  # type: ignore[no-untyped-def]
    return validate.OneOf([e.value for e in enum])


class ReporterIn(Schema):
    privacy = ma.fields.String(
        load_default=ReporterPrivacy.NAMED.value, validate=one_of(ReporterPrivacy)
    )
    name = Text(max_length=200, load_default=None, allow_none=True)
    phone = ma.fields.String(load_default=None, allow_none=True, validate=PHONE)
    email = ma.fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=200))
    nik = ma.fields.String(load_default=None, allow_none=True, validate=NIK)

    @validates_schema
    def _named_has_name(self, data, **kwargs):  # type: ignore[no-untyped-def]
        if data.get("privacy") != ReporterPrivacy.ANONYMOUS.value and not data.get("name"):
            message = (
                _l("Tulis nama pelapor, atau pilih 'Anonim'.")
                if self.for_people
                else "a named or confidential reporter needs a name"
            )
            raise ma.ValidationError([message], "name")  # type: ignore[list-item]


class LocationIn(Schema):
    region_code = ma.fields.String(required=True, validate=validate.Length(min=1, max=20))
    address = Text(max_length=500, load_default=None, allow_none=True)
    latitude = ma.fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    longitude = ma.fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(-180, 180)
    )


class CaseCreate(Schema):
    title = Text(required=True, max_length=200)
    description = Text(required=True, max_length=10_000)
    category = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    priority = ma.fields.String(load_default=Priority.NORMAL.value, validate=one_of(Priority))
    channel = ma.fields.String(load_default=Channel.WALK_IN.value, validate=one_of(Channel))
    received_at = Instant(load_default=None, allow_none=True)
    reporter = ma.fields.Nested(ReporterIn, load_default=lambda: {"privacy": "anonymous"})
    location = ma.fields.Nested(LocationIn, required=True)
    owner_unit = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=64)
    )

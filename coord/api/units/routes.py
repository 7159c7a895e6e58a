"""Units (offices). Everyone signed in may list them; admins create and edit within their
jurisdiction (decided in ``coord.services.configuration``)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import validate
from sqlalchemy import select

from coord.api.auth import current_actor
from coord.api.base import DIRECTORY_PAGE, Blueprint, page_of
from coord.http.fields import Schema, Text
from coord.models import Unit, UnitKind
from coord.services import configuration
from coord.services.uow import unit_of_work

blp = Blueprint("units", __name__, url_prefix="/api/v1/units", description="Units and offices")

CODE = validate.Regexp(r"\A[a-z0-9][a-z0-9\-_.]{1,63}\Z", error="lower-case letters, digits, - _ .")


class UnitOut(Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()
    region_code = ma.fields.String()
    timezone = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()


class UnitCreate(Schema):
    code = ma.fields.String(required=True, validate=CODE)
    name = Text(required=True, max_length=200)
    kind = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in UnitKind]))
    region_code = ma.fields.String(required=True, validate=validate.Length(min=1, max=20))
    email = ma.fields.Email(load_default=None, allow_none=True)
    phone = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    address = Text(max_length=500, load_default=None, allow_none=True)


class UnitEdit(Schema):
    name = Text(max_length=200)
    email = ma.fields.Email(allow_none=True)
    phone = ma.fields.String(allow_none=True, validate=validate.Length(max=40))
    address = Text(max_length=500, allow_none=True)
    active = ma.fields.Boolean()


class UnitListArgs(Schema):
    kind = ma.fields.String(validate=validate.OneOf([k.value for k in UnitKind]))


@blp.route("")
class UnitCollection(MethodView):
    @blp.arguments(UnitListArgs, location="query")
    @blp.response(200, UnitOut(many=True))
    @blp.paginate(page_size=DIRECTORY_PAGE)
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[Unit]:
        """Every unit (the directory used to address handoffs), by kind and name; paginated."""
        current_actor()
        query = select(Unit).order_by(Unit.kind, Unit.name, Unit.id)
        if args.get("kind"):
            query = query.where(Unit.kind == args["kind"])
        return page_of(query, pagination_parameters)

    @blp.arguments(UnitCreate)
    @blp.response(201, UnitOut)
    def post(self, data: dict[str, Any]) -> Unit:
        """Create a unit: a kelurahan unit inside the admin's jurisdiction; an agency, camat
        office or city office only by an admin whose jurisdiction holds every active unit
        (docs/permissions.md)."""
        with unit_of_work():
            unit = configuration.create_unit(current_actor(), data)
        return unit


@blp.route("/<string(maxlength=64):code>")
class UnitItem(MethodView):
    @blp.response(200, UnitOut)
    def get(self, code: str) -> Unit:
        """One unit."""
        current_actor()
        return configuration.get_unit(code)

    @blp.arguments(UnitEdit)
    @blp.response(200, UnitOut)
    def patch(self, data: dict[str, Any], code: str) -> Unit:
        """Edit a unit's name, contact data or active flag (admins whose jurisdiction holds
        the unit; agencies and offices other than their own need city-wide scope)."""
        with unit_of_work():
            unit = configuration.update_unit(current_actor(), code, data)
        return unit


_DAY_HOURS = {
    "type": "array",
    "maxItems": 6,
    "items": {
        "type": "array",
        "minItems": 2,
        "maxItems": 2,
        "items": {"type": "string", "maxLength": 8, "example": "08:00"},
    },
}


class CalendarIn(Schema):
    """A working calendar: hours per weekday (0 = Monday) as [["08:00", "16:00"], ...],
    extra closed dates, and whether national holidays and cuti bersama close the office."""

    class Meta:
        unknown = ma.RAISE

    timezone = ma.fields.String(load_default="Asia/Jakarta", validate=validate.Length(max=64))
    hours = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf([str(d) for d in range(7)])),
        values=ma.fields.List(
            ma.fields.List(
                ma.fields.String(validate=validate.Length(max=8)), validate=validate.Length(equal=2)
            ),
            validate=validate.Length(max=6),
        ),
        required=True,
        # OpenAPI 3.0 cannot constrain a map's keys: name the seven weekdays instead.
        metadata={
            "openapi": {
                "properties": {str(d): _DAY_HOURS for d in range(7)},
                "additionalProperties": False,
            }
        },
    )
    extra_closed = ma.fields.List(
        ma.fields.Date(), load_default=list, validate=validate.Length(max=1000)
    )
    national_holidays = ma.fields.Boolean(load_default=True)
    always_open = ma.fields.Boolean(load_default=False)


@blp.route("/<string(maxlength=64):code>/calendar")
class UnitCalendar(MethodView):
    @blp.response(200, CalendarIn)
    def get(self, code: str) -> dict[str, Any]:
        """The unit's working calendar (the default one if none was set)."""
        current_actor()
        return _calendar_out(configuration.unit_calendar_config(code))

    @blp.arguments(CalendarIn)
    @blp.response(200, CalendarIn)
    def put(self, data: dict[str, Any], code: str) -> dict[str, Any]:
        """Replace the unit's calendar (admins of the unit or above). Running deadlines keep
        the calendar they started with."""
        config = dict(data)
        config["extra_closed"] = [d.isoformat() for d in data["extra_closed"]]
        with unit_of_work():
            unit = configuration.set_unit_calendar(current_actor(), code, config)
            result = dict(unit.calendar or {})
        return _calendar_out(result)


def _calendar_out(config: dict[str, Any]) -> dict[str, Any]:
    from datetime import date

    out = dict(config)
    out["extra_closed"] = [
        date.fromisoformat(d) if isinstance(d, str) else d for d in config.get("extra_closed", [])
    ]
    return out

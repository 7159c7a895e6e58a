"""Reports (JSON, or a CSV download with format=csv)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import validate

from coord.api.auth import current_actor
from coord.api.base import Blueprint, Instant, Schema
from coord.api.reports.csv import csv_response
from coord.services import reports

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="Reports")


class BreachArgs(Schema):
    since = Instant(metadata={"description": "breached at or after"})
    until = Instant(metadata={"description": "breached before"})
    owner_unit = ma.fields.String(validate=validate.Length(max=64))
    clock = ma.fields.String(validate=validate.OneOf(["response", "resolution", "handoff_ack"]))
    open = ma.fields.Boolean(metadata={"description": "only cases still open (true) or finished (false)"})
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class BreachOut(Schema):
    case_id = ma.fields.Integer()
    tracking_code = ma.fields.String()
    title = ma.fields.String()
    category = ma.fields.String()
    case_status = ma.fields.String()
    owner_unit = ma.fields.String()
    clock = ma.fields.String()
    handoff_id = ma.fields.Integer(allow_none=True)
    handoff_to_unit = ma.fields.String(allow_none=True)
    due_at = Instant()
    breached_at = Instant()
    completed_at = Instant(allow_none=True)
    minutes_over = ma.fields.Integer(allow_none=True)
    open = ma.fields.Boolean()


@blp.route("/breaches")
class Breaches(MethodView):
    @blp.arguments(BreachArgs, location="query")
    @blp.response(200, BreachOut(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> Any:
        """Every deadline breached in your scope, newest first; open ones still count."""
        actor = current_actor()
        filters = {k: v for k, v in args.items() if k != "format"}
        if args["format"] == "csv":
            rows, total = reports.breaches(actor, filters, limit=None, offset=0)
            pagination_parameters.item_count = total
            return csv_response("pelanggaran-sla.csv", reports.BREACH_COLUMNS, rows)
        rows, total = reports.breaches(actor, filters, limit=pagination_parameters.page_size,
                                       offset=pagination_parameters.first_item)
        pagination_parameters.item_count = total
        return rows

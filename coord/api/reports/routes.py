"""Reports (JSON, or a CSV download with format=csv)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import validate, validates_schema

from coord.api.auth import current_actor
from coord.api.base import Blueprint
from coord.clock import now_utc
from coord.exports import csv_response
from coord.http.fields import MONTH, MONTH_PATTERN, Instant, Schema
from coord.services import reports

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="Reports")


def csv_alternative() -> Callable[..., Any]:
    """Documents the ``format=csv`` answer next to the JSON one (docs/api.md)."""
    return blp.alt_response(
        200,
        schema={"type": "string", "format": "binary"},
        content_type="text/csv",
        description="With format=csv: a UTF-8 CSV download (BOM, header row, WIB times).",
        success=True,
    )


class BreachArgs(Schema):
    since = Instant(metadata={"description": "breached at or after"})
    until = Instant(metadata={"description": "breached before"})
    owner_unit = ma.fields.String(validate=validate.Length(max=64))
    clock = ma.fields.String(validate=validate.OneOf(["response", "resolution", "handoff_ack"]))
    open = ma.fields.Boolean(
        metadata={"description": "only cases still open (true) or finished (false)"}
    )
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
    @csv_alternative()
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> Any:
        """Every deadline breached in your scope, newest first; open ones still count."""
        actor = current_actor()
        filters = {k: v for k, v in args.items() if k != "format"}
        if args["format"] == "csv":
            rows, total = reports.breaches(actor, filters, limit=None, offset=0)
            pagination_parameters.item_count = total
            return csv_response("pelanggaran-sla.csv", reports.BREACH_COLUMNS, rows)
        rows, total = reports.breaches(
            actor,
            filters,
            limit=pagination_parameters.page_size,
            offset=pagination_parameters.first_item,
        )
        pagination_parameters.item_count = total
        return rows


# -- manager reports: SLA compliance, handoffs, backlog, IKM (docs/reports.md) ----------------


class PeriodArgs(Schema):
    """The filters every report takes; what the period and the unit apply to is per report."""

    since = Instant(metadata={"description": "from this instant (inclusive); not with month"})
    until = Instant(
        metadata={"description": "before this instant (exclusive), after since; not with month"}
    )
    month = ma.fields.String(
        validate=MONTH,
        metadata={
            "description": "a WIB month, YYYY-MM from 2000-01 to 2099-12; instead of since and "
            "until: not together with either of them (422)",
            "pattern": MONTH_PATTERN,
        },
    )
    unit = ma.fields.String(
        validate=validate.Length(min=1, max=64), metadata={"description": "unit code"}
    )
    category = ma.fields.String(
        validate=validate.Length(min=1, max=64), metadata={"description": "category code"}
    )

    @validates_schema
    def _one_period(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "month" in data and ("since" in data or "until" in data):
            raise ma.ValidationError("give either month or since/until, not both", "month")
        if "since" in data and "until" in data and data["until"] <= data["since"]:
            raise ma.ValidationError("must be later than since", "until")


class ReportArgs(PeriodArgs):
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class HandoffReportArgs(ReportArgs):
    section = ma.fields.String(
        load_default="units",
        validate=validate.OneOf(["units", "bounced"]),
        metadata={"description": "with format=csv: the per-unit rows or the bounced cases"},
    )


class IkmArgs(ReportArgs):
    period = ma.fields.String(load_default="month", validate=validate.OneOf(list(reports.PERIODS)))


def report_filters(args: dict[str, Any]) -> reports.ReportFilters:
    since, until = args.get("since"), args.get("until")
    if args.get("month"):
        since, until = reports.month_range(args["month"])
    return reports.ReportFilters(
        since=since, until=until, unit=args.get("unit"), category=args.get("category")
    )


class FiltersOut(Schema):
    since = Instant(allow_none=True)
    until = Instant(allow_none=True)
    unit = ma.fields.String(allow_none=True)
    category = ma.fields.String(allow_none=True)


class SlaRowOut(Schema):
    unit = ma.fields.String(metadata={"description": "owner unit code"})
    unit_name = ma.fields.String()
    category = ma.fields.String()
    month = ma.fields.String(metadata={"description": "WIB month of received_at, YYYY-MM"})
    cases = ma.fields.Integer()
    open = ma.fields.Integer()
    resolved = ma.fields.Integer()
    resolved_on_time = ma.fields.Integer()
    breached = ma.fields.Integer()
    open_overdue = ma.fields.Integer()
    on_time_share = ma.fields.Float(
        allow_none=True,
        metadata={
            "description": "resolved_on_time / (resolved + open_overdue), 4 decimals; null if 0/0"
        },
    )
    response_minutes_median = ma.fields.Float(allow_none=True)
    response_minutes_p90 = ma.fields.Float(allow_none=True)
    resolution_minutes_median = ma.fields.Float(allow_none=True)
    resolution_minutes_p90 = ma.fields.Float(allow_none=True)


class SlaReportOut(Schema):
    generated_at = Instant()
    filters = ma.fields.Nested(FiltersOut)
    rows = ma.fields.List(ma.fields.Nested(SlaRowOut))


class HandoffRowOut(Schema):
    unit = ma.fields.String(metadata={"description": "receiving unit code"})
    unit_name = ma.fields.String()
    handoffs = ma.fields.Integer()
    acknowledged = ma.fields.Integer()
    acknowledged_on_time = ma.fields.Integer()
    pending = ma.fields.Integer()
    ack_minutes_median = ma.fields.Float(allow_none=True)
    rejected = ma.fields.Integer()
    rejections = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    bounced_cases = ma.fields.Integer()


class BouncedCaseOut(Schema):
    case_id = ma.fields.Integer()
    tracking_code = ma.fields.String()
    owner_unit = ma.fields.String()
    bounced_at = Instant(allow_none=True)
    still_bounced = ma.fields.Boolean()
    ownership_moves = ma.fields.Integer()
    route = ma.fields.List(ma.fields.String(), metadata={"description": "owner units in order"})


class HandoffReportOut(Schema):
    generated_at = Instant()
    filters = ma.fields.Nested(FiltersOut)
    rows = ma.fields.List(ma.fields.Nested(HandoffRowOut))
    bounced = ma.fields.List(ma.fields.Nested(BouncedCaseOut))


class BacklogRowOut(Schema):
    unit = ma.fields.String(metadata={"description": "owner unit code"})
    unit_name = ma.fields.String()
    open = ma.fields.Integer()
    ages = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={
            "description": "open cases by whole days since received_at: 0-2, 3-5, 6-14, 15-30, 31+"
        },
    )


class BacklogReportOut(Schema):
    generated_at = Instant()
    filters = ma.fields.Nested(FiltersOut)
    rows = ma.fields.List(ma.fields.Nested(BacklogRowOut))


class IkmRowOut(Schema):
    unit = ma.fields.String(metadata={"description": "the unit that resolved the cases"})
    unit_name = ma.fields.String()
    period = ma.fields.String(metadata={"description": "YYYY-MM, YYYY-Qn or YYYY (WIB)"})
    respondents = ma.fields.Integer()
    nrr = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float(allow_none=True))
    ikm = ma.fields.Float(allow_none=True)
    band = ma.fields.String(allow_none=True)
    band_label = ma.fields.String(allow_none=True)


class IkmReportOut(Schema):
    generated_at = Instant()
    filters = ma.fields.Nested(FiltersOut)
    period = ma.fields.String()
    weight = ma.fields.String(metadata={"description": "1/9 or 0.11 (COORD_IKM_WEIGHT)"})
    rows = ma.fields.List(ma.fields.Nested(IkmRowOut))


def _envelope(
    filters: reports.ReportFilters, rows: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {"generated_at": now_utc(), "filters": filters.__dict__, "rows": rows, **extra}


@blp.route("/sla")
class SlaReport(MethodView):
    @blp.arguments(ReportArgs, location="query")
    @blp.response(200, SlaReportOut)
    @csv_alternative()
    def get(self, args: dict[str, Any]) -> Any:
        """SLA compliance per owner unit, category and month (managers; docs/reports.md)."""
        filters = report_filters(args)
        rows = reports.sla_report(current_actor(), filters, now_utc())
        if args["format"] == "csv":
            return csv_response("laporan-sla.csv", reports.SLA_COLUMNS, rows)
        return _envelope(filters, rows)


@blp.route("/handoffs")
class HandoffReport(MethodView):
    @blp.arguments(HandoffReportArgs, location="query")
    @blp.response(200, HandoffReportOut)
    @csv_alternative()
    def get(self, args: dict[str, Any]) -> Any:
        """Handoffs per receiving unit, and the bounced cases with their route (managers)."""
        filters = report_filters(args)
        result = reports.handoff_report(current_actor(), filters)
        if args["format"] == "csv":
            if args["section"] == "bounced":
                rows = [{**r, "route": " > ".join(r["route"])} for r in result["bounced"]]
                return csv_response("laporan-disposisi-pingpong.csv", reports.BOUNCED_COLUMNS, rows)
            return csv_response("laporan-disposisi.csv", reports.HANDOFF_COLUMNS, result["rows"])
        return _envelope(filters, result["rows"], bounced=result["bounced"])


@blp.route("/backlog")
class BacklogReport(MethodView):
    @blp.arguments(ReportArgs, location="query")
    @blp.response(200, BacklogReportOut)
    @csv_alternative()
    def get(self, args: dict[str, Any]) -> Any:
        """Open cases per owner unit by age (whole days since received; managers)."""
        filters = report_filters(args)
        rows = reports.backlog_report(current_actor(), filters, now_utc())
        if args["format"] == "csv":
            return csv_response("laporan-tunggakan.csv", reports.BACKLOG_COLUMNS, rows)
        for row in rows:
            row["ages"] = {label: row[f"age_{label}"] for label, _, _ in reports.AGE_BUCKETS}
        return _envelope(filters, rows)


@blp.route("/ikm")
class IkmReport(MethodView):
    @blp.arguments(IkmArgs, location="query")
    @blp.response(200, IkmReportOut)
    @csv_alternative()
    def get(self, args: dict[str, Any]) -> Any:
        """IKM (PermenPAN-RB 14/2017) per resolving unit and period (managers)."""
        filters = report_filters(args)
        weight = reports.ikm_weight()
        rows = reports.ikm_report(current_actor(), filters, period=args["period"], weight=weight)
        if args["format"] == "csv":
            return csv_response("laporan-ikm.csv", reports.IKM_COLUMNS, rows)
        return _envelope(filters, rows, period=args["period"], weight=reports.weight_label(weight))

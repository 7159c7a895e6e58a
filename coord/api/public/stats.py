"""Public statistics: ``GET /public/v1/stats`` (no bearer token; rate limited per IP address;
cacheable). Per unit and WIB month: cases, on-time share, median working minutes to
resolution, IKM and respondents. Counts and unit names only: no case and no person.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import marshmallow as ma
from flask import current_app, jsonify
from flask.views import MethodView

from coord.api.auth import public
from coord.api.base import Blueprint
from coord.api.reports.routes import FiltersOut, PeriodArgs, report_filters
from coord.clock import now_utc
from coord.extensions import limiter
from coord.http.etag import conditional, data_etag
from coord.http.fields import Instant, Schema
from coord.services import reports

blp = Blueprint(
    "public_stats",
    __name__,
    url_prefix="/public/v1",
    description="Public statistics per unit and month (no token)",
)

CACHE_SECONDS = 300
CACHE_ENTRIES = 128


@dataclass(frozen=True)
class Figures:
    """The statistics for one filter set as computed at ``computed_at`` (the response's
    ``generated_at``), and their ETag: a digest of the filters, the weight and the rows only,
    so it changes when the figures do and never with the time (coord/http/etag.py)."""

    computed_at: datetime
    rows: list[dict[str, Any]]
    etag: str


class StatsCache:
    """Computed figures per filter set, kept ``CACHE_SECONDS`` in this process: the default
    view reads every case of the last twelve months, so anonymous callers must not be able
    to make the database recompute it on every request (rate limit or not)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[Any, ...], Figures] = {}

    def get(self, key: tuple[Any, ...], now: datetime) -> Figures | None:
        with self._lock:
            found = self._entries.get(key)
        if found is None or not (
            found.computed_at <= now < found.computed_at + timedelta(seconds=CACHE_SECONDS)
        ):
            return None
        return found

    def put(self, key: tuple[Any, ...], figures: Figures) -> None:
        with self._lock:
            if len(self._entries) >= CACHE_ENTRIES:
                oldest = min(self._entries, key=lambda k: self._entries[k].computed_at)
                del self._entries[oldest]
            self._entries[key] = figures

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


stats_cache = StatsCache()


def _public_limit() -> str:
    return str(current_app.config.get("COORD_PUBLIC_RATE_LIMIT", "30 per minute"))


class StatsRowOut(Schema):
    unit = ma.fields.String()
    unit_name = ma.fields.String()
    month = ma.fields.String(metadata={"description": "WIB month, YYYY-MM"})
    cases = ma.fields.Integer(metadata={"description": "cases received that month, by owner unit"})
    resolved = ma.fields.Integer()
    on_time_share = ma.fields.Float(
        allow_none=True,
        metadata={"description": "resolved on time / (resolved + open and overdue); null if 0/0"},
    )
    resolution_minutes_median = ma.fields.Float(
        allow_none=True,
        metadata={"description": "median working minutes from receipt to resolution"},
    )
    ikm = ma.fields.Float(
        allow_none=True,
        metadata={"description": "IKM of the SKM answers submitted that month for the unit"},
    )
    band = ma.fields.String(allow_none=True, metadata={"description": "A, B, C or D"})
    respondents = ma.fields.Integer()


class StatsOut(Schema):
    generated_at = Instant(
        metadata={"description": "when these figures were computed (at most five minutes ago)"}
    )
    filters = ma.fields.Nested(FiltersOut)
    weight = ma.fields.String(metadata={"description": "IKM weight per element: 1/9 or 0.11"})
    rows = ma.fields.List(ma.fields.Nested(StatsRowOut))


@blp.route("/stats")
@public
class PublicStats(MethodView):
    decorators = [limiter.limit(_public_limit, scope="public-stats")]

    @blp.arguments(PeriodArgs, location="query")
    @blp.response(200, StatsOut)
    @blp.doc(security=[])
    def get(self, args: dict[str, Any]) -> Any:
        """Per unit and month: cases, on-time share, median resolution time, IKM (no token).

        Without ``month``, ``since`` or ``until``: the last twelve months. Figures are
        recomputed at most every five minutes; responses may be cached as long
        (``Cache-Control``) and carry an ``ETag`` of the figures (not of the time): a request
        with ``If-None-Match`` gets 304 while the figures are the same."""
        now = now_utc()
        filters = report_filters(args)
        if filters.since is None and filters.until is None:
            since, until = reports.default_public_range(now)
            filters = reports.ReportFilters(since, until, filters.unit, filters.category)
        weight = reports.weight_label(reports.ikm_weight())
        key = (filters.since, filters.until, filters.unit, filters.category, weight)
        figures = stats_cache.get(key, now)
        if figures is None:
            rows = reports.public_stats(filters, now)
            data = StatsOut(exclude=["generated_at"]).dump(
                {"filters": filters.__dict__, "weight": weight, "rows": rows}
            )
            figures = Figures(now, rows, data_etag(data))
            stats_cache.put(key, figures)
        body = {
            "generated_at": figures.computed_at,
            "filters": filters.__dict__,
            "weight": weight,
            "rows": figures.rows,
        }
        response = jsonify(StatsOut().dump(body))
        response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
        return conditional(response, figures.etag)

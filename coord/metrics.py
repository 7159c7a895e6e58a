"""Prometheus metrics at /metrics: request counts and latency per endpoint, plus a few
figures read from the database at scrape time (open cases, due SLA work, pending webhooks).

Under gunicorn with several processes set PROMETHEUS_MULTIPROC_DIR so that every process's
counters are summed (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

REQUESTS = Counter("coord_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "coord_http_request_seconds",
    "HTTP request latency",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

blp = Blueprint("metrics", __name__)


class DatabaseCollector:
    """Gauges computed with a few cheap indexed counts when Prometheus scrapes."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):  # type: ignore[no-untyped-def]
        from coord.clock import now_utc
        from coord.domain.states import OPEN_CASE_STATUSES
        from coord.extensions import db
        from coord.models import Case, DeliveryStatus, SlaClock, WebhookDelivery

        with self.app.app_context():
            try:
                open_cases = GaugeMetricFamily(
                    "coord_open_cases", "Open cases by status", labels=["status"]
                )
                for status, count in db.session.execute(
                    select(Case.status, func.count())
                    .where(Case.status.in_([s.value for s in OPEN_CASE_STATUSES]))
                    .group_by(Case.status)
                ):
                    open_cases.add_metric([status], count)
                yield open_cases
                due = db.session.execute(
                    select(func.count()).where(SlaClock.next_threshold_at <= now_utc())
                ).scalar_one()
                yield GaugeMetricFamily(
                    "coord_sla_thresholds_due", "SLA thresholds due, not yet fired", value=due
                )
                pending = db.session.execute(
                    select(func.count()).where(
                        WebhookDelivery.status == DeliveryStatus.PENDING.value
                    )
                ).scalar_one()
                yield GaugeMetricFamily(
                    "coord_webhook_deliveries_pending", "Webhook deliveries pending", value=pending
                )
            except Exception:  # noqa: BLE001 - a scrape must not fail because the DB is down
                db.session.rollback()
            finally:
                db.session.remove()


@blp.get("/metrics")
def metrics() -> Response:
    from flask import current_app

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # sums every gunicorn process
    else:
        registry.register(_ProcessRegistry())
    registry.register(DatabaseCollector(current_app._get_current_object()))  # type: ignore[attr-defined]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _ProcessRegistry:
    """This process's own metrics (single-process servers and tests)."""

    def collect(self):  # type: ignore[no-untyped-def]
        return REGISTRY.collect()


def register_metrics(app: Flask) -> None:
    app.register_blueprint(blp)

    @app.before_request
    def _start_timer() -> None:
        g._metrics_started = time.perf_counter()

    @app.after_request
    def _record(response):  # type: ignore[no-untyped-def]
        started = g.pop("_metrics_started", None)
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        if started is not None and endpoint != "/metrics":
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
            REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        return response

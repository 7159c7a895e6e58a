"""The managers' dashboard: SLA compliance, breaches, bounced cases, backlog aging, handoff
acknowledgement and IKM, as charts with their tables and CSV downloads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, g, render_template, request
from flask_babel import get_locale

from coord.clock import now_utc
from coord.domain.paging import PAGE_ROWS, Page, page_window
from coord.models import Role
from coord.services import attention, reports
from coord.services.reports import ReportFilters, month_range
from coord.web import report_csv
from coord.web.auth import login_required
from coord.web.forms import form_month
from coord.web.paging import page_arg

blp = Blueprint("dashboard", __name__, url_prefix="/web/dashboard")


@blp.before_request
@login_required
def _managers_only():  # type: ignore[no-untyped-def]
    if not g.actor.has_role(Role.MANAGER):
        abort(403)


def _filters() -> tuple[ReportFilters, str]:
    month = form_month(request.args.get("month"))
    if month:
        since, until = month_range(month)
        return ReportFilters(since=since, until=until), month
    now = now_utc()
    return ReportFilters(since=now - timedelta(days=90), until=now + timedelta(minutes=1)), ""


def _data(filters: ReportFilters) -> dict[str, Any]:
    """What the page shows, and no more: the SLA figures per unit and per category in one
    pass over the period's cases, the percentiles it prints (resolution time per unit), the
    handoff rows without the bounced cases' routes."""
    actor, now = g.actor, now_utc()
    sla_units, sla_categories = reports.sla_reports(
        actor, filters, now, [("unit",), ("category",)], percentiles=UNIT_PERCENTILES
    )
    return {
        "sla_units": sla_units,
        "sla_categories": sla_categories,
        "handoffs": reports.handoff_report(actor, filters, with_bounced=False),
        "backlog": reports.backlog_report(actor, ReportFilters(), now),
        "ikm": reports.ikm_report(actor, filters, period="year"),
        "breaches": _open_breaches(1, DASHBOARD_BREACHES),
        "bounced": attention.bounced_cases(actor),
        **names(),
    }


UNIT_PERCENTILES = ("resolution_minutes_median", "resolution_minutes_p90")


def names() -> dict[str, dict[str, str]]:
    """Category and unit names by code, in the page's language: the reports carry codes,
    people read names."""
    return reports.names_by_code(english=str(get_locale()) == "en")


DASHBOARD_BREACHES = 20  # rows of the open-breach list on the dashboard itself


def _open_breaches(number: int, size: int) -> Page[dict[str, Any]]:
    """Page ``number`` of the open cases' breached clocks, with their true count (a page
    past the end: the last page)."""
    rows, total = reports.breaches(g.actor, {"open": True}, limit=size, offset=(number - 1) * size)
    window = page_window(number, size, total)
    if window.number != number:
        rows, total = reports.breaches(g.actor, {"open": True}, limit=size, offset=window.offset)
    return Page(number=window.number, size=size, total=total, rows=rows)


@blp.get("/breaches")
def breach_list():  # type: ignore[no-untyped-def]
    """Every open breach, page by page (the dashboard shows the first rows)."""
    return render_template(
        "staff/breaches.html", page=_open_breaches(page_arg(), PAGE_ROWS), **names()
    )


@blp.get("/")
def index():  # type: ignore[no-untyped-def]
    filters, month = _filters()
    return render_template("staff/dashboard.html", month=month, **_data(filters))


CSV_REPORTS = {
    "sla": (lambda f, now: reports.sla_report(g.actor, f, now), reports.SLA_COLUMNS),
    "handoffs": (
        lambda f, now: reports.handoff_report(g.actor, f, with_bounced=False)["rows"],
        reports.HANDOFF_COLUMNS,
    ),
    "backlog": (lambda f, now: reports.backlog_report(g.actor, f, now), reports.BACKLOG_COLUMNS),
    "breaches": (
        lambda f, now: reports.breaches(g.actor, {}, limit=None, offset=0)[0],
        reports.BREACH_COLUMNS,
    ),
}


@blp.get("/<any(sla,handoffs,backlog,breaches,ikm):report>.csv")
def download(report: str):  # type: ignore[no-untyped-def]
    """A report as a CSV file for people: Indonesian file name and headers, names beside
    codes (coord/web/report_csv.py)."""
    filters, month = _filters()
    now = now_utc()
    if report == "ikm":
        rows = reports.ikm_report(g.actor, filters, period="month")
        return report_csv.download(report, month, reports.IKM_COLUMNS, rows, names())
    build, columns = CSV_REPORTS[report]
    return report_csv.download(report, month, columns, build(filters, now), names())

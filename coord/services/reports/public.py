"""Public statistics (``GET /public/v1/stats`` and the public statistics page): per unit and
WIB month, the SLA report's case counts and the IKM, with no case and no person in them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coord.services.policy import SYSTEM
from coord.services.reports.filters import WIB, ReportFilters, month_range
from coord.services.reports.ikm import ikm_report
from coord.services.reports.sla import sla_report

PUBLIC_COLUMNS = (
    "unit",
    "unit_name",
    "month",
    "cases",
    "resolved",
    "on_time_share",
    "resolution_minutes_median",
    "ikm",
    "band",
    "respondents",
)
PUBLIC_DEFAULT_MONTHS = 12


def default_public_range(now: datetime) -> tuple[datetime, datetime]:
    """The last twelve WIB months, the current one included."""
    local = now.astimezone(WIB)
    index = local.year * 12 + local.month - 1 - (PUBLIC_DEFAULT_MONTHS - 1)
    since, _ = month_range(f"{index // 12:04d}-{index % 12 + 1:02d}")
    _, until = month_range(f"{local.year:04d}-{local.month:02d}")
    return since, until


def public_stats(filters: ReportFilters, now: datetime) -> list[dict[str, Any]]:
    """Per unit and WIB month: cases received (by owner unit), resolved, on-time share and
    median working minutes to resolution, and the IKM of the answers submitted that month
    for the unit that resolved. Unit codes and names and counts only: no case, no person."""
    sla = sla_report(
        SYSTEM, filters, now, by=("unit", "month"), percentiles=["resolution_minutes_median"]
    )
    ikm = ikm_report(SYSTEM, filters, period="month")
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sla:
        merged[(row["unit"], row["month"])] = {
            "unit": row["unit"],
            "unit_name": row["unit_name"],
            "month": row["month"],
            "cases": row["cases"],
            "resolved": row["resolved"],
            "on_time_share": row["on_time_share"],
            "resolution_minutes_median": row["resolution_minutes_median"],
            "ikm": None,
            "band": None,
            "respondents": 0,
        }
    for row in ikm:
        item = merged.setdefault(
            (row["unit"], row["period"]),
            {
                "unit": row["unit"],
                "unit_name": row["unit_name"],
                "month": row["period"],
                "cases": 0,
                "resolved": 0,
                "on_time_share": None,
                "resolution_minutes_median": None,
            },
        )
        item.update(ikm=row["ikm"], band=row["band"], respondents=row["respondents"])
    return [merged[key] for key in sorted(merged)]

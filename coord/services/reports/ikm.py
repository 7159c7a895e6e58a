"""The IKM report (SKM survey index): per resolving unit and WIB period, the answers counted
and summed by the database, weighed, rounded and banded by coord.domain.ikm."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from coord.domain.ikm import (
    ELEMENTS,
    WEIGHTS,
    ElementTotal,
    compute_ikm,
    parse_weight,
)
from coord.extensions import db
from coord.models import Case, Feedback
from coord.services.errors import InvalidInput
from coord.services.policy import Actor, SystemActor, report_scope
from coord.services.reports.filters import PERIODS, ReportFilters, _Lookups, _period_where
from coord.services.reports.scope import require_report_reader
from coord.services.reports.sql import (
    PERIOD_FUNCTIONS,
    _long_period,
    _period_label,
    _prepare_session,
    _ratio,
)

IKM_COLUMNS = (
    "unit",
    "unit_name",
    "period",
    "respondents",
    *(f"nrr_{e}" for e in ELEMENTS),
    "ikm",
    "band",
    "band_label",
)


def ikm_weight() -> Fraction:
    return parse_weight(current_app.config.get("COORD_IKM_WEIGHT"))


def ikm_report(
    actor: Actor, filters: ReportFilters, *, period: str = "month", weight: Fraction | None = None
) -> list[dict[str, Any]]:
    """IKM per resolving unit and WIB period (month, quarter or year) of the answers'
    submission, over feedback on cases ``actor`` may read. The database counts and sums the
    answers per element; coord.domain.ikm weighs, rounds and bands them."""
    require_report_reader(actor)
    if period not in PERIODS:
        raise InvalidInput.field("period", f"must be one of {', '.join(PERIODS)}")
    weight = ikm_weight() if weight is None else weight
    _prepare_session(parallel=_long_period(filters))
    lookups = _Lookups.current()
    period_column = PERIOD_FUNCTIONS[period](Feedback.submitted_at).label("period")
    where = [*_period_where(Feedback.submitted_at, filters)]
    if not isinstance(actor, SystemActor):
        where.append(report_scope(actor, Feedback.case_id))
    if filters.unit:
        where.append(Feedback.unit_id == lookups.unit_id(filters.unit))
    if filters.category:
        # The case decides the category; an id set, no join.
        category_id = lookups.category_id(filters.category)
        where.append(Feedback.case_id.in_(select(Case.id).where(Case.category_id == category_id)))
    element_columns = []
    for element in ELEMENTS:
        column = getattr(Feedback, element)
        element_columns.append(func.count(column).label(f"{element}_answers"))
        element_columns.append(func.coalesce(func.sum(column), 0).label(f"{element}_total"))
    query = (
        select(
            Feedback.unit_id.label("unit"),
            period_column,
            func.count().label("respondents"),
            *element_columns,
        )
        .select_from(Feedback)
        .where(*where)
        .group_by(Feedback.unit_id, period_column)
    )
    report = []
    for row in db.session.execute(query):
        data = row._mapping
        totals = {
            e: ElementTotal(int(data[f"{e}_answers"]), int(data[f"{e}_total"])) for e in ELEMENTS
        }
        result = compute_ikm(int(data["respondents"]), totals, weight)
        item: dict[str, Any] = {
            "unit": lookups.unit_code(data["unit"]),
            "unit_name": lookups.unit_name(data["unit"]),
            "period": _period_label(data["period"], period),
            "respondents": result.respondents,
        }
        # NRR shown rounded half up to three decimals (as result.nrr_rounded(), in integer
        # arithmetic: thousands of rows per report).
        item["nrr"] = {
            e: None if not (t := totals[e]).answers else _ratio(t.total, t.answers, 3)
            for e in ELEMENTS
        }
        item.update({f"nrr_{e}": item["nrr"][e] for e in ELEMENTS})
        item["ikm"] = None if result.index is None else float(result.index)
        item["band"] = result.band.code if result.band else None
        item["band_label"] = result.band.label if result.band else None
        report.append(item)
    report.sort(key=lambda r: (r["unit"], r["period"]))
    return report


def weight_label(weight: Fraction) -> str:
    return next((label for label, value in WEIGHTS.items() if value == weight), str(weight))

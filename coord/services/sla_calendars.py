"""Which calendar and which SLA policy a clock counts on: a unit's working calendar, the
camat office that holds a location, the policy in force for a category and priority, and
the calendar a case's clocks run on (DESIGN.md section 5). Reads only, cached per
configuration generation (``config_cache``)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from coord.domain.calendar import ALWAYS_OPEN, DEFAULT_CALENDAR, WorkingCalendar
from coord.domain.calendar_config import calendar_from_config, calendar_to_config
from coord.extensions import db
from coord.models import Case, ClockKind, SlaPolicy, Unit, UnitKind
from coord.services import config_cache
from coord.services.policy import in_jurisdiction


@lru_cache(maxsize=256)
def _calendar_from_json(raw: str) -> WorkingCalendar:
    return calendar_from_config(json.loads(raw))


def calendar_of(config: dict[str, Any] | None) -> WorkingCalendar:
    if not config:
        return DEFAULT_CALENDAR
    return _calendar_from_json(json.dumps(config, sort_keys=True))


def unit_calendar(unit: Unit | None) -> WorkingCalendar:
    return calendar_of(unit.calendar if unit is not None else None)


def camat_office_for_region(region_code: str) -> Unit | None:
    """The camat office whose jurisdiction (a kecamatan) holds ``region_code``."""
    parts = region_code.split(".")
    if len(parts) < 3:
        return None
    kecamatan = ".".join(parts[:3])
    return config_cache.cached(
        ("camat_office", kecamatan),
        lambda: db.session.execute(
            select(Unit)
            .where(
                Unit.kind == UnitKind.CAMAT_OFFICE.value,
                in_jurisdiction(Unit.region_code, kecamatan),
            )
            .order_by(Unit.id)
            .limit(1)
        ).scalar_one_or_none(),
    )


def current_policy(category_id: int, priority: str) -> SlaPolicy | None:
    return config_cache.cached(
        ("policy", category_id, priority),
        lambda: db.session.execute(
            select(SlaPolicy).where(
                SlaPolicy.category_id == category_id,
                SlaPolicy.priority == priority,
                SlaPolicy.superseded_at.is_(None),
            )
        ).scalar_one_or_none(),
    )


def case_calendar_config(case: Case, policy: SlaPolicy) -> tuple[dict[str, Any], Unit | None]:
    """Case clocks run on the calendar of the camat office holding the location (24x7 for
    urgent-hazard policies); the office's hours also decide when reminders go out."""
    office = camat_office_for_region(case.region_code)
    if policy.clock == ClockKind.ALWAYS.value:
        return calendar_to_config(ALWAYS_OPEN), office
    return calendar_to_config(unit_calendar(office)), office


def calendar_from_text(raw: str) -> WorkingCalendar:
    """A clock's calendar from its JSON text, parsed once per distinct text (cached)."""
    return _calendar_from_json(raw)

"""Admin configuration: who may configure what (the admin scope), units, SLA policy versions
and unit calendars.

The admin scope (DESIGN.md section 3, the table in docs/permissions.md):

- an admin's *jurisdiction* is their own unit, plus, for an office that governs a region (a
  camat office its kecamatan, a city office its city), every unit whose region lies inside
  that region (the region tree: ``region_within``). A kelurahan or agency admin holds only
  their own unit;
- an admin configures the units of their jurisdiction (contact data, calendar, users, webhook
  endpoints) and creates kelurahan units inside it;
- what binds units beyond one office (SLA policies, agencies, camat and city offices) needs an
  admin whose jurisdiction holds *every* active unit (``has_city_wide_scope``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, func, or_, select

from coord.domain.calendar_config import calendar_from_config, calendar_to_config
from coord.extensions import db
from coord.models import Category, Region, Role, SlaPolicy, Unit, UnitKind, User
from coord.services.errors import Forbidden, InvalidInput, NotFound
from coord.services.policy import Actor, SystemActor, in_jurisdiction, region_within
from coord.services.sla_calendars import current_policy

# Offices that govern the units inside their region; every other unit governs only itself.
GOVERNING_KINDS = frozenset({UnitKind.CITY_OFFICE.value, UnitKind.CAMAT_OFFICE.value})
# Units whose creation or change binds more than one office's area: only an admin with
# city-wide scope creates or changes them (their own admins still edit their own unit).
CITY_WIDE_KINDS = frozenset(
    {UnitKind.CITY_OFFICE.value, UnitKind.CAMAT_OFFICE.value, UnitKind.AGENCY.value}
)
# The region levels a unit of each kind sits at (DESIGN.md section 3: a camat office its
# kecamatan, a kelurahan office its kelurahan, a city office the city; an agency the city, or
# one kecamatan for a local service office such as a puskesmas).
KIND_LEVELS = {
    UnitKind.CITY_OFFICE.value: ("city",),
    UnitKind.CAMAT_OFFICE.value: ("kecamatan",),
    UnitKind.KELURAHAN.value: ("kelurahan",),
    UnitKind.AGENCY.value: ("city", "kecamatan"),
}

# --------------------------------------------------------------------------------------------
# The admin scope: the one place that decides what an admin may configure.


def _admin_unit(actor: Actor) -> Unit | None:
    """The unit an admin administers from, or None if ``actor`` is not an admin."""
    if isinstance(actor, User) and actor.has_role(Role.ADMIN):
        return actor.unit
    return None


def require_admin(actor: Actor) -> None:
    if not isinstance(actor, SystemActor) and _admin_unit(actor) is None:
        raise Forbidden("Only admins may change configuration.")


def in_admin_jurisdiction(actor: Actor, unit: Unit) -> bool:
    """Whether ``unit`` is the admin's own unit or lies in the region their office governs."""
    if isinstance(actor, SystemActor):
        return True
    own = _admin_unit(actor)
    if own is None:
        return False
    if unit.id == own.id:
        return True
    return own.kind in GOVERNING_KINDS and region_within(unit.region_code, own.region_code)


def _jurisdiction_clause(own: Unit) -> ColumnElement[bool]:
    """``in_admin_jurisdiction`` as a condition on ``Unit`` (for lists)."""
    if own.kind in GOVERNING_KINDS:
        return or_(Unit.id == own.id, in_jurisdiction(Unit.region_code, own.region_code))
    return Unit.id == own.id


def has_city_wide_scope(actor: Actor) -> bool:
    """Whether every active unit lies in the admin's jurisdiction: the scope needed to change
    what binds them all (SLA policies, agencies, camat and city offices). Decided from the
    data, not the admin's unit kind: in a deployment of one kecamatan without agencies its
    camat office has it; in a city, its city office."""
    if isinstance(actor, SystemActor):
        return True
    own = _admin_unit(actor)
    if own is None:
        return False
    outside = exists().where(Unit.active.is_(True), ~_jurisdiction_clause(own))
    return not db.session.execute(select(outside)).scalar()


def may_configure_unit(actor: Actor, unit: Unit) -> bool:
    """Edit a unit's data and calendar, manage its users and webhook endpoints. Agencies and
    governing offices other than the admin's own unit need city-wide scope."""
    if not in_admin_jurisdiction(actor, unit):
        return False
    if unit.kind in CITY_WIDE_KINDS and unit.id != getattr(actor, "unit_id", None):
        return has_city_wide_scope(actor)
    return True


def may_create_unit(actor: Actor, kind: str, region_code: str) -> bool:
    """Create a unit of ``kind`` at ``region_code``: a kelurahan unit inside the admin's
    jurisdiction; any other kind only with city-wide scope."""
    if kind in CITY_WIDE_KINDS:
        return has_city_wide_scope(actor)
    if isinstance(actor, SystemActor):
        return True
    own = _admin_unit(actor)
    return (
        own is not None
        and own.kind in GOVERNING_KINDS
        and region_within(region_code, own.region_code)
    )


def creatable_kinds(actor: Actor) -> list[str]:
    """The unit kinds ``actor`` may create somewhere (the admin pages offer only these)."""
    if has_city_wide_scope(actor):
        return [k.value for k in UnitKind]
    own = _admin_unit(actor)
    if own is not None and own.kind in GOVERNING_KINDS:
        return [UnitKind.KELURAHAN.value]
    return []


def configurable_units(actor: Actor) -> Select[Any]:
    """The units ``actor`` may configure, by kind and name (the admin pages' list; page it
    with coord.services.paging)."""
    own = _admin_unit(actor)
    query = select(Unit).order_by(Unit.kind, Unit.name, Unit.id)
    if isinstance(actor, SystemActor):
        return query
    if own is None:
        return query.where(false())
    query = query.where(_jurisdiction_clause(own))
    if has_city_wide_scope(actor):
        return query
    own_id = getattr(actor, "unit_id", None)
    return query.where(or_(Unit.kind.not_in(sorted(CITY_WIDE_KINDS)), Unit.id == own_id))


def _refuse_unit(unit_name: str) -> Forbidden:
    return Forbidden(f"{unit_name} lies outside the jurisdiction of your unit's admins.")


def require_unit_admin(actor: Actor, unit: Unit) -> None:
    if not may_configure_unit(actor, unit):
        require_admin(actor)
        raise _refuse_unit(unit.name)


# --------------------------------------------------------------------------------------------
# Lookups


def get_unit(code: str) -> Unit:
    unit = db.session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"No unit '{code}'.")
    return unit


def get_category(code: str) -> Category:
    category = db.session.execute(
        select(Category).where(Category.code == code)
    ).scalar_one_or_none()
    if category is None:
        raise NotFound(f"No category '{code}'.")
    return category


# --------------------------------------------------------------------------------------------
# Units

UNIT_CODE = re.compile(r"[a-z0-9][a-z0-9\-_.]{1,63}")
UNIT_TEXT_LIMITS = {"name": 200, "email": 200, "phone": 40, "address": 500}


def _unit_text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    value = str(value).strip()
    if len(value) > UNIT_TEXT_LIMITS[name]:
        raise InvalidInput.field(name, f"at most {UNIT_TEXT_LIMITS[name]} characters")
    return value or None


def create_unit(actor: Actor, data: dict[str, Any]) -> Unit:
    """Create a unit (``code``, ``name``, ``kind``, ``region_code``, optional contact data).

    Checks: the region exists and is at a level the kind sits at (``KIND_LEVELS``); the admin
    may create that kind there (``may_create_unit``: 403 otherwise); the code is free."""
    require_admin(actor)
    kind = data.get("kind", "")
    if kind not in KIND_LEVELS:
        raise InvalidInput.field("kind", f"one of {sorted(KIND_LEVELS)}")
    region_code = str(data.get("region_code") or "").strip()
    region = db.session.get(Region, region_code) if 0 < len(region_code) <= 20 else None
    if region is None:
        raise InvalidInput.field("region_code", "unknown region")
    if region.level not in KIND_LEVELS[kind]:
        levels = " or ".join(KIND_LEVELS[kind])
        raise InvalidInput.field("region_code", f"a {kind} unit sits at a {levels} region")
    if not may_create_unit(actor, kind, region.code):
        raise Forbidden(
            f"Creating a {kind} unit at region {region.code} is outside your admin jurisdiction."
        )
    code = str(data.get("code") or "")
    if not UNIT_CODE.fullmatch(code):
        raise InvalidInput.field("code", "2-64 lower-case letters, digits, - _ .")
    if db.session.execute(select(Unit.id).where(Unit.code == code)).first():
        raise InvalidInput.field("code", "already used")
    name = _unit_text(data, "name")
    if not name:
        raise InvalidInput.field("name", "required")
    unit = Unit(
        code=code,
        name=name,
        kind=kind,
        region_code=region.code,
        email=_unit_text(data, "email"),
        phone=_unit_text(data, "phone"),
        address=_unit_text(data, "address"),
        active=True,
    )
    db.session.add(unit)
    db.session.flush()
    return unit


def update_unit(actor: Actor, code: str, data: dict[str, Any]) -> Unit:
    """Change a unit's name, contact data or active flag (``may_configure_unit``: 403
    otherwise). An admin cannot deactivate their own unit (it would lock them out)."""
    unit = get_unit(code)
    require_unit_admin(actor, unit)
    if "name" in data:
        name = _unit_text(data, "name")
        if not name:
            raise InvalidInput.field("name", "required")
        unit.name = name
    for field in ("email", "phone", "address"):
        if field in data:
            setattr(unit, field, _unit_text(data, field))
    if "active" in data and bool(data["active"]) != unit.active:
        if unit.id == getattr(actor, "unit_id", None):
            raise Forbidden("An admin cannot deactivate or reactivate their own unit.")
        unit.active = bool(data["active"])
    db.session.flush()
    return unit


# --------------------------------------------------------------------------------------------
# SLA policies


def require_city_wide_scope(actor: Actor, what: str) -> None:
    require_admin(actor)
    if not has_city_wide_scope(actor):
        raise Forbidden(
            f"{what} binds every unit; only an admin whose jurisdiction holds every active "
            "unit (the city office) may change it."
        )


def publish_policy(
    actor: Actor, category_code: str, data: dict[str, Any], now: datetime
) -> SlaPolicy:
    """Publish new targets for a category and priority as a new version (admins with
    city-wide scope: a service standard binds every unit). Open cases keep the version they
    were opened under; new cases get this one."""
    require_city_wide_scope(actor, "A service standard (SLA policy)")
    category = get_category(category_code)
    percents = sorted(set(data.get("warning_percents") or [50, 80]))
    if any(not 0 < p < 100 for p in percents):
        raise InvalidInput.field("warning_percents", "each between 1 and 99")
    previous = current_policy(category.id, data["priority"])
    latest = db.session.execute(
        select(func.max(SlaPolicy.version)).where(
            SlaPolicy.category_id == category.id, SlaPolicy.priority == data["priority"]
        )
    ).scalar_one()
    if previous is not None:
        previous.superseded_at = now
        db.session.flush()
    policy = SlaPolicy(
        category_id=category.id,
        priority=data["priority"],
        version=(latest or 0) + 1,
        response_minutes=data["response_minutes"],
        resolution_minutes=data["resolution_minutes"],
        handoff_ack_minutes=data["handoff_ack_minutes"],
        warning_percents=percents,
        clock=data.get("clock", "business"),
        created_at=now,
    )
    db.session.add(policy)
    db.session.flush()
    return policy


def policies_of(category_code: str) -> Select[Any]:
    """Every version of a category's SLA policies, by priority and version (page it with
    coord.services.paging). An unknown category: NotFound."""
    category = get_category(category_code)
    return (
        select(SlaPolicy)
        .where(SlaPolicy.category_id == category.id)
        .order_by(SlaPolicy.priority, SlaPolicy.version, SlaPolicy.id)
    )


# --------------------------------------------------------------------------------------------
# Calendars


def set_unit_calendar(actor: Actor, unit_code: str, config: dict[str, Any]) -> Unit:
    """Replace a unit's working calendar (hours per weekday, closed dates): admins who may
    configure the unit. Deadlines already running keep the calendar they started with; new
    clocks use this one."""
    unit = get_unit(unit_code)
    require_unit_admin(actor, unit)
    try:
        calendar = calendar_from_config(config)
    except ValueError as exc:
        raise InvalidInput(f"Invalid calendar: {exc}", {"calendar": [str(exc)]}) from exc
    unit.calendar = calendar_to_config(calendar)
    unit.timezone = calendar.timezone
    return unit


def unit_calendar_config(unit_code: str) -> dict[str, Any]:
    from coord.services.sla_calendars import unit_calendar

    return calendar_to_config(unit_calendar(get_unit(unit_code)))

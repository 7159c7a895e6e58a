"""The jurisdiction this GeoReport v2 server serves: its ``jurisdiction_id`` and region scope
(configuration), WIB times, the services (public, active categories) and the kelurahan
served, which are the values of every service's one attribute, ``kelurahan``."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from coord.extensions import db
from coord.models import Category, Region, RegionLevel, Unit, UnitKind
from coord.services.errors import NotFound
from coord.services.policy import in_jurisdiction

WIB = ZoneInfo("Asia/Jakarta")
KELURAHAN_ATTRIBUTE = "kelurahan"


def iso_wib(at: datetime | None) -> str | None:
    """ISO 8601 with the +07:00 offset, as GeoReport v2 asks for."""
    return at.astimezone(WIB).isoformat(timespec="seconds") if at is not None else None


def jurisdiction_id() -> str:
    return str(current_app.config.get("COORD_OPEN311_JURISDICTION", "medan.go.id"))


def check_jurisdiction(given: str | None) -> None:
    """``jurisdiction_id`` is optional (this server has one); a different one is not found."""
    if given is not None and given.strip() != jurisdiction_id():
        raise NotFound(
            f"jurisdiction_id '{given.strip()[:100]}' not found; this server serves "
            f"'{jurisdiction_id()}'."
        )


def region_scope() -> str:
    return str(current_app.config.get("COORD_OPEN311_REGION", "") or "")


def in_scope(column: Any) -> Any:
    scope = region_scope()
    return in_jurisdiction(column, scope) if scope else True


def public_categories() -> list[Category]:
    return list(
        db.session.execute(
            select(Category)
            .where(Category.public.is_(True), Category.active.is_(True))
            .order_by(Category.code)
        ).scalars()
    )


def find_service(code: str) -> Category:
    category = db.session.execute(
        select(Category).where(
            Category.code == code, Category.public.is_(True), Category.active.is_(True)
        )
    ).scalar_one_or_none()
    if category is None:
        raise NotFound(f"service_code '{code[:64]}' not found.")
    return category


def kelurahan_choices() -> list[tuple[Region, Unit]]:
    """The kelurahan in the region served that have an active kelurahan office, by name."""
    rows = db.session.execute(
        select(Region, Unit)
        .join(Unit, Unit.region_code == Region.code)
        .where(
            Region.level == RegionLevel.KELURAHAN.value,
            Unit.kind == UnitKind.KELURAHAN.value,
            Unit.active.is_(True),
            in_scope(Region.code),
        )
        .order_by(Region.name, Region.code, Unit.id)
    ).all()
    seen: set[str] = set()
    choices: list[tuple[Region, Unit]] = []
    for region, unit in rows:
        if region.code not in seen:
            seen.add(region.code)
            choices.append((region, unit))
    return choices

"""Regions (Kemendagri codes) and units (offices that own or receive cases)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coord.extensions import Model
from coord.models.base import BigIntPK, JSONType, enum_check


class RegionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    KECAMATAN = "kecamatan"
    KELURAHAN = "kelurahan"


LEVEL_BY_DEPTH = {
    1: RegionLevel.PROVINCE,
    2: RegionLevel.CITY,
    3: RegionLevel.KECAMATAN,
    4: RegionLevel.KELURAHAN,
}


class Region(Model):
    __tablename__ = "regions"
    __table_args__ = (CheckConstraint(enum_check("level", RegionLevel), name="level"),)

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(12))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)


class UnitKind(StrEnum):
    # A city office (Pemerintah Kota, e.g. the Bagian Pemerintahan of the city secretariat)
    # sits at the city's region: its admins configure what binds the whole city.
    CITY_OFFICE = "city_office"
    CAMAT_OFFICE = "camat_office"
    KELURAHAN = "kelurahan"
    AGENCY = "agency"


class Unit(Model):
    __tablename__ = "units"
    __table_args__ = (CheckConstraint(enum_check("kind", UnitKind), name="kind"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Jakarta")
    # Working calendar as JSON (see coord.domain.calendar_config.calendar_from_config); null = default.
    calendar: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)

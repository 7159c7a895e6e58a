"""Categories of cases and their versioned SLA policies."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.extensions import Model
from coord.models.base import BigIntPK, JSONType, UTCDateTime, enum_check
from coord.models.regions import Unit


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ClockKind(StrEnum):
    BUSINESS = "business"
    ALWAYS = "24x7"


class Category(Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_id: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    default_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    default_unit_kind: Mapped[str | None] = mapped_column(String(16))
    public: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)

    default_unit: Mapped[Unit | None] = relationship()
    policies: Mapped[list[SlaPolicy]] = relationship(
        back_populates="category", order_by="SlaPolicy.priority, SlaPolicy.version"
    )


class SlaPolicy(Model):
    """Targets for one category and priority. Edits make a new version; cases keep theirs."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("category_id", "priority", "version"),
        CheckConstraint(enum_check("priority", Priority), name="priority"),
        CheckConstraint(enum_check("clock", ClockKind), name="clock"),
        CheckConstraint(
            "response_minutes > 0 AND resolution_minutes > 0 AND handoff_ack_minutes > 0",
            name="positive_targets",
        ),
        Index("ix_sla_policies_current", "category_id", "priority", "superseded_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    priority: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(default=1)
    response_minutes: Mapped[int]
    resolution_minutes: Mapped[int]
    handoff_ack_minutes: Mapped[int]
    warning_percents: Mapped[list[int]] = mapped_column(JSONType, default=lambda: [50, 80])
    clock: Mapped[str] = mapped_column(String(8), default=ClockKind.BUSINESS.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    category: Mapped[Category] = relationship(back_populates="policies")

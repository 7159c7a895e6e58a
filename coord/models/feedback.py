"""Citizen feedback (SKM survey) and Open311 client keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from coord.extensions import Model
from coord.models.base import BigIntPK, UTCDateTime

# PermenPAN-RB 14/2017: the nine elements (unsur) of the SKM survey.
SKM_ELEMENTS = ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9")


class Feedback(Model):
    """One SKM response per resolution of a case, each element scored 1 to 4."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("case_id", "resolution_number"),
        *(
            CheckConstraint(f"{e} IS NULL OR {e} BETWEEN 1 AND 4", name=f"{e}_range")
            for e in SKM_ELEMENTS
        ),
        Index("ix_feedback_unit_at", "unit_id", "submitted_at"),
        Index("ix_feedback_submitted_at", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    resolution_number: Mapped[int] = mapped_column(Integer)
    # The unit that resolved the case: IKM is reported per unit.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    u1: Mapped[int | None]
    u2: Mapped[int | None]
    u3: Mapped[int | None]
    u4: Mapped[int | None]
    u5: Mapped[int | None]
    u6: Mapped[int | None]
    u7: Mapped[int | None]
    u8: Mapped[int | None]
    u9: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)


class Open311Client(Model):
    """An app allowed to POST service requests through Open311 (its api_key is hashed)."""

    __tablename__ = "open311_clients"
    __table_args__ = (UniqueConstraint("key_hash"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

"""What is written about a case: its append-only events (the timeline, reports, citizen view
and webhooks read them), its attachments, and the idempotency keys of the requests that
created it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.extensions import Model
from coord.models.base import BigIntPK, JSONType, UTCDateTime, enum_check
from coord.models.cases import Case, Handoff
from coord.models.regions import Unit


class Visibility(StrEnum):
    INTERNAL = "internal"
    PUBLIC = "public"


class CaseEvent(Model):
    """Append-only audit trail; the timeline, reports, citizen view and webhooks read it."""

    __tablename__ = "case_events"
    __table_args__ = (
        CheckConstraint(enum_check("visibility", Visibility), name="visibility"),
        Index("ix_case_events_case", "case_id", "id"),
        Index("ix_case_events_type_at", "type", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id"))
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    actor_label: Mapped[str] = mapped_column(String(200))
    visibility: Mapped[str] = mapped_column(String(10), default=Visibility.INTERNAL.value)
    case_version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    actor_unit: Mapped[Unit | None] = relationship(lazy="joined")
    # Written with the change it records, in the same flush (the flush fills the ids).
    case: Mapped[Case] = relationship(foreign_keys=[case_id])
    handoff: Mapped[Handoff | None] = relationship(foreign_keys=[handoff_id])


class IdempotencyKey(Model):
    """A POST retried with the same key returns the first result."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()


class Attachment(Model):
    """A file on a case (photo of the road, scanned letter). The bytes live in the
    configured store (a local folder by default); the row keeps what was checked."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint(enum_check("visibility", Visibility), name="visibility"),
        CheckConstraint("size > 0", name="size_positive"),
        Index("ix_attachments_case", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)
    visibility: Mapped[str] = mapped_column(String(10), default=Visibility.INTERNAL.value)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""Webhook endpoints and their delivery outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.extensions import Model
from coord.models.base import BigIntPK, JSONType, UTCDateTime, enum_check
from coord.models.regions import Unit


class WebhookEndpoint(Model):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_unit", "unit_id", "active"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSONType)
    active: Mapped[bool] = mapped_column(default=True)
    # Signing secrets (whsec_...). During rotation the previous one keeps signing until
    # previous_secret_expires_at, so receivers can switch without losing a message.
    secret: Mapped[str] = mapped_column(String(200))
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    unit: Mapped[Unit] = relationship(lazy="joined")


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"  # endpoint disabled or deleted before delivery


class WebhookDelivery(Model):
    """One message to one endpoint: written with the event (outbox), sent by workers."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(enum_check("status", DeliveryStatus), name="status"),
        CheckConstraint(
            "status <> 'delivered' OR delivered_at IS NOT NULL", name="delivered_has_instant"
        ),
        UniqueConstraint("msg_id"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # A job claiming one endpoint's due deliveries, in order
        # (coord.services.webhooks.delivery.claim).
        Index(
            "ix_webhook_deliveries_endpoint_due",
            "endpoint_id",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id", ondelete="SET NULL"))
    msg_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()

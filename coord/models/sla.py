"""SLA clocks and the notifications they raise."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from coord.models.cases import Case, Handoff


class ClockName(StrEnum):
    RESPONSE = "response"
    RESOLUTION = "resolution"
    HANDOFF_ACK = "handoff_ack"


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"  # closed after its due time (or still open and past due)
    STOPPED = "stopped"  # no longer applies (case cancelled, handoff recalled)


class SlaClock(Model):
    """One deadline: a case's response or resolution target, or a handoff's acknowledgement.

    ``next_threshold_at`` is when the next warning (or the breach) falls due; the sweep reads
    only rows whose instant has passed, through a partial index, so its cost follows the due
    items and not the open cases.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        CheckConstraint(enum_check("name", ClockName), name="name"),
        CheckConstraint(enum_check("state", ClockState), name="state"),
        CheckConstraint(
            "(name = 'handoff_ack') = (handoff_id IS NOT NULL)", name="handoff_clock_has_handoff"
        ),
        CheckConstraint("state <> 'paused' OR paused_at IS NOT NULL", name="paused_has_instant"),
        CheckConstraint(
            "state NOT IN ('met', 'breached') OR completed_at IS NOT NULL OR breached_at IS NOT NULL",
            name="closed_has_instant",
        ),
        UniqueConstraint("case_id", "name", "handoff_id"),
        # The breach list (coord/services/reports/breach_list.py): the breached clocks of the
        # cases in scope, by case, read from the index alone.
        Index(
            "ix_sla_clocks_breached",
            "case_id",
            postgresql_include=["id", "breached_at", "due_at", "handoff_id"],
            postgresql_where=text("state = 'breached'"),
            sqlite_where=text("state = 'breached'"),
        ),
        Index(
            "ix_sla_clocks_next_threshold_at",
            "next_threshold_at",
            postgresql_where=text("next_threshold_at IS NOT NULL"),
            sqlite_where=text("next_threshold_at IS NOT NULL"),
        ),
        # The SLA report joins the case clocks by (case_id, name); the handoff report the
        # acknowledgement clocks by handoff_id. INCLUDE lets PostgreSQL answer from the index.
        Index(
            "ix_sla_clocks_case_name",
            "case_id",
            "name",
            postgresql_include=[
                "state",
                "target_minutes",
                "minutes_over",
                "due_at",
                "completed_at",
            ],
        ),
        Index(
            "ix_sla_clocks_handoff",
            "handoff_id",
            postgresql_include=["name", "state", "target_minutes", "minutes_over", "completed_at"],
            postgresql_where=text("handoff_id IS NOT NULL"),
            sqlite_where=text("handoff_id IS NOT NULL"),
        ),
        # One response and one resolution clock per case (NULL handoff ids never collide in
        # the unique constraint above).
        Index(
            "uq_sla_clocks_case_clock",
            "case_id",
            "name",
            unique=True,
            postgresql_where=text("handoff_id IS NULL"),
            sqlite_where=text("handoff_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(16))
    # The calendar the clock counts on, as calendar_from_config JSON (copied at start so a
    # later calendar edit does not move a running deadline silently).
    calendar: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Unit whose working hours decide when reminders reach people.
    notify_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    target_minutes: Mapped[int] = mapped_column(Integer)
    warning_percents: Mapped[list[int]] = mapped_column(JSONType)
    paused_minutes: Mapped[int] = mapped_column(Integer, default=0)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10), default=ClockState.RUNNING.value)
    # The next threshold in percent (a warning percent or 100) and when it falls due.
    next_threshold: Mapped[int | None] = mapped_column(Integer)
    next_threshold_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Business minutes finished after (+) or before (-) the due time, once closed.
    minutes_over: Mapped[int | None] = mapped_column(Integer)

    # New clocks are linked to a case or handoff that may not be inserted yet: one flush.
    case: Mapped[Case] = relationship(back_populates="clocks", foreign_keys=[case_id])
    handoff: Mapped[Handoff | None] = relationship(foreign_keys=[handoff_id])


class SlaAlert(Model):
    """One row per threshold fired: the unique key makes each alert happen exactly once."""

    __tablename__ = "sla_alerts"
    __table_args__ = (UniqueConstraint("clock_id", "threshold"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("sla_clocks.id", ondelete="CASCADE"))
    threshold: Mapped[int] = mapped_column(Integer)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_instant: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationKind(StrEnum):
    SLA_WARNING = "sla.warning"
    SLA_BREACHED = "sla.breached"
    CASE_ESCALATED = "case.escalated"
    CASE_BOUNCED = "case.bounced"
    HANDOFF_REQUESTED = "handoff.requested"


class Notification(Model):
    """Something a person should see: listed in their attention feed and, when SMTP is
    configured, e-mailed once ``deliver_after`` (the recipient unit's next working minute)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        Index("ix_notifications_user_unread", "user_id", "read_at", "deliver_after"),
        Index(
            "ix_notifications_email_due",
            "deliver_after",
            postgresql_where=text("emailed_at IS NULL AND email_wanted"),
            sqlite_where=text("emailed_at IS NULL AND email_wanted"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("case_events.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deliver_after: Mapped[datetime] = mapped_column(UTCDateTime)
    email_wanted: Mapped[bool] = mapped_column(default=True)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case = relationship("Case")

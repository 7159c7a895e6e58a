"""Cases, the units that touched them and handoffs (what is written about a case, its events
and attachments, is in ``coord.models.case_trail``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    DDL,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    false,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.domain.states import (
    OPEN_CASE_STATUSES,
    CaseStatus,
    HandoffKind,
    HandoffStatus,
    RejectReason,
)
from coord.extensions import Model
from coord.models.base import BigIntPK, UTCDateTime, enum_check, wib_month_number
from coord.models.categories import Category, Priority, SlaPolicy
from coord.models.regions import Region, Unit
from coord.models.users import User

if TYPE_CHECKING:
    from coord.models.sla import SlaClock


class Channel(StrEnum):
    WALK_IN = "walk_in"
    PHONE = "phone"
    WHATSAPP = "whatsapp"
    LETTER = "letter"
    WEB = "web"
    LAPOR = "lapor"
    OPEN311 = "open311"
    OTHER = "other"


class ReporterPrivacy(StrEnum):
    NAMED = "named"  # contact data visible to owning units and jurisdiction managers
    CONFIDENTIAL = "confidential"  # identity known only to the recording unit
    ANONYMOUS = "anonymous"  # no contact data at all


class CancelReason(StrEnum):
    INVALID = "invalid"
    SPAM = "spam"
    DUPLICATE = "duplicate"


# The open states as SQL, for partial indexes (sorted, so that the DDL never changes).
_OPEN_VALUES = ", ".join(f"'{s.value}'" for s in sorted(OPEN_CASE_STATUSES))
OPEN_STATUS_SQL = f"status IN ({_OPEN_VALUES})"

# What the reports read of a case beside its group keys (docs/reports.md), carried by two
# covering indexes.
REPORT_FACTS = (
    "breached",
    "paused_at",
    "resolution_breached_on_hold",
    "resolution_due_at",
    "resolution_met",
    "response_minutes",
)


class Case(Model):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(enum_check("status", CaseStatus), name="status"),
        CheckConstraint(enum_check("priority", Priority), name="priority"),
        CheckConstraint(enum_check("channel", Channel), name="channel"),
        CheckConstraint(enum_check("reporter_privacy", ReporterPrivacy), name="reporter_privacy"),
        CheckConstraint(
            "status NOT IN ('resolved', 'closed') OR resolution_note IS NOT NULL",
            name="resolved_has_note",
        ),
        CheckConstraint(
            "status <> 'cancelled' OR cancel_reason IS NOT NULL", name="cancelled_has_reason"
        ),
        CheckConstraint(
            "status <> 'on_hold' OR hold_reason IS NOT NULL", name="on_hold_has_reason"
        ),
        CheckConstraint(
            "status <> 'pending_transfer' OR status_before_transfer IS NOT NULL",
            name="pending_transfer_remembers_status",
        ),
        CheckConstraint(
            "reporter_privacy <> 'anonymous' OR (reporter_phone IS NULL AND reporter_email IS NULL"
            " AND reporter_nik IS NULL)",
            name="anonymous_has_no_contact",
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_cases_owner_status", "owner_unit_id", "status"),
        Index("ix_cases_status_updated", "status", "updated_at"),
        # With the id: the cases of a jurisdiction's regions as an id set, index-only (the
        # reports' scope, coord.services.policy.report_scope).
        Index("ix_cases_region", "region_code", postgresql_include=["id"]),
        Index("ix_cases_updated_at", "updated_at"),
        Index("ix_cases_resolution_due_at", "resolution_due_at"),
        Index("ix_cases_category_priority", "category_id", "priority"),
        # Reports by period read these columns from the index alone (PostgreSQL).
        Index(
            "ix_cases_received_at",
            "received_at",
            postgresql_include=[
                "id",
                "owner_unit_id",
                "category_id",
                "status",
                "region_code",
                # the report facts (0007), for the SLA report over a short period
                "received_month",
                *REPORT_FACTS,
                "resolution_minutes",
            ],
        ),
        # The SLA report and the public statistics read every case in scope in the order of
        # their groups (owner unit, WIB month, category) from this index alone (PostgreSQL):
        # no join to the clocks, no sort, and each group's resolution times already sorted
        # for percentile_cont (docs/reports.md, "Performance").
        Index(
            "ix_cases_report",
            "owner_unit_id",
            "received_month",
            "category_id",
            "resolution_minutes",
            postgresql_include=[
                "id",
                "received_at",
                "region_code",
                "status",
                *REPORT_FACTS,
            ],
        ),
        # The few bounced cases, for the handoff report.
        Index(
            "ix_cases_bounced",
            "id",
            postgresql_where=text("bounced_at IS NOT NULL"),
            sqlite_where=text("bounced_at IS NOT NULL"),
        ),
        # The managers' dashboard (docs/reports.md, "The managers' dashboard and short
        # periods"): a jurisdiction's open cases by region, read from the index alone for the
        # backlog and the breach list; the few cancelled cases the handoff report leaves out.
        Index(
            "ix_cases_open_region",
            "region_code",
            postgresql_include=["id", "owner_unit_id", "received_at", "breached", "bounced"],
            postgresql_where=text(OPEN_STATUS_SQL),
            sqlite_where=text(OPEN_STATUS_SQL),
        ),
        Index(
            "ix_cases_cancelled",
            "id",
            postgresql_where=text("status = 'cancelled'"),
            sqlite_where=text("status = 'cancelled'"),
        ),
        # Open311 looks a request up by its token; tokens never repeat (NULLs, from cases
        # older than the tokens, may: a unique index allows many NULLs).
        Index("uq_cases_citizen_token", "citizen_token", unique=True),
        # The auto-close job walks resolved cases by id (keyset batches) and keeps those whose
        # dispute window has passed; led by id, or PostgreSQL walks the primary key instead.
        Index(
            "ix_cases_auto_close",
            "id",
            "resolved_at",
            postgresql_where=text("status = 'resolved'"),
            sqlite_where=text("status = 'resolved'"),
        ),
        # The staff search (coord/services/case_queries.py, docs/decisions.md "Search"): a
        # reporter's phone in its normalised form, and words of the title and description
        # through trigrams (PostgreSQL only: SQLite scans).
        Index(
            "ix_cases_reporter_phone_norm",
            "reporter_phone_norm",
            postgresql_where=text("reporter_phone_norm IS NOT NULL"),
            sqlite_where=text("reporter_phone_norm IS NOT NULL"),
        ),
        Index(
            "ix_cases_title_trgm",
            func.lower(literal_column("title")).label("title_lower"),
            postgresql_using="gin",
            postgresql_ops={"title_lower": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_cases_description_trgm",
            func.lower(literal_column("description")).label("description_lower"),
            postgresql_using="gin",
            postgresql_ops={"description_lower": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(8), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    priority: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.NEW.value)
    status_before_transfer: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    reporter_privacy: Mapped[str] = mapped_column(String(16), default=ReporterPrivacy.NAMED.value)
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    reporter_phone: Mapped[str | None] = mapped_column(String(40))
    # coord.domain.phones.normalise_phone(reporter_phone), written with it (the search key).
    reporter_phone_norm: Mapped[str | None] = mapped_column(String(20))
    reporter_email: Mapped[str | None] = mapped_column(String(200))
    reporter_nik: Mapped[str | None] = mapped_column(String(16))

    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    address: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    recorded_by_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    hold_reason: Mapped[str | None] = mapped_column(Text)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(String(16))
    cancel_note: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Ping-pong detection: how often ownership moved, and the managers' flag.
    ownership_moves: Mapped[int] = mapped_column(Integer, default=0)
    bounced: Mapped[bool] = mapped_column(default=False)
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # SLA clocks (computed by coord.services.sla; the engine keeps them current).
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id"))
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached: Mapped[bool] = mapped_column(default=False)

    # Report facts (docs/reports.md): the WIB month of received_at as YYYYMM, computed by the
    # database; and what the closed response and resolution clocks measured (working minutes,
    # target + minutes_over) and whether the resolution clock was met, written by
    # coord.services.sla in the transaction that closes or reopens the clock.
    received_month: Mapped[int | None] = mapped_column(
        Integer, Computed(wib_month_number(literal_column("received_at")), persisted=True)
    )
    response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_met: Mapped[bool] = mapped_column(default=False, server_default=false())
    # On hold with a resolution clock that had breached before the hold (so it is overdue
    # while on hold; a paused clock is not): set and cleared by coord.services.sla.
    resolution_breached_on_hold: Mapped[bool] = mapped_column(default=False, server_default=false())

    # Citizens: the token printed on the receipt authorises feedback and disputes; each
    # resolution can be rated once.
    citizen_token: Mapped[str | None] = mapped_column(String(32))
    resolution_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    open311_client_id: Mapped[int | None] = mapped_column(ForeignKey("open311_clients.id"))

    version: Mapped[int] = mapped_column(Integer, default=1)

    # Optimistic locking: every UPDATE checks the version it read; services bump it once per
    # command (coord.services.case_records.touch), not once per flush.
    __mapper_args__: dict[str, Any] = {"version_id_col": version, "version_id_generator": False}

    category: Mapped[Category] = relationship(lazy="joined")
    sla_policy: Mapped[SlaPolicy | None] = relationship()
    region: Mapped[Region] = relationship(lazy="joined")
    owner_unit: Mapped[Unit] = relationship(foreign_keys=[owner_unit_id], lazy="joined")
    recorded_by_unit: Mapped[Unit] = relationship(foreign_keys=[recorded_by_unit_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    handoffs: Mapped[list[Handoff]] = relationship(
        back_populates="case", order_by="Handoff.id", foreign_keys="Handoff.case_id"
    )
    # Every deadline of the case (its own and its handoffs'). Loaded on demand; a new case is
    # given its clocks here so that they are inserted with it and answered without a query.
    clocks: Mapped[list[SlaClock]] = relationship(
        back_populates="case", order_by="SlaClock.id", foreign_keys="SlaClock.case_id"
    )


# The trigram indexes above need the extension (PostgreSQL; migration 0011 creates it too).
event.listen(
    Case.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)


class CaseUnitRole(StrEnum):
    RECORDER = "recorder"  # recorded the case
    OWNER = "owner"  # owns or owned it
    ASSIST = "assist"  # asked to assist
    TRANSFER_TARGET = "transfer_target"  # a transfer was addressed to it


class CaseUnit(Model):
    """Which units touched a case and how: the index behind every scope check."""

    __tablename__ = "case_units"
    __table_args__ = (
        CheckConstraint(enum_check("relation", CaseUnitRole), name="relation"),
        Index("ix_case_units_unit", "unit_id", "case_id"),
    )

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(16), primary_key=True)

    # Set for a case that is not inserted yet: the flush fills case_id.
    case: Mapped[Case] = relationship(foreign_keys=[case_id])


class Handoff(Model):
    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint(enum_check("kind", HandoffKind), name="kind"),
        CheckConstraint(enum_check("status", HandoffStatus), name="status"),
        CheckConstraint(
            "reject_reason IS NULL OR " + enum_check("reject_reason", RejectReason),
            name="reject_reason_known",
        ),
        CheckConstraint(
            "status <> 'rejected' OR reject_reason IS NOT NULL", name="rejected_has_reason"
        ),
        CheckConstraint("status <> 'completed' OR kind = 'assist'", name="only_assists_complete"),
        CheckConstraint("from_unit_id <> to_unit_id", name="not_to_self"),
        Index("ix_handoffs_to_status", "to_unit_id", "status"),
        Index("ix_handoffs_from_status", "from_unit_id", "status"),
        Index("ix_handoffs_case", "case_id"),
        Index("ix_handoffs_ack_due_at", "ack_due_at"),
        Index("ix_handoffs_requested_at", "requested_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=HandoffStatus.PENDING.value)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(String(32))
    reject_note: Mapped[str | None] = mapped_column(Text)
    completion_note: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached: Mapped[bool] = mapped_column(default=False)
    # Report facts: the closed acknowledgement clock's working minutes and whether it was met
    # (written by coord.services.sla.handoff_answered).
    ack_minutes: Mapped[int | None] = mapped_column(Integer)
    ack_met: Mapped[bool] = mapped_column(default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}

    case: Mapped[Case] = relationship(back_populates="handoffs", foreign_keys=[case_id])
    from_unit: Mapped[Unit] = relationship(foreign_keys=[from_unit_id], lazy="joined")
    to_unit: Mapped[Unit] = relationship(foreign_keys=[to_unit_id], lazy="joined")

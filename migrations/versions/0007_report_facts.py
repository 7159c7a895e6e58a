"""report facts: clock figures on cases and handoffs, the WIB month of received_at

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 10:00:00.000000

The manager reports read one narrow row per case or handoff instead of joining every case to
its clocks (docs/reports.md, "Performance"):

- ``cases.received_month``: YYYYMM of the WIB month of ``received_at``, a column the
  database generates (so every insert path has it, COPY included);
- ``cases.response_minutes``, ``resolution_minutes``, ``resolution_met`` and
  ``handoffs.ack_minutes``, ``ack_met``: what the closed clock measured (``target_minutes +
  minutes_over``) and whether it was met, written from now on by coord.services.sla in the
  transaction that closes or reopens the clock, and backfilled here from ``sla_clocks``;
- ``cases.resolution_breached_on_hold``: on hold with a resolution clock that had breached
  before the hold (set and cleared by coord.services.sla with the hold);
- ``ix_cases_report``: the SLA report's groups in index order (PostgreSQL covering index);
  ``ix_cases_received_at`` covers the new columns too, for reports over a short period, and
  ``ix_cases_region`` includes the case id (a jurisdiction's cases as an id set);
- ``ix_cases_bounced``: the few bounced cases.

On PostgreSQL adding a stored generated column rewrites ``cases`` under an exclusive lock,
and the backfill updates every case with a closed clock (1.8 minutes per million cases on
the 2-core test machine for that UPDATE alone): run it in a maintenance window.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The same SQL as coord.models.base.wib_month_number renders.
WIB_MONTH = {
    "postgresql": "CAST(EXTRACT(YEAR FROM (received_at AT TIME ZONE 'Asia/Jakarta')) * 100 + "
    "EXTRACT(MONTH FROM (received_at AT TIME ZONE 'Asia/Jakarta')) AS INTEGER)",
    "sqlite": "CAST(strftime('%Y%m', received_at, '+7 hours') AS INTEGER)",
}
REPORT_INCLUDE = [
    "id",
    "received_at",
    "region_code",
    "status",
    "breached",
    "paused_at",
    "resolution_breached_on_hold",
    "resolution_due_at",
    "resolution_met",
    "response_minutes",
]
RECEIVED_AT_INCLUDE = ["id", "owner_unit_id", "category_id", "status", "region_code"]
RECEIVED_AT_FACTS = [
    "received_month",
    "breached",
    "paused_at",
    "resolution_breached_on_hold",
    "resolution_due_at",
    "resolution_met",
    "response_minutes",
    "resolution_minutes",
]
CLOSED = "state IN ('met', 'breached') AND completed_at IS NOT NULL AND minutes_over IS NOT NULL"


def upgrade():
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ack_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("ack_met", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resolution_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("resolution_met", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "resolution_breached_on_hold",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )

    # Backfill from the clocks (UPDATE ... FROM: PostgreSQL, SQLite 3.33+).
    op.execute(
        f"""
        UPDATE cases SET
            response_minutes = f.response_minutes,
            resolution_minutes = f.resolution_minutes,
            resolution_met = f.resolution_met
        FROM (
            SELECT case_id,
                MAX(CASE WHEN name = 'response' THEN target_minutes + minutes_over END)
                    AS response_minutes,
                MAX(CASE WHEN name = 'resolution' THEN target_minutes + minutes_over END)
                    AS resolution_minutes,
                MAX(CASE WHEN name = 'resolution' AND state = 'met' THEN 1 ELSE 0 END) = 1
                    AS resolution_met
            FROM sla_clocks
            WHERE handoff_id IS NULL AND {CLOSED}
            GROUP BY case_id
        ) AS f
        WHERE f.case_id = cases.id
        """
    )
    op.execute(
        """
        UPDATE cases SET resolution_breached_on_hold = TRUE
        WHERE paused_at IS NOT NULL AND EXISTS (
            SELECT 1 FROM sla_clocks
            WHERE sla_clocks.case_id = cases.id AND sla_clocks.handoff_id IS NULL
                AND sla_clocks.name = 'resolution' AND sla_clocks.state = 'breached'
        )
        """
    )
    op.execute(
        f"""
        UPDATE handoffs SET ack_minutes = f.ack_minutes, ack_met = f.ack_met
        FROM (
            SELECT handoff_id, target_minutes + minutes_over AS ack_minutes,
                state = 'met' AS ack_met
            FROM sla_clocks
            WHERE handoff_id IS NOT NULL AND name = 'handoff_ack' AND {CLOSED}
        ) AS f
        WHERE f.handoff_id = handoffs.id
        """
    )

    # A stored generated column: SQLite cannot add one to a table, so the batch recreates it.
    month = sa.Column(
        "received_month", sa.Integer(), sa.Computed(sa.text(WIB_MONTH[dialect]), persisted=True)
    )
    with op.batch_alter_table(
        "cases", schema=None, recreate="always" if dialect == "sqlite" else "auto"
    ) as batch_op:
        batch_op.add_column(month)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        # The cases of a region as ids, index-only (the reports' scope).
        batch_op.drop_index("ix_cases_region")
        batch_op.create_index(
            "ix_cases_region", ["region_code"], unique=False, postgresql_include=["id"]
        )
        # The period index covers the facts too (the SLA report over a short period).
        batch_op.drop_index("ix_cases_received_at", postgresql_include=RECEIVED_AT_INCLUDE)
        batch_op.create_index(
            "ix_cases_received_at",
            ["received_at"],
            unique=False,
            postgresql_include=RECEIVED_AT_INCLUDE + RECEIVED_AT_FACTS,
        )
        batch_op.create_index(
            "ix_cases_report",
            ["owner_unit_id", "received_month", "category_id", "resolution_minutes"],
            unique=False,
            postgresql_include=REPORT_INCLUDE,
        )
        batch_op.create_index(
            "ix_cases_bounced",
            ["id"],
            unique=False,
            postgresql_where=sa.text("bounced_at IS NOT NULL"),
            sqlite_where=sa.text("bounced_at IS NOT NULL"),
        )


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_cases_bounced",
            postgresql_where=sa.text("bounced_at IS NOT NULL"),
            sqlite_where=sa.text("bounced_at IS NOT NULL"),
        )
        batch_op.drop_index("ix_cases_report", postgresql_include=REPORT_INCLUDE)
        batch_op.drop_index("ix_cases_region", postgresql_include=["id"])
        batch_op.create_index("ix_cases_region", ["region_code"], unique=False)
        batch_op.drop_index(
            "ix_cases_received_at", postgresql_include=RECEIVED_AT_INCLUDE + RECEIVED_AT_FACTS
        )
        batch_op.create_index(
            "ix_cases_received_at",
            ["received_at"],
            unique=False,
            postgresql_include=RECEIVED_AT_INCLUDE,
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("received_month")
        batch_op.drop_column("resolution_breached_on_hold")
        batch_op.drop_column("resolution_met")
        batch_op.drop_column("resolution_minutes")
        batch_op.drop_column("response_minutes")
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_column("ack_met")
        batch_op.drop_column("ack_minutes")

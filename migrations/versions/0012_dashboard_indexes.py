"""dashboard indexes: open cases by region, cancelled cases, breached clocks by case

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 18:10:00.000000

docs/reports.md ("The managers' dashboard and short periods") and docs/performance.md
("Staff pages at a million cases") say what each serves; sizes at a million cases: 5.3 MB,
0.7 MB and 24 MB.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

OPEN = "status IN ('in_progress', 'new', 'on_hold', 'pending_transfer')"


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(
            'ix_cases_open_region',
            ['region_code'],
            unique=False,
            postgresql_include=['id', 'owner_unit_id', 'received_at', 'breached', 'bounced'],
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )
        batch_op.create_index(
            'ix_cases_cancelled',
            ['id'],
            unique=False,
            postgresql_where=sa.text("status = 'cancelled'"),
            sqlite_where=sa.text("status = 'cancelled'"),
        )
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.create_index(
            'ix_sla_clocks_breached',
            ['case_id'],
            unique=False,
            postgresql_include=['id', 'breached_at', 'due_at', 'handoff_id'],
            postgresql_where=sa.text("state = 'breached'"),
            sqlite_where=sa.text("state = 'breached'"),
        )


def downgrade():
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_clocks_breached')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_cancelled')
        batch_op.drop_index('ix_cases_open_region')

"""configuration generation

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 03:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # One row (id 1) whose value changes with every configuration change; no row reads as
    # generation 0 (coord/services/config_cache.py).
    op.create_table(
        'config_generation',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_config_generation')),
    )


def downgrade():
    op.drop_table('config_generation')

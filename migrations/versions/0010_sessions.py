"""sessions: a per-user session epoch that ends web sessions server-side

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # Every session cookie records the epoch it was opened under; logout, a password change
    # and deactivation raise it (coord/web/auth.py), so a replayed cookie is refused.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')

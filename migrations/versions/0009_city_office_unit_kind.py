"""units.kind may be city_office

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 14:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('camat_office', 'kelurahan', 'agency')"
NEW_KINDS = "kind IN ('city_office', 'camat_office', 'kelurahan', 'agency')"


def _replace_kind_check(condition):
    # batch_alter_table: SQLite cannot alter a CHECK constraint in place, so the table is
    # copied there; PostgreSQL drops and adds the constraint.
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_units_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_units_kind'), condition)


def upgrade():
    _replace_kind_check(NEW_KINDS)


def downgrade():
    # A database that holds city offices cannot go back: the old constraint refuses them.
    _replace_kind_check(OLD_KINDS)

"""search indexes: the reporter's phone normalised, trigrams of title and description

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# coord.domain.phones.normalise_phone in SQL (both engines): drop the separators, keep only
# all-digit results, then the prefixes (only without a leading '+'), then '+62 (0)8..', then
# the length. tests/test_phone_migration.py checks the two agree.
_STRIPPED = (
    "replace(replace(replace(replace(replace(replace("
    "trim(reporter_phone, ' '), ' ', ''), '+', ''), '(', ''), ')', ''), '.', ''), '-', '')"
)
_BACKFILL = [
    # More than 18 digits cannot come down to 15 (the prefixes take off 3 at most): left NULL,
    # and the column needs room for 18 + 2 while the prefixes are rewritten.
    f"UPDATE cases SET reporter_phone_norm = {_STRIPPED}"
    f" WHERE reporter_phone IS NOT NULL AND length({_STRIPPED}) <= 18",
    "UPDATE cases SET reporter_phone_norm = NULL WHERE reporter_phone_norm = ''"
    " OR reporter_phone_norm {not_digits}",
    "UPDATE cases SET reporter_phone_norm = CASE"
    " WHEN trim(reporter_phone, ' ') LIKE '+%' THEN reporter_phone_norm"
    " WHEN reporter_phone_norm LIKE '00%' THEN substr(reporter_phone_norm, 3)"
    " WHEN reporter_phone_norm LIKE '0%' THEN '62' || substr(reporter_phone_norm, 2)"
    " WHEN reporter_phone_norm LIKE '8%' THEN '62' || reporter_phone_norm"
    " ELSE reporter_phone_norm END"
    " WHERE reporter_phone_norm IS NOT NULL",
    "UPDATE cases SET reporter_phone_norm = '62' || substr(reporter_phone_norm, 4)"
    " WHERE reporter_phone_norm LIKE '620%'",
    "UPDATE cases SET reporter_phone_norm = NULL"
    " WHERE length(reporter_phone_norm) NOT BETWEEN 8 AND 15",
]


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reporter_phone_norm', sa.String(length=20), nullable=True))
    not_digits = "!~ '^[0-9]+$'" if postgres else "GLOB '*[^0-9]*'"
    for statement in _BACKFILL:
        op.execute(statement.format(not_digits=not_digits))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(
            'ix_cases_reporter_phone_norm',
            ['reporter_phone_norm'],
            unique=False,
            postgresql_where=sa.text('reporter_phone_norm IS NOT NULL'),
            sqlite_where=sa.text('reporter_phone_norm IS NOT NULL'),
        )
    if postgres:
        # Words of the title and description (docs/decisions.md, "Search"): LIKE '%word%' on
        # lower(...) through trigrams. pg_trgm is a trusted extension (the database owner may
        # create it).
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute(
            'CREATE INDEX ix_cases_title_trgm ON cases USING gin (lower(title) gin_trgm_ops)'
        )
        op.execute(
            'CREATE INDEX ix_cases_description_trgm ON cases'
            ' USING gin (lower(description) gin_trgm_ops)'
        )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_cases_description_trgm')
        op.execute('DROP INDEX IF EXISTS ix_cases_title_trgm')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_cases_reporter_phone_norm',
            postgresql_where=sa.text('reporter_phone_norm IS NOT NULL'),
            sqlite_where=sa.text('reporter_phone_norm IS NOT NULL'),
        )
    # Not batch_op.drop_column: on SQLite that copies the table, and the copy cannot recreate
    # the generated received_month column. SQLite drops a column itself since 3.35.
    op.execute('ALTER TABLE cases DROP COLUMN reporter_phone_norm')

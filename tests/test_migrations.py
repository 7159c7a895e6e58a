"""Migrations: one head, and upgrading an empty database gives exactly the models' schema
(on the suite's database engine, in a database of its own)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

from coord import create_app
from coord.extensions import db

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def test_migrations_have_a_single_head() -> None:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several heads: {heads}"


@pytest.fixture
def empty_database(database_url: str, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A brand-new empty database on the same engine as the suite."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    name = f"coord_migrations_{uuid.uuid4().hex[:8]}"
    base, _, _ = database_url.rpartition("/")
    admin = create_engine(
        base.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_empty_matches_the_models_and_downgrades(empty_database: str) -> None:
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": empty_database, "RATELIMIT_STORAGE_URI": "memory://"},
        env="testing",
    )
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(directory=str(MIGRATIONS), revision="base")
        with db.engine.connect() as conn:
            tables = set(db.inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.engine.dispose()

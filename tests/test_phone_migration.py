"""Migration 0011 fills the normalised phone of the cases that existed before it with the
rules of ``coord.domain.phones.normalise_phone`` (the same key the app writes)."""

from __future__ import annotations

from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import text

from coord import create_app
from coord.domain.phones import normalise_phone
from coord.extensions import db
from tests.test_migrations import empty_database  # noqa: F401 - the fixture
from tests.test_reports_migration import ROWS

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
TYPED = [
    None,
    "081234567890",
    "0812-3456-7890",
    "+62 (0)812 3456 7890",
    "62 812 3456 7890",
    "81234567890",
    "006281234567890",
    " 0812.3456.7890 ",
    "(061) 4512345",
    "+1 202 555 0143",
    "0812",
    "0812abc4567",
    "0812345678901234567",
    "+62 0000 0000 0000 0000 0000 0000 0000",
]


def test_upgrade_backfills_the_normalised_phone(empty_database: str) -> None:  # noqa: F811
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": empty_database, "RATELIMIT_STORAGE_URI": "memory://"},
        env="testing",
    )
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0010")
        with db.engine.begin() as conn:
            for sql in ROWS:
                conn.execute(text(sql))
            for case_id, phone in enumerate(TYPED, start=1):
                privacy = "anonymous" if phone is None else "named"
                conn.execute(
                    text(
                        "INSERT INTO cases (id, tracking_code, title, description, category_id,"
                        " priority, channel, status, received_at, created_at, updated_at,"
                        " reporter_privacy, reporter_phone, region_code, recorded_by_unit_id,"
                        " owner_unit_id, ownership_moves, bounced, breached, version) VALUES"
                        " (:id, :code, 'Jalan', 'Lubang', 1, 'normal', 'walk_in', 'new',"
                        " '2026-02-02 02:00:00', '2026-02-02 02:00:00', '2026-02-02 02:00:00',"
                        " :privacy, :phone, '12.71.01.1001', 1, 1, 0, FALSE, FALSE, 1)"
                    ),
                    {
                        "id": case_id,
                        "code": f"CODE{case_id:04d}",
                        "privacy": privacy,
                        "phone": phone,
                    },
                )
        upgrade(directory=str(MIGRATIONS), revision="0011")
        with db.engine.connect() as conn:
            stored = dict(
                conn.execute(
                    text("SELECT reporter_phone, reporter_phone_norm FROM cases WHERE id > 1")
                ).all()
            )
        db.engine.dispose()
    assert stored == {phone: normalise_phone(phone) for phone in TYPED[1:]}
    assert stored["0812-3456-7890"] == "6281234567890"

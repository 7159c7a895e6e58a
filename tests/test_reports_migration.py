"""Migration 0007 (report facts) fills the new columns for cases and handoffs that existed
before it, from their clocks, so that reports over old data agree with the clocks."""

from __future__ import annotations

from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from coord import create_app
from coord.extensions import db
from tests.test_migrations import empty_database  # noqa: F401 - the fixture

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"

ROWS = [
    "INSERT INTO regions (code, name, level) VALUES ('12.71.01.1001', 'Kelurahan', 'kelurahan')",
    "INSERT INTO units (id, code, name, kind, region_code, timezone, active) VALUES "
    "(1, 'kel-a1', 'Kantor Lurah A1', 'kelurahan', '12.71.01.1001', 'Asia/Jakarta', TRUE), "
    "(2, 'dinas-pu', 'Dinas PU', 'agency', '12.71.01.1001', 'Asia/Jakarta', TRUE)",
    "INSERT INTO categories (id, code, name_id, name_en, public, active) VALUES "
    "(1, 'jalan-rusak', 'Jalan rusak', 'Damaged road', TRUE, TRUE)",
]


def _case(case_id: int, status: str, received_at: str, *, paused: bool = False) -> str:
    note = "'selesai'" if status in ("resolved", "closed") else "NULL"
    hold = "'menunggu'" if paused else "NULL"
    paused_at = "'2026-02-05 02:00:00+00:00'" if paused else "NULL"
    return (
        "INSERT INTO cases (id, tracking_code, title, description, category_id, priority, "
        "channel, status, received_at, created_at, updated_at, reporter_privacy, region_code, "
        "recorded_by_unit_id, owner_unit_id, ownership_moves, bounced, breached, "
        "resolution_note, hold_reason, paused_at, version) VALUES "
        f"({case_id}, 'CODE000{case_id}', 'Jalan', 'Lubang', 1, 'normal', 'walk_in', "
        f"'{status}', '{received_at}', '{received_at}', '{received_at}', 'anonymous', "
        f"'12.71.01.1001', 1, 1, 0, FALSE, FALSE, {note}, {hold}, {paused_at}, 1)"
    )


def _clock(
    clock_id: int,
    case_id: int,
    name: str,
    state: str,
    over: int | None,
    *,
    handoff_id: int | None = None,
) -> str:
    completed = "'2026-02-04 08:00:00+00:00'" if over is not None or state == "stopped" else "NULL"
    paused_at = "'2026-02-05 02:00:00+00:00'" if state == "paused" else "NULL"
    breached_at = "'2026-02-04 02:00:00+00:00'" if state == "breached" else "NULL"
    return (
        "INSERT INTO sla_clocks (id, case_id, handoff_id, name, calendar, notify_unit_id, "
        "started_at, target_minutes, warning_percents, paused_minutes, due_at, state, "
        "completed_at, minutes_over, paused_at, breached_at) VALUES "
        f"({clock_id}, {case_id}, {handoff_id or 'NULL'}, '{name}', '{{}}', 1, "
        f"'2026-02-02 02:00:00+00:00', 2400, '[50, 80]', 0, '2026-02-09 02:00:00+00:00', '{state}', "
        f"{completed}, {'NULL' if over is None else over}, {paused_at}, {breached_at})"
    )


def test_upgrade_backfills_the_report_facts(empty_database: str) -> None:  # noqa: F811
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": empty_database, "RATELIMIT_STORAGE_URI": "memory://"},
        env="testing",
    )
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0006")
        with db.engine.begin() as conn:
            for sql in [
                *ROWS,
                # 1: resolved, response met (2400 - 2280 = 120 min), resolution met (1320).
                _case(1, "resolved", "2026-02-02 02:00:00"),
                _clock(1, 1, "response", "met", -2280),
                _clock(2, 1, "resolution", "met", -1080),
                # 2: resolved late: resolution breached (2400 + 540 = 2940 min).
                _case(2, "resolved", "2026-02-28 17:30:00"),
                _clock(3, 2, "response", "breached", 120),
                _clock(4, 2, "resolution", "breached", 540),
                # 3: open: response met (30), resolution running; one handoff acknowledged
                # late (2400 + 60), one pending, one recalled (stopped clock).
                _case(3, "in_progress", "2026-02-03 01:00:00"),
                _clock(5, 3, "response", "met", -2370),
                _clock(6, 3, "resolution", "running", None),
                "INSERT INTO handoffs (id, case_id, kind, from_unit_id, to_unit_id, status, "
                "reject_reason, requested_at, breached, version) VALUES "
                "(1, 3, 'transfer', 1, 2, 'rejected', 'duplicate', '2026-02-03 02:00:00+00:00', "
                "TRUE, 1), "
                "(2, 3, 'transfer', 1, 2, 'pending', NULL, '2026-02-03 03:00:00+00:00', FALSE, 1), "
                "(3, 3, 'assist', 1, 2, 'recalled', NULL, '2026-02-03 04:00:00+00:00', FALSE, 1)",
                _clock(7, 3, "handoff_ack", "breached", 60, handoff_id=1),
                _clock(8, 3, "handoff_ack", "running", None, handoff_id=2),
                _clock(9, 3, "handoff_ack", "stopped", None, handoff_id=3),
                # 4 and 5: on hold; 4's resolution clock had breached before the hold, 5's
                # is paused.
                _case(4, "on_hold", "2026-02-03 01:00:00+00:00", paused=True),
                _clock(10, 4, "resolution", "breached", None),
                _case(5, "on_hold", "2026-02-03 01:00:00+00:00", paused=True),
                _clock(11, 5, "resolution", "paused", None),
            ]:
                conn.execute(text(sql))
        upgrade(directory=str(MIGRATIONS), revision="0007")
        with db.engine.connect() as conn:
            cases = conn.execute(
                text(
                    "SELECT id, received_month, response_minutes, resolution_minutes, "
                    "resolution_met, resolution_breached_on_hold FROM cases ORDER BY id"
                )
            ).all()
            handoffs = conn.execute(
                text("SELECT id, ack_minutes, ack_met FROM handoffs ORDER BY id")
            ).all()
        # Case 2 was received 1 March 00:30 WIB (28 February in UTC): March.
        assert [tuple(r[:4]) + (bool(r[4]), bool(r[5])) for r in cases] == [
            (1, 202602, 120, 1320, True, False),
            (2, 202603, 2520, 2940, False, False),
            (3, 202602, 30, None, False, False),
            (4, 202602, None, None, False, True),
            (5, 202602, None, None, False, False),
        ]
        assert [(r[0], r[1], bool(r[2])) for r in handoffs] == [
            (1, 2460, False),
            (2, None, False),
            (3, None, False),
        ]
        downgrade(directory=str(MIGRATIONS), revision="0006")
        with db.engine.connect() as conn:
            columns = {c["name"] for c in db.inspect(conn).get_columns("cases")}
        assert "received_month" not in columns and "resolution_met" not in columns
        downgrade(directory=str(MIGRATIONS), revision="base")
        db.engine.dispose()

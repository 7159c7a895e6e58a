"""Reports benchmark (DESIGN.md section 11): every manager report over 1,000,000 cases on
PostgreSQL, each under 1 s.

    python bench/reports.py [--cases 1000000] [--repeat 3] [--skip-load] [--indexes]
                            [--database-url postgresql://127.0.0.1:5432/bench_reports]

What it does:

1. Creates PostgreSQL database ``bench_reports`` if missing, drops and recreates its schema
   and applies the Alembic migrations (``flask db upgrade``), unless ``--skip-load``.
2. Loads a city with COPY: Kota Medan's 21 kecamatan and 146 kelurahan, a camat office and a
   kelurahan office for each, 8 city agencies and a city secretariat, the demo categories and
   SLA policies, then ``--cases`` cases over 24 months (more in recent months), owned by
   kelurahan or agencies, in every state; their response and resolution clocks (closed
   clocks with ``minutes_over``, open ones running, paused or breached), handoffs (transfers
   accepted, rejected or pending, assists, and ping-pong cases that bounced after three
   moves) with their acknowledgement clocks and ``handoff.*`` events, the ``case_units``
   rows the scope rules read, and SKM feedback for about 30 % of resolved cases. Foreign key
   triggers are off during the load (``session_replication_role = replica``), then ANALYZE.
   Due times use an approximate calendar (one working minute ~ 4.2 wall minutes): the
   reports read the stored figures and never recompute calendars.
3. Times each report through its service function in an app context, as two managers: the
   city secretariat's manager (jurisdiction ``12.71``: every case) and the Medan Area camat
   office's manager (one kecamatan), without filters and for one month. ``--repeat`` runs
   each; the best and the median are printed with the 1 s target.
4. ``--indexes`` then creates the indexes the reports could use (see docs/reports.md) in this
   database only, ANALYZEs and times again, so that their gain can be judged before a
   migration adds them.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DB = "postgresql://127.0.0.1:5432/bench_reports"
NOW = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)  # Wednesday 10:00 WIB
START = NOW - timedelta(days=730)
WALL_PER_WORKING_MINUTE = 4.2
TARGET_SECONDS = 1.0

KECAMATAN = [
    "Medan Tuntungan",
    "Medan Johor",
    "Medan Amplas",
    "Medan Denai",
    "Medan Area",
    "Medan Kota",
    "Medan Maimun",
    "Medan Polonia",
    "Medan Baru",
    "Medan Selayang",
    "Medan Sunggal",
    "Medan Helvetia",
    "Medan Petisah",
    "Medan Barat",
    "Medan Timur",
    "Medan Perjuangan",
    "Medan Tembung",
    "Medan Deli",
    "Medan Labuhan",
    "Medan Marelan",
    "Medan Belawan",
]
# 146 kelurahan over the 21 kecamatan (Kota Medan has 151; near enough for timing).
KELURAHAN_PER_KECAMATAN = [9, 6, 7, 6, 12, 12, 6, 5, 5, 6, 6, 7, 5, 6, 7, 9, 7, 6, 6, 5, 8]
REJECT_REASONS = ["not_our_jurisdiction", "incomplete_information", "duplicate", "other"]
CHANNELS = ["walk_in", "phone", "whatsapp", "letter", "web", "lapor", "open311", "other"]
PRIORITIES = (["normal", "high", "low", "urgent"], [70, 15, 10, 5])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_REPORTS_DATABASE_URL", DEFAULT_DB)
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database")
    parser.add_argument(
        "--indexes",
        action="store_true",
        help="also time with the candidate report indexes (created here only)",
    )
    return parser.parse_args()


# -- schema ------------------------------------------------------------------------------------


def reset_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    dbname = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def migrate(url: str) -> None:
    env = dict(
        os.environ,
        DATABASE_URL=url,
        COORD_ENV="development",
        FLASK_APP="wsgi",
        PYTHONPATH=str(ROOT),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{proc.stdout}\n{proc.stderr}")


# -- data --------------------------------------------------------------------------------------


class Ids:
    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def __call__(self, table: str) -> int:
        value = self.next.get(table, 0) + 1
        self.next[table] = value
        return value


def wall(minutes: float) -> timedelta:
    return timedelta(minutes=minutes * WALL_PER_WORKING_MINUTE)


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def tracking_code(n: int) -> str:
    # A bijective scramble of the id, so codes are unique but not sequential-looking.
    x = (n * 0x9E3779B1 + 0x5BD1E995) % (32**8)
    return "".join(CROCKFORD[(x >> (5 * i)) & 31] for i in range(8))


class Structure:
    """Regions, units, categories, policies and the two managers, as rows."""

    def __init__(self) -> None:
        from coord.demo import AGENCIES, CATEGORIES, DAY, PRIORITY_FACTOR, URGENT_24X7

        self.regions: list[tuple[Any, ...]] = [
            ("12", "Sumatera Utara", "province", None),
            ("12.71", "Kota Medan", "city", "12"),
        ]
        self.units: list[tuple[Any, ...]] = []
        self.kelurahan: list[tuple[int, str, int]] = []  # unit id, region, camat unit id
        self.camat_by_kecamatan: dict[str, int] = {}
        unit_id = 0

        def unit(code: str, name: str, kind: str, region: str) -> int:
            nonlocal unit_id
            unit_id += 1
            self.units.append(
                (
                    unit_id,
                    code,
                    name,
                    kind,
                    region,
                    "Asia/Jakarta",
                    None,
                    f"{code}@bench.medan.go.id",
                    None,
                    None,
                    True,
                )
            )
            return unit_id

        for k, (name, count) in enumerate(zip(KECAMATAN, KELURAHAN_PER_KECAMATAN, strict=True)):
            kec = f"12.71.{k + 1:02d}"
            self.regions.append((kec, name, "kecamatan", "12.71"))
            slug = name.lower().replace(" ", "-")
            camat = unit(f"camat-{slug}", f"Kantor Camat {name}", "camat_office", kec)
            self.camat_by_kecamatan[kec] = camat
            for j in range(count):
                kel = f"{kec}.{1001 + j}"
                self.regions.append((kel, f"Kelurahan {name} {j + 1}", "kelurahan", kec))
                self.kelurahan.append(
                    (
                        unit(
                            f"kel-{slug}-{j + 1}", f"Kantor Lurah {name} {j + 1}", "kelurahan", kel
                        ),
                        kel,
                        camat,
                    )
                )
        self.agencies: dict[str, int] = {}
        for code, name in AGENCIES:
            self.agencies[code] = unit(code, name, "agency", "12.71")
        self.secretariat = unit("setda-medan", "Sekretariat Daerah Kota Medan", "agency", "12.71")
        self.medan_area_camat = self.camat_by_kecamatan["12.71.05"]

        self.categories: list[tuple[Any, ...]] = []
        self.policies: list[tuple[Any, ...]] = []
        self.policy: dict[tuple[int, str], tuple[int, int, int, int]] = {}
        self.category_agency: dict[int, int | None] = {}
        policy_id = 0
        for cid, (code, name_id, name_en, default, public, tier) in enumerate(CATEGORIES, start=1):
            agency = self.agencies[default] if default else None
            self.category_agency[cid] = agency
            self.categories.append(
                (
                    cid,
                    code,
                    name_id,
                    name_en,
                    None,
                    agency,
                    None if default else "kelurahan",
                    public,
                    True,
                )
            )
            for priority, factor in PRIORITY_FACTOR.items():
                policy_id += 1
                always = code in URGENT_24X7 and priority == "urgent"
                response = int(3 * DAY * min(factor, 1.0)) if not always else 240
                resolution = int(tier * DAY * factor) if not always else 1440
                ack = DAY if not always else 120
                self.policies.append(
                    (
                        policy_id,
                        cid,
                        priority,
                        1,
                        response,
                        resolution,
                        ack,
                        "[50, 80]",
                        "24x7" if always else "business",
                        START,
                        None,
                    )
                )
                self.policy[(cid, priority)] = (policy_id, response, resolution, ack)
        self.category_weights = [12, 10, 9, 8, 9, 10, 8, 6, 7, 6, 10, 5][: len(self.categories)]
        self.users = [
            (
                1,
                "setda-medan.manager",
                "Manajer Setda Kota Medan",
                None,
                None,
                self.secretariat,
                False,
                True,
                "id",
                START,
            ),
            (
                2,
                "camat-medan-area.manager",
                "Manajer Kantor Camat Medan Area",
                None,
                None,
                self.medan_area_camat,
                False,
                True,
                "id",
                START,
            ),
        ]
        self.user_roles = [(1, "manager"), (2, "manager")]


CASE_COLUMNS = (
    "id",
    "tracking_code",
    "title",
    "description",
    "category_id",
    "priority",
    "channel",
    "status",
    "status_before_transfer",
    "received_at",
    "created_at",
    "updated_at",
    "reporter_privacy",
    "reporter_name",
    "region_code",
    "recorded_by_unit_id",
    "owner_unit_id",
    "hold_reason",
    "resolution_note",
    "cancel_reason",
    "resolved_at",
    "closed_at",
    "ownership_moves",
    "bounced",
    "bounced_at",
    "sla_policy_id",
    "first_response_at",
    "response_due_at",
    "resolution_due_at",
    "paused_at",
    "breached",
    "resolution_count",
    "version",
)
CLOCK_COLUMNS = (
    "id",
    "case_id",
    "handoff_id",
    "name",
    "calendar",
    "notify_unit_id",
    "started_at",
    "target_minutes",
    "warning_percents",
    "paused_minutes",
    "paused_at",
    "due_at",
    "state",
    "next_threshold",
    "next_threshold_at",
    "breached_at",
    "completed_at",
    "minutes_over",
)
HANDOFF_COLUMNS = (
    "id",
    "case_id",
    "kind",
    "from_unit_id",
    "to_unit_id",
    "note",
    "status",
    "requested_at",
    "ack_due_at",
    "acted_at",
    "reject_reason",
    "reject_note",
    "completed_at",
    "breached",
    "version",
)
EVENT_COLUMNS = (
    "id",
    "case_id",
    "handoff_id",
    "type",
    "at",
    "actor_label",
    "visibility",
    "case_version",
    "changes",
)
FEEDBACK_COLUMNS = (
    "id",
    "case_id",
    "resolution_number",
    "unit_id",
    "submitted_at",
    "u1",
    "u2",
    "u3",
    "u4",
    "u5",
    "u6",
    "u7",
    "u8",
    "u9",
)
CALENDAR = '{"timezone": "Asia/Jakarta"}'


class CaseGenerator:
    """Rows of cases and everything hanging off them, deterministic for a seed."""

    def __init__(self, structure: Structure, seed: int) -> None:
        self.s = structure
        self.rng = random.Random(seed)
        self.ids = Ids()
        self.kel_weights = [self.rng.uniform(0.3, 1.7) for _ in structure.kelurahan]
        self.unit_quality = {u[0]: self.rng.uniform(2.6, 3.7) for u in structure.units}
        self.cases: list[tuple[Any, ...]] = []
        self.case_units: list[tuple[Any, ...]] = []
        self.clocks: list[tuple[Any, ...]] = []
        self.handoffs: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.feedback: list[tuple[Any, ...]] = []

    def flush(self) -> dict[str, list[tuple[Any, ...]]]:
        out = {
            "cases": self.cases,
            "case_units": self.case_units,
            "handoffs": self.handoffs,
            "sla_clocks": self.clocks,
            "case_events": self.events,
            "feedback": self.feedback,
        }
        self.cases, self.case_units, self.clocks = [], [], []
        self.handoffs, self.events, self.feedback = [], [], []
        return out

    def clock(
        self,
        case_id: int,
        name: str,
        started: datetime,
        target: int,
        notify: int,
        *,
        handoff_id: int | None = None,
        closed_over: int | None = None,
        stopped_at: datetime | None = None,
        paused_at: datetime | None = None,
    ) -> tuple[str, datetime, datetime | None]:
        """Append one clock; returns (state, due_at, completed_at)."""
        due = started + wall(target)
        breached_at = completed = None
        over = None
        if closed_over is not None:
            completed = min(started + wall(max(target + closed_over, 1)), NOW)
            over = closed_over
            state = "breached" if closed_over > 0 else "met"
            breached_at = due if state == "breached" else None
        elif stopped_at is not None:
            state, completed = "stopped", stopped_at
        elif paused_at is not None and due > paused_at:
            state = "paused"
        elif due <= NOW:
            state, breached_at = "breached", due
        else:
            state = "running"
        threshold_at = due if state == "running" else None
        self.clocks.append(
            (
                self.ids("sla_clocks"),
                case_id,
                handoff_id,
                name,
                CALENDAR,
                notify,
                started,
                target,
                "[50, 80]",
                0,
                paused_at if state == "paused" else None,
                due,
                state,
                100 if threshold_at else None,
                threshold_at,
                breached_at,
                completed,
                over,
            )
        )
        return state, due, completed

    def handoff(
        self,
        case_id: int,
        kind: str,
        from_unit: int,
        to_unit: int,
        at: datetime,
        ack_target: int,
        status: str,
        notify_camat: int,
    ) -> datetime:
        """Append a handoff, its ack clock and events; returns when it was answered."""
        rng = self.rng
        handoff_id = self.ids("handoffs")
        answered = status in ("accepted", "rejected", "completed")
        over = int(ack_target * (rng.gammavariate(2.0, 0.45) - 1)) if answered else None
        state, due, acted = self.clock(
            case_id, "handoff_ack", at, ack_target, to_unit, handoff_id=handoff_id, closed_over=over
        )
        reason = rng.choice(REJECT_REASONS) if status == "rejected" else None
        self.handoffs.append(
            (
                handoff_id,
                case_id,
                kind,
                from_unit,
                to_unit,
                None,
                status,
                at,
                due,
                acted,
                reason,
                "lihat catatan" if reason == "other" else None,
                acted if status == "completed" else None,
                state == "breached",
                1,
            )
        )
        self.events.append(
            (
                self.ids("case_events"),
                case_id,
                handoff_id,
                "handoff.requested",
                at,
                "bench",
                "internal",
                1,
                "{}",
            )
        )
        if answered and acted is not None:
            kind_event = "handoff.rejected" if status == "rejected" else "handoff.accepted"
            self.events.append(
                (
                    self.ids("case_events"),
                    case_id,
                    handoff_id,
                    kind_event,
                    acted,
                    "bench",
                    "internal",
                    1,
                    "{}",
                )
            )
        return acted or at

    def case(self) -> None:
        s, rng = self.s, self.rng
        case_id = self.ids("cases")
        received = START + (NOW - START) * (rng.random() ** 0.8)
        received = received.replace(second=0, microsecond=0)
        kel_unit, region, camat = rng.choices(s.kelurahan, weights=self.kel_weights)[0]
        category = rng.choices(range(1, len(s.categories) + 1), weights=s.category_weights)[0]
        priority = rng.choices(*PRIORITIES)[0]
        policy_id, response, resolution, ack = s.policy[(category, priority)]
        age_days = (NOW - received).days
        owner = kel_unit
        units = {(kel_unit, "recorder"), (kel_unit, "owner")}
        moves = 0
        bounced = False
        bounced_at = None
        story = rng.random()
        agency = s.category_agency[category] or rng.choice(list(s.agencies.values()))
        t = received + wall(rng.uniform(10, 300))
        pending_transfer = False
        if story < 0.17:  # forwarded to the agency and accepted
            t = self.handoff(case_id, "transfer", kel_unit, agency, t, ack, "accepted", camat)
            owner, moves = agency, 1
            units |= {(agency, "transfer_target"), (agency, "owner")}
        elif story < 0.20:  # forwarded and rejected
            t = self.handoff(case_id, "transfer", kel_unit, agency, t, ack, "rejected", camat)
            units.add((agency, "transfer_target"))
        elif story < 0.23:  # assistance
            t = self.handoff(case_id, "assist", kel_unit, agency, t, ack, "completed", camat)
            units.add((agency, "assist"))
        elif story < 0.235:  # ping-pong: three accepted transfers, then the bounce flag
            other = rng.choice([a for a in s.agencies.values() if a != agency])
            for frm, to in ((kel_unit, agency), (agency, other), (other, agency)):
                t = self.handoff(case_id, "transfer", frm, to, t, ack, "accepted", camat)
                units |= {(to, "transfer_target"), (to, "owner")}
            owner, moves, bounced, bounced_at = agency, 3, rng.random() < 0.5, t
        elif story < 0.245 and age_days < 3:
            self.handoff(case_id, "transfer", kel_unit, agency, t, ack, "pending", camat)
            units.add((agency, "transfer_target"))
            pending_transfer = True
        # Status by age: old cases are mostly closed.
        if pending_transfer:
            status = "pending_transfer"
        elif age_days > 45:
            status = rng.choices(
                ["closed", "resolved", "cancelled", "in_progress", "on_hold"], [85, 7, 3, 3, 2]
            )[0]
        else:
            status = rng.choices(
                ["new", "in_progress", "on_hold", "resolved", "closed", "cancelled"],
                [8, 30, 5, 30, 25, 2],
            )[0]
        done = status in ("resolved", "closed")
        # Response clock: answered unless still new (or cancelled while new).
        responded = status not in ("new",)
        r_over = (
            int(response * (rng.betavariate(2, 4) * 1.5 - 1))
            if responded and status != "cancelled"
            else None
        )
        r_state, r_due, r_done = self.clock(
            case_id,
            "response",
            received,
            response,
            camat,
            closed_over=r_over,
            stopped_at=(received + wall(60)) if status == "cancelled" else None,
        )
        resolved_at = closed_at = paused_at = None
        s_over = None
        if done:
            s_over = int(resolution * (rng.gammavariate(2.2, 0.42) - 1))
        hold = received + wall(rng.uniform(0.2, 0.9) * resolution) if status == "on_hold" else None
        if hold is not None and hold > NOW:
            hold = NOW - timedelta(hours=1)
        s_state, s_due, s_done = self.clock(
            case_id,
            "resolution",
            received,
            resolution,
            camat,
            closed_over=s_over,
            stopped_at=(received + wall(90)) if status == "cancelled" else None,
            paused_at=hold,
        )
        if done:
            resolved_at = s_done
            if status == "closed" and s_done is not None:
                closed_at = min(s_done + timedelta(days=7), NOW)
        if status == "on_hold" and s_state == "paused":
            paused_at = hold
        breached = "breached" in (r_state, s_state)
        title = "Laporan warga"
        self.cases.append(
            (
                case_id,
                tracking_code(case_id),
                title,
                "Uraian laporan",
                category,
                priority,
                rng.choice(CHANNELS),
                status,
                "in_progress" if pending_transfer else None,
                received,
                received,
                max(received, r_done or received),
                "anonymous",
                None,
                region,
                kel_unit,
                owner,
                "menunggu warga" if status == "on_hold" else None,
                "selesai ditangani" if done else None,
                "invalid" if status == "cancelled" else None,
                resolved_at,
                closed_at,
                moves,
                bounced,
                bounced_at,
                policy_id,
                r_done if r_state in ("met", "breached") and r_done else None,
                r_due,
                s_due,
                paused_at,
                breached,
                1 if done else 0,
                1,
            )
        )
        for unit_id, relation in units:
            self.case_units.append((case_id, unit_id, relation))
        if done and resolved_at is not None and rng.random() < 0.3:
            quality = self.unit_quality[owner]
            answers = []
            for _ in range(9):
                if rng.random() < 0.02:
                    answers.append(None)
                else:
                    answers.append(min(4, max(1, round(rng.gauss(quality, 0.7)))))
            submitted = min(resolved_at + timedelta(hours=rng.uniform(1, 120)), NOW)
            self.feedback.append((self.ids("feedback"), case_id, 1, owner, submitted, *answers))


def copy_rows(conn: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(url: str, cases: int, seed: int) -> None:
    import psycopg

    structure = Structure()
    started = time.monotonic()
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        copy_rows(conn, "regions", ("code", "name", "level", "parent_code"), structure.regions)
        copy_rows(
            conn,
            "units",
            (
                "id",
                "code",
                "name",
                "kind",
                "region_code",
                "timezone",
                "calendar",
                "email",
                "phone",
                "address",
                "active",
            ),
            structure.units,
        )
        copy_rows(
            conn,
            "categories",
            (
                "id",
                "code",
                "name_id",
                "name_en",
                "description",
                "default_unit_id",
                "default_unit_kind",
                "public",
                "active",
            ),
            structure.categories,
        )
        copy_rows(
            conn,
            "sla_policies",
            (
                "id",
                "category_id",
                "priority",
                "version",
                "response_minutes",
                "resolution_minutes",
                "handoff_ack_minutes",
                "warning_percents",
                "clock",
                "created_at",
                "superseded_at",
            ),
            structure.policies,
        )
        copy_rows(
            conn,
            "users",
            (
                "id",
                "username",
                "full_name",
                "email",
                "password_hash",
                "unit_id",
                "is_service",
                "active",
                "locale",
                "created_at",
            ),
            structure.users,
        )
        copy_rows(conn, "user_roles", ("user_id", "role"), structure.user_roles)
        generator = CaseGenerator(structure, seed)
        chunk = 100_000
        for start in range(0, cases, chunk):
            for _ in range(min(chunk, cases - start)):
                generator.case()
            batch = generator.flush()
            copy_rows(conn, "cases", CASE_COLUMNS, batch["cases"])
            copy_rows(conn, "case_units", ("case_id", "unit_id", "relation"), batch["case_units"])
            copy_rows(conn, "handoffs", HANDOFF_COLUMNS, batch["handoffs"])
            copy_rows(conn, "sla_clocks", CLOCK_COLUMNS, batch["sla_clocks"])
            copy_rows(conn, "case_events", EVENT_COLUMNS, batch["case_events"])
            copy_rows(conn, "feedback", FEEDBACK_COLUMNS, batch["feedback"])
            elapsed = time.monotonic() - started
            print(f"  loaded {start + chunk:>9,} cases  ({elapsed:5.0f} s)", flush=True)
        for table in (
            "units",
            "categories",
            "sla_policies",
            "users",
            "cases",
            "handoffs",
            "sla_clocks",
            "case_events",
            "feedback",
        ):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"  load done in {time.monotonic() - started:.0f} s", flush=True)


def counts(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in ("cases", "sla_clocks", "handoffs", "case_units", "case_events", "feedback")
        }


# -- timing ------------------------------------------------------------------------------------

CANDIDATE_INDEXES = {
    # Period filters on received_at, narrow enough for index-only scans of the case columns
    # the reports group and filter by.
    "bench_ix_cases_received_cover": "cases (received_at) INCLUDE (id, owner_unit_id, category_id, status, region_code)",
    # Case columns that handoff and IKM rows look up by case id.
    "bench_ix_cases_id_cover": "cases (id) INCLUDE (region_code, category_id, bounced_at, "
    "owner_unit_id)",
    # A case's response or resolution clock by (case_id, name), index-only.
    "bench_ix_sla_clocks_case_name_cover": "sla_clocks (case_id, name) "
    "INCLUDE (state, target_minutes, minutes_over, due_at, completed_at)",
    # A handoff's acknowledgement clock.
    "bench_ix_sla_clocks_handoff": "sla_clocks (handoff_id) INCLUDE (name, state, target_minutes, minutes_over, completed_at) "
    "WHERE handoff_id IS NOT NULL",
    "bench_ix_handoffs_requested_at": "handoffs (requested_at)",
    "bench_ix_feedback_submitted_at": "feedback (submitted_at)",
}


def reports_to_time(app: Any) -> Iterator[tuple[str, str, Callable[[], Any]]]:
    from sqlalchemy import select

    from coord.extensions import db
    from coord.models import User
    from coord.services import reports

    managers = {u.username: u for u in db.session.execute(select(User)).scalars()}
    city = managers["setda-medan.manager"]
    camat = managers["camat-medan-area.manager"]
    month = reports.ReportFilters(*reports.month_range("2026-01"))
    everything = reports.ReportFilters()
    for who, actor in (("city manager", city), ("camat manager", camat)):
        for label, filters in (("all 24 months", everything), ("month 2026-01", month)):
            scope = f"{who}, {label}"
            yield scope, "sla", lambda a=actor, f=filters: reports.sla_report(a, f, NOW)
            yield scope, "handoffs", lambda a=actor, f=filters: reports.handoff_report(a, f)
            yield scope, "backlog", lambda a=actor, f=filters: reports.backlog_report(a, f, NOW)
            yield scope, "ikm", lambda a=actor, f=filters: reports.ikm_report(a, f, period="month")
    last_year = reports.ReportFilters(*reports.default_public_range(NOW))
    yield (
        "public (no login), last 12 months",
        "public stats",
        lambda: reports.public_stats(last_year, NOW),
    )
    del app


def time_reports(url: str, repeat: int) -> list[tuple[str, str, float, float, int]]:
    os.environ.setdefault("COORD_ENV", "development")
    from coord import clock, create_app
    from coord.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    results = []
    with app.app_context():
        clock.set_frozen(NOW)
        for scope, name, run in reports_to_time(app):
            times = []
            size = 0
            for _ in range(repeat):
                db.session.rollback()
                started = time.perf_counter()
                out = run()
                times.append(time.perf_counter() - started)
                size = len(out["rows"]) if isinstance(out, dict) else len(out)
            results.append((scope, name, min(times), statistics.median(times), size))
            print(
                f"  {scope:<36} {name:<13} best {min(times) * 1000:7.0f} ms  "
                f"median {statistics.median(times) * 1000:7.0f} ms  rows {size}",
                flush=True,
            )
        db.session.rollback()
    return results


def print_table(title: str, results: list[tuple[str, str, float, float, int]]) -> None:
    print()
    print(title)
    print(f"  {'scope':<36} {'report':<13} {'best':>8} {'median':>8} {'rows':>6}  target < 1 s")
    for scope, name, best, median, size in results:
        ok = "ok" if median < TARGET_SECONDS else "SLOW"
        print(
            f"  {scope:<36} {name:<13} {best * 1000:6.0f}ms {median * 1000:6.0f}ms {size:>6}  {ok}"
        )


def create_candidate_indexes(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        for name, definition in CANDIDATE_INDEXES.items():
            conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
        conn.execute("VACUUM ANALYZE")


def drop_candidate_indexes(url: str) -> None:
    import psycopg

    names = [*CANDIDATE_INDEXES, "bench_ix_cases_received_at", "bench_ix_cases_region_pattern"]
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        conn.execute("ANALYZE")


def main() -> int:
    args = parse_args()
    print(f"bench/reports.py: {args.cases:,} cases in {args.database_url}")
    if not args.skip_load:
        print("preparing the database (migrations, COPY)...", flush=True)
        reset_database(args.database_url)
        migrate(args.database_url)
        load(args.database_url, args.cases, args.seed)
    drop_candidate_indexes(args.database_url)  # left by an earlier --indexes run
    print("rows:", ", ".join(f"{t} {n:,}" for t, n in counts(args.database_url).items()))
    print("timing (service functions in an app context, PostgreSQL on loopback)...", flush=True)
    results = time_reports(args.database_url, args.repeat)
    print_table("Reports over the loaded database (indexes of the migrations only):", results)
    if args.indexes:
        create_candidate_indexes(args.database_url)
        print("timing again with the candidate indexes...", flush=True)
        indexed = time_reports(args.database_url, args.repeat)
        print_table("With the candidate report indexes (bench_reports only):", indexed)
        results = indexed
    slow = [r for r in results if r[3] >= TARGET_SECONDS]
    print()
    print("all reports under 1 s" if not slow else f"{len(slow)} report timings over 1 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""HTTP API benchmark (DESIGN.md section 11): case create and forward + accept, side by side
with the two limits every such request pays, all measured in one run.

    python bench/api.py [--seconds 15] [--concurrency 8] [--workers 3] [--threads 4]

What it does, in order (every process it starts is stopped at the end, also on Ctrl-C):

1. Prepares PostgreSQL database ``bench_api`` (created if missing, schema dropped and
   recreated): ``flask db upgrade``, ``flask coord seed-demo --cases 0`` (structure only), API
   tokens for the 12 Medan Area kelurahan staff and the 8 agency liaisons.
2. F: serves ``bench/bare_app.py`` (one JSON route, no database) under gunicorn with the
   settings below and drives ``GET /ping`` with ``bench/loadgen.py``.
3. D: raw psycopg transactions writing the rows a case creation writes (``cases``, 2
   ``case_units``, 1 ``case_events``), from ``--concurrency`` threads of the load process.
4. Serves ``wsgi:app`` under the same gunicorn settings (COORD_ENV=production,
   COORD_LOG_LEVEL=WARNING, RATELIMIT_ENABLED=false, Redis db 14) and drives
   (a) ``POST /api/v1/cases`` by kelurahan staff, then (b) forward + accept: for each
   pre-created ``new`` case ``POST /api/v1/cases/{id}/handoffs`` (transfer to the category's
   agency, by the owner's staff) then ``POST /api/v1/handoffs/{hid}/accept`` (that agency's
   liaison). The cases for (b) exist before the timing starts (the rows D wrote, topped up
   if needed); forward and accept are counted separately.
5. Prints the table: requests/s, p50, p99, errors, F, D, the limit 1/(1/F + 1/D), each
   scenario's share of it and the DESIGN target (>= 70 % of the limit, p99 < 100 ms, no
   errors), and the RSS of the gunicorn workers (target < 150 MB).

The load generator is a separate process (``bench/loadgen.py``); all traffic is loopback.
``--profile DIR`` also records py-spy profiles (collapsed stacks, for flamegraph.pl or
speedscope) of the gunicorn workers during (a) and (b); a profiled run's figures are lower:
use it to find costs, not to report them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench.common is imported from the root
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    app_env,
    db_name,
    flask_cmd,
    migrate,
    reset_database,
    tool,
)

DEFAULT_DB = "postgresql://127.0.0.1:5432/bench_api"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"

TARGET_SHARE = 0.70
TARGET_P99_MS = 100.0
TARGET_RSS_MB = 150.0

# Started processes, stopped in ``cleanup`` whatever happens.
_STARTED: list[subprocess.Popen[bytes]] = []


# -- processes -----------------------------------------------------------------------------


def run_checked(cmd: list[str], env: dict[str, str], what: str, timeout: float = 300) -> str:
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    fh = open(log, "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
    )
    fh.close()
    _STARTED.append(proc)
    return proc


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Stop a process we started (its own session: gunicorn's workers go with it)."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    else:  # the leader is gone; make sure nothing of its group is left
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    if proc in _STARTED:
        _STARTED.remove(proc)


def cleanup() -> None:
    for proc in list(reversed(_STARTED)):
        with suppress(Exception):
            stop(proc, timeout=5)


def gunicorn_cmd(args: argparse.Namespace, app: str, log: Path) -> list[str]:
    return [
        tool("gunicorn"),
        "--bind",
        f"127.0.0.1:{args.port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--backlog",
        "2048",
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
        "--error-logfile",
        str(log),
        "--timeout",
        "60",
        app,
    ]


def gunicorn_settings(args: argparse.Namespace) -> str:
    return (
        f"--workers {args.workers} --worker-class {args.worker_class} "
        f"--threads {args.threads} --backlog 2048 --keep-alive 5"
    )


def ensure_port_free(port: int) -> None:
    """Refuse to start if something already listens there (we would measure it instead)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"127.0.0.1:{port} is already in use; pick another --port")


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback
                if resp.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s: {last}")


def wait_workers_ready(master: int, expected: int, timeout: float = 90) -> None:
    """Wait until ``expected`` workers run and none is still busy importing the app (their
    CPU time stops growing), so that no boot work falls into a warm-up or timed window."""
    deadline = time.monotonic() + timeout
    previous: dict[int, float] = {}
    while time.monotonic() < deadline:
        pids = worker_pids(master)
        now = {pid: cpu_seconds(pid) for pid in pids}
        if (
            len(pids) >= expected
            and previous.keys() == now.keys()
            and all(now[p] - previous[p] < 0.05 for p in pids)
        ):
            return
        previous = now
        time.sleep(0.5)
    raise RuntimeError(f"gunicorn workers not ready within {timeout} s")


def cpu_seconds(pid: int) -> float:
    with suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == master:
                pids.append(int(entry.name))
    return sorted(pids)


def machine_idle(seconds: float = 2.0) -> float:
    """Share of the machine's CPU left idle over ``seconds`` (other people's work shows)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        return values[3] + values[4], sum(values[:8])

    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return (idle1 - idle0) / max(1, total1 - total0)


def wait_quiet(limit: float, threshold: float = 0.85) -> float:
    """Wait (up to ``limit`` s) until the machine is at least ``threshold`` idle."""
    deadline = time.monotonic() + limit
    idle = machine_idle()
    while idle < threshold and time.monotonic() < deadline:
        print(f"machine only {idle:.0%} idle; waiting for it to quieten", flush=True)
        time.sleep(5)
        idle = machine_idle()
    return idle


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- database ------------------------------------------------------------------------------


def make_fixture(path: str) -> None:
    """Runs inside the app (``--internal-fixture``): tokens and ids the load needs."""
    from datetime import timedelta

    from sqlalchemy import select, text

    from coord import create_app
    from coord.clock import now_utc
    from coord.extensions import db
    from coord.models import Category, SlaPolicy, Unit, User
    from coord.services import case_intake
    from coord.services.accounts import issue_token
    from coord.services.uow import unit_of_work

    app = create_app()
    with app.app_context():
        units = {u.code: u for u in db.session.execute(select(Unit)).scalars()}
        kelurahan = [
            u
            for u in units.values()
            if u.kind == "kelurahan" and u.region_code.startswith("12.71.08.")
        ]
        agencies = [u for u in units.values() if u.kind == "agency"]
        users = {u.username: u for u in db.session.execute(select(User)).scalars()}
        now = now_utc()
        staff: list[dict[str, Any]] = []
        liaisons: dict[str, str] = {}
        with unit_of_work():
            for unit in sorted(kelurahan, key=lambda u: u.code):
                user = users[f"{unit.code}.staff"]
                _, plain = issue_token(user, now, name="bench", lifetime=timedelta(days=1))
                staff.append(
                    {
                        "username": user.username,
                        "token": plain,
                        "user_id": user.id,
                        "unit_id": unit.id,
                        "unit_code": unit.code,
                        "region_code": unit.region_code,
                        "label": f"{user.full_name} ({unit.name})",
                    }
                )
            for unit in sorted(agencies, key=lambda u: u.code):
                user = users[f"{unit.code}.liaison"]
                _, plain = issue_token(user, now, name="bench", lifetime=timedelta(days=1))
                liaisons[unit.code] = plain
        categories = {}
        for c in db.session.execute(select(Category)).scalars():
            default = c.default_unit.code if c.default_unit is not None else None
            categories[c.code] = default if default in liaisons else None
        policies = [
            [
                p.category_id,
                p.category.code,
                p.priority,
                p.id,
                p.response_minutes,
                p.resolution_minutes,
            ]
            for p in db.session.execute(
                select(SlaPolicy).where(SlaPolicy.superseded_at.is_(None))
            ).scalars()
            if p.category.code
            in {
                "jalan-rusak",
                "sampah",
                "drainase-banjir",
                "lampu-jalan",
                "air-bersih",
                "ketertiban-umum",
            }
        ]
        # One case created through the service: what a creation writes, row by row, is
        # what D must write too (and its SLA clock rows are D's templates).
        writer = users[staff[0]["username"]]
        with unit_of_work():
            case, _ = case_intake.create_case(
                writer,
                case_intake.NewCase(
                    title="Template",
                    description="Template case for the D limit",
                    category="jalan-rusak",
                    region_code=staff[0]["region_code"],
                    reporter_privacy="named",
                    reporter_name="Siti Aminah",
                    reporter_phone="081234567890",
                    address="Jl. Demo No. 1",
                ),
                now_utc(),
            )
        written = rows_referencing_case(case.id)
        clocks = []
        if "sla_clocks" in written:
            for row in db.session.execute(
                text(
                    "SELECT name, calendar, notify_unit_id, started_at, target_minutes,"
                    " warning_percents, paused_minutes, due_at, state, next_threshold,"
                    " next_threshold_at FROM sla_clocks WHERE case_id = :id ORDER BY id"
                ),
                {"id": case.id},
            ).mappings():
                clocks.append(
                    {
                        "name": row["name"],
                        "calendar": row["calendar"],
                        "notify_unit_id": row["notify_unit_id"],
                        "target_minutes": row["target_minutes"],
                        "warning_percents": row["warning_percents"],
                        "state": row["state"],
                        "next_threshold": row["next_threshold"],
                        "due_after_s": (row["due_at"] - row["started_at"]).total_seconds(),
                        "next_after_s": (
                            (row["next_threshold_at"] - row["started_at"]).total_seconds()
                            if row["next_threshold_at"] is not None
                            else None
                        ),
                    }
                )
    Path(path).write_text(
        json.dumps(
            {
                "staff": staff,
                "liaisons": liaisons,
                "categories": categories,
                "policies": policies,
                "create_writes": written,
                "clock_templates": clocks,
            }
        )
    )


def rows_referencing_case(case_id: int) -> dict[str, int]:
    """Rows of every table that references ``cases`` (and the case row) for one case."""
    from sqlalchemy import text

    from coord.extensions import db

    found = {"cases": 1}
    refs = db.session.execute(
        text(
            "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " WHERE c.contype = 'f' AND c.confrelid = 'cases'::regclass"
            " AND array_length(c.conkey, 1) = 1"
        )
    ).all()
    for table, column in refs:
        if table == "cases":
            continue
        count: int = db.session.execute(
            text(f'SELECT count(*) FROM "{table}" WHERE "{column}" = :id'), {"id": case_id}
        ).scalar_one()
        if count:
            found[str(table)] = found.get(str(table), 0) + count
    return found


def handoff_pool(url: str, fixture: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """``new`` cases owned by a Medan Area kelurahan, each with who forwards it where."""
    import psycopg

    by_unit = {s["unit_id"]: s for s in fixture["staff"]}
    agencies = sorted(fixture["liaisons"])
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.id, c.owner_unit_id, cat.code FROM cases c"
            " JOIN categories cat ON cat.id = c.category_id"
            " WHERE c.status = 'new' AND c.owner_unit_id = ANY(%s) ORDER BY c.id LIMIT %s",
            (list(by_unit), limit),
        ).fetchall()
    pool = []
    for i, (case_id, owner_unit_id, category) in enumerate(rows):
        target = fixture["categories"].get(category) or agencies[i % len(agencies)]
        pool.append(
            {
                "case_id": case_id,
                "owner_token": by_unit[owner_unit_id]["token"],
                "to_unit": target,
                "liaison_token": fixture["liaisons"][target],
            }
        )
    return pool


# -- load ----------------------------------------------------------------------------------


def loadgen(
    args: argparse.Namespace,
    scenario: str,
    plan: dict[str, Any],
    workdir: Path,
    *,
    seconds: float | None = None,
    warmup: float | None = None,
    server: subprocess.Popen[bytes] | None = None,
) -> dict[str, Any]:
    seconds = args.seconds if seconds is None else seconds
    warmup = args.warmup if warmup is None else warmup
    plan_path = workdir / f"plan-{scenario}.json"
    out_path = workdir / f"result-{scenario}.json"
    plan_path.write_text(json.dumps(plan))
    cmd = [
        sys.executable,
        str(ROOT / "bench" / "loadgen.py"),
        "--scenario",
        scenario,
        "--url",
        f"http://127.0.0.1:{args.port}",
        "--plan",
        str(plan_path),
        "--concurrency",
        str(args.concurrency),
        "--processes",
        str(args.load_processes),
        "--warmup",
        str(warmup),
        "--seconds",
        str(seconds),
        "--output",
        str(out_path),
        "--dbname",
        db_name(args.database_url),
    ]
    if server is not None:
        cmd += ["--server-pid", str(server.pid)]
    proc = start(cmd, dict(os.environ), workdir / f"loadgen-{scenario}.log")
    try:
        proc.wait(timeout=warmup + seconds + 180)
    finally:
        stop(proc)
    if proc.returncode != 0 or not out_path.exists():
        log = (workdir / f"loadgen-{scenario}.log").read_text(errors="replace")
        raise RuntimeError(f"load generator failed for {scenario} ({proc.returncode}):\n{log}")
    result = json.loads(out_path.read_text())
    if result.get("crashed"):
        raise RuntimeError(f"load threads crashed in {scenario}: {result['crashed'][:3]}")
    return result


def profiler(
    args: argparse.Namespace, master: int, name: str, workdir: Path, duration: float
) -> subprocess.Popen[bytes] | None:
    if not args.profile:
        return None
    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        tool("py-spy"),
        "record",
        "--pid",
        str(master),
        "--subprocesses",
        "--rate",
        "250",
        "--duration",
        str(int(duration)),
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(out / f"{name}.folded.txt"),
    ]
    return start(cmd, dict(os.environ), workdir / f"py-spy-{name}.log")


# -- report --------------------------------------------------------------------------------


def verdict(rate: float, p99: float, errors: int, limit: float) -> str:
    ok = rate >= TARGET_SHARE * limit and p99 < TARGET_P99_MS and errors == 0
    return "PASS" if ok else "FAIL"


def cpu_report(results: dict[str, Any]) -> list[str]:
    """CPU milliseconds per request (per transaction for D) in the timed window, and the rate
    each would reach if it had the machine's cores to itself (cores / CPU per request)."""
    rows = [
        ("F bare Flask", results["F"], "ping"),
        ("D raw transaction", results["D"], "db"),
        ("(a) create", results["create"], "create"),
        ("(b) forward/accept", results["handoff"], "requests"),
    ]
    cores = os.cpu_count() or 1
    lines = [
        f"{'CPU ms per request':26} {'server':>7} {'database':>9} {'client':>7} "
        f"{'others':>7} {'alone/s':>8}   machine busy (others)"
    ]
    noisy = False
    alone: dict[str, float] = {}
    for name, res, op in rows:
        cpu, count = res.get("cpu_s") or {}, res["ops"][op]["count"]
        if not cpu or not count:
            continue
        per = {k: cpu.get(k, 0.0) * 1000 / count for k in ("server", "database", "client", "other")}
        own = per["server"] + per["database"] + per["client"]
        alone[op] = cores * 1000 / own if own else float("nan")
        busy = cpu["machine_busy"] / cpu["machine_capacity"] if cpu["machine_capacity"] else 0
        other_share = cpu["other"] / cpu["machine_capacity"] if cpu["machine_capacity"] else 0
        noisy = noisy or other_share > 0.10
        server = f"{per['server']:7.2f}" if "server" in cpu else f"{'-':>7}"
        lines.append(
            f"{name:26} {server} {per['database']:9.2f} {per['client']:7.2f} "
            f"{per['other']:7.2f} {alone[op]:8.0f}   {busy:4.0%} ({other_share:.0%})"
        )
    if {"ping", "db", "create", "requests"} <= alone.keys():
        limit = 1 / (1 / alone["ping"] + 1 / alone["db"])
        lines.append(
            f"  by CPU alone: limit {limit:.0f}/s, (a) at {alone['create'] / limit:.1%} "
            f"of it, (b) at {alone['requests'] / limit:.1%}"
        )
    if noisy:
        lines.append(
            "  warning: other processes used more than 10 % of the machine in a timed "
            "window: the rates above are understated and CPU per request is inflated "
            "(contention); compare runs on a quiet machine"
        )
    return lines


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    f = results["F"]["ops"]["ping"]
    d = results["D"]["ops"]["db"]
    big_f, big_d = f["rate"], d["rate"]
    limit = 1 / (1 / big_f + 1 / big_d)
    rows: list[tuple[str, dict[str, Any], str]] = []
    a = results["create"]["ops"]["create"]
    rows.append(("(a) POST /cases", a, verdict(a["rate"], a["p99_ms"], a["errors"], limit)))
    b = results["handoff"]["ops"]
    fwd, acc, both = b["forward"], b["accept"], b["requests"]
    rows.append(("(b) forward POST /cases/{id}/handoffs", fwd, ""))
    rows.append(("(b) accept POST /handoffs/{id}/accept", acc, ""))
    rows.append(
        (
            "(b) forward + accept, all requests",
            both,
            verdict(both["rate"], both["p99_ms"], both["errors"], limit),
        )
    )
    lines = [
        f"coord API benchmark  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{results['postgres']}; {results['idle_before']:.0%} idle before the run",
        f"gunicorn: {gunicorn_settings(args)}",
        f"load: {args.concurrency} closed-loop connections ({args.load_processes} load process), "
        f"warm-up {args.warmup:g} s, timed {args.seconds:g} s per scenario",
        "",
        f"{'scenario':42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'of limit':>9}  target",
    ]
    lines.append("-" * len(lines[-1]))
    for name, r, status in rows:
        lines.append(
            f"{name:42} {r['rate']:8.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
            f"{r['errors']:7d} {r['rate'] / limit:8.1%}  {status}"
        )
    lines.append("")
    lines.append(
        f"{'F bare Flask JSON endpoint (same gunicorn)':42} {big_f:8.1f} "
        f"{f['p50_ms']:8.2f} {f['p99_ms']:8.2f} {f['errors']:7d}"
    )
    lines.append(
        f"{'D raw psycopg case-creation transaction':42} {big_d:8.1f} "
        f"{d['p50_ms']:8.2f} {d['p99_ms']:8.2f} {d['errors']:7d}"
    )
    lines.append(f"{'limit 1/(1/F + 1/D)':42} {limit:8.1f}")
    lines.append(
        "  D writes per transaction: "
        + ", ".join(f"{t} x{n}" for t, n in results["d_writes"].items())
    )
    lines.append(
        "  a case creation through the service writes: "
        + ", ".join(f"{t} x{n}" for t, n in results["create_writes"].items())
    )
    missing = {t: n for t, n in results["create_writes"].items() if results["d_writes"].get(t) != n}
    if missing:
        lines.append(f"  warning: D does not write the same rows as a creation: {missing}")
    lines.append(
        f"{'DESIGN target: 70 % of the limit':42} {TARGET_SHARE * limit:8.1f}   "
        f"p99 < {TARGET_P99_MS:g} ms, no errors"
    )
    lines.append("")
    lines += cpu_report(results)
    lines.append("")
    rss = results["rss"]
    workers = ", ".join(f"{v:.1f}" for v in rss["workers_mb"])
    worst = max(rss["workers_mb"]) if rss["workers_mb"] else float("nan")
    lines.append(
        f"RSS after the run: gunicorn master {rss['master_mb']:.1f} MB, "
        f"workers {workers} MB"
        f"  (target < {TARGET_RSS_MB:g} MB per web process: "
        f"{'PASS' if worst < TARGET_RSS_MB else 'FAIL'})"
    )
    for label, res in (("create", results["create"]), ("handoff", results["handoff"])):
        for op, r in res["ops"].items():
            if op == "requests":
                continue
            for sample in r.get("error_samples", [])[:3]:
                lines.append(f"  {label}/{op} error sample: {sample}")
    if results["handoff"]["ops"].get("pool_exhausted"):
        lines.append("  warning: some (b) threads ran out of pre-created cases; (b) is understated")
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------------


D_WRITES = {"cases": 1, "case_units": 2, "case_events": 1}


def d_plan(args: argparse.Namespace, fixture: dict[str, Any]) -> dict[str, Any]:
    return {
        "dsn": args.database_url,
        "fixture": {
            "writers": fixture["staff"],
            "policies": fixture["policies"],
            "clocks": fixture["clock_templates"],
        },
    }


def d_writes(fixture: dict[str, Any]) -> dict[str, int]:
    rows = dict(D_WRITES)
    if fixture["clock_templates"]:
        rows["sla_clocks"] = len(fixture["clock_templates"])
    return rows


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    env = app_env(args, unset=("FLASK_DEBUG",))
    results: dict[str, Any] = {}
    if not args.skip_prepare:
        print("preparing database", args.database_url, flush=True)
        reset_database(args.database_url)
        migrate(env)
        run_checked(
            flask_cmd("coord", "seed-demo", "--cases", "0"),
            env,
            "flask coord seed-demo",
        )
    fixture_path = workdir / "fixture.json"
    run_checked(
        [sys.executable, str(Path(__file__).resolve()), "--internal-fixture", str(fixture_path)],
        env,
        "token and fixture creation",
    )
    fixture = json.loads(fixture_path.read_text())
    results["create_writes"] = fixture["create_writes"]
    results["d_writes"] = d_writes(fixture)

    import psycopg

    with psycopg.connect(args.database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        results["postgres"] = "PostgreSQL " + (row[0] if row else "?")

    results["idle_before"] = wait_quiet(args.wait_quiet)
    print(f"machine {results['idle_before']:.0%} idle before the measurements", flush=True)

    # F: the bare Flask app under the same gunicorn settings.
    print(f"F: bare Flask app, gunicorn {gunicorn_settings(args)}", flush=True)
    ensure_port_free(args.port)
    server = start(
        gunicorn_cmd(args, "bench.bare_app:app", workdir / "gunicorn-bare.log"),
        env,
        workdir / "gunicorn-bare.out",
    )
    try:
        wait_http(f"http://127.0.0.1:{args.port}/ping", server)
        wait_workers_ready(server.pid, args.workers)
        results["F"] = loadgen(args, "ping", {"path": "/ping"}, workdir, server=server)
    finally:
        stop(server)

    # D: raw psycopg transactions writing what a case creation writes.
    print("D: raw psycopg case-creation transactions", flush=True)
    results["D"] = loadgen(args, "db", d_plan(args, fixture), workdir)

    # The service.
    print(f"coord: wsgi:app, gunicorn {gunicorn_settings(args)}", flush=True)
    ensure_port_free(args.port)
    server = start(
        gunicorn_cmd(args, "wsgi:app", workdir / "gunicorn-app.log"),
        env,
        workdir / "gunicorn-app.out",
    )
    try:
        wait_http(f"http://127.0.0.1:{args.port}/healthz", server)
        wait_workers_ready(server.pid, args.workers)
        span = args.warmup + args.seconds
        print("(a) POST /api/v1/cases", flush=True)
        prof = profiler(args, server.pid, "create", workdir, span)
        results["create"] = loadgen(
            args,
            "create",
            {
                "staff": fixture["staff"],
                "categories": sorted(fixture["categories"]),
            },
            workdir,
            server=server,
        )
        if prof is not None:
            prof.wait(timeout=span + 60)
            stop(prof)

        # Cases for (b): every iteration uses one; make sure there are plenty.
        create_rate = results["create"]["ops"]["create"]["rate"]
        needed = int(max(2000, 1.5 * create_rate * span))
        pool = handoff_pool(args.database_url, fixture, needed)
        if len(pool) < needed:
            extra = max(3.0, (needed - len(pool)) / max(results["D"]["ops"]["db"]["rate"], 1) * 1.5)
            print(f"topping up the (b) pool: {len(pool)} of {needed} cases", flush=True)
            loadgen(args, "db", d_plan(args, fixture), workdir, seconds=extra, warmup=0)
            pool = handoff_pool(args.database_url, fixture, needed)
        print(f"(b) forward + accept over {len(pool)} pre-created cases", flush=True)
        prof = profiler(args, server.pid, "handoff", workdir, span)
        results["handoff"] = loadgen(args, "handoff", {"cases": pool}, workdir, server=server)
        if prof is not None:
            prof.wait(timeout=span + 60)
            stop(prof)

        workers = worker_pids(server.pid)
        results["rss"] = {
            "master_mb": rss_mb(server.pid),
            "workers_mb": [rss_mb(p) for p in workers],
        }
    finally:
        stop(server)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="timed seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per scenario")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="closed-loop connections (and D threads)"
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="gunicorn threads per worker (more than 1: gthread worker)",
    )
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class")
    parser.add_argument(
        "--load-processes",
        type=int,
        default=1,
        help="processes of the load generator (threads are split over them)",
    )
    parser.add_argument("--port", type=int, default=8111)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument(
        "--skip-prepare",
        action="store_true",
        help="keep the database as it is (no reset, migration or seed)",
    )
    parser.add_argument(
        "--profile", metavar="DIR", help="record py-spy profiles of the workers during (a) and (b)"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="wait up to this long for the machine to be 85 %% idle first",
    )
    parser.add_argument("--json", metavar="PATH", help="also write all results as JSON here")
    parser.add_argument(
        "--keep-workdir",
        action="store_true",
        help="keep the temporary directory with logs and raw results",
    )
    parser.add_argument("--internal-fixture", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.internal_fixture:
        make_fixture(args.internal_fixture)
        return 0
    if args.threads > 1 and args.worker_class == "sync":
        args.worker_class = "gthread"  # what gunicorn does itself with --threads > 1

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _terminate)
    workdir = Path(tempfile.mkdtemp(prefix="coord-bench-api-"))
    try:
        results = measure(args, workdir)
        text = report(results, args)
        print()
        print(text)
        if args.json:
            Path(args.json).write_text(
                json.dumps({"settings": vars(args), "results": results}, indent=2, default=str)
            )
        return 0
    except KeyboardInterrupt:
        print("interrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        cleanup()
        if args.keep_workdir:
            print(f"logs and raw results kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

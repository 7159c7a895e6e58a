"""Closed-loop load generator for ``bench/api.py`` (runs as its own process).

Each of ``--concurrency`` client threads (spread over ``--processes`` processes) sends one
request, waits for the answer and sends the next, on its own keep-alive connection (it
reconnects when the server closes, as gunicorn's sync workers do after every response).
The HTTP client is a minimal HTTP/1.1 one over a plain socket, cheaper than ``http.client``
or ``requests``, so that the client costs the 2-core machine as little as possible; the
same client drives every scenario so that the figures are comparable.

Scenarios (the plan file, JSON, written by ``bench/api.py``, carries tokens and ids):

- ``ping``: ``GET /ping`` on the bare app (the F limit);
- ``create``: ``POST /api/v1/cases`` by kelurahan staff;
- ``handoff``: for each pre-created case, ``POST /api/v1/cases/{id}/handoffs`` (transfer, by
  the owner's staff) then ``POST /api/v1/handoffs/{hid}/accept`` (the agency's liaison);
- ``db``: raw psycopg transactions writing what a case creation writes (the D limit):
  ``cases`` + 2 ``case_units`` + 1 ``case_events``, one transaction each.

Only completions inside the timed window (after ``--warmup`` seconds) count. The result
(JSON on stdout, or ``--output``) has, per operation, the count, rate, latency percentiles
and errors with a few samples.

    python bench/loadgen.py --scenario ping --url http://127.0.0.1:8111 --seconds 10
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# -- a minimal keep-alive HTTP/1.1 client ------------------------------------------------


class HttpError(Exception):
    pass


class Connection:
    """One persistent connection; ``request`` returns ``(status, body)``."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.sock: socket.socket | None = None
        self.connects = 0

    def _connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.connects += 1

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def request(self, data: bytes) -> tuple[int, bytes]:
        reused = self.sock is not None
        if self.sock is None:
            self._connect()
        try:
            self.sock.sendall(data)  # type: ignore[union-attr]
            return self._read_response()
        except _ClosedBeforeResponse:
            self.close()
            if not reused:
                raise HttpError("connection closed before any response") from None
            # The server closed an idle keep-alive connection: nothing was processed.
            self._connect()
            self.sock.sendall(data)  # type: ignore[union-attr]
            return self._read_response()
        except OSError:
            self.close()
            raise

    def _read_response(self) -> tuple[int, bytes]:
        sock = self.sock
        assert sock is not None
        buf = b""
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            chunk = sock.recv(65536)
            if not chunk:
                if buf:
                    self.close()
                    raise HttpError("connection closed in the response head")
                raise _ClosedBeforeResponse()
            buf += chunk
        head = buf[:end].decode("latin-1")
        rest = buf[end + 4 :]
        lines = head.split("\r\n")
        try:
            status = int(lines[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            self.close()
            raise HttpError(f"bad status line {lines[0]!r}") from None
        length = None
        chunked = False
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if chunked:
            body = self._read_chunked(rest)
        elif length is not None:
            while len(rest) < length:
                chunk = sock.recv(max(65536, length - len(rest)))
                if not chunk:
                    self.close()
                    raise HttpError("connection closed in the body")
                rest += chunk
            body = rest[:length]
        else:  # body until close
            parts = [rest]
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                parts.append(chunk)
            body = b"".join(parts)
            close = True
        if close:
            self.close()
        return status, body

    def _read_chunked(self, rest: bytes) -> bytes:
        sock = self.sock
        assert sock is not None
        body = b""
        buf = rest
        while True:
            while b"\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    raise HttpError("connection closed in a chunk")
                buf += chunk
            size_line, buf = buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(buf) < size + 2:
                chunk = sock.recv(65536)
                if not chunk:
                    raise HttpError("connection closed in a chunk")
                buf += chunk
            if size == 0:
                return body
            body += buf[:size]
            buf = buf[size + 2 :]


class _ClosedBeforeResponse(Exception):
    pass


def build_request(
    method: str, path: str, host: str, *, token: str | None = None, body: Any = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: application/json"]
    payload = b""
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        payload = json.dumps(body, separators=(",", ":")).encode()
        lines.append("Content-Type: application/json")
    if method != "GET" or payload:
        lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


# -- measurement ---------------------------------------------------------------------------


@dataclass
class OpStats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    warmup_ok: int = 0
    warmup_errors: int = 0
    samples: list[str] = field(default_factory=list)

    def merge(self, other: dict[str, Any]) -> None:
        self.latencies.extend(other["latencies"])
        self.errors += other["errors"]
        self.warmup_ok += other["warmup_ok"]
        self.warmup_errors += other["warmup_errors"]
        for s in other["samples"]:
            if len(self.samples) < 5:
                self.samples.append(s)


class Recorder:
    """Per-thread results; only completions within [window_start, window_end] count."""

    def __init__(self, window_start: float, window_end: float) -> None:
        self.window_start, self.window_end = window_start, window_end
        self.ops: dict[str, OpStats] = {}

    def record(self, op: str, started: float, ended: float, ok: bool, detail: str = "") -> None:
        stats = self.ops.get(op)
        if stats is None:
            stats = self.ops[op] = OpStats()
        if ended < self.window_start:
            if ok:
                stats.warmup_ok += 1
            else:
                stats.warmup_errors += 1
                if len(stats.samples) < 5:
                    stats.samples.append("warm-up: " + detail[:300])
            return
        if ended > self.window_end:
            return
        if ok:
            stats.latencies.append(ended - started)
        else:
            stats.errors += 1
            if len(stats.samples) < 5:
                stats.samples.append(detail[:300])

    def export(self) -> dict[str, Any]:
        return {
            op: {
                "latencies": s.latencies,
                "errors": s.errors,
                "warmup_ok": s.warmup_ok,
                "warmup_errors": s.warmup_errors,
                "samples": s.samples,
            }
            for op, s in self.ops.items()
        }


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(q * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def summarise(ops: dict[str, OpStats], seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for op, s in ops.items():
        lat = sorted(s.latencies)
        out[op] = {
            "count": len(lat),
            "rate": len(lat) / seconds,
            "p50_ms": percentile(lat, 0.50) * 1000,
            "p90_ms": percentile(lat, 0.90) * 1000,
            "p99_ms": percentile(lat, 0.99) * 1000,
            "max_ms": (lat[-1] * 1000) if lat else float("nan"),
            "mean_ms": (sum(lat) / len(lat) * 1000) if lat else float("nan"),
            "errors": s.errors,
            "warmup_ok": s.warmup_ok,
            "warmup_errors": s.warmup_errors,
            "error_samples": s.samples,
        }
    return out


# -- scenarios -----------------------------------------------------------------------------


def _timed_request(conn: Connection, data: bytes) -> tuple[int, bytes, float, float, str]:
    started = time.monotonic()
    try:
        status, body = conn.request(data)
        detail = ""
    except (OSError, HttpError) as exc:
        status, body, detail = 0, b"", f"{type(exc).__name__}: {exc}"
    return status, body, started, time.monotonic(), detail


def run_ping(index: int, plan: dict[str, Any], rec: Recorder, deadline: float) -> None:
    host, port = plan["host"], plan["port"]
    conn = Connection(host, port)
    data = build_request("GET", plan.get("path", "/ping"), f"{host}:{port}")
    while time.monotonic() < deadline:
        status, body, started, ended, detail = _timed_request(conn, data)
        ok = status == 200
        rec.record("ping", started, ended, ok, detail or f"{status} {body[:200]!r}")
    conn.close()


TITLES = [
    (
        "jalan-rusak",
        "Jalan berlubang di depan sekolah",
        "Lubang besar di badan jalan, sudah dua minggu, membahayakan pengendara sepeda motor "
        "terutama pada malam hari.",
    ),
    (
        "sampah",
        "Sampah tidak diangkut seminggu",
        "Tumpukan sampah di TPS gang mulai berbau dan dikerumuni lalat; warga minta jadwal "
        "pengangkutan.",
    ),
    (
        "drainase-banjir",
        "Parit tersumbat, air meluap",
        "Parit di depan rumah warga tersumbat lumpur dan plastik; setiap hujan air meluap ke jalan.",
    ),
    (
        "lampu-jalan",
        "Lampu jalan padam",
        "Tiga lampu penerangan jalan padam sejak awal bulan, jalan gelap dan rawan.",
    ),
    (
        "air-bersih",
        "Air PDAM tidak mengalir",
        "Air PDAM tidak mengalir sejak tiga hari di satu lingkungan, warga membeli air galon.",
    ),
    (
        "ketertiban-umum",
        "Parkir liar menutup jalan",
        "Kendaraan parkir di kedua sisi jalan sehingga angkot dan ambulans sulit lewat.",
    ),
]
NAMES = [
    "Siti Aminah",
    "Budi Santoso",
    "Rahmat Hidayat",
    "Dewi Lestari",
    "Ahmad Nasution",
    "Rina Siregar",
    "Joko Lubis",
    "Maria Simanjuntak",
]
CHANNELS = ["walk_in", "phone", "whatsapp", "letter", "web"]
PRIORITIES = ["normal", "normal", "normal", "high", "low", "urgent"]


def case_body(rng: random.Random, region_code: str, categories: set[str]) -> dict[str, Any]:
    choices = [t for t in TITLES if t[0] in categories] or TITLES
    category, title, description = rng.choice(choices)
    privacy = rng.choice(["named", "named", "named", "confidential", "anonymous"])
    reporter: dict[str, Any] = {"privacy": privacy}
    if privacy != "anonymous":
        reporter.update(name=rng.choice(NAMES), phone=f"0812{rng.randint(10_000_000, 99_999_999)}")
    return {
        "title": title,
        "description": description,
        "category": category,
        "priority": rng.choice(PRIORITIES),
        "channel": rng.choice(CHANNELS),
        "reporter": reporter,
        "location": {
            "region_code": region_code,
            "address": f"Jl. Demo No. {rng.randint(1, 200)}",
            "latitude": round(3.57 + rng.random() / 100, 6),
            "longitude": round(98.69 + rng.random() / 100, 6),
        },
    }


def run_create(index: int, plan: dict[str, Any], rec: Recorder, deadline: float) -> None:
    host, port = plan["host"], plan["port"]
    rng = random.Random(index)
    staff = plan["staff"]
    me = staff[index % len(staff)]  # each thread acts as one kelurahan's staff
    categories = set(plan.get("categories", []))
    requests_ = [
        build_request(
            "POST",
            "/api/v1/cases",
            f"{host}:{port}",
            token=me["token"],
            body=case_body(rng, me["region_code"], categories),
        )
        for _ in range(32)
    ]
    conn = Connection(host, port)
    i = 0
    while time.monotonic() < deadline:
        status, body, started, ended, detail = _timed_request(conn, requests_[i % len(requests_)])
        i += 1
        rec.record("create", started, ended, status == 201, detail or f"{status} {body[:300]!r}")
    conn.close()


def run_handoff(index: int, plan: dict[str, Any], rec: Recorder, deadline: float) -> None:
    host, port = plan["host"], plan["port"]
    hostport = f"{host}:{port}"
    pool = plan["cases"]
    threads = plan["threads_total"]
    mine = pool[plan["thread_offset"] + index :: threads]  # disjoint slices: no lock contention
    conn = Connection(host, port)
    note = {"kind": "transfer", "note": "Mohon ditindaklanjuti, di luar kewenangan kelurahan."}
    for item in mine:
        if time.monotonic() >= deadline:
            break
        data = build_request(
            "POST",
            f"/api/v1/cases/{item['case_id']}/handoffs",
            hostport,
            token=item["owner_token"],
            body=dict(note, to_unit=item["to_unit"]),
        )
        status, body, started, ended, detail = _timed_request(conn, data)
        ok = status == 201
        rec.record("forward", started, ended, ok, detail or f"{status} {body[:300]!r}")
        rec.record("requests", started, ended, ok, "forward: " + (detail or str(status)))
        if not ok:
            continue
        try:
            handoff_id = json.loads(body)["id"]
        except (ValueError, KeyError) as exc:
            rec.record("forward", started, ended, False, f"unreadable body: {exc}")
            continue
        data = build_request(
            "POST",
            f"/api/v1/handoffs/{handoff_id}/accept",
            hostport,
            token=item["liaison_token"],
            body={"note": "Diterima, segera ditangani."},
        )
        status, body, started, ended, detail = _timed_request(conn, data)
        ok = status == 200
        rec.record("accept", started, ended, ok, detail or f"{status} {body[:300]!r}")
        rec.record("requests", started, ended, ok, "accept: " + (detail or str(status)))
    else:
        if time.monotonic() < deadline:
            rec.record("pool_exhausted", deadline, deadline, False, "thread ran out of cases")
    conn.close()


def run_db(index: int, plan: dict[str, Any], rec: Recorder, deadline: float) -> None:
    """The D limit: the rows of one case creation, in one transaction, with raw psycopg."""
    import psycopg
    from psycopg.types.json import Jsonb

    rng = random.Random(1000 + index)
    fx = plan["fixture"]
    writers = fx["writers"]
    me = writers[index % len(writers)]
    # [category_id, category_code, priority, policy_id, response_minutes, resolution_minutes]
    policies = fx["policies"]
    conn = psycopg.connect(plan["dsn"], autocommit=False)
    insert_case = (
        "INSERT INTO cases (tracking_code, title, description, category_id, priority, channel,"
        " status, received_at, created_at, updated_at, reporter_privacy, reporter_name,"
        " reporter_phone, region_code, address, latitude, longitude, recorded_by_unit_id,"
        " created_by_id, owner_unit_id, ownership_moves, bounced, sla_policy_id,"
        " response_due_at, resolution_due_at, breached, version)"
        " VALUES (%s, %s, %s, %s, %s, %s, 'new', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s, 0, false, %s, %s + %s * interval '1 minute', %s + %s * interval '1 minute',"
        " false, 1) RETURNING id"
    )
    insert_units = (
        "INSERT INTO case_units (case_id, unit_id, relation) VALUES"
        " (%s, %s, 'recorder'), (%s, %s, 'owner')"
    )
    insert_event = (
        "INSERT INTO case_events (case_id, handoff_id, type, at, actor_user_id, actor_unit_id,"
        " actor_label, visibility, case_version, body, changes)"
        " VALUES (%s, NULL, 'case.created', %s, %s, %s, %s, 'public', 1, NULL, %s)"
    )
    insert_clocks = None
    clocks = fx.get("clocks") or []
    if clocks:
        insert_clocks = (
            "INSERT INTO sla_clocks (case_id, handoff_id, name, calendar, notify_unit_id,"
            " started_at, target_minutes, warning_percents, paused_minutes, due_at, state,"
            " next_threshold, next_threshold_at) VALUES "
            + ", ".join(["(%s, NULL, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s)"] * len(clocks))
        )
        calendars = [Jsonb(c["calendar"]) for c in clocks]
        percents = [Jsonb(c["warning_percents"]) for c in clocks]
    from datetime import UTC, datetime, timedelta

    try:
        with conn.cursor() as cur:
            while time.monotonic() < deadline:
                category_id, category_code, priority, policy_id, resp, resol = rng.choice(policies)
                title = rng.choice(TITLES)
                privacy = rng.choice(["named", "named", "named", "confidential", "anonymous"])
                named = privacy != "anonymous"
                code = "".join(rng.choices(CROCKFORD, k=8))
                started = time.monotonic()
                now = datetime.now(UTC)
                try:
                    cur.execute(
                        insert_case,
                        (
                            code,
                            title[1],
                            title[2],
                            category_id,
                            priority,
                            rng.choice(CHANNELS),
                            now,
                            now,
                            now,
                            privacy,
                            rng.choice(NAMES) if named else None,
                            f"0812{rng.randint(10_000_000, 99_999_999)}" if named else None,
                            me["region_code"],
                            f"Jl. Demo No. {rng.randint(1, 200)}",
                            3.57 + rng.random() / 100,
                            98.69 + rng.random() / 100,
                            me["unit_id"],
                            me["user_id"],
                            me["unit_id"],
                            policy_id,
                            now,
                            resp,
                            now,
                            resol,
                        ),
                    )
                    case_id = cur.fetchone()[0]  # type: ignore[index]
                    cur.execute(insert_units, (case_id, me["unit_id"], case_id, me["unit_id"]))
                    cur.execute(
                        insert_event,
                        (
                            case_id,
                            now,
                            me["user_id"],
                            me["unit_id"],
                            me["label"],
                            Jsonb(
                                {
                                    "status": [None, "new"],
                                    "owner_unit": [None, me["unit_code"]],
                                    "channel": "walk_in",
                                    "category": category_code,
                                    "priority": priority,
                                }
                            ),
                        ),
                    )
                    if insert_clocks is not None:
                        params: list[Any] = []
                        for i, c in enumerate(clocks):
                            target = resp if c["name"] == "response" else resol
                            params += [
                                case_id,
                                c["name"],
                                calendars[i],
                                c["notify_unit_id"],
                                now,
                                target,
                                percents[i],
                                now + timedelta(seconds=c["due_after_s"]),
                                c["state"],
                                c["next_threshold"],
                                (now + timedelta(seconds=c["next_after_s"]))
                                if c["next_after_s"] is not None
                                else None,
                            ]
                        cur.execute(insert_clocks, params)
                    conn.commit()
                    ok, detail = True, ""
                except psycopg.Error as exc:
                    conn.rollback()
                    ok, detail = False, f"{type(exc).__name__}: {exc}"
                rec.record("db", started, time.monotonic(), ok, detail)
    finally:
        conn.close()


SCENARIOS = {"ping": run_ping, "create": run_create, "handoff": run_handoff, "db": run_db}


# -- CPU accounting ------------------------------------------------------------------------
#
# Throughput on a shared 2-core machine moves with whatever else runs; CPU seconds spent per
# request do not. At the edges of the timed window the load process reads the CPU time of
# the server's workers, of the PostgreSQL backends of the benchmark database, of itself and
# of the whole machine (/proc), so the report can say where each request's time goes.

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def _children(parent: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent:
            found.append(int(name))
    return found


def _pg_backends(dbname: str) -> list[int]:
    found = []
    needle = f" {dbname} ".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        if cmdline.startswith(b"postgres: ") and needle in cmdline:
            found.append(int(name))
    return found


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    with open("/proc/stat", encoding="ascii") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / _TICK, total / _TICK


class CpuWatch:
    """CPU seconds used in the window by: server workers, database backends, this load
    generator (and its child processes) and everything on the machine."""

    def __init__(self, server_pid: int | None, dbname: str | None) -> None:
        self.server_pid, self.dbname = server_pid, dbname
        self.start: dict[str, Any] = {}
        self.groups: dict[str, list[int]] = {}

    def _pids(self) -> dict[str, list[int]]:
        me = os.getpid()
        groups = {"client": [me, *_children(me)]}
        if self.server_pid:
            groups["server"] = [self.server_pid, *_children(self.server_pid)]
        if self.dbname:
            groups["database"] = _pg_backends(self.dbname)
        return groups

    def begin(self) -> None:
        self.groups = self._pids()
        self.start = {g: {p: _proc_cpu(p) for p in pids} for g, pids in self.groups.items()}
        self.start["_machine"] = _machine_cpu()
        self.start["_wall"] = time.monotonic()

    def end(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for group, pids in self.groups.items():
            used = 0.0
            for pid in pids:
                before, after = self.start[group].get(pid), _proc_cpu(pid)
                if before is not None and after is not None:
                    used += after - before
            out[group] = used
        busy0, total0 = self.start["_machine"]
        busy1, total1 = _machine_cpu()
        out["machine_busy"] = busy1 - busy0
        out["machine_capacity"] = total1 - total0
        out["wall"] = time.monotonic() - self.start["_wall"]
        out["other"] = out["machine_busy"] - sum(out.get(g, 0.0) for g in self.groups)
        return out


# -- orchestration within the load process -------------------------------------------------


def run_threads(
    scenario: str,
    plan: dict[str, Any],
    threads: int,
    start_at: float,
    warmup: float,
    seconds: float,
) -> dict[str, Any]:
    window_start = start_at + warmup
    window_end = window_start + seconds
    recorders = [Recorder(window_start, window_end) for _ in range(threads)]
    fn = SCENARIOS[scenario]
    crashed: list[str] = []

    def body(i: int) -> None:
        delay = start_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            fn(i, plan, recorders[i], window_end)
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            crashed.append(f"thread {i}: {type(exc).__name__}: {exc}")

    pool = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=warmup + seconds + 120)
    merged: dict[str, OpStats] = {}
    for r in recorders:
        for op, data in r.export().items():
            merged.setdefault(op, OpStats()).merge(data)
    return {
        "ops": {
            op: {
                "latencies": s.latencies,
                "errors": s.errors,
                "warmup_ok": s.warmup_ok,
                "warmup_errors": s.warmup_errors,
                "samples": s.samples,
            }
            for op, s in merged.items()
        },
        "crashed": crashed,
    }


def _child(
    scenario: str,
    plan: dict[str, Any],
    threads: int,
    start_at: float,
    warmup: float,
    seconds: float,
    out: Any,
) -> None:
    out.put(run_threads(scenario, plan, threads, start_at, warmup, seconds))


def run(
    scenario: str,
    plan: dict[str, Any],
    concurrency: int,
    processes: int,
    warmup: float,
    seconds: float,
    watch: CpuWatch | None = None,
) -> dict[str, Any]:
    processes = max(1, min(processes, concurrency))
    shares = [
        concurrency // processes + (1 if i < concurrency % processes else 0)
        for i in range(processes)
    ]
    start_at = time.monotonic() + 0.5 + 0.2 * processes
    cpu: dict[str, float] = {}
    if watch is not None:

        def _watch() -> None:
            time.sleep(max(0.0, start_at + warmup - time.monotonic()))
            watch.begin()
            time.sleep(max(0.0, start_at + warmup + seconds - time.monotonic()))
            cpu.update(watch.end())

        watcher = threading.Thread(target=_watch, daemon=True)
        watcher.start()
    merged: dict[str, OpStats] = {}
    crashed: list[str] = []
    if processes == 1:
        plan = dict(plan, threads_total=concurrency, thread_offset=0)
        results = [run_threads(scenario, plan, concurrency, start_at, warmup, seconds)]
    else:
        ctx = mp.get_context("fork")
        queue = ctx.Queue()
        children = []
        offset = 0
        for share in shares:
            child_plan = dict(plan, threads_total=concurrency, thread_offset=offset)
            offset += share
            p = ctx.Process(
                target=_child,
                args=(scenario, child_plan, share, start_at, warmup, seconds, queue),
                daemon=True,
            )
            p.start()
            children.append(p)
        results = []
        for _ in children:
            results.append(queue.get(timeout=warmup + seconds + 180))
        for p in children:
            p.join(timeout=10)
    for result in results:
        crashed.extend(result["crashed"])
        for op, data in result["ops"].items():
            merged.setdefault(op, OpStats()).merge(data)
    if watch is not None:
        watcher.join(timeout=5)
    summary = summarise(merged, seconds)
    return {
        "scenario": scenario,
        "concurrency": concurrency,
        "processes": processes,
        "warmup_s": warmup,
        "seconds": seconds,
        "ops": summary,
        "crashed": crashed,
        "cpu_s": cpu,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
    parser.add_argument(
        "--url", default="http://127.0.0.1:8111", help="server base URL (loopback only)"
    )
    parser.add_argument("--plan", help="JSON file with tokens, ids, dsn (from bench/api.py)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--output", help="write the JSON result here instead of stdout")
    parser.add_argument(
        "--server-pid",
        type=int,
        help="gunicorn master: account its workers' CPU time in the window",
    )
    parser.add_argument("--dbname", help="account the CPU time of this database's backends")
    args = parser.parse_args(argv)

    url = urlsplit(args.url)
    host = url.hostname or "127.0.0.1"
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        parser.error("this load generator only targets loopback addresses")
    plan: dict[str, Any] = {}
    if args.plan:
        with open(args.plan, encoding="utf-8") as fh:
            plan = json.load(fh)
    plan.update(host=host, port=url.port or 80)
    watch = CpuWatch(args.server_pid, args.dbname)
    result = run(
        args.scenario, plan, args.concurrency, args.processes, args.warmup, args.seconds, watch
    )
    text = json.dumps(result, indent=2)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

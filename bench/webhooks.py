"""Webhook delivery benchmark (DESIGN.md section 11): deliveries per second with two workers to a
local receiver, side by side with the receiver's own capacity measured in the same run, and the
time from a forward's commit to the receiver when the queue is not backlogged.

    python bench/webhooks.py [--forwards 4000] [--rounds 3] [--endpoints 4] [--capacity 8000]
                             [--paced 400 --rate 20] [--batch 100] [--keep]

Everything runs on loopback (PostgreSQL database ``bench_webhooks``, Redis database 9):

1. Recreates ``bench_webhooks``, runs ``flask --app wsgi db upgrade`` and
   ``coord.demo.seed_structure`` (the demo's regions, units, users, categories).
2. Registers one endpoint per agency (``--endpoints``) through
   ``coord.services.webhooks.endpoints``, subscribed to ``handoff.requested``, pointing at the
   receiver.
3. Starts the receiver in its own process: an asyncio HTTP/1.1 server (keep-alive) that
   verifies every request with the ``standardwebhooks`` library and records its arrival time.
4. Backlog: ``--forwards`` cases are recorded and forwarded through the services (each forward
   writes one ``handoff.requested`` delivery) while no worker runs.
5. ``--rounds`` rounds, each: first the receiver's capacity, measured by two client processes
   with the same HTTP client pattern as the workers (one ``requests.Session`` each, keep-alive,
   signed JSON POSTs of the same size, one request at a time, no coord, ``--capacity`` requests
   in all); then the backlog is drained by two ``flask coord worker`` processes (started in
   round 1; in later rounds the same rows are set back to pending and their jobs enqueued).
   Deliveries per second = deliveries between the first and the last arrival at the receiver,
   divided by that time. Measuring the two side by side in every round keeps the comparison
   fair when other work shares the machine; the medians are the result.
6. Paced: with the two workers running and the queue empty, ``--paced`` forwards at ``--rate``
   per second; for each the time from its commit (taken right after ``unit_of_work`` returns)
   to its arrival at the receiver; p50, p99 and max.

Prints the tables with the verdict (>= 500 deliveries/s, p99 < 1 s); exits 1 if a goal or a
check fails. ``--keep`` keeps the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.common import (  # noqa: E402
    drop_database,
    flask_cmd,
    log,
    recreate_database,
    require_loopback,
)

DEFAULT_DB = "postgresql://127.0.0.1:5432/bench_webhooks"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
AGENCIES = [
    "dinas-pu",
    "dlh",
    "dinsos",
    "dinkes",
    "disdukcapil",
    "pdam-tirtanadi",
    "polsek-medan-area",
    "puskesmas-medan-area",
]
SENDER = "kel-sukaramai-1"
WAIT = 600.0  # upper bound for any phase, so that a broken run stops by itself


# ============================================================================================
# The receiver (its own process): asyncio HTTP/1.1 with keep-alive, verifying every request.


def serve_receiver(port: int, secrets: list[str]) -> None:
    from standardwebhooks import Webhook
    from standardwebhooks.webhooks import WebhookVerificationError

    hooks = [Webhook(s) for s in secrets]
    state: dict[str, Any] = {
        "count": 0,
        "unverified": 0,
        "first": None,
        "last": None,
        "handoffs": {},
        "ids": set(),
    }
    ok = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
        b'{"ok":true}'
    )

    def reply_json(writer: asyncio.StreamWriter, data: Any) -> None:
        body = json.dumps(data).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                method, path, _ = lines[0].split(b" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(b":")
                        headers[name.strip().lower().decode()] = value.strip().decode()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                if method == b"POST":
                    arrived = time.time()
                    payload = None
                    for hook in hooks:
                        try:
                            payload = hook.verify(body, headers)
                            break
                        except WebhookVerificationError:
                            continue
                    state["count"] += 1
                    state["first"] = state["first"] or arrived
                    state["last"] = arrived
                    state["ids"].add(headers.get("webhook-id"))
                    if payload is None:
                        state["unverified"] += 1
                    else:
                        handoff = (payload.get("data") or {}).get("handoff") or {}
                        if "id" in handoff:
                            state["handoffs"].setdefault(str(handoff["id"]), arrived)
                    writer.write(ok)
                elif path == b"/stats":
                    reply_json(writer, {k: (len(v) if k == "ids" else v) for k, v in state.items()})
                elif path == b"/reset":
                    state.update(
                        count=0, unverified=0, first=None, last=None, handoffs={}, ids=set()
                    )
                    reply_json(writer, {"reset": True})
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def receiver_get(port: int, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        return dict(json.loads(response.read()))


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            receiver_get(port, "/stats")
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the receiver did not start")


# ============================================================================================
# The capacity client (its own process): the workers' HTTP pattern without coord.


def run_client(url: str, secret: str, count: int, start_at: float, body_size: int) -> None:
    import requests

    from coord.domain.signing import signed_headers

    session = requests.Session()
    session.trust_env = False
    session.headers.update({"User-Agent": "coord-webhooks/1", "Content-Type": "application/json"})
    filler = "x" * max(body_size - 120, 0)
    while time.time() < start_at:
        time.sleep(0.001)
    started = time.time()
    for n in range(count):
        msg_id = f"msg_capacity_{os.getpid()}_{n}"
        body = json.dumps(
            {
                "type": "capacity.probe",
                "timestamp": "2026-03-04T03:00:00Z",
                "data": {"n": n, "filler": filler},
            },
            separators=(",", ":"),
        ).encode()
        headers = signed_headers([secret], msg_id, int(time.time()), body)
        response = session.post(
            url, data=body, headers=headers, timeout=(10, 10), allow_redirects=False, stream=True
        )
        with response:
            for _ in response.iter_content(8192):
                pass
        if response.status_code != 200:
            raise SystemExit(f"receiver answered {response.status_code}")
    print(json.dumps({"started": started, "ended": time.time(), "count": count}), flush=True)


# ============================================================================================
# The coord side


def app_env(args: argparse.Namespace) -> dict[str, str]:
    return common.app_env(
        args,
        COORD_PASSWORD_HASH_MEMORY_KIB="8192",  # the demo users' hashes are not what is measured
        COORD_WEBHOOK_ALLOW_CIDRS="127.0.0.0/8",
        COORD_WEBHOOK_BATCH=str(args.batch),
    )


def migrate(args: argparse.Namespace) -> None:
    common.migrate(app_env(args))


class Coord:
    """The app in this process: seeds, registers endpoints, records forwards."""

    def __init__(self, args: argparse.Namespace) -> None:
        os.environ.update(app_env(args))
        from coord import create_app

        self.app = create_app()
        self.ctx = self.app.app_context()
        self.ctx.push()

    def seed(self) -> None:
        from coord.clock import now_utc
        from coord.demo import seed_structure
        from coord.services.uow import unit_of_work

        with unit_of_work():
            seed_structure(now_utc())

    def register(self, agencies: list[str], url_for: Any) -> list[str]:
        from sqlalchemy import select

        from coord.clock import now_utc
        from coord.extensions import db
        from coord.models import User
        from coord.services.uow import unit_of_work
        from coord.services.webhooks.endpoints import create_endpoint

        secrets = []
        for code in agencies:
            admin = db.session.execute(
                select(User).where(User.username == f"{code}.admin")
            ).scalar_one()
            with unit_of_work():
                _, secret = create_endpoint(
                    admin, code, url=url_for(code), event_types=["handoff.requested"], now=now_utc()
                )
            secrets.append(secret)
        return secrets

    def forward(self, to_unit: str) -> int:
        """Record a case at the kelurahan and forward it; returns the handoff id."""
        from coord.clock import now_utc
        from coord.services import case_intake, handoffs
        from coord.services.uow import unit_of_work

        staff = self.staff
        with unit_of_work():
            case, _ = case_intake.create_case(
                staff,
                case_intake.NewCase(
                    title="Parit tersumbat, air meluap",
                    description="Laporan warga untuk benchmark",
                    category="drainase-banjir",
                    region_code=self.region_code,
                    reporter_privacy="anonymous",
                ),
                now_utc(),
            )
            case_id = case.id
        with unit_of_work():
            handoff = handoffs.request_handoff(
                staff, case_id, "transfer", to_unit, "mohon", now_utc()
            )
            return int(handoff.id)

    def prepare_forwards(self) -> None:
        from sqlalchemy import select

        from coord.extensions import db
        from coord.models import Unit, User

        self.staff = db.session.execute(
            select(User).where(User.username == f"{SENDER}.staff")
        ).scalar_one()
        self.region_code = db.session.execute(
            select(Unit.region_code).where(Unit.code == SENDER)
        ).scalar_one()

    def delivery_counts(self) -> dict[str, int]:
        from sqlalchemy import func, select

        from coord.extensions import db
        from coord.models import WebhookDelivery

        db.session.rollback()
        rows = db.session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        ).all()
        return {status: int(n) for status, n in rows}

    def requeue_backlog(self) -> None:
        """Set every handoff.requested delivery back to pending and enqueue the endpoints'
        jobs: the same rows go through the same path again."""
        from sqlalchemy import select, update

        from coord.clock import now_utc
        from coord.extensions import db
        from coord.models import WebhookDelivery, WebhookEndpoint
        from coord.services.uow import unit_of_work
        from coord.services.webhooks.scheduling import schedule_endpoint_jobs

        with unit_of_work():
            db.session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.event_type == "handoff.requested")
                .values(
                    status="pending",
                    attempts=0,
                    next_attempt_at=now_utc(),
                    enqueued_at=None,
                    delivered_at=None,
                    last_status_code=None,
                    last_error=None,
                )
            )
        ids = list(db.session.execute(select(WebhookEndpoint.id)).scalars())
        db.session.rollback()
        schedule_endpoint_jobs(ids)

    def flush_redis(self) -> None:
        from coord.extensions import rq

        rq.get_queue("webhooks").connection.flushdb()


def start_workers(args: argparse.Namespace, n: int, logdir: Path) -> list[subprocess.Popen[bytes]]:
    workers = []
    for i in range(n):
        out = (logdir / f"worker-{i}.log").open("wb")
        workers.append(
            subprocess.Popen(
                flask_cmd(
                    "coord",
                    "worker",
                    "--queue",
                    "webhooks",
                    "--name",
                    f"bench-webhooks-{i}-{os.getpid()}",
                ),
                cwd=ROOT,
                env=app_env(args),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return workers


def wait_workers_ready(redis_url: str, n: int) -> None:
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(redis_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(Worker.all(connection=connection)) >= n:
            return
        time.sleep(0.1)
    raise RuntimeError("the workers did not start")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


def wait_arrivals(port: int, count: int, timeout: float = WAIT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats = receiver_get(port, "/stats")
        if stats["count"] >= count or time.monotonic() > deadline:
            return stats
        time.sleep(0.2)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


# ============================================================================================


def measure_capacity(args: argparse.Namespace, port: int, secret: str) -> dict[str, float]:
    per_client = args.capacity // 2
    start_at = time.time() + 2.0
    clients = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "_client",
                "--url",
                f"http://127.0.0.1:{port}/capacity",
                "--secret",
                secret,
                "--count",
                str(per_client),
                "--start-at",
                str(start_at),
                "--body-size",
                str(args.body_size),
            ],
            cwd=ROOT,
            env=app_env(args),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for client in clients:
        out, _ = client.communicate(timeout=WAIT)
        if client.returncode != 0:
            raise RuntimeError("capacity client failed")
        results.append(json.loads(out.strip().splitlines()[-1]))
    started = min(r["started"] for r in results)
    ended = max(r["ended"] for r in results)
    total = sum(r["count"] for r in results)
    stats = receiver_get(port, "/stats")
    return {
        "requests": total,
        "seconds": ended - started,
        "per_second": total / (ended - started),
        "unverified": stats["unverified"],
    }


def run(args: argparse.Namespace) -> int:
    require_loopback(args.database_url, "--database-url")
    require_loopback(args.redis_url, "--redis-url")
    logdir = Path(args.logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    log(f"recreating {args.database_url} and migrating")
    recreate_database(args.database_url)
    migrate(args)
    coord = Coord(args)
    coord.flush_redis()
    coord.seed()
    coord.prepare_forwards()
    port = args.port
    agencies = AGENCIES[: args.endpoints]
    secrets = coord.register(agencies, lambda code: f"http://127.0.0.1:{port}/hooks/{code}")
    log(f"{len(secrets)} endpoints registered; starting the receiver on 127.0.0.1:{port}")

    receiver = subprocess.Popen(
        [sys.executable, __file__, "_receiver", "--port", str(port)],
        cwd=ROOT,
        env={**app_env(args), "BENCH_SECRETS": ",".join(secrets)},
    )
    workers: list[subprocess.Popen[bytes]] = []
    rounds: list[dict[str, Any]] = []
    try:
        wait_listening(port)
        log(f"backlog: recording and forwarding {args.forwards} cases (no worker running)")
        t0 = time.perf_counter()
        for n in range(args.forwards):
            coord.forward(agencies[n % len(agencies)])
        create_seconds = time.perf_counter() - t0
        counts = coord.delivery_counts()
        log(f"  {args.forwards} forwards in {create_seconds:.1f} s; deliveries {counts}")

        for round_no in range(1, args.rounds + 1):
            log(f"round {round_no}: receiver capacity, 2 clients x {args.capacity // 2} POSTs")
            capacity = measure_capacity(args, port, secrets[0])
            receiver_get(port, "/reset")
            if round_no == 1:
                log("round 1: starting 2 workers (flask coord worker) to drain the backlog")
                workers = start_workers(args, 2, logdir)
            else:
                log(f"round {round_no}: the backlog set back to pending and its jobs enqueued")
                coord.requeue_backlog()
            stats = wait_arrivals(port, args.forwards)
            span = (stats["last"] - stats["first"]) if stats["count"] > 1 else float("nan")
            rounds.append(
                {
                    "capacity": capacity,
                    "deliveries": stats["count"],
                    "distinct_ids": stats["ids"],
                    "seconds": span,
                    "per_second": (stats["count"] - 1) / span if span else float("nan"),
                    "unverified": stats["unverified"],
                    "rows": coord.delivery_counts(),
                }
            )
            receiver_get(port, "/reset")
            log(
                f"  capacity {capacity['per_second']:.0f}/s, coord {rounds[-1]['per_second']:.0f}/s"
            )

        log(f"paced: {args.paced} forwards at {args.rate}/s with the 2 workers idle and waiting")
        wait_workers_ready(args.redis_url, 2)
        committed: dict[str, float] = {}
        interval = 1.0 / args.rate
        next_at = time.perf_counter()
        for n in range(args.paced):
            now = time.perf_counter()
            if now < next_at:
                time.sleep(next_at - now)
            next_at += interval
            handoff_id = coord.forward(agencies[n % len(agencies)])
            committed[str(handoff_id)] = time.time()
        stats = wait_arrivals(port, args.paced, timeout=120)
        arrivals = stats["handoffs"]
        latencies = [(arrivals[h] - t) * 1000 for h, t in committed.items() if h in arrivals]
        paced = {
            "forwards": args.paced,
            "arrived": len(latencies),
            "unverified": stats["unverified"],
            "p50_ms": statistics.median(latencies) if latencies else float("nan"),
            "p99_ms": percentile(latencies, 99) if latencies else float("nan"),
            "max_ms": max(latencies) if latencies else float("nan"),
            "rows": coord.delivery_counts(),
        }
    finally:
        stop(workers)
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(30)

    report(args, rounds, paced, create_seconds)
    if not args.keep:
        coord.ctx.pop()
        from coord.extensions import db

        with coord.app.app_context():
            db.engine.dispose()
        drop_database(args.database_url)
    ok = (
        statistics.median(r["per_second"] for r in rounds) >= 500
        and paced["p99_ms"] < 1000
        and all(r["unverified"] == 0 and r["deliveries"] == args.forwards for r in rounds)
        and paced["unverified"] == 0
        and paced["arrived"] == args.paced
    )
    return 0 if ok else 1


def report(
    args: argparse.Namespace,
    rounds: list[dict[str, Any]],
    paced: dict[str, Any],
    create_seconds: float,
) -> None:
    cpu = platform.processor() or platform.machine()
    load = os.getloadavg()[0]
    print()
    print(
        f"webhooks benchmark ({os.cpu_count()} CPUs {cpu}, Python {platform.python_version()}, "
        f"PostgreSQL + Redis on loopback, batch {args.batch}, {args.endpoints} endpoints, "
        f"{args.forwards} deliveries per round, load average at the end {load:.1f})"
    )
    print()
    print("| round | receiver capacity (2 client processes, no coord) | coord, 2 workers | share |")
    print("| ---: | ---: | ---: | ---: |")
    for n, r in enumerate(rounds, 1):
        cap = r["capacity"]["per_second"]
        print(
            f"| {n} | {cap:.0f}/s | {r['per_second']:.0f} deliveries/s "
            f"({r['deliveries']} in {r['seconds']:.2f} s) | {r['per_second'] / cap * 100:.0f} % |"
        )
    cap_median = statistics.median(r["capacity"]["per_second"] for r in rounds)
    coord_median = statistics.median(r["per_second"] for r in rounds)
    print(
        f"| median | {cap_median:.0f}/s | {coord_median:.0f} deliveries/s "
        f"| {coord_median / cap_median * 100:.0f} % |"
    )
    print()
    print(
        f"(the backlog: {args.forwards} cases recorded and forwarded through the services in "
        f"{create_seconds:.1f} s, {args.forwards / create_seconds:.0f} forwards/s, one process; "
        "rounds after the first send the same rows again, set back to pending)"
    )
    print()
    print("| paced run | forwards | rate | p50 | p99 | max |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| commit of the forward -> arrival at the receiver | {paced['forwards']} | {args.rate}/s "
        f"| {paced['p50_ms']:.1f} ms | {paced['p99_ms']:.1f} ms | {paced['max_ms']:.1f} ms |"
    )
    print()
    unverified = sum(r["unverified"] + r["capacity"]["unverified"] for r in rounds)
    print(
        f"checks: requests failing standardwebhooks verification: {unverified} in the rounds, "
        f"{paced['unverified']} in the paced run; distinct webhook-ids per round "
        f"{[r['distinct_ids'] for r in rounds]}; delivery rows after the last round "
        f"{rounds[-1]['rows']}, after the paced run {paced['rows']}"
    )
    verdict_rate = "PASS" if coord_median >= 500 else "FAIL"
    verdict_p99 = "PASS" if paced["p99_ms"] < 1000 else "FAIL"
    print(
        f"goal: >= 500 deliveries/s with two workers (median): {verdict_rate}; "
        f"p99 < 1 s when not backlogged: {verdict_p99}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--forwards", type=int, default=4000)
    parser.add_argument("--endpoints", type=int, default=4, choices=range(1, len(AGENCIES) + 1))
    parser.add_argument("--paced", type=int, default=400)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--capacity", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--body-size", type=int, default=700, help="capacity probe body bytes")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--logdir", default=str(ROOT / "instance" / "bench-webhooks"))
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_receiver":
        port = int(argv[argv.index("--port") + 1])
        serve_receiver(port, [s for s in os.environ.get("BENCH_SECRETS", "").split(",") if s])
        return 0
    if argv and argv[0] == "_client":
        opts = dict(zip(argv[1::2], argv[2::2], strict=False))
        run_client(
            opts["--url"],
            opts["--secret"],
            int(opts["--count"]),
            float(opts["--start-at"]),
            int(opts["--body-size"]),
        )
        return 0
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

"""Staff pages benchmark (issues #19 and #21): the pages people open every day, served by
gunicorn from PostgreSQL with the city of ``bench/reports.py`` (1,000,000 cases), timed as a
browser opens them, side by side with ``/healthz`` in the same run.

    python bench/pages.py [--repeat 20] [--budget 60] [--timeout 60] [--port 8791]
                          [--database-url postgresql://127.0.0.1:5432/bench_reports]
                          [--redis-url redis://127.0.0.1:6379/2]

The database must have been loaded before: ``python bench/reports.py --cases 1000000`` (this
script never loads, drops or migrates it). What it does:

1. Adds, in one transaction and idempotently (a re-run finds and reuses them), what the
   pages need that the loader does not create: three web users with a password
   (``bench-pages.clerk``: staff of the kelurahan owning the most open cases;
   ``bench-pages.liaison``: liaison of the agency owning the most open cases;
   ``bench-pages.manager``: manager of the Medan Area camat office), and one case of that
   kelurahan with 30 events (comments appended to its trail) whose reporter is named, with
   the phone 081234567890.
2. Starts gunicorn as production does (``gunicorn -c config/gunicorn.py``: a worker per core
   and one more, 4 threads each, JSON access log to a file) with COORD_ENV=production, the
   benchmark's secret key, no rate limits, a plain-HTTP session cookie (loopback) and the
   worker timeout raised above ``--timeout``. The app's clock is frozen at
   ``bench.reports.NOW``, the instant the loaded data is generated around (the dashboard's
   last 90 days, the backlog's ages, overdue cases are then those of the data).
3. Logs each user in through the web form (GET /web/login for the CSRF token, then POST),
   opens every page once (a warm-up, counted as a sample when it took over 5 s), then in
   rounds opens each page in turn until each has ``--repeat`` samples. A page stops early
   when its samples add up to ``--budget`` seconds (at least 3 samples), or after one
   request of ``--timeout`` seconds ("timeout"; the next request waits until the server's
   workers are idle again). Every answer must be 200; searches for the case's tracking
   code and phone report whether the case was found. ``--only inbox,dash`` times those
   kinds of page (inbox, search, case, dash) beside /healthz.
4. Prints per page p50 and p95 (nearest rank), the HTML size, the targets (inbox, search and
   case page p95 < 150 ms; dashboard p95 < 300 ms; every page < 1 MB) and the load average
   before and after (the machine is shared: figures vary with it).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench.* is imported from the root
    sys.path.insert(0, str(ROOT))

from bench.api import (  # noqa: E402
    cleanup,
    ensure_port_free,
    machine_idle,
    start,
    wait_http,
    wait_quiet,
    wait_workers_ready,
)
from bench.common import app_env, load_line, log, require_loopback, tool  # noqa: E402
from bench.reports import DEFAULT_DB, NOW, Structure  # noqa: E402

DEFAULT_REDIS = "redis://127.0.0.1:6379/2"
PASSWORD = "bench-pages-kata-sandi-2026"
PHONE = "081234567890"
EVENTS = 30
MB = 1_000_000
TARGETS_MS = {"baseline": None, "inbox": 150.0, "search": 150.0, "case": 150.0, "dash": 300.0}
SLOW_WARMUP_S = 5.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_PAGES_DATABASE_URL", DEFAULT_DB)
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--repeat", type=int, default=20, help="samples per page")
    parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds of samples after which a page stops"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--workers", type=int, default=0, help="0: the production default")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="wait up to this many seconds for the machine to be 85%% idle before timing",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated kinds to time beside /healthz: inbox, search, case, dash",
    )
    return parser.parse_args()


# -- the app under gunicorn ----------------------------------------------------------------


def frozen_app() -> Any:
    """The app with its clock frozen at the data's NOW (gunicorn: ``bench.pages:frozen_app()``)."""
    from coord import clock, create_app

    clock.set_frozen(NOW)
    return create_app()


# -- fixture -------------------------------------------------------------------------------


@dataclass
class Fixture:
    clerk_unit: str
    liaison_unit: str
    manager_unit: str
    open_cases: dict[str, int]
    case_id: int
    tracking_code: str
    events: int


def busiest(kind: str) -> tuple[int, int]:
    """The unit of ``kind`` owning the most open cases, and that number."""
    from sqlalchemy import func, select

    from coord.domain.states import OPEN_CASE_STATUSES
    from coord.extensions import db
    from coord.models import Case, Unit

    row = db.session.execute(
        select(Case.owner_unit_id, func.count())
        .join(Unit, Unit.id == Case.owner_unit_id)
        .where(Unit.kind == kind, Case.status.in_([s.value for s in OPEN_CASE_STATUSES]))
        .group_by(Case.owner_unit_id)
        .order_by(func.count().desc(), Case.owner_unit_id)
        .limit(1)
    ).one()
    return int(row[0]), int(row[1])


def ensure_user(username: str, full_name: str, unit_id: int, role: str) -> None:
    from sqlalchemy import select

    from coord.extensions import db
    from coord.models import User, UserRole
    from coord.services.accounts import hash_password, verify_password

    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        user = User(username=username, full_name=full_name, unit_id=unit_id, created_at=NOW)
        db.session.add(user)
    user.unit_id, user.active, user.is_service, user.locale = unit_id, True, False, "id"
    if not verify_password(user, PASSWORD):
        user.password_hash = hash_password(PASSWORD)
    if {r.role for r in user.role_rows} != {role}:
        user.role_rows = [UserRole(role=role)]
    db.session.flush()


def events_case(unit_id: int) -> tuple[int, str, int]:
    """The case of the clerk's unit that carries this script's events (made the first time:
    the newest in-progress case the unit owns), topped up to EVENTS events."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from coord.domain.phones import normalise_phone
    from coord.extensions import db
    from coord.models import Case, CaseEvent

    marked = db.session.execute(
        select(CaseEvent.case_id).where(CaseEvent.actor_label == "bench/pages.py").limit(1)
    ).scalar_one_or_none()
    case = db.session.get(Case, marked) if marked is not None else None
    if case is None:
        case = db.session.execute(
            select(Case)
            .where(Case.owner_unit_id == unit_id, Case.status == "in_progress")
            .order_by(Case.received_at.desc(), Case.id.desc())
            .limit(1)
        ).scalar_one()
    case.reporter_privacy, case.reporter_name, case.reporter_phone = "named", "Siti Bench", PHONE
    case.reporter_phone_norm = normalise_phone(PHONE)
    have = db.session.execute(
        select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id)
    ).scalar_one()
    for i in range(have, EVENTS):
        db.session.add(
            CaseEvent(
                case_id=case.id,
                type="case.commented",
                at=case.received_at + timedelta(hours=i + 1),
                actor_unit_id=unit_id,
                actor_label="bench/pages.py",
                visibility="public" if i % 3 == 0 else "internal",
                case_version=case.version,
                body=f"Catatan tindak lanjut nomor {i + 1}: petugas sudah memeriksa lokasi.",
                changes={},
            )
        )
    db.session.flush()
    return case.id, case.tracking_code, max(have, EVENTS)


def prepare(args: argparse.Namespace) -> Fixture:
    """Step 1, in one transaction in this process."""
    os.environ.update(app_env(args))
    from coord import create_app
    from coord.extensions import db
    from coord.models import Unit

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url})
    with app.app_context():
        kelurahan, kel_open = busiest("kelurahan")
        agency, agency_open = busiest("agency")
        camat = Structure().medan_area_camat  # the loader's unit ids are its own
        ensure_user("bench-pages.clerk", "Petugas Kelurahan (bench)", kelurahan, "staff")
        ensure_user("bench-pages.liaison", "Penghubung Dinas (bench)", agency, "liaison")
        ensure_user("bench-pages.manager", "Manajer Kantor Camat (bench)", camat, "manager")
        case_id, code, events = events_case(kelurahan)
        names = {u: db.session.get(Unit, u) for u in (kelurahan, agency, camat)}
        fixture = Fixture(
            clerk_unit=names[kelurahan].name,  # type: ignore[union-attr]
            liaison_unit=names[agency].name,  # type: ignore[union-attr]
            manager_unit=names[camat].name,  # type: ignore[union-attr]
            open_cases={"clerk": kel_open, "liaison": agency_open},
            case_id=case_id,
            tracking_code=code,
            events=events,
        )
        db.session.commit()
    return fixture


# -- timing --------------------------------------------------------------------------------


@dataclass
class Page:
    label: str
    who: str
    path: str
    kind: str
    expect: str | None = None  # text the answer should contain (a search's hit)
    samples: list[float] = field(default_factory=list)
    size: int = 0
    status: int = 0
    found: bool | None = None
    timed_out: bool = False
    done: bool = False

    def p(self, fraction: float) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def log_in(base: str, username: str, timeout: float) -> Any:
    import requests

    session = requests.Session()
    form = session.get(f"{base}/web/login", timeout=timeout)
    match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if form.status_code != 200 or match is None:
        raise RuntimeError(f"GET /web/login gave {form.status_code} without a CSRF token")
    answer = session.post(
        f"{base}/web/login",
        data={"csrf_token": match.group(1), "username": username, "password": PASSWORD},
        allow_redirects=False,
        timeout=timeout,
    )
    if answer.status_code != 302 or "/web/login" in answer.headers.get("Location", ""):
        raise RuntimeError(f"login of {username} failed: {answer.status_code}")
    return session


def fetch(session: Any, base: str, page: Page, timeout: float) -> float | None:
    """One GET; its wall time in seconds, or None after ``timeout``."""
    import requests

    started = time.perf_counter()
    try:
        answer = session.get(base + page.path, timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        page.timed_out = page.done = True
        return None
    elapsed = time.perf_counter() - started
    page.status, page.size = answer.status_code, len(answer.content)
    if answer.status_code != 200:
        raise RuntimeError(f"{page.path} as {page.who}: HTTP {answer.status_code}")
    if page.expect is not None:
        page.found = page.expect in answer.text
    return elapsed


def pages_to_time(fixture: Fixture) -> list[Page]:
    code = fixture.tracking_code
    dashed = f"{code[:4]}-{code[4:]}"
    plus62 = "+62" + PHONE[1:]
    return [
        Page("/healthz (baseline)", "anonymous", "/healthz", "baseline"),
        Page("inbox", "kelurahan clerk", "/web/", "inbox"),
        Page("inbox", "agency liaison", "/web/", "inbox"),
        Page("inbox", "camat manager", "/web/", "inbox"),
        Page("search: a title word", "kelurahan clerk", "/web/cases?q=Laporan", "search"),
        Page("search: a title word", "camat manager", "/web/cases?q=Laporan", "search"),
        Page(
            "search: code with dash", "kelurahan clerk", f"/web/cases?q={dashed}", "search", dashed
        ),
        Page(
            "search: code, no dash, lower case",
            "kelurahan clerk",
            f"/web/cases?q={code.lower()}",
            "search",
            dashed,
        ),
        Page("search: phone 0812...", "kelurahan clerk", f"/web/cases?q={PHONE}", "search", dashed),
        Page(
            "search: phone +62812...",
            "kelurahan clerk",
            "/web/cases?q=" + plus62.replace("+", "%2B"),
            "search",
            dashed,
        ),
        Page(
            f"case page ({fixture.events} events)",
            "kelurahan clerk",
            f"/web/cases/{fixture.case_id}",
            "case",
        ),
        Page("dashboard", "camat manager", "/web/dashboard/", "dash"),
    ]


def run_pages(
    args: argparse.Namespace,
    pages: list[Page],
    sessions: dict[str, Any],
    settle: Callable[[], None],
) -> None:
    """Warm up, then time in rounds; after a timeout ``settle`` waits until the server has
    finished the abandoned request (it would slow down the pages timed next)."""
    base = f"http://127.0.0.1:{args.port}"
    for page in pages:  # warm-up: caches, prepared plans, the first connection
        elapsed = fetch(sessions[page.who], base, page, args.timeout)
        if elapsed is None:
            settle()
        shown = "timeout" if elapsed is None else f"{elapsed * 1000:.0f} ms"
        log(f"warm-up {page.label} ({page.who}): {shown}, {page.size:,} bytes")
        if elapsed is not None and elapsed > SLOW_WARMUP_S:
            page.samples.append(elapsed)
    for _ in range(args.repeat):
        for page in pages:
            if page.done or len(page.samples) >= args.repeat:
                continue
            elapsed = fetch(sessions[page.who], base, page, args.timeout)
            if elapsed is None:
                settle()
            else:
                page.samples.append(elapsed)
            if sum(page.samples) > args.budget and len(page.samples) >= 3:
                page.done = True


def print_table(pages: list[Page], fixture: Fixture, load: tuple[Any, Any]) -> None:
    print()
    print(f"Staff pages over {fixture_summary(fixture)}; p50/p95 in ms (nearest rank), n samples")
    head = f"  {'page':<36} {'who':<16} {'p50':>8} {'p95':>8} {'n':>3} {'size':>10}  target"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for page in pages:
        target = TARGETS_MS[page.kind]
        if page.timed_out and not page.samples:
            p50 = p95 = "timeout"
            ok = "SLOW"
        else:
            p50, p95 = f"{page.p(0.5) * 1000:.0f}", f"{page.p(0.95) * 1000:.0f}"
            ok = "" if target is None else ("ok" if page.p(0.95) * 1000 < target else "SLOW")
            if page.timed_out:
                p95, ok = "timeout", "SLOW"
        if page.size >= MB:
            ok = (ok + " TOO BIG").strip()
        want = "-" if target is None else f"p95 < {target:.0f}"
        found = "" if page.found is None else ("  found" if page.found else "  NOT FOUND")
        print(
            f"  {page.label:<36} {page.who:<16} {p50:>8} {p95:>8} {len(page.samples):>3} "
            f"{page.size / 1000:>8.1f}KB  {want:<11} {ok}{found}"
        )
    before, after = load
    print()
    print(load_line("before", before, after))


def fixture_summary(fixture: Fixture) -> str:
    return (
        f"the loaded city: clerk of {fixture.clerk_unit} ({fixture.open_cases['clerk']:,} open "
        f"cases), liaison of {fixture.liaison_unit} ({fixture.open_cases['liaison']:,}), "
        f"manager of {fixture.manager_unit}"
    )


def main() -> int:
    args = parse_args()
    require_loopback(args.database_url, "--database-url")
    require_loopback(args.redis_url, "--redis-url")
    print(f"bench/pages.py: {args.database_url}, gunicorn on 127.0.0.1:{args.port}", flush=True)
    fixture = prepare(args)
    log(fixture_summary(fixture) + f"; case {fixture.case_id} ({fixture.events} events)")
    ensure_port_free(args.port)
    workdir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    extra = {
        "PORT": str(args.port),
        "GUNICORN_TIMEOUT": str(int(args.timeout) + 60),
        "GUNICORN_ACCESS_LOG": str(workdir / "access.log"),
        "COORD_SESSION_COOKIE_SECURE": "false",
    }
    if args.workers:
        extra["WEB_CONCURRENCY"] = str(args.workers)
    env = app_env(args)
    env.update(extra)
    cmd = [tool("gunicorn"), "-c", "config/gunicorn.py", "bench.pages:frozen_app()"]
    try:
        server = start(cmd, env, workdir / "gunicorn.log")
        wait_http(f"http://127.0.0.1:{args.port}/healthz", server)
        workers = args.workers or (len(os.sched_getaffinity(0)) + 1)
        wait_workers_ready(server.pid, workers)
        base = f"http://127.0.0.1:{args.port}"
        import requests

        sessions = {
            "anonymous": requests.Session(),
            "kelurahan clerk": log_in(base, "bench-pages.clerk", args.timeout),
            "agency liaison": log_in(base, "bench-pages.liaison", args.timeout),
            "camat manager": log_in(base, "bench-pages.manager", args.timeout),
        }
        pages = pages_to_time(fixture)
        if args.only:
            kinds = {"baseline", *args.only.split(",")}
            pages = [p for p in pages if p.kind in kinds]

        def settle() -> None:
            with suppress(RuntimeError):
                wait_workers_ready(server.pid, workers, timeout=args.timeout + 60)

        idle = wait_quiet(args.wait_quiet) if args.wait_quiet else machine_idle()
        log(f"machine {idle:.0%} idle before timing")
        before = os.getloadavg()
        run_pages(args, pages, sessions, settle)
        after = os.getloadavg()
    finally:
        cleanup()
    print_table(pages, fixture, (before, after))
    print(f"gunicorn logs: {workdir}")
    slow = [p for p in pages if p.kind != "baseline" and p.timed_out]
    slow += [
        p
        for p in pages
        if p.samples
        and not p.timed_out
        and TARGETS_MS[p.kind] is not None
        and p.p(0.95) * 1000 >= TARGETS_MS[p.kind]  # type: ignore[operator]
    ]
    big = [p for p in pages if p.size >= MB]
    print()
    print(
        "every page within its target"
        if not slow and not big
        else f"{len(slow)} pages over their time target, {len(big)} over 1 MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

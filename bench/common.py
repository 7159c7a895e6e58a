"""What the benchmarks share: paths, logging, the loopback check, the environment of the app's
processes, and creating, migrating and dropping their PostgreSQL databases.

The benchmarks run as scripts (``python bench/api.py``); each puts the repository root on
``sys.path`` before importing this module as ``bench.common``.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

# The app's settings in every benchmark: production mode, quiet logs, no rate limits.
BENCH_SECRET_KEY = "bench-secret-key-not-for-production-0123456789"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def require_loopback(url: str, what: str) -> None:
    """Exit unless ``url`` points at this machine (127.0.0.0/8, ::1, localhost, no host)."""
    host = urlsplit(url).hostname or ""
    if host in ("localhost", ""):
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"{what} must be on loopback (127.0.0.0/8, ::1, localhost), got {host!r}")


def tool(name: str) -> str:
    """A command of the venv this runs in, else from PATH."""
    candidate = VENV_BIN / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def flask_cmd(*args: str) -> list[str]:
    return [tool("flask"), "--app", "wsgi", *args]


def app_env(
    args: argparse.Namespace,
    *,
    unset: tuple[str, ...] = ("FLASK_DEBUG", "COORD_SMTP_HOST"),
    **extra: str,
) -> dict[str, str]:
    """The environment of the app (in a subprocess, or in this one): ``args.database_url``,
    ``args.redis_url``, the benchmark settings, then ``extra``; without ``unset``."""
    env = dict(os.environ)
    env.update(
        COORD_ENV="production",
        SECRET_KEY=BENCH_SECRET_KEY,
        COORD_LOG_LEVEL="WARNING",
        RATELIMIT_ENABLED="false",
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        FLASK_APP="wsgi",
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    env.update(extra)
    for name in unset:
        env.pop(name, None)
    return env


def migrate(env: dict[str, str]) -> None:
    """``flask db upgrade`` in a subprocess with ``env``."""
    proc = subprocess.run(
        flask_cmd("db", "upgrade"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"flask db upgrade failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )


# -- databases -----------------------------------------------------------------------------


def db_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def admin_url(url: str) -> str:
    """The same server's ``postgres`` database (to create and drop the benchmark's)."""
    return urlsplit(url)._replace(path="/postgres").geturl()


def recreate_database(url: str) -> None:
    """Drop (closing its connections) and create the database of ``url``."""
    import psycopg
    from psycopg import sql

    name = db_name(url)
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name(url)))
        )


def reset_database(url: str) -> None:
    """Create the database of ``url`` if missing, else empty it (drop and recreate the public
    schema; the database itself stays, with its settings)."""
    import psycopg
    from psycopg import sql

    name = db_name(url)
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def load_line(label: str, before: tuple[float, ...], after: tuple[float, ...]) -> str:
    """The machine's load average before and after a timed part, for the printed report (the
    machine is shared: figures vary with it)."""
    return (
        f"load average (1, 5, 15 min) {label}: "
        + " ".join(f"{x:.2f}" for x in before)
        + "; after: "
        + " ".join(f"{x:.2f}" for x in after)
        + f" ({os.cpu_count()} cores)"
    )

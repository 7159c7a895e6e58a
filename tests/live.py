"""A real gunicorn (the production settings, config/gunicorn.py) on a free loopback port,
serving the test database and Redis, for tests that need a real HTTP server: raw sockets,
keep-alive, chunked bodies, schemathesis over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_gunicorn(
    database_url: str,
    redis_url: str,
    log_path: Path,
    *,
    threads: int = 2,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Start gunicorn (one worker) and yield its base URL; stop it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "COORD_ENV": "testing",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_ACCESS_LOG": "",
        "GUNICORN_MAX_REQUESTS": "0",
        "COORD_ATTACHMENT_DIR": str(log_path.parent / "attachments"),
        **(extra_env or {}),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(gunicorn), "-c", "config/gunicorn.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

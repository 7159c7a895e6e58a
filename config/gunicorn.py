"""gunicorn settings: ``gunicorn -c config/gunicorn.py wsgi:app``.

Environment:
  GUNICORN_BIND             full bind address(es), e.g. ``0.0.0.0:8000`` (wins over PORT)
  PORT                      port on 127.0.0.1 when GUNICORN_BIND is unset (default 5000)
  WEB_CONCURRENCY           worker processes (default CPU cores + 1)
  GUNICORN_THREADS          threads per worker (default 4: gthread; 1: the sync worker)
  GUNICORN_TIMEOUT          seconds before a silent worker is killed (default 30)
  GUNICORN_GRACEFUL_TIMEOUT seconds a worker gets to finish its requests on restart (default 30)
  GUNICORN_MAX_REQUESTS     requests before a worker is recycled (default 2000, 0 = never)
  GUNICORN_ACCESS_LOG       ``-`` (stdout, default), a file path, or empty for none
  PROMETHEUS_MULTIPROC_DIR  see below (default: a private temporary directory)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from typing import Any

from gunicorn import glogging

from config.logging import redact


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


bind = (os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{_int('PORT', 5000)}").split(",")
# The CPUs this process may run on (a container's cpuset), not all of the host's.
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
# A process per core and one more, each with 4 threads that overlap their database round
# trips: the best of the settings measured on 2 cores (docs/performance.md, "Settings").
workers = _int("WEB_CONCURRENCY", _cores + 1)
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5

# Each worker builds its own app (and database pool) after the fork: nothing is shared by
# accident, and a code reload is a plain HUP.
preload_app = False

# Recycle workers now and then so that slow growth (caches, fragmentation) cannot add up;
# the jitter keeps them from all restarting at the same moment.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10

# The worker heartbeat file lives on tmpfs: on a disk-backed /tmp (containers) a slow fsync
# can make gunicorn think a healthy worker hangs.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

proc_name = "coord-web"
# gunicorn 25.1+ opens a control socket at one fixed path per user ($HOME/.gunicorn), which
# two instances on one machine would fight over, and which a read-only home cannot hold.
control_socket_disable = True
errorlog = "-"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None


# Prometheus (coord/metrics.py): with several workers, each one's counters must be summed,
# which prometheus-client does through files in PROMETHEUS_MULTIPROC_DIR. Unless one is set,
# each gunicorn gets a private directory for that, made at start and removed at exit.
_own_metrics_dir: str | None = None


def on_starting(server: Any) -> None:
    global _own_metrics_dir
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _own_metrics_dir = tempfile.mkdtemp(prefix="coord-prometheus-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)


class JsonAtoms(glogging.SafeAtoms):
    """Access-log atoms escaped as JSON string content (gunicorn escapes only quotes)."""

    def __init__(self, atoms: dict[str, Any]) -> None:
        dict.__init__(self)
        for key, value in atoms.items():
            if value is None:
                value = "null"
            self[key] = json.dumps(value)[1:-1] if isinstance(value, str) else value


class RedactingLogger(glogging.Logger):
    """Secrets in the query string (the citizen's receipt ``token``, Open311's ``api_key``,
    ...: the list in ``config.logging``) and in the headers logged are redacted."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("q", "r", "{referer}i", "{authorization}i", "{cookie}i"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


class JsonAccessLogger(RedactingLogger):
    """Production: one JSON object per request, with the app's X-Request-ID."""

    atoms_wrapper_class = JsonAtoms

    def now(self) -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds")


class PlainAccessLogger(RedactingLogger):
    """Development (``make run``): one short line per page or API call for a person reading
    the terminal; the page's stylesheet and script requests are left out."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if not str(environ.get("PATH_INFO", "")).startswith("/static/"):
            super().access(resp, req, environ, request_time)

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["target"] = atoms["U"] + (f"?{atoms['q']}" if atoms.get("q") else "")
        return atoms


def _json_logs() -> bool:
    """JSON in production, plain lines otherwise; COORD_LOG_JSON overrides either (the rule of
    the app's own log, config/settings.py)."""
    raw = os.environ.get("COORD_LOG_JSON", "").strip().lower()
    if raw:
        return raw in {"1", "true", "yes", "on"}
    return os.environ.get("COORD_ENV", "development") == "production"


if _json_logs():
    logger_class = JsonAccessLogger
    access_log_format = (
        '{"time":"%(t)s","logger":"gunicorn.access","remote":"%(h)s","method":"%(m)s",'
        '"path":"%(U)s","query":"%(q)s","status":%(s)s,"bytes":%(B)s,"duration_ms":%(M)s,'
        '"request_id":"%({x-request-id}o)s","user_agent":"%(a)s"}'
    )
else:
    logger_class = PlainAccessLogger
    access_log_format = "%(m)s %(target)s -> %(s)s (%(B)s bytes, %(M)s ms)"

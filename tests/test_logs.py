"""No secrets in the logs: gunicorn's access log (the production configuration, a real
gunicorn) and our own log lines redact the citizen's receipt token, Open311 api_keys, passwords
and the like. (tests/conftest.py checks every log line of the suite as well.)"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from config.logging import REDACTED, redact
from tests.live import running_gunicorn

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_the_gunicorn_access_log_redacts_secrets_in_query_strings(
    app, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "COORD_ENV": "production",
        "SECRET_KEY": "a-test-secret-key-for-gunicorn",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": "memory://",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "GUNICORN_ACCESS_LOG": "-",
    }
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                if _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        status, headers = _get(f"{base}/public/v1/track/ABCD-EFGH/receipt?token=ZqX81secretTok")
        assert status in (403, 404)
        request_id = headers["X-Request-ID"]
        _get(f"{base}/open311/v2/requests.json?api_key=o311_Y7gI75JXHEtwynj48R3379cOT&x=1")
        _get(f"{base}/login?next=%2F&password=hunter2hunter2")
    finally:
        server.terminate()
        server.wait(WAIT_SECONDS)

    text = log.read_text()
    for secret in ("ZqX81secretTok", "o311_Y7gI75", "hunter2"):
        assert secret not in text, text
    access = [
        json.loads(line)
        for line in text.splitlines()
        if line.startswith("{") and '"gunicorn.access"' in line
    ]
    receipt = next(a for a in access if a["path"].endswith("/receipt"))
    assert receipt["query"] == f"token={REDACTED}"
    assert receipt["request_id"] == request_id
    open311 = next(a for a in access if a["path"].startswith("/open311/"))
    assert open311["query"] == f"api_key={REDACTED}&x=1"


def test_in_development_the_access_log_is_a_short_line_per_request_without_assets(
    app, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "gunicorn.log"
    development = {
        "COORD_ENV": "development",
        "SECRET_KEY": "a-test-secret-key-for-gunicorn",
        "RATELIMIT_STORAGE_URI": "memory://",
        "GUNICORN_ACCESS_LOG": "-",
    }
    with running_gunicorn(database_url, redis_url, log, extra_env=development) as base:
        _get(f"{base}/healthz")
        _get(f"{base}/static/coord.css")
        _get(f"{base}/public/v1/track/ABCD-EFGH/receipt?token=ZqX81secretTok")
    access = [line for line in log.read_text().splitlines() if " -> " in line]
    assert access[0] == access[0].strip() and not access[0].startswith("{")
    assert any(line.startswith("GET /healthz -> 200 (") for line in access), access
    assert not any("/static/" in line for line in access), access
    receipt = next(line for line in access if "/receipt" in line)
    assert f"receipt?token={REDACTED} -> " in receipt and "ZqX81secretTok" not in receipt


def test_our_log_lines_redact_secrets(log_collector) -> None:  # type: ignore[no-untyped-def]
    logging.getLogger("coord.test").warning(
        "odd request %s from %s",
        "/public/v1/track/X/receipt?token=ZqX81secretTok&lang=en",
        "redis://:hunter2@redis:6379/0",
    )
    line = log_collector.lines[-1]
    assert "ZqX81secretTok" not in line and "hunter2" not in line
    assert f"token={REDACTED}&lang=en" in line


def test_redact_knows_the_secret_parameters_and_credential_shapes() -> None:
    assert redact("a=1&api_key=k1&Password=p&client_secret=s&b=2") == (
        f"a=1&api_key={REDACTED}&Password={REDACTED}&client_secret={REDACTED}&b=2"
    )
    assert redact("Bearer coord_abcdefghijklmnopqrstuvwxyz0123") == f"Bearer {REDACTED}"
    assert redact("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == REDACTED
    assert redact("status=open&page=2") == "status=open&page=2"


def test_development_logs_for_people_production_logs_json(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from config.settings import load_config

    monkeypatch.delenv("COORD_LOG_JSON", raising=False)
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    assert load_config("development")["COORD_LOG_JSON"] is False
    assert load_config("production")["COORD_LOG_JSON"] is True


def test_idle_periodic_jobs_stay_out_of_an_info_log(caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    from config.logging import QuietJobLines
    from workers.runtime import log_job_outcome

    rq_line = logging.LogRecord(
        "rq.worker",
        logging.INFO,
        __file__,
        1,
        "Worker %s: %s: %s (%s)",
        ("w", "q", "Job OK", "1"),
        None,
    )
    logging.getLogger("rq.worker").setLevel(logging.INFO)
    assert QuietJobLines().filter(rq_line) is False and rq_line.levelname == "DEBUG"
    other = logging.LogRecord(
        "rq.worker", logging.INFO, __file__, 1, "*** Listening on %s", ("q",), None
    )
    assert QuietJobLines().filter(other) is True
    cron = logging.LogRecord(
        "rq.cron", logging.INFO, __file__, 1, "Enqueued job sweep_outbox to queue default", (), None
    )
    logging.getLogger("rq.cron").setLevel(logging.INFO)
    assert QuietJobLines().filter(cron) is False and cron.levelname == "DEBUG"

    with caplog.at_level(logging.INFO, logger="workers.runtime"):
        log_job_outcome("workers.webhooks.sweep_outbox", 0)
        log_job_outcome("workers.webhooks.sweep_outbox", 3)
        log_job_outcome("workers.webhooks.deliver_endpoint", 0)
    assert [r.getMessage() for r in caplog.records] == [
        "workers.webhooks.sweep_outbox done: 3",
        "workers.webhooks.deliver_endpoint done: 0",
    ]

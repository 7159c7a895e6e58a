"""A database restart: requests fail cleanly (503 with the usual error body) while it is
down and succeed again afterwards, with no restart of the service.

Runs against a throwaway PostgreSQL server of its own (initdb in a temporary directory), so
stopping it disturbs nobody else's database.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from coord import create_app
from coord.extensions import db
from tests.factories import build_world, token_for

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class TempPostgres:
    def __init__(self, root: Path) -> None:
        self.bin = Path(PG_BIN[-1])
        self.data = root / "pgdata"
        self.port = _free_port()
        self.log = root / "pg.log"

    def init(self) -> None:
        self.data.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data.parent, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        subprocess.run(
            _as_postgres(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-w",
                    "-o",
                    f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            ),
            check=False,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def temp_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TempPostgres]:
    assert PG_BIN, "PostgreSQL server binaries are needed (Debian package postgresql)"
    root = Path("/tmp") / f"coord-pg-{os.getpid()}-{time.monotonic_ns()}"
    server = TempPostgres(root)
    server.init()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_database_restart_fails_cleanly_then_recovers(temp_postgres: TempPostgres) -> None:
    app: Flask = create_app(
        {"SQLALCHEMY_DATABASE_URI": temp_postgres.url, "RATELIMIT_STORAGE_URI": "memory://"},
        env="testing",
    )
    with app.app_context():
        db.create_all()
        world = build_world()
        headers = {"Authorization": f"Bearer {token_for(world.user('kel-a1', 'staff'))}"}
    client = app.test_client()
    body = {
        "title": "Lampu padam",
        "description": "Gelap sekali",
        "category": "jalan-rusak",
        "location": {"region_code": "12.71.01.1001"},
    }
    assert client.post("/api/v1/cases", headers=headers, json=body).status_code == 201

    temp_postgres.stop()
    down = client.post("/api/v1/cases", headers=headers, json=body)
    assert down.status_code == 503
    assert down.json["message"].startswith("The database")
    assert down.headers["Retry-After"]
    assert client.get("/readyz").status_code == 503

    temp_postgres.start()
    again = client.post("/api/v1/cases", headers=headers, json=body)
    assert again.status_code == 201, again.json
    listed = client.get("/api/v1/cases", headers=headers)
    # The case refused while the database was down was not half-written.
    assert [c["title"] for c in listed.json] == ["Lampu padam", "Lampu padam"]
    with app.app_context():
        db.engine.dispose()


# --------------------------------------------------------------------------------------------
# Request ids on answers made before the view runs


def _closed_port_url() -> str:
    """A PostgreSQL URL where nothing listens: every connection is refused at once."""
    return f"postgresql://coord@127.0.0.1:{_free_port()}/coord"


def test_a_401_carries_the_request_id(client) -> None:  # type: ignore[no-untyped-def]
    answer = client.get("/api/v1/cases")
    assert answer.status_code == 401
    assert len(answer.headers["X-Request-ID"]) >= 16
    again = client.get("/api/v1/cases", headers={"X-Request-ID": "mine-123"})
    assert (again.status_code, again.headers["X-Request-ID"]) == (401, "mine-123")


def test_a_503_carries_the_request_id_of_its_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from config.logging import ContextFilter

    app: Flask = create_app(
        {"SQLALCHEMY_DATABASE_URI": _closed_port_url(), "RATELIMIT_STORAGE_URI": "memory://"},
        env="testing",
    )
    client = app.test_client()
    caplog.handler.addFilter(ContextFilter())
    ids = []
    for _ in range(2):  # the second must not carry the first one's id
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="coord.api.errors"):
            answer = client.get("/api/v1/cases", headers={"Authorization": "Bearer coord_x"})
        assert answer.status_code == 503, answer.json
        rid = answer.headers["X-Request-ID"]
        [line] = [r for r in caplog.records if r.getMessage().startswith("database unavailable")]
        assert rid and line.request_id == rid  # type: ignore[attr-defined]
        ids.append(rid)
    assert ids[0] != ids[1]
    with app.app_context():
        db.engine.dispose()

"""Webhook delivery through faults: Redis stopped while cases are forwarded, Redis flushed, and
a worker process killed (SIGKILL) in the middle of a delivery. Real processes throughout: a
redis-server of the test's own, ``flask coord worker`` subprocesses, the loopback receiver."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from coord import clock, create_app
from coord.extensions import db, rq
from coord.models import WebhookDelivery
from tests import webhook_receiver
from tests.webhook_receiver import (
    LOOPBACK,
    WAIT_SECONDS,
    drain,
    forward,
    forward_via_api,
    register,
    sweep,
)

# Fixtures shared by the webhook tests.
receiver = webhook_receiver.receiver
webhook_app = webhook_receiver.webhook_app

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A redis-server of this test's own on a free port, without persistence (so a restart
    comes back empty, like a flushed Redis)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = datetime.now(UTC) + timedelta(seconds=WAIT_SECONDS)
        while datetime.now(UTC) < deadline:
            try:
                if client.ping():
                    return
            except RedisError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def freeze(self) -> None:
        """SIGSTOP: connections are still accepted (by the kernel), nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.thaw()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(WAIT_SECONDS)
        self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_on_own_redis(
    webhook_app: Flask, database_url: str, own_redis: RedisServer
) -> Iterator[Flask]:
    """A second app on the same test database whose Redis (queues and all) is ``own_redis``."""
    other = create_app(
        {
            **{k: v for k, v in webhook_app.config.items() if k.startswith("COORD_")},
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": own_redis.url,
            "RQ_CONNECTION": own_redis.url,
            "RATELIMIT_STORAGE_URI": "memory://",
            "SERVER_NAME": None,
        },
        env="testing",
    )
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def rows() -> list[WebhookDelivery]:
    db.session.rollback()
    return list(db.session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars())


def test_cases_forwarded_while_redis_is_down_are_delivered_once_it_is_back(
    app_on_own_redis, world, receiver, own_redis, frozen_now
):
    client = app_on_own_redis.test_client()
    staff = world.headers("kel-a1", "staff")
    hook = register(client, world.headers("dinas-pu", "liaison"), "dinas-pu", receiver.url("/pu"))
    receiver.trust("pu", hook["secret"])

    forward_via_api(client, staff)  # Redis up: its job is enqueued ...
    own_redis.stop()  # ... and lost, as Redis comes back empty
    handoffs = [forward_via_api(client, staff) for _ in range(3)]  # each answered 201
    assert len(handoffs) == 3
    assert len(rows()) == 4 and {r.status for r in rows()} == {"pending"}

    own_redis.start()
    with app_on_own_redis.app_context():
        assert len(rq.get_queue("webhooks")) == 0
        assert sweep() == 1
        drain(app_on_own_redis)

    assert receiver.wait_for(4, "/pu")
    assert receiver.unverified == []
    assert sorted(receiver.msg_ids("/pu")) == sorted(r.msg_id for r in rows())
    assert {r.status for r in rows()} == {"delivered"}


def test_a_job_lost_to_a_redis_flush_is_recovered_by_the_sweep(
    webhook_app, world, client, receiver, frozen_now
):
    hook = register(client, world.headers("dinas-pu", "liaison"), "dinas-pu", receiver.url("/pu"))
    receiver.trust("pu", hook["secret"])
    forward(world)
    with webhook_app.app_context():
        connection = rq.get_queue("webhooks").connection
        assert len(rq.get_queue("webhooks")) == 1
        connection.flushdb()
    assert sweep() == 1
    drain(webhook_app)
    assert receiver.wait_for(1, "/pu")
    [row] = rows()
    assert row.status == "delivered" and receiver.msg_ids("/pu") == [row.msg_id]


def _worker_process(database_url: str, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "COORD_ENV": "testing",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": "memory://",
            "COORD_WEBHOOK_ALLOW_CIDRS": LOOPBACK,
        }
    )
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "wsgi",
                "coord",
                "worker",
                "--queue",
                "webhooks",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_a_worker_killed_mid_delivery_leaves_it_to_the_next_worker(
    webhook_app, world, client, receiver, database_url, redis_url, tmp_path
):
    hook = register(client, world.headers("dinas-pu", "liaison"), "dinas-pu", receiver.url("/slow"))
    receiver.trust("pu", hook["secret"])
    hold = receiver.hold_next("/slow")  # the receiver keeps the first request waiting
    worker = _worker_process(database_url, redis_url, tmp_path / "worker.log")
    try:
        forward(world)
        arrived = hold.arrived.wait(WAIT_SECONDS)
        assert arrived, (tmp_path / "worker.log").read_text()
        worker.send_signal(signal.SIGKILL)  # in the middle of the POST
        worker.wait(WAIT_SECONDS)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(WAIT_SECONDS)
        hold.release.set()

    [row] = rows()
    assert row.status == "pending" and row.enqueued_at is not None  # still claimed
    assert sweep() == 0  # the dead worker's lease has not run out yet: nobody else sends it

    lease = timedelta(seconds=webhook_app.config["COORD_WEBHOOK_LEASE_SECONDS"])
    clock.set_frozen(datetime.now(UTC) + lease + timedelta(seconds=1))
    try:
        assert sweep() == 1
        drain(webhook_app)
    finally:
        clock.set_frozen(None)

    [row] = rows()
    assert (row.status, row.last_status_code) == ("delivered", 200)
    seen = receiver.msg_ids("/slow")
    assert set(seen) == {row.msg_id}  # one webhook-id: at-least-once, and deduplicable
    assert len(seen) == 2  # the killed attempt arrived, then the retry
    assert receiver.unverified == []


def test_a_worker_killed_mid_batch_sends_again_only_the_message_in_flight(
    webhook_app, world, client, receiver, database_url, redis_url, tmp_path
):
    hook = register(
        client, world.headers("dinas-pu", "liaison"), "dinas-pu", receiver.url("/batch")
    )
    receiver.trust("pu", hook["secret"])
    for _ in range(6):  # one job, one batch of six (no worker runs yet)
        forward(world)
    hold = receiver.hold_next("/batch", after=4)  # four answered 200, the fifth kept waiting
    worker = _worker_process(database_url, redis_url, tmp_path / "worker.log")
    try:
        arrived = hold.arrived.wait(WAIT_SECONDS)
        assert arrived, (tmp_path / "worker.log").read_text()
        worker.send_signal(signal.SIGKILL)  # while the receiver is answering the fifth
        worker.wait(WAIT_SECONDS)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(WAIT_SECONDS)
        hold.release.set()

    # The four accepted messages are recorded as delivered although the batch never finished.
    assert [r.status for r in rows()] == ["delivered"] * 4 + ["pending"] * 2

    lease = timedelta(seconds=webhook_app.config["COORD_WEBHOOK_LEASE_SECONDS"])
    clock.set_frozen(datetime.now(UTC) + lease + timedelta(seconds=1))
    try:
        assert sweep() == 1
        drain(webhook_app)
    finally:
        clock.set_frozen(None)

    assert {r.status for r in rows()} == {"delivered"}
    seen = receiver.msg_ids("/batch")
    assert sorted(set(seen)) == sorted(r.msg_id for r in rows())
    assert len(seen) == 7  # six messages; only the one in flight at the kill came twice
    assert receiver.unverified == []

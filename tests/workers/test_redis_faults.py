"""Redis going away under the web and the workers: a frozen Redis (SIGSTOP: connections
accepted, nothing answered) must not hold up requests, a worker that loses Redis in the
middle of a job carries on by itself, and the supervisor restarts a command that died in a
short Redis blip. Real processes: a redis-server of the test's own, ``flask coord worker``
subprocesses, the loopback webhook receiver."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

from coord import clock
from coord.extensions import rq
from coord.services.webhooks.scheduling import GATE_STALE_AFTER
from tests import webhook_receiver
from tests.webhook_receiver import WAIT_SECONDS, drain, forward_via_api, register, sweep
from tests.workers import test_webhook_faults as faults
from tests.workers.test_webhook_faults import _worker_process, rows
from workers.supervise import Supervisor

# Fixtures shared with the other fault tests.
receiver = webhook_receiver.receiver
webhook_app = webhook_receiver.webhook_app
own_redis = faults.own_redis
app_on_own_redis = faults.app_on_own_redis


def test_a_frozen_redis_does_not_hold_up_a_new_case(
    app_on_own_redis, world, receiver, own_redis, frozen_now
):
    client = app_on_own_redis.test_client()
    hook = register(
        client, world.headers("kel-a1", "liaison"), "kel-a1", receiver.url("/a1"), ["case.created"]
    )
    receiver.trust("a1", hook["secret"])

    def create() -> float:
        started = time.monotonic()
        created = client.post(
            "/api/v1/cases",
            headers=world.headers("kel-a1", "staff"),
            json={
                "title": "Lampu jalan padam",
                "description": "Sejak kemarin malam",
                "category": "jalan-rusak",
                "location": {"region_code": "12.71.01.1001"},
            },
        )
        assert created.status_code == 201, created.json
        return time.monotonic() - started

    usual = create()  # with Redis answering (on a loaded machine this varies)
    with app_on_own_redis.app_context():
        rq.get_queue("webhooks").connection.flushdb()  # that job is not the point here
    own_redis.freeze()
    safety = threading.Timer(10, own_redis.thaw)  # before the fix the request waited for this
    safety.start()
    try:
        took = create()
    finally:
        safety.cancel()
        own_redis.thaw()
    # The enqueue gives up after about a second (coord.extensions.AppRedis).
    assert took < usual + 1.6, f"{took:.1f} s with Redis frozen, {usual:.1f} s without"
    assert [r.status for r in rows()] == ["pending", "pending"]  # the work is kept

    # Redis answers again, and the gate's SET NX that the web gave up on has been carried out
    # by Redis meanwhile (with no job behind it): the sweep clears such a gate once the
    # deliveries have waited for half a minute, and enqueues the job.
    with app_on_own_redis.app_context():
        clock.set_frozen(frozen_now + GATE_STALE_AFTER)
        assert sweep() == 1
        drain(app_on_own_redis)
    assert receiver.wait_for(2, "/a1")
    assert [r.status for r in rows()] == ["delivered", "delivered"]


def test_a_worker_that_loses_redis_mid_job_carries_on(
    app_on_own_redis, world, receiver, own_redis, database_url, tmp_path
):
    client = app_on_own_redis.test_client()
    staff = world.headers("kel-a1", "staff")
    hook = register(client, world.headers("dinas-pu", "liaison"), "dinas-pu", receiver.url("/w"))
    receiver.trust("pu", hook["secret"])
    hold = receiver.hold_next("/w")
    log = tmp_path / "worker.log"
    worker = _worker_process(database_url, own_redis.url, log)
    try:
        forward_via_api(client, staff)
        assert hold.arrived.wait(WAIT_SECONDS), log.read_text()
        own_redis.stop()  # the job is in the middle of its POST
        time.sleep(4)
        hold.release.set()  # the job finishes while Redis is away ...
        time.sleep(1)
        own_redis.start()  # ... and Redis comes back empty on the same port
        assert worker.poll() is None, log.read_text()

        forward_via_api(client, staff)  # enqueued on the new Redis, taken by the same worker
        assert receiver.wait_for(2, "/w"), log.read_text()
        assert worker.poll() is None, log.read_text()
    finally:
        hold.release.set()
        worker.terminate()
        worker.wait(WAIT_SECONDS)

    assert [r.status for r in rows()] == ["delivered", "delivered"]
    text = log.read_text()
    assert "lost Redis" in text
    assert "Traceback" not in text, text
    with app_on_own_redis.app_context():
        assert len(rq.get_queue("webhooks")) == 0


def test_the_supervisor_restarts_a_command_that_died_quickly_in_a_redis_blip(
    own_redis, tmp_path: Path
):
    died = tmp_path / "died-once"
    running = tmp_path / "running"
    # First start: dies at once (as a worker did when a blip took Redis away); then runs.
    script = (
        "import pathlib, sys, time\n"
        f"died, running = pathlib.Path({str(died)!r}), pathlib.Path({str(running)!r})\n"
        "if not died.exists():\n"
        "    died.touch(); sys.exit(1)\n"
        "running.touch()\n"
        "time.sleep(60)\n"
    )
    supervisor = Supervisor([sys.executable, "-c", script], own_redis.url)
    outcome: list[int] = []
    thread = threading.Thread(target=lambda: outcome.append(supervisor.run()), daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not running.exists() and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.exists(), f"not restarted; the supervisor returned {outcome}"
    supervisor.on_signal(signal.SIGTERM, None)
    thread.join(WAIT_SECONDS)
    assert outcome == [0]

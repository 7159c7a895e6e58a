"""The SLA jobs on a real Redis with a real RQ worker, and e-mail to a real SMTP server."""

from __future__ import annotations

import socket
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from sqlalchemy import func, select

from coord import clock, jobs
from coord.extensions import db, rq
from coord.models import CaseEvent, Notification
from tests.factories import make_case
from workers.cron import SCHEDULE

WIB = ZoneInfo("Asia/Jakarta")


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(app):  # type: ignore[no-untyped-def]
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config.get(k) for k in ("COORD_SMTP_HOST", "COORD_SMTP_PORT")}
    app.config.update(COORD_SMTP_HOST="127.0.0.1", COORD_SMTP_PORT=port)
    yield inbox
    app.config.update(saved)
    controller.stop()


def test_cron_table_is_sane(app):  # type: ignore[no-untyped-def]
    names = [p.job.path for p in SCHEDULE]
    assert len(names) == len(set(names)), "a job is scheduled twice"
    for periodic in SCHEDULE:
        assert periodic.job in jobs.JOBS, periodic.job
        assert 5 <= periodic.interval <= 3600
        assert periodic.description
    registered = {
        item["func"].__module__ + "." + item["func"].__name__ for item in rq._cron_job_data
    }
    assert registered == set(names)


def test_sweep_job_runs_on_a_real_worker(app, world, run_worker):  # type: ignore[no-untyped-def]
    clock.set_frozen(wib(2026, 3, 17, 14))
    try:
        case = make_case(world)
        clock.set_frozen(wib(2026, 3, 27, 14))
        assert jobs.enqueue(jobs.SWEEP_SLA)
        run_worker()
        types = (
            db.session.execute(
                select(CaseEvent.type)
                .where(CaseEvent.case_id == case.id, CaseEvent.type != "case.created")
                .order_by(CaseEvent.at, CaseEvent.id)
            )
            .scalars()
            .all()
        )
        assert types == [
            "sla.warning",
            "sla.warning",
            "sla.warning",
            "sla.breached",
            "case.escalated",
        ]
        # Run again: nothing fires twice.
        assert jobs.enqueue(jobs.SWEEP_SLA)
        run_worker()
        count = db.session.execute(
            select(func.count()).where(CaseEvent.case_id == case.id)
        ).scalar_one()
        assert count == len(types) + 1
    finally:
        clock.set_frozen(None)


def test_breach_is_emailed_to_managers_when_smtp_is_configured(app, world, run_worker, smtp_server):  # type: ignore[no-untyped-def]
    for user in world.users.values():
        user.email = f"{user.username}@example.go.id"
    db.session.commit()
    clock.set_frozen(wib(2026, 3, 17, 14))
    try:
        make_case(world)
        clock.set_frozen(wib(2026, 3, 27, 14, 1))
        assert jobs.enqueue(jobs.SWEEP_SLA)
        run_worker()
        assert jobs.enqueue(jobs.SEND_DUE_EMAILS)
        run_worker()
    finally:
        clock.set_frozen(None)
    to_manager = [m for m in smtp_server.messages if m["To"] == "camat-a.manager@example.go.id"]
    assert [m["Subject"].startswith("Pelanggaran SLA") for m in to_manager] == [True]
    assert "dieskalasi" in to_manager[0].get_payload()
    # Each notification is e-mailed once: a second run sends nothing new.
    sent = len(smtp_server.messages)
    assert jobs.enqueue(jobs.SEND_DUE_EMAILS)
    run_worker()
    assert len(smtp_server.messages) == sent
    assert (
        db.session.execute(
            select(func.count()).where(
                Notification.emailed_at.is_(None),
                Notification.email_wanted.is_(True),
                Notification.deliver_after <= wib(2026, 3, 27, 14, 1),
            )
        ).scalar_one()
        == 0
    )


def test_breach_recorded_on_late_entry_is_emailed_by_the_worker(
    app, world, run_worker, smtp_server
):  # type: ignore[no-untyped-def]
    # A letter received weeks ago and entered today: the create command records the breaches
    # and enqueues the same notification job as the sweep, after its commit.
    for user in world.users.values():
        user.email = f"{user.username}@example.go.id"
    db.session.commit()
    clock.set_frozen(wib(2026, 3, 17, 14))
    try:
        make_case(world, received_at=wib(2026, 2, 23, 9), channel="letter")
        run_worker()  # the notification job, no sweep
        assert jobs.enqueue(jobs.SEND_DUE_EMAILS)
        run_worker()
    finally:
        clock.set_frozen(None)
    to_manager = [m for m in smtp_server.messages if m["To"] == "camat-a.manager@example.go.id"]
    assert [m["Subject"].startswith("Pelanggaran SLA") for m in to_manager] == [True, True]

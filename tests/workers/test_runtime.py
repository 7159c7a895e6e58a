"""The worker runs each job in an application context of its own, with the job's id on every
log line it writes (workers/runtime.py)."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app

from config.logging import ContextFilter
from coord.extensions import rq

log = logging.getLogger("tests.workers.job")


def report_where_i_run(label: str) -> str:
    """A job: logs one line and answers with the name of the app it ran in."""
    log.warning("job %s ran", label)
    return str(current_app.name)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(ContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_each_job_runs_in_an_app_context_with_its_id_on_the_log(
    app: Any, redis_conn: Any, run_worker: Any
) -> None:
    lines = Lines()
    log.addHandler(lines)
    try:
        with app.app_context():
            jobs = [
                rq.get_queue("default").enqueue(f"{__name__}.report_where_i_run", label)
                for label in ("first", "second")
            ]
        run_worker(["default"])
    finally:
        log.removeHandler(lines)
    for job in jobs:
        job.refresh()
        assert job.get_status() == "finished"
        assert job.return_value() == app.name
    assert [(r.getMessage(), getattr(r, "job_id", None)) for r in lines.records] == [
        ("job first ran", jobs[0].id),
        ("job second ran", jobs[1].id),
    ]

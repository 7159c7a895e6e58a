"""The RQ worker that runs coord's jobs: one fresh app context (and database session) per
job, the job id stamped on every log line, and no fork per job (RQ's SimpleWorker), because
forking a Flask app per job caps throughput far below what webhooks need."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app
from flask_rq._job_class import FlaskJob
from rq import SimpleWorker, Worker
from rq.worker.base import BaseWorker

from config.logging import job_id_var
from coord.extensions import rq

log = logging.getLogger(__name__)


class AppContextJob(FlaskJob):
    """Runs the job function inside its own application context."""

    _app: Flask | None = None

    def _execute(self) -> Any:
        app = AppContextJob._app or current_app._get_current_object()  # type: ignore[attr-defined]
        token = job_id_var.set(self.id)
        try:
            with app.app_context():
                return super()._execute()
        finally:
            job_id_var.reset(token)


def make_worker(
    app: Flask, queues: list[str] | None = None, *, fork: bool = False, name: str | None = None
) -> BaseWorker:
    """A worker on the app's queues (all of them, in priority order, by default)."""
    AppContextJob._app = app
    with app.app_context():
        known = rq.queues
        chosen = [known[q] for q in (queues or list(known))]
        for queue in chosen:
            queue.job_class = AppContextJob
        worker_cls: type[BaseWorker] = Worker if fork else SimpleWorker
        return worker_cls(
            chosen, connection=chosen[0].connection, job_class=AppContextJob, name=name
        )

"""The periodic jobs, as data: ``rq cron`` (``flask rq cron``) enqueues each at its interval.

Exactly one cron process runs; every job here is idempotent and safe to overlap with itself,
so a late or doubled run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from coord import jobs
from coord.jobs import Job


@dataclass(frozen=True)
class Periodic:
    job: Job  # its function's path and its queue (coord/jobs.py)
    interval: int  # seconds
    description: str


SCHEDULE: tuple[Periodic, ...] = (
    Periodic(jobs.SWEEP_SLA, 30, "fire SLA warnings and breaches that fell due"),
    Periodic(
        jobs.NOTIFY_RECENT_SLA_EVENTS,
        600,
        "notify SLA events of the last hours whose fan-out job was lost",
    ),
    Periodic(
        jobs.SEND_DUE_EMAILS,
        60,
        "e-mail notifications whose recipients' office is now open",
    ),
    Periodic(
        jobs.SWEEP_WEBHOOK_OUTBOX,
        15,
        "enqueue webhook deliveries that fell due or whose job was lost",
    ),
    Periodic(
        jobs.CLOSE_EXPIRED_RESOLUTIONS,
        600,
        "close resolved cases whose dispute window (COORD_DISPUTE_DAYS) has passed",
    ),
)


def register_cron(rq_ext) -> None:  # type: ignore[no-untyped-def]
    """Register SCHEDULE with Flask-RQ's cron (``flask rq cron``)."""
    from pkgutil import resolve_name

    if getattr(rq_ext, "_coord_cron_registered", False):  # one rq object, many apps (tests)
        return
    rq_ext._coord_cron_registered = True
    for item in SCHEDULE:
        rq_ext.cron_register(resolve_name(item.job.path), item.interval, queue=item.job.queue)

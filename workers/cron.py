"""The periodic jobs, as data: ``rq cron`` (``flask rq cron``) enqueues each at its interval.

Exactly one cron process runs; every job here is idempotent and safe to overlap with itself,
so a late or doubled run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers import queues


@dataclass(frozen=True)
class Periodic:
    func: str  # dotted path of the job function
    interval: int  # seconds
    queue: str
    description: str


SCHEDULE: tuple[Periodic, ...] = (
    Periodic(
        "workers.sla.sweep_sla", 30, queues.SLA, "fire SLA warnings and breaches that fell due"
    ),
    Periodic(
        "workers.notifications.notify_recent_sla_events",
        600,
        queues.DEFAULT,
        "notify SLA events of the last hours whose fan-out job was lost",
    ),
    Periodic(
        "workers.notifications.send_due_emails",
        60,
        queues.DEFAULT,
        "e-mail notifications whose recipients' office is now open",
    ),
    Periodic(
        "workers.webhooks.sweep_outbox",
        15,
        queues.DEFAULT,
        "enqueue webhook deliveries that fell due or whose job was lost",
    ),
    Periodic(
        "workers.citizens.close_expired_resolutions",
        600,
        queues.DEFAULT,
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
        rq_ext.cron_register(resolve_name(item.func), item.interval, queue=item.queue)

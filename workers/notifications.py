"""Notification jobs: the SLA fan-out after each sweep batch, its safety net, and e-mail of
what fell due in the recipients' working hours."""

from __future__ import annotations

from coord.clock import now_utc


def send_due_emails() -> int:
    """Send the e-mails of notifications whose delivery time has come; returns how many."""
    from coord.services.notifications import send_due_emails as send

    return send(now_utc())


def notify_sla_events(event_ids: list[int]) -> int:
    """Write the notifications of these SLA events (enqueued by the sweep after its commit);
    idempotent through the unique (user_id, event_id). Returns how many events it handled."""
    from coord.services.notifications import notify_sla_events as notify
    from coord.services.uow import unit_of_work

    with unit_of_work():
        return notify(event_ids, now_utc())


def notify_recent_sla_events() -> int:
    """Safety net: notify the SLA events of the last hours whose fan-out job was lost (the
    existing notifications are skipped). Returns how many events it looked at."""
    from coord.services.notifications import notify_recent_sla_events as notify_recent

    return notify_recent(now_utc())

"""Notification jobs: e-mail what fell due in the recipients' working hours."""

from __future__ import annotations

from coord.clock import now_utc


def send_due_emails() -> int:
    """Send the e-mails of notifications whose delivery time has come; returns how many."""
    from coord.services.notifications import send_due_emails as send

    return send(now_utc())

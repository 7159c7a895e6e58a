"""Notifications: who hears of an SLA warning, a breach or a bounced case, and when.

People are told during their unit's working hours: a warning that falls at night gets
``deliver_after`` = the next opening minute of the recipient's office (the event itself is
recorded at its exact instant all the same). Every notification is listed in the recipient's
attention feed once due, and e-mailed when SMTP is configured.
"""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import insert, select, update

from coord.domain.tracking import format_tracking_code
from coord.extensions import db
from coord.models import Notification, Role, Unit, User, UserRole
from coord.services.sla import unit_calendar
from coord.services.uow import unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipients:
    """Users of one unit with the given roles."""

    unit_id: int
    roles: tuple[str, ...]


class Directory:
    """Users and unit calendars loaded once per batch, so a sweep of thousands of alerts
    costs a couple of queries rather than one per alert."""

    def __init__(self, unit_ids: Iterable[int]) -> None:
        ids = set(unit_ids)
        self.units = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(ids))).scalars()}
        self.by_unit_role: dict[tuple[int, str], list[int]] = defaultdict(list)
        self.emails: dict[int, str | None] = {}
        rows = db.session.execute(
            select(User.id, User.unit_id, User.email, UserRole.role)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.unit_id.in_(ids), User.active.is_(True), User.is_service.is_(False))
        )
        for user_id, unit_id, email, role in rows:
            self.by_unit_role[(unit_id, role)].append(user_id)
            self.emails[user_id] = email
        self._calendars: dict[int, object] = {}

    def users(self, who: Recipients) -> set[int]:
        found: set[int] = set()
        for role in who.roles:
            found.update(self.by_unit_role.get((who.unit_id, role), []))
        return found

    def deliver_after(self, unit_id: int, at: datetime) -> datetime:
        unit = self.units.get(unit_id)
        calendar = unit_calendar(unit)
        try:
            return calendar.next_open(at)
        except ValueError:  # a calendar with no hours at all: tell them at once
            return at


def notification_rows(directory: Directory, *, event_id: int, case_id: int, kind: str, at: datetime,
                      subject: str, body: str, recipients: Iterable[Recipients],
                      now: datetime) -> list[dict[str, object]]:
    rows: dict[int, dict[str, object]] = {}
    email_on = bool(current_app.config.get("COORD_SMTP_HOST"))
    for who in recipients:
        deliver = directory.deliver_after(who.unit_id, at)
        for user_id in directory.users(who):
            rows.setdefault(user_id, {
                "user_id": user_id, "case_id": case_id, "event_id": event_id, "kind": kind,
                "subject": subject, "body": body, "created_at": now, "deliver_after": deliver,
                "email_wanted": email_on and bool(directory.emails.get(user_id)),
            })
    return list(rows.values())


def insert_notifications(rows: list[dict[str, object]]) -> None:
    if rows:
        db.session.execute(insert(Notification), rows)


def local_text(at: datetime, tz: str = "Asia/Jakarta") -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%d-%m-%Y %H:%M WIB")


def case_label(tracking_code: str, title: str) -> str:
    return f"{format_tracking_code(tracking_code)} \u201c{title}\u201d"


def notify_bounced(case_id: int, event_id: int, tracking_code: str, title: str, region_code: str,
                   at: datetime, now: datetime) -> None:
    """A bounced case goes to the camat office's managers for a decision."""
    from coord.services.sla import camat_office_for_region

    office = camat_office_for_region(region_code)
    if office is None:
        return
    directory = Directory([office.id])
    insert_notifications(notification_rows(
        directory, event_id=event_id, case_id=case_id, kind="case.bounced", at=at, now=now,
        subject=f"Kasus berpindah-pindah unit: {case_label(tracking_code, title)}",
        body=("Kasus ini sudah berpindah pemilik beberapa kali dan menunggu keputusan pimpinan "
              "(tetapkan unit pemilik)."),
        recipients=[Recipients(office.id, (Role.MANAGER.value,))],
    ))


def send_due_emails(now: datetime, batch: int = 200) -> int:
    """E-mail due notifications (SMTP configured); each is claimed, sent, then marked."""
    host = current_app.config.get("COORD_SMTP_HOST")
    if not host:
        return 0
    sent = 0
    while True:
        with unit_of_work():
            claimed = db.session.execute(
                select(Notification, User.email)
                .join(User, User.id == Notification.user_id)
                .where(Notification.emailed_at.is_(None), Notification.email_wanted.is_(True),
                       Notification.deliver_after <= now)
                .order_by(Notification.deliver_after, Notification.id)
                .limit(batch)
                .with_for_update(of=Notification, skip_locked=True)
            ).all()
            if not claimed:
                return sent
            messages = [(n.id, _message(n, email)) for n, email in claimed if email]
            _send(messages)
            ids = [n.id for n, _ in claimed]
            db.session.execute(update(Notification).where(Notification.id.in_(ids)).values(emailed_at=now))
            sent += len(messages)
        if len(claimed) < batch:
            return sent


def _message(notification: Notification, to: str) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config.get("COORD_MAIL_FROM", "coord@localhost")
    message["To"] = to
    message["Subject"] = notification.subject
    base = config.get("COORD_PUBLIC_BASE_URL", "").rstrip("/")
    message.set_content(f"{notification.body}\n\n{base}/web/cases/{notification.case_id}\n")
    return message


def _send(messages: list[tuple[int, EmailMessage]]) -> None:
    if not messages:
        return
    config = current_app.config
    with smtplib.SMTP(config["COORD_SMTP_HOST"], int(config.get("COORD_SMTP_PORT", 25)), timeout=10) as smtp:
        if config.get("COORD_SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("COORD_SMTP_USER"):
            smtp.login(config["COORD_SMTP_USER"], config.get("COORD_SMTP_PASSWORD", ""))
        for _, message in messages:
            smtp.send_message(message)

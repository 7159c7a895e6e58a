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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import insert, select, update

from coord.domain.tracking import format_tracking_code
from coord.extensions import db
from coord.models import (
    Case,
    CaseEvent,
    ClockName,
    Handoff,
    Notification,
    Role,
    Unit,
    UnitKind,
    User,
    UserRole,
)
from coord.services.bulk import insert_ignoring_duplicates
from coord.services.sla_calendars import unit_calendar
from coord.services.uow import unit_of_work

log = logging.getLogger(__name__)

CLOCK_LABEL = {
    ClockName.RESPONSE.value: "respons pertama",
    ClockName.RESOLUTION.value: "penyelesaian",
    ClockName.HANDOFF_ACK.value: "tanggapan disposisi",
}
STAFF_ROLES = (Role.STAFF.value, Role.LIAISON.value)
# SLA events that notify people (``case.escalated`` accompanies ``sla.breached``, whose
# notification already tells the managers).
SLA_NOTIFIED_TYPES = ("sla.warning", "sla.breached")
# How far back (by event instant) the safety net looks for SLA events left without
# notifications; see notify_recent_sla_events.
SLA_NOTIFY_LOOKBACK = timedelta(hours=6)


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
        self.units = {
            u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(ids))).scalars()
        }
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


def notification_rows(
    directory: Directory,
    *,
    event_id: int,
    case_id: int,
    kind: str,
    at: datetime,
    subject: str,
    body: str,
    recipients: Iterable[Recipients],
    now: datetime,
) -> list[dict[str, object]]:
    rows: dict[int, dict[str, object]] = {}
    email_on = bool(current_app.config.get("COORD_SMTP_HOST"))
    for who in recipients:
        deliver = directory.deliver_after(who.unit_id, at)
        for user_id in directory.users(who):
            rows.setdefault(
                user_id,
                {
                    "user_id": user_id,
                    "case_id": case_id,
                    "event_id": event_id,
                    "kind": kind,
                    "subject": subject,
                    "body": body,
                    "created_at": now,
                    "deliver_after": deliver,
                    "email_wanted": email_on and bool(directory.emails.get(user_id)),
                },
            )
    return list(rows.values())


def insert_notifications(rows: list[dict[str, object]]) -> None:
    if rows:
        db.session.execute(insert(Notification), rows)


def local_text(at: datetime, tz: str = "Asia/Jakarta") -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%d-%m-%Y %H:%M WIB")


def case_label(tracking_code: str, title: str) -> str:
    return f"{format_tracking_code(tracking_code)} \u201c{title}\u201d"


def notify_bounced(
    case_id: int,
    event_id: int,
    tracking_code: str,
    title: str,
    region_code: str,
    at: datetime,
    now: datetime,
) -> None:
    """A bounced case goes to the camat office's managers for a decision."""
    from coord.services.sla_calendars import camat_office_for_region

    office = camat_office_for_region(region_code)
    if office is None:
        return
    directory = Directory([office.id])
    insert_notifications(
        notification_rows(
            directory,
            event_id=event_id,
            case_id=case_id,
            kind="case.bounced",
            at=at,
            now=now,
            subject=f"Kasus berpindah-pindah unit: {case_label(tracking_code, title)}",
            body=(
                "Kasus ini sudah berpindah pemilik beberapa kali dan menunggu keputusan pimpinan "
                "(tetapkan unit pemilik)."
            ),
            recipients=[Recipients(office.id, (Role.MANAGER.value,))],
        )
    )


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
                .where(
                    Notification.emailed_at.is_(None),
                    Notification.email_wanted.is_(True),
                    Notification.deliver_after <= now,
                )
                .order_by(Notification.deliver_after, Notification.id)
                .limit(batch)
                .with_for_update(of=Notification, skip_locked=True)
            ).all()
            if not claimed:
                return sent
            messages = [(n.id, _message(n, email)) for n, email in claimed if email]
            _send(messages)
            ids = [n.id for n, _ in claimed]
            db.session.execute(
                update(Notification).where(Notification.id.in_(ids)).values(emailed_at=now)
            )
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
    with smtplib.SMTP(
        config["COORD_SMTP_HOST"], int(config.get("COORD_SMTP_PORT", 25)), timeout=10
    ) as smtp:
        if config.get("COORD_SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("COORD_SMTP_USER"):
            smtp.login(config["COORD_SMTP_USER"], config.get("COORD_SMTP_PASSWORD", ""))
        for _, message in messages:
            smtp.send_message(message)


# -- SLA fan-out: after the sweep's commit, in a job of its own ------------------------------


def notify_sla_events(event_ids: Sequence[int], now: datetime) -> int:
    """Write the notifications of these SLA events; returns how many events were handled.

    The sweep records the events and enqueues this (``workers.notifications.
    notify_sla_events``) after its commit, so the sweep's transaction does not carry the
    notification rows. Idempotent: the unique ``(user_id, event_id)`` on notifications makes
    a second run (a retried job, the safety net, a racing copy) insert nothing new. Ids of
    other event types or of events that no longer exist are ignored.

    Who: warnings go to the people who work the item (the receiving unit's liaisons and
    managers for a handoff, else the owner unit's staff and liaisons); a breach also goes to
    the managers of the camat office of the case's kecamatan. When: ``deliver_after`` is the
    recipient unit's next working minute at or after the event's instant.
    """
    if not event_ids:
        return 0
    rows = db.session.execute(
        select(
            CaseEvent.id,
            CaseEvent.type,
            CaseEvent.at,
            CaseEvent.case_id,
            CaseEvent.handoff_id,
            CaseEvent.changes,
            Case.tracking_code,
            Case.title,
            Case.owner_unit_id,
            Case.region_code,
            Handoff.to_unit_id,
        )
        .join(Case, Case.id == CaseEvent.case_id)
        .outerjoin(Handoff, Handoff.id == CaseEvent.handoff_id)
        .where(CaseEvent.id.in_(sorted(set(event_ids))), CaseEvent.type.in_(SLA_NOTIFIED_TYPES))
        .order_by(CaseEvent.id)
    ).all()
    if not rows:
        return 0
    offices = {
        region: (unit_id, code)
        for unit_id, code, region in db.session.execute(
            select(Unit.id, Unit.code, Unit.region_code).where(
                Unit.kind == UnitKind.CAMAT_OFFICE.value
            )
        )
    }

    def office_of(region_code: str) -> int | None:
        found = offices.get(".".join(region_code.split(".")[:3]))
        return found[0] if found else None

    unit_ids: set[int] = set()
    for r in rows:
        unit_ids.add(r.to_unit_id if r.handoff_id is not None and r.to_unit_id else r.owner_unit_id)
        office = office_of(r.region_code)
        if office is not None:
            unit_ids.add(office)
    directory = Directory(unit_ids)
    email_on = bool(current_app.config.get("COORD_SMTP_HOST"))
    # Per-batch caches: many events share an instant, a unit and a due time.
    deliver_cache: dict[tuple[int, datetime], datetime] = {}
    users_cache: dict[Recipients, set[int]] = {}
    due_text: dict[str, str] = {}

    notifications: list[dict[str, object]] = []
    for r in rows:
        changes = r.changes or {}
        label = case_label(r.tracking_code, r.title)
        clock = str(changes.get("clock"))
        what = CLOCK_LABEL.get(clock, clock)
        raw_due = changes.get("due_at") or ""
        due = due_text.get(raw_due)
        if due is None:
            due = due_text[raw_due] = (
                local_text(datetime.fromisoformat(raw_due)) if raw_due else "-"
            )
        if r.handoff_id is not None and r.to_unit_id is not None:
            workers = Recipients(r.to_unit_id, (Role.LIAISON.value, Role.MANAGER.value))
        else:
            workers = Recipients(r.owner_unit_id, STAFF_ROLES)
        recipients = [workers]
        if r.type == "sla.warning":
            threshold = changes.get("threshold")
            subject = f"Peringatan SLA {threshold}%: {label}"
            body = (
                f"Waktu {what} untuk kasus {label} sudah terpakai {threshold}%. Batas waktu: {due}."
            )
        else:
            office = office_of(r.region_code)
            if office is not None:
                recipients.append(Recipients(office, (Role.MANAGER.value,)))
            subject = f"Pelanggaran SLA: {label}"
            body = (
                f"Batas waktu {what} untuk kasus {label} terlewati pada {due}. "
                "Kasus ini dieskalasi ke pimpinan kecamatan."
            )
        seen: set[int] = set()
        for who in recipients:
            deliver = deliver_cache.get((who.unit_id, r.at))
            if deliver is None:
                deliver = deliver_cache[(who.unit_id, r.at)] = directory.deliver_after(
                    who.unit_id, r.at
                )
            users = users_cache.get(who)
            if users is None:
                users = users_cache[who] = directory.users(who)
            for user_id in sorted(users - seen):
                seen.add(user_id)
                notifications.append(
                    {
                        "user_id": user_id,
                        "case_id": r.case_id,
                        "event_id": r.id,
                        "kind": r.type,
                        "subject": subject,
                        "body": body,
                        "created_at": now,
                        "deliver_after": deliver,
                        "email_wanted": email_on and bool(directory.emails.get(user_id)),
                    }
                )
    insert_ignoring_duplicates(Notification.__table__, notifications, ("user_id", "event_id"))
    return len(rows)


def notify_recent_sla_events(
    now: datetime, lookback: timedelta = SLA_NOTIFY_LOOKBACK, batch: int = 2000
) -> int:
    """Safety net for the fan-out job: notify every SLA event of the last ``lookback`` (by
    event instant) again; returns how many events it looked at.

    The sweep enqueues ``notify_sla_events`` after its commit, and when Redis refuses the job
    it fans out itself right away (coord.services.sla_sweep). What is left is a job lost
    later (the worker killed between commit and enqueue, Redis flushed before the job ran).
    This periodic job (workers/cron.py) repairs that: it runs ``notify_sla_events`` over the
    SLA events whose instant is within ``lookback`` of ``now``, and the unique
    ``(user_id, event_id)`` key skips every notification that exists already.

    Cost: the events are found through ``ix_case_events_type_at`` (type, at), and each
    candidate notification costs one probe of the unique index, so a run costs the SLA events
    of the last ``lookback`` hours, not the history. There is no index on
    ``notifications.event_id`` to find "events without notifications" directly, and an
    anti-join would scan every notification. Limit: an event recorded more than ``lookback``
    after its instant (a sweep backlog) whose job is then lost is not repaired.
    """
    since = now - lookback
    total = 0
    last_id = 0
    while True:
        ids = (
            db.session.execute(
                select(CaseEvent.id)
                .where(
                    CaseEvent.type.in_(SLA_NOTIFIED_TYPES),
                    CaseEvent.at >= since,
                    CaseEvent.at <= now,
                    CaseEvent.id > last_id,
                )
                .order_by(CaseEvent.id)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not ids:
            return total
        with unit_of_work():
            total += notify_sla_events(ids, now)
        last_id = ids[-1]
        if len(ids) < batch:
            return total

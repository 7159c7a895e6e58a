"""The SLA sweep: fire every warning and breach whose instant has passed, exactly once.

Due clocks are found through the partial index on ``next_threshold_at`` and claimed with
``FOR UPDATE SKIP LOCKED`` (PostgreSQL), so any number of sweeps can run side by side and the
cost follows the number of due items, not the number of open cases. Each fired threshold
writes an ``SlaAlert`` (unique per clock and threshold: the exactly-once guarantee), the
case event at the threshold's exact instant, the notifications and the webhook outbox rows,
all in the batch's one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from coord.extensions import db
from coord.models import (
    Case,
    CaseEvent,
    ClockName,
    ClockState,
    Handoff,
    Role,
    SlaAlert,
    SlaClock,
    Unit,
    UnitKind,
    Visibility,
)
from coord.services.cases import touch
from coord.services.errors import Conflict
from coord.services.events import PublishedEvent, publish
from coord.services.notifications import (
    Directory,
    Recipients,
    case_label,
    insert_notifications,
    local_text,
    notification_rows,
)
from coord.services.sla import schedule_next
from coord.services.uow import unit_of_work

log = logging.getLogger(__name__)

CLOCK_LABEL = {
    ClockName.RESPONSE.value: "respons pertama",
    ClockName.RESOLUTION.value: "penyelesaian",
    ClockName.HANDOFF_ACK.value: "tanggapan disposisi",
}
STAFF_ROLES = (Role.STAFF.value, Role.LIAISON.value)


@dataclass
class _Fired:
    clock: SlaClock
    case: Case
    handoff: Handoff | None
    threshold: int
    instant: datetime


def sweep(now: datetime, batch_size: int = 1000) -> int:
    """Fire everything due at ``now``; returns the number of thresholds fired."""
    total = 0
    while True:
        try:
            with unit_of_work():
                claimed, fired = _sweep_batch(now, batch_size)
        except Conflict:
            # Another sweep fired the same thresholds first (SQLite has no SKIP LOCKED):
            # its work stands; look again for what is still due.
            log.info("sla sweep lost a race; retrying")
            continue
        total += fired
        if claimed < batch_size:
            return total


def _claim(now: datetime, batch_size: int) -> list[SlaClock]:
    return list(db.session.execute(
        select(SlaClock)
        .where(SlaClock.next_threshold_at.is_not(None), SlaClock.next_threshold_at <= now)
        .order_by(SlaClock.next_threshold_at)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    ).scalars())


def _sweep_batch(now: datetime, batch_size: int) -> tuple[int, int]:
    clocks = _claim(now, batch_size)
    if not clocks:
        return 0, 0
    # Lock the cases too, skipping any a user is changing right now (their clocks wait for
    # the next sweep). Never waiting here is what keeps the sweep free of deadlocks with
    # commands, which lock the case first and its clocks second.
    cases = {c.id: c for c in db.session.execute(
        select(Case).where(Case.id.in_({c.case_id for c in clocks}))
        .with_for_update(of=Case, skip_locked=True)).unique().scalars()}
    clocks = [c for c in clocks if c.case_id in cases]
    handoff_ids = {c.handoff_id for c in clocks if c.handoff_id is not None}
    handoffs = {h.id: h for h in db.session.execute(
        select(Handoff).where(Handoff.id.in_(handoff_ids))).unique().scalars()} if handoff_ids else {}

    fired: list[_Fired] = []
    for clock in clocks:
        while clock.next_threshold is not None and clock.next_threshold_at is not None \
                and clock.next_threshold_at <= now:
            threshold, instant = clock.next_threshold, clock.next_threshold_at
            fired.append(_Fired(clock, cases[clock.case_id],
                                handoffs.get(clock.handoff_id) if clock.handoff_id else None,
                                threshold, instant))
            if threshold >= 100:
                clock.state = ClockState.BREACHED.value
                clock.breached_at = instant
            schedule_next(clock, threshold)
    if not fired:
        return len(clocks), 0

    db.session.execute(insert(SlaAlert), [
        {"clock_id": f.clock.id, "threshold": f.threshold, "fired_at": now, "due_instant": f.instant}
        for f in fired
    ])
    _mark_breaches(fired, now)
    db.session.flush()
    _write_events_and_notifications(fired, now)
    return len(clocks), len(fired)


def _mark_breaches(fired: list[_Fired], now: datetime) -> None:
    for f in fired:
        if f.threshold < 100:
            continue
        if f.handoff is not None:
            f.handoff.breached = True
        elif not f.case.breached:
            f.case.breached = True
            touch(f.case, now)


def _camat_offices() -> dict[str, Unit]:
    return {u.region_code: u for u in db.session.execute(
        select(Unit).where(Unit.kind == UnitKind.CAMAT_OFFICE.value)).scalars()}


def _office_for(offices: dict[str, Unit], region_code: str) -> Unit | None:
    return offices.get(".".join(region_code.split(".")[:3]))


def _write_events_and_notifications(fired: list[_Fired], now: datetime) -> None:
    offices = _camat_offices()
    event_rows: list[dict[str, Any]] = []
    meta: list[tuple[_Fired, str]] = []
    for f in fired:
        office = _office_for(offices, f.case.region_code)
        changes = {
            "clock": f.clock.name, "threshold": f.threshold, "due_at": f.clock.due_at.isoformat(),
            "handoff_id": f.clock.handoff_id,
        }
        kinds = ["sla.warning"] if f.threshold < 100 else ["sla.breached", "case.escalated"]
        for kind in kinds:
            data = dict(changes)
            if kind == "case.escalated":
                data["escalated_to"] = office.code if office else None
            event_rows.append({
                "case_id": f.case.id, "handoff_id": f.clock.handoff_id, "type": kind, "at": f.instant,
                "actor_user_id": None, "actor_unit_id": None, "actor_label": "sistem SLA",
                "visibility": Visibility.INTERNAL.value, "case_version": f.case.version,
                "body": None, "changes": data,
            })
            meta.append((f, kind))
    ids = db.session.execute(
        insert(CaseEvent).returning(CaseEvent.id, sort_by_parameter_order=True), event_rows
    ).scalars().all()

    unit_ids: set[int] = set()
    for f, _ in meta:
        unit_ids.add(f.case.owner_unit_id)
        if f.handoff is not None:
            unit_ids.add(f.handoff.to_unit_id)
        office = _office_for(offices, f.case.region_code)
        if office is not None:
            unit_ids.add(office.id)
    directory = Directory(unit_ids)

    notifications: list[dict[str, object]] = []
    published: list[PublishedEvent] = []
    for event_id, (f, kind) in zip(ids, meta, strict=True):
        published.append(PublishedEvent(
            event_id=event_id, type=kind, at=f.instant, case_id=f.case.id,
            tracking_code=f.case.tracking_code, case_version=f.case.version,
            owner_unit_id=f.case.owner_unit_id, region_code=f.case.region_code,
            handoff_id=f.clock.handoff_id,
            handoff_from_unit_id=f.handoff.from_unit_id if f.handoff else None,
            handoff_to_unit_id=f.handoff.to_unit_id if f.handoff else None,
            details={"clock": f.clock.name, "threshold": f.threshold},
        ))
        if kind == "case.escalated":
            continue  # the sla.breached notification already tells the managers
        notifications.extend(_notifications_for(directory, offices, f, kind, event_id, now))
    insert_notifications(notifications)
    publish(published)


def _notifications_for(directory: Directory, offices: dict[str, Unit], f: _Fired, kind: str,
                       event_id: int, now: datetime) -> list[dict[str, object]]:
    label = case_label(f.case.tracking_code, f.case.title)
    what = CLOCK_LABEL[f.clock.name]
    due = local_text(f.clock.due_at)
    # Who works the item: the assisting/receiving unit's liaisons for a handoff, else the owner.
    if f.handoff is not None:
        workers = Recipients(f.handoff.to_unit_id, (Role.LIAISON.value, Role.MANAGER.value))
    else:
        workers = Recipients(f.case.owner_unit_id, STAFF_ROLES)
    if kind == "sla.warning":
        return notification_rows(
            directory, event_id=event_id, case_id=f.case.id, kind=kind, at=f.instant, now=now,
            subject=f"Peringatan SLA {f.threshold}%: {label}",
            body=(f"Waktu {what} untuk kasus {label} sudah terpakai {f.threshold}%. "
                  f"Batas waktu: {due}."),
            recipients=[workers],
        )
    office = _office_for(offices, f.case.region_code)
    recipients = [workers]
    if office is not None:
        recipients.append(Recipients(office.id, (Role.MANAGER.value,)))
    return notification_rows(
        directory, event_id=event_id, case_id=f.case.id, kind=kind, at=f.instant, now=now,
        subject=f"Pelanggaran SLA: {label}",
        body=(f"Batas waktu {what} untuk kasus {label} terlewati pada {due}. "
              "Kasus ini dieskalasi ke pimpinan kecamatan."),
        recipients=recipients,
    )

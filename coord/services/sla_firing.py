"""Firing SLA thresholds, one rule for the sweep (``coord.services.sla_sweep``) and for
commands: ``advance`` moves running clocks past every threshold whose instant has passed,
``insert_alerts`` writes the exactly-once ``SlaAlert`` rows, ``write_events`` the case events
at the thresholds' instants (published to the webhook outbox), and ``notify_after_commit``
enqueues the notification job after the commit, writing the notifications itself if Redis
refuses it.

A command that changes a clock whose threshold passed before any sweep fired it (a late first
response during a worker outage, a case received weeks before entry) records it first with
``record_passed_thresholds``: the same firing (``advance``), alerts, events, escalation and
notification job (with the same fallback when Redis refuses it) as the sweep, on the ORM
objects the command holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from coord import jobs
from coord.domain.calendar import WorkingCalendar
from coord.extensions import db
from coord.models import (
    Case,
    CaseEvent,
    ClockState,
    Handoff,
    SlaAlert,
    SlaClock,
    Unit,
    UnitKind,
    Visibility,
)
from coord.services.bulk import bulk_insert
from coord.services.events import PublishedEvent, publish
from coord.services.notifications import SLA_NOTIFIED_TYPES, notify_sla_events
from coord.services.sla_calendars import calendar_of
from coord.services.sla_schedule import next_threshold_after, threshold_percents
from coord.services.uow import after_commit, unit_of_work


@dataclass(slots=True)
class DueClock:
    id: int
    case_id: int
    handoff_id: int | None
    name: str
    calendar: WorkingCalendar
    started_at: datetime
    target_minutes: int
    percents: list[int]
    due_at: datetime
    state: str
    next_threshold: int | None
    next_threshold_at: datetime | None
    breached_at: datetime | None = None


@dataclass(slots=True)
class CaseRow:
    id: int
    tracking_code: str
    region_code: str
    owner_unit_id: int
    version: int
    breached: bool


@dataclass(slots=True)
class HandoffRow:
    id: int
    from_unit_id: int
    to_unit_id: int
    breached: bool


@dataclass(slots=True)
class Fired:
    clock: DueClock
    case: CaseRow
    handoff: HandoffRow | None
    threshold: int
    instant: datetime


def advance(
    clocks: list[DueClock],
    cases: dict[int, CaseRow],
    handoffs: dict[int, HandoffRow],
    now: datetime,
    *,
    before: bool = False,
) -> tuple[list[Fired], list[DueClock]]:
    """Fire, on these running clocks, every threshold whose instant is at or before ``now``
    (strictly before with ``before``), each at its own instant; returns what fired and the
    clocks moved on (their next threshold, or breached)."""
    fired: list[Fired] = []
    changed: list[DueClock] = []
    for clock in clocks:
        if clock.state != ClockState.RUNNING.value:
            continue  # not reachable (only running clocks have an instant); never fire one
        moved = False
        while (
            clock.next_threshold is not None
            and clock.next_threshold_at is not None
            and (clock.next_threshold_at < now if before else clock.next_threshold_at <= now)
        ):
            threshold, instant = clock.next_threshold, clock.next_threshold_at
            fired.append(
                Fired(
                    clock,
                    cases[clock.case_id],
                    handoffs.get(clock.handoff_id) if clock.handoff_id else None,
                    threshold,
                    instant,
                )
            )
            moved = True
            if threshold >= 100:
                clock.state = ClockState.BREACHED.value
                clock.breached_at = instant
                clock.next_threshold = clock.next_threshold_at = None
            else:
                clock.next_threshold, clock.next_threshold_at = next_threshold_after(
                    clock.calendar,
                    target_minutes=clock.target_minutes,
                    percents=clock.percents,
                    after=threshold,
                    after_at=instant,
                )
        if moved:
            changed.append(clock)
    return fired, changed


def insert_alerts(fired: list[Fired], now: datetime) -> None:
    """The exactly-once guard, written first: a duplicate (clock, threshold) raises and the
    transaction rolls back."""
    bulk_insert(
        SlaAlert.__table__,
        [
            {
                "clock_id": f.clock.id,
                "threshold": f.threshold,
                "fired_at": now,
                "due_instant": f.instant,
            }
            for f in fired
        ],
    )


def record_passed_thresholds(
    case: Case, clocks: Sequence[SlaClock], now: datetime, *, reached_now: bool = False
) -> None:
    """Record the thresholds of these running clocks of ``case`` whose instants passed before
    ``now`` (with ``reached_now``: at ``now`` too) and that no sweep fired, exactly as the
    sweep would: an ``SlaAlert`` each, the
    ``sla.warning`` / ``sla.breached`` and ``case.escalated`` events at the thresholds'
    instants (published to the webhook outbox), the clock breached at its due instant, the
    case (or handoff) marked breached, and the notification job enqueued after the commit.

    For commands (``coord.services.sla.catch_up``), which hold the case locked and go on
    changing these ORM objects: the changes are made on them, not with Core updates. A
    breach is a change of the case like ``coord.services.case_records.touch`` makes.
    """
    from coord.services.case_records import touch

    work = {
        c.id: DueClock(
            c.id,
            c.case_id,
            c.handoff_id,
            c.name,
            calendar_of(c.calendar),
            c.started_at,
            c.target_minutes,
            threshold_percents(c.warning_percents),
            c.due_at,
            c.state,
            c.next_threshold,
            c.next_threshold_at,
        )
        for c in clocks
    }
    handoff_rows = {
        c.handoff_id: db.session.get(Handoff, c.handoff_id)
        for c in clocks
        if c.handoff_id is not None
    }
    handoffs = {
        h.id: HandoffRow(h.id, h.from_unit_id, h.to_unit_id, h.breached)
        for h in handoff_rows.values()
        if h is not None
    }
    row = CaseRow(
        case.id,
        case.tracking_code,
        case.region_code,
        case.owner_unit_id,
        case.version,
        case.breached,
    )
    fired, changed = advance(
        list(work.values()), {case.id: row}, handoffs, now, before=not reached_now
    )
    if not fired:
        return
    insert_alerts(fired, now)
    by_id = {c.id: c for c in clocks}
    for moved in changed:
        clock = by_id[moved.id]
        clock.state = moved.state
        clock.breached_at = moved.breached_at
        clock.next_threshold = moved.next_threshold
        clock.next_threshold_at = moved.next_threshold_at
    if any(f.threshold >= 100 and f.handoff is None for f in fired) and not case.breached:
        case.breached = True
        touch(case, now)
    for f in fired:
        if f.threshold >= 100 and f.handoff is not None:
            handoff = handoff_rows[f.handoff.id]
            if handoff is not None and not handoff.breached:
                handoff.breached = True
    row.version = case.version
    event_ids = write_events(fired)
    after_commit(lambda: notify_after_commit(event_ids, now))


def notify_after_commit(event_ids: list[int], now: datetime) -> None:
    """After the commit of a sweep's batch or of a command: the notification job. If Redis
    refuses it, the notifications are written at once, in a transaction of their own, so that
    nobody waits for the safety net (which looks back only hours, and a command's events may
    be weeks old). The session is finishing its commit: a fresh app context gives a session
    of its own."""
    if jobs.enqueue(jobs.NOTIFY_SLA_EVENTS, event_ids):
        return
    with current_app.app_context(), unit_of_work():
        notify_sla_events(event_ids, now)


def camat_offices() -> dict[str, str]:
    """Camat office code by the office's region code (its kecamatan)."""
    return {
        region: code
        for code, region in db.session.execute(
            select(Unit.code, Unit.region_code).where(Unit.kind == UnitKind.CAMAT_OFFICE.value)
        )
    }


def write_events(fired: list[Fired]) -> list[int]:
    """The case events at the thresholds' instants, published to the subscribers (the
    webhook outbox) in this transaction; returns the ids of the events that notify people."""
    offices = camat_offices()
    event_rows: list[dict[str, Any]] = []
    meta: list[tuple[Fired, str]] = []
    for f in fired:
        changes = {
            "clock": f.clock.name,
            "threshold": f.threshold,
            "due_at": f.clock.due_at.isoformat(),
            "handoff_id": f.clock.handoff_id,
        }
        kinds = ("sla.warning",) if f.threshold < 100 else ("sla.breached", "case.escalated")
        for kind in kinds:
            data = dict(changes)
            if kind == "case.escalated":
                data["escalated_to"] = offices.get(".".join(f.case.region_code.split(".")[:3]))
            event_rows.append(
                {
                    "case_id": f.case.id,
                    "handoff_id": f.clock.handoff_id,
                    "type": kind,
                    "at": f.instant,
                    "actor_user_id": None,
                    "actor_unit_id": None,
                    "actor_label": "sistem SLA",
                    "visibility": Visibility.INTERNAL.value,
                    "case_version": f.case.version,
                    "body": None,
                    "changes": data,
                }
            )
            meta.append((f, kind))
    ids = bulk_insert(CaseEvent.__table__, event_rows, return_ids=True)

    published: list[PublishedEvent] = []
    for event_id, (f, kind) in zip(ids, meta, strict=True):
        published.append(
            PublishedEvent(
                event_id=event_id,
                type=kind,
                at=f.instant,
                case_id=f.case.id,
                tracking_code=f.case.tracking_code,
                case_version=f.case.version,
                owner_unit_id=f.case.owner_unit_id,
                region_code=f.case.region_code,
                handoff_id=f.clock.handoff_id,
                handoff_from_unit_id=f.handoff.from_unit_id if f.handoff else None,
                handoff_to_unit_id=f.handoff.to_unit_id if f.handoff else None,
                details={"clock": f.clock.name, "threshold": f.threshold},
            )
        )
    publish(published)
    return [
        event_id
        for event_id, (_, kind) in zip(ids, meta, strict=True)
        if kind in SLA_NOTIFIED_TYPES
    ]

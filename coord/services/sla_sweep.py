"""The SLA sweep: fire every warning and breach whose instant has passed, exactly once.

Due clocks are found through the partial index on ``next_threshold_at`` and claimed with
``FOR UPDATE SKIP LOCKED`` (PostgreSQL), so any number of sweeps can run side by side and the
cost follows the number of due items, not the number of open cases. Each fired threshold
writes an ``SlaAlert`` (unique per clock and threshold: the exactly-once guarantee) and the
case event at the threshold's exact instant; the webhook outbox rows are written by the event
subscribers, all in the batch's one transaction.

The work is set-based, a fixed number of statements per batch of ``batch_size`` clocks
(docs/performance-sla.md): Core rows of the needed columns instead of ORM objects, one
``UPDATE`` for the clocks, one for the breached cases and one for the breached handoffs, and
bulk inserts (``COPY`` on PostgreSQL) for alerts and events (coord.services.bulk).

Notifications are written after the commit by the job ``jobs.NOTIFY_SLA_EVENTS`` (enqueued
with the batch's event ids); if Redis refuses the job, the sweep writes them itself right
after the batch commits (``_enqueue_or_notify``, as for a command), and ``notify_recent_sla_events`` (workers/cron.py) repairs a job
lost later. ``notify="inline"`` writes them in the sweep's own transaction instead.

A command that changes a clock whose threshold passed before any sweep fired it (a late first
response during a worker outage, a case received weeks before entry) records it first with
``record_passed_thresholds``: the same firing (``_advance``), alerts, events, escalation and
notification job (with the same fallback when Redis refuses it) as the sweep, on the ORM
objects the command holds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from flask import current_app
from sqlalchemy import Text, cast, select, update

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
from coord.services.bulk import bulk_insert, id_in, update_rows
from coord.services.errors import Conflict
from coord.services.events import PublishedEvent, publish
from coord.services.notifications import (  # noqa: F401 - CLOCK_LABEL, STAFF_ROLES re-exported
    CLOCK_LABEL,
    SLA_NOTIFIED_TYPES,
    STAFF_ROLES,
    notify_sla_events,
)
from coord.services.sla import (
    calendar_from_text,
    calendar_of,
    next_threshold_after,
    threshold_percents,
)
from coord.services.uow import TOUCHED_KEY, after_commit, unit_of_work

log = logging.getLogger(__name__)

_clocks = SlaClock.__table__
_cases = Case.__table__
_handoffs = Handoff.__table__


@dataclass(slots=True)
class _Clock:
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
class _Case:
    id: int
    tracking_code: str
    region_code: str
    owner_unit_id: int
    version: int
    breached: bool


@dataclass(slots=True)
class _Handoff:
    id: int
    from_unit_id: int
    to_unit_id: int
    breached: bool


@dataclass(slots=True)
class _Fired:
    clock: _Clock
    case: _Case
    handoff: _Handoff | None
    threshold: int
    instant: datetime


def sweep(
    now: datetime, batch_size: int = 1000, *, notify: Literal["job", "inline"] = "job"
) -> int:
    """Fire everything due at ``now``; returns the number of thresholds fired.

    ``notify="job"`` (the default) leaves the notifications to a job enqueued after each
    batch commits; ``"inline"`` writes them in the batch's transaction.
    """
    total = 0
    while True:
        try:
            with unit_of_work():
                claimed, fired = _sweep_batch(now, batch_size, notify)
        except Conflict:
            # Another sweep fired the same thresholds first (SQLite has no SKIP LOCKED):
            # its work stands; look again for what is still due.
            log.info("sla sweep lost a race; retrying")
            continue
        total += fired
        if claimed < batch_size:
            return total


def _claim(now: datetime, batch_size: int) -> list[Any]:
    c = _clocks.c
    return list(
        db.session.execute(
            select(
                c.id,
                c.case_id,
                c.handoff_id,
                c.name,
                cast(c.calendar, Text).label("calendar"),
                c.started_at,
                c.target_minutes,
                c.warning_percents,
                c.due_at,
                c.state,
                c.next_threshold,
                c.next_threshold_at,
            )
            .where(c.next_threshold_at.is_not(None), c.next_threshold_at <= now)
            .order_by(c.next_threshold_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
    )


def _lock_cases(case_ids: set[int]) -> dict[int, _Case]:
    # Skip any case a user is changing right now (its clocks wait for the next sweep). Never
    # waiting here is what keeps the sweep free of deadlocks with commands, which lock the
    # case first and its clocks second. FOR NO KEY UPDATE: the sweep changes no key, so
    # concurrent inserts referencing the case (their KEY SHARE locks) are not blocked.
    c = _cases.c
    return {
        r.id: _Case(**r._mapping)
        for r in db.session.execute(
            select(c.id, c.tracking_code, c.region_code, c.owner_unit_id, c.version, c.breached)
            .where(id_in(c.id, sorted(case_ids)))
            .with_for_update(skip_locked=True, key_share=True)
        )
    }


def _sweep_batch(now: datetime, batch_size: int, notify: str) -> tuple[int, int]:
    rows = _claim(now, batch_size)
    if not rows:
        return 0, 0
    cases = _lock_cases({r.case_id for r in rows})
    clocks = [
        _Clock(
            r.id,
            r.case_id,
            r.handoff_id,
            r.name,
            calendar_from_text(r.calendar),
            r.started_at,
            r.target_minutes,
            threshold_percents(r.warning_percents),
            r.due_at,
            r.state,
            r.next_threshold,
            r.next_threshold_at,
        )
        for r in rows
        if r.case_id in cases
    ]
    handoff_ids = sorted({c.handoff_id for c in clocks if c.handoff_id is not None})
    h = _handoffs.c
    handoffs = (
        {
            r.id: _Handoff(**r._mapping)
            for r in db.session.execute(
                select(h.id, h.from_unit_id, h.to_unit_id, h.breached).where(
                    id_in(h.id, handoff_ids)
                )
            )
        }
        if handoff_ids
        else {}
    )

    fired, changed = _advance(clocks, cases, handoffs, now)
    if not fired:
        return len(rows), 0

    _insert_alerts(fired, now)
    update_rows(
        _clocks,
        [
            {
                "id": c.id,
                "state": c.state,
                "breached_at": c.breached_at,
                "next_threshold": c.next_threshold,
                "next_threshold_at": c.next_threshold_at,
            }
            for c in changed
        ],
    )
    _mark_breaches(fired, now)
    event_ids = _write_events(fired)
    if notify == "inline":
        notify_sla_events(event_ids, now)
    else:
        after_commit(lambda: _enqueue_or_notify(event_ids, now))
    return len(rows), len(fired)


def _advance(
    clocks: list[_Clock],
    cases: dict[int, _Case],
    handoffs: dict[int, _Handoff],
    now: datetime,
    *,
    before: bool = False,
) -> tuple[list[_Fired], list[_Clock]]:
    """Fire, on these running clocks, every threshold whose instant is at or before ``now``
    (strictly before with ``before``), each at its own instant; returns what fired and the
    clocks moved on (their next threshold, or breached)."""
    fired: list[_Fired] = []
    changed: list[_Clock] = []
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
                _Fired(
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


def _insert_alerts(fired: list[_Fired], now: datetime) -> None:
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
        c.id: _Clock(
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
        h.id: _Handoff(h.id, h.from_unit_id, h.to_unit_id, h.breached)
        for h in handoff_rows.values()
        if h is not None
    }
    row = _Case(
        case.id,
        case.tracking_code,
        case.region_code,
        case.owner_unit_id,
        case.version,
        case.breached,
    )
    fired, changed = _advance(
        list(work.values()), {case.id: row}, handoffs, now, before=not reached_now
    )
    if not fired:
        return
    _insert_alerts(fired, now)
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
    event_ids = _write_events(fired)
    after_commit(lambda: _enqueue_or_notify(event_ids, now))


def _enqueue_or_notify(event_ids: list[int], now: datetime) -> None:
    """After the commit of a sweep's batch or of a command: the notification job. If Redis
    refuses it, the notifications are written at once, in a transaction of their own, so that
    nobody waits for the safety net (which looks back only hours, and a command's events may
    be weeks old). The session is finishing its commit: a fresh app context gives a session
    of its own."""
    if jobs.enqueue(jobs.NOTIFY_SLA_EVENTS, event_ids):
        return
    with current_app.app_context(), unit_of_work():
        notify_sla_events(event_ids, now)


def _mark_breaches(fired: list[_Fired], now: datetime) -> None:
    """A breach marks the case (or handoff) breached for good. For a case this is a change
    like ``coord.services.case_records.touch`` makes: ``updated_at`` and one version bump."""
    case_ids = {
        f.case.id for f in fired if f.threshold >= 100 and f.handoff is None and not f.case.breached
    }
    if case_ids:
        c = _cases.c
        db.session.execute(
            update(_cases)
            .where(id_in(c.id, sorted(case_ids)), c.breached.is_(False))
            .values(breached=True, version=c.version + 1, updated_at=now)
        )
        touched: set[int] = db.session.info.setdefault(TOUCHED_KEY, set())
        for f in fired:
            if f.case.id in case_ids and not f.case.breached:
                f.case.breached = True
                f.case.version += 1
        touched.update(case_ids)
    handoff_ids = {
        f.handoff.id
        for f in fired
        if f.threshold >= 100 and f.handoff is not None and not f.handoff.breached
    }
    if handoff_ids:
        h = _handoffs.c
        db.session.execute(
            update(_handoffs)
            .where(id_in(h.id, sorted(handoff_ids)), h.breached.is_(False))
            .values(breached=True, version=h.version + 1)
        )
        for f in fired:
            if f.handoff is not None and f.handoff.id in handoff_ids:
                f.handoff.breached = True


def _camat_offices() -> dict[str, str]:
    """Camat office code by the office's region code (its kecamatan)."""
    return {
        region: code
        for code, region in db.session.execute(
            select(Unit.code, Unit.region_code).where(Unit.kind == UnitKind.CAMAT_OFFICE.value)
        )
    }


def _write_events(fired: list[_Fired]) -> list[int]:
    """The case events at the thresholds' instants, published to the subscribers (the
    webhook outbox) in this transaction; returns the ids of the events that notify people."""
    offices = _camat_offices()
    event_rows: list[dict[str, Any]] = []
    meta: list[tuple[_Fired, str]] = []
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

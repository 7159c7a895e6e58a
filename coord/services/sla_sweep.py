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
after the batch commits (``sla_firing.notify_after_commit``, as for a command), and
``notify_recent_sla_events`` (workers/cron.py) repairs a job lost later. ``notify="inline"`` writes them in the sweep's own transaction instead.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Text, cast, select, update

from coord.extensions import db
from coord.models import Case, Handoff, SlaClock
from coord.services.bulk import id_in, update_rows
from coord.services.errors import Conflict
from coord.services.notifications import notify_sla_events
from coord.services.sla_calendars import calendar_from_text
from coord.services.sla_firing import (
    CaseRow,
    DueClock,
    Fired,
    HandoffRow,
    advance,
    insert_alerts,
    notify_after_commit,
    write_events,
)
from coord.services.sla_schedule import threshold_percents
from coord.services.uow import TOUCHED_KEY, after_commit, unit_of_work

log = logging.getLogger(__name__)

_clocks = SlaClock.__table__
_cases = Case.__table__
_handoffs = Handoff.__table__


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


def _lock_cases(case_ids: set[int]) -> dict[int, CaseRow]:
    # Skip any case a user is changing right now (its clocks wait for the next sweep). Never
    # waiting here is what keeps the sweep free of deadlocks with commands, which lock the
    # case first and its clocks second. FOR NO KEY UPDATE: the sweep changes no key, so
    # concurrent inserts referencing the case (their KEY SHARE locks) are not blocked.
    c = _cases.c
    return {
        r.id: CaseRow(**r._mapping)
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
        DueClock(
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
            r.id: HandoffRow(**r._mapping)
            for r in db.session.execute(
                select(h.id, h.from_unit_id, h.to_unit_id, h.breached).where(
                    id_in(h.id, handoff_ids)
                )
            )
        }
        if handoff_ids
        else {}
    )

    fired, changed = advance(clocks, cases, handoffs, now)
    if not fired:
        return len(rows), 0

    insert_alerts(fired, now)
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
    event_ids = write_events(fired)
    if notify == "inline":
        notify_sla_events(event_ids, now)
    else:
        after_commit(lambda: notify_after_commit(event_ids, now))
    return len(rows), len(fired)


def _mark_breaches(fired: list[Fired], now: datetime) -> None:
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

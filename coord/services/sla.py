"""SLA clocks on cases and handoffs (DESIGN.md section 5).

Each deadline is an ``SlaClock`` row. A clock counts working time on its calendar from
``started_at``; a hold moves ``due_at`` later by exactly the working time held (to the
microsecond). Threshold *p* (a warning percent or 100 for the breach) therefore falls due at
``add(started_at, target * p / 100 + held)``, where ``held`` is the working time from the
start to ``due_at`` beyond the target (``held_time``): the instant stored in
``next_threshold_at`` for the sweep. ``paused_minutes`` shows the time held in whole minutes,
rounded down, and is never read back to count a deadline.

A threshold whose instant passed before any sweep fired it (a letter entered weeks after it
was received; a clock closed late during a worker outage) is recorded by the command that
changes the clock, through the sweep's own code (``catch_up``), before the clock changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from coord.domain.calendar import ALWAYS_OPEN
from coord.domain.calendar_config import calendar_to_config
from coord.extensions import db
from coord.models import (
    Case,
    ClockKind,
    ClockName,
    ClockState,
    Handoff,
    SlaClock,
    SlaPolicy,
    Unit,
)
from coord.services import config_cache
from coord.services.sla_calendars import (
    calendar_of,
    case_calendar_config,
    current_policy,
    unit_calendar,
)
from coord.services.sla_schedule import (
    held_time,
    refresh_due,
    schedule_next,
)

OPEN_STATES = (ClockState.RUNNING.value, ClockState.PAUSED.value)


def new_clock(
    name: ClockName,
    started_at: datetime,
    target_minutes: int,
    policy: SlaPolicy,
    calendar: dict[str, Any],
    notify_unit_id: int,
) -> SlaClock:
    """A running clock with its due time and first threshold computed (not yet added)."""
    clock = SlaClock(
        name=name.value,
        calendar=calendar,
        notify_unit_id=notify_unit_id,
        started_at=started_at,
        target_minutes=target_minutes,
        warning_percents=list(policy.warning_percents),
        paused_minutes=0,
        state=ClockState.RUNNING.value,
    )
    refresh_due(clock, timedelta(0))
    schedule_next(clock, None, timedelta(0))
    return clock


def prepare_case_clocks(case: Case) -> None:
    """Before the case is inserted: attach the current policy version, set the response and
    resolution due times and give the case its two clocks (inserted with it)."""
    # Not inserted yet: read the related rows, the foreign keys are filled at flush.
    policy = current_policy(case.category.id, case.priority)
    case.sla_policy = policy
    if policy is None:
        case.response_due_at = case.resolution_due_at = None
        case.clocks = []
        return
    calendar, office = case_calendar_config(case, policy)
    notify = office.id if office is not None else case.owner_unit.id
    response = new_clock(
        ClockName.RESPONSE, case.received_at, policy.response_minutes, policy, calendar, notify
    )
    resolution = new_clock(
        ClockName.RESOLUTION, case.received_at, policy.resolution_minutes, policy, calendar, notify
    )
    case.response_due_at = response.due_at
    case.resolution_due_at = resolution.due_at
    case.clocks = [response, resolution]


def case_clocks(case: Case) -> list[SlaClock]:
    return list(
        db.session.execute(
            select(SlaClock).where(SlaClock.case_id == case.id).order_by(SlaClock.id)
        ).scalars()
    )


def _clock(case: Case, name: ClockName, handoff_id: int | None = None) -> SlaClock | None:
    query = select(SlaClock).where(SlaClock.case_id == case.id, SlaClock.name == name.value)
    if handoff_id is not None:
        query = query.where(SlaClock.handoff_id == handoff_id)
    return db.session.execute(query).scalar_one_or_none()


def retarget_case_clocks(case: Case, now: datetime) -> None:
    """Category or priority changed: open clocks take the current policy's targets (the
    thresholds passed under the old targets are recorded first)."""
    policy = current_policy(case.category_id, case.priority)
    case.sla_policy = policy
    if policy is None:
        return
    clocks = [c for c in case_clocks(case) if c.handoff_id is None and c.state in OPEN_STATES]
    catch_up(case, clocks, now)
    for clock in clocks:
        if clock.state not in OPEN_STATES:
            continue  # breached under the old target, as if a sweep had seen it first
        held = held_time(clock)
        clock.target_minutes = (
            policy.response_minutes
            if clock.name == ClockName.RESPONSE.value
            else policy.resolution_minutes
        )
        clock.warning_percents = list(policy.warning_percents)
        refresh_due(clock, held)
        schedule_next(clock, _last_fired(clock), held)
    _mirror_due_times(case)


def _last_fired(clock: SlaClock) -> int | None:
    from coord.models import SlaAlert

    fired = db.session.execute(
        select(SlaAlert.threshold)
        .where(SlaAlert.clock_id == clock.id)
        .order_by(SlaAlert.threshold.desc())
    ).first()
    return fired[0] if fired else None


def _mirror_due_times(case: Case) -> None:
    for clock in case_clocks(case):
        if clock.name == ClockName.RESPONSE.value:
            case.response_due_at = clock.due_at
        elif clock.name == ClockName.RESOLUTION.value:
            case.resolution_due_at = clock.due_at


def start_handoff_clock(handoff: Handoff, case: Case, now: datetime) -> SlaClock | None:
    """The receiver's acknowledgement clock, on the receiver's calendar (24x7 if urgent):
    sets the handoff's due time and returns the clock, linked to the handoff, for the
    caller to insert after it (None when the case has no policy)."""
    policy = config_cache.cached(("policy_id", case.sla_policy_id), lambda: case.sla_policy)
    if policy is None:
        handoff.ack_due_at = None
        return None
    to_unit = handoff.to_unit or db.session.get(Unit, handoff.to_unit_id)
    calendar = (
        calendar_to_config(ALWAYS_OPEN)
        if policy.clock == ClockKind.ALWAYS.value
        else calendar_to_config(unit_calendar(to_unit))
    )
    clock = new_clock(
        ClockName.HANDOFF_ACK, now, policy.handoff_ack_minutes, policy, calendar, handoff.to_unit_id
    )
    handoff.ack_due_at = clock.due_at
    clock.case_id = case.id
    clock.handoff = handoff  # its id is filled when the handoff is inserted first
    return clock


def catch_up(
    case: Case, clocks: Sequence[SlaClock | None], now: datetime, *, reached_now: bool = False
) -> None:
    """Before a command changes these clocks of ``case`` (which it holds locked) at ``now``:
    record every threshold whose instant passed before ``now`` (or, with ``reached_now``, at
    ``now`` too) that no sweep fired yet, exactly as the sweep would
    (``coord.services.sla_firing.record_passed_thresholds``). An action at exactly the due
    time is in time; a hold that begins exactly at a threshold's instant records it then
    (else it would move to an instant inside the hold)."""
    due = [
        c
        for c in clocks
        if c is not None
        and c.state == ClockState.RUNNING.value
        and c.next_threshold_at is not None
        and (c.next_threshold_at <= now if reached_now else c.next_threshold_at < now)
    ]
    if due:
        from coord.services.sla_firing import record_passed_thresholds

        record_passed_thresholds(case, due, now, reached_now=reached_now)


def close_clock(clock: SlaClock | None, now: datetime) -> None:
    """The clock's target was reached at ``now``: met, or breached if late (the breach was
    recorded by the sweep or by ``catch_up`` before). Stores business minutes over (+) or
    under (-) target."""
    if clock is None or clock.completed_at is not None or clock.state == ClockState.STOPPED.value:
        return
    if clock.state == ClockState.PAUSED.value:
        _resume(clock, now)
    calendar = calendar_of(clock.calendar)
    clock.completed_at = now
    clock.minutes_over = calendar.between(clock.due_at, now)
    late = now > clock.due_at
    if late and clock.breached_at is None:
        # Closed late before a sweep saw it: the deadline passed at due_at, as the sweep would
        # have recorded. Kept on the clock so that reopening it cannot erase the breach
        # (reopen_clock) while the case stays flagged ``breached``.
        clock.breached_at = clock.due_at
    clock.state = ClockState.BREACHED.value if (late or clock.breached_at) else ClockState.MET.value
    clock.next_threshold = clock.next_threshold_at = None


def reopen_clock(clock: SlaClock | None) -> None:
    """A reopened case's resolution clock runs again towards the same deadline; a clock that
    had breached (``breached_at``, also set by a late close) stays breached."""
    if clock is None or clock.completed_at is None:
        return
    clock.completed_at = None
    clock.minutes_over = None
    clock.state = ClockState.BREACHED.value if clock.breached_at else ClockState.RUNNING.value
    schedule_next(clock, _last_fired(clock))


def stop_clocks(case: Case, now: datetime, *, handoff_id: int | None = None) -> None:
    """The deadlines no longer apply (case cancelled; handoff answered or recalled); what
    they reached before ``now`` is recorded first."""
    clocks = [c for c in case_clocks(case) if handoff_id is None or c.handoff_id == handoff_id]
    catch_up(case, clocks, now)
    for clock in clocks:
        if clock.completed_at is None and clock.state in OPEN_STATES:
            clock.state = ClockState.STOPPED.value
            clock.completed_at = now
            clock.next_threshold = clock.next_threshold_at = None


def _mark_case_breach(case: Case, clock: SlaClock | None) -> None:
    """A clock that closed late is a breach of the case even if no sweep saw it yet."""
    if clock is not None and clock.state == ClockState.BREACHED.value:
        case.breached = True


def closed_minutes(clock: SlaClock) -> int | None:
    """The working minutes a closed clock took, ``target + minutes_over`` (docs/reports.md);
    None unless it closed met or breached."""
    if (
        clock.completed_at is None
        or clock.minutes_over is None
        or clock.state not in (ClockState.MET.value, ClockState.BREACHED.value)
    ):
        return None
    return clock.target_minutes + clock.minutes_over


def _record_case_clock(case: Case, clock: SlaClock | None) -> None:
    """Copy what a case clock measured onto the case, for the reports (docs/reports.md): every
    change of a closed clock (closing, reopening) comes through here, in its transaction."""
    if clock is None:
        return
    if clock.name == ClockName.RESPONSE.value:
        case.response_minutes = closed_minutes(clock)
    elif clock.name == ClockName.RESOLUTION.value:
        case.resolution_minutes = closed_minutes(clock)
        case.resolution_met = clock.state == ClockState.MET.value


def first_response(case: Case, now: datetime) -> None:
    clock = _clock(case, ClockName.RESPONSE)
    catch_up(case, [clock], now)
    close_clock(clock, now)
    _mark_case_breach(case, clock)
    _record_case_clock(case, clock)


def case_resolved(case: Case, now: datetime) -> None:
    clocks = [_clock(case, name) for name in (ClockName.RESPONSE, ClockName.RESOLUTION)]
    catch_up(case, clocks, now)
    for clock in clocks:
        close_clock(clock, now)
        _mark_case_breach(case, clock)
        _record_case_clock(case, clock)


def case_reopened(case: Case, now: datetime) -> None:
    """The resolution clock runs again; thresholds it passed while the case was resolved
    are recorded now, as the next sweep would."""
    clock = _clock(case, ClockName.RESOLUTION)
    reopen_clock(clock)
    catch_up(case, [clock], now)
    _record_case_clock(case, clock)


def handoff_answered(case: Case, handoff: Handoff, now: datetime) -> None:
    """Accepting or rejecting acknowledges the handoff: its clock closes met or late."""
    clock = _clock(case, ClockName.HANDOFF_ACK, handoff.id)
    catch_up(case, [clock], now)
    close_clock(clock, now)
    if clock is not None and clock.state == ClockState.BREACHED.value:
        handoff.breached = True
    if clock is not None:
        # For the handoff report (docs/reports.md), in the same transaction.
        handoff.ack_minutes = closed_minutes(clock)
        handoff.ack_met = clock.state == ClockState.MET.value


def pause_case_clocks(case: Case, now: datetime) -> None:
    """Hold: the running case clocks pause, after what they reached before ``now`` is
    recorded (a warning due before the hold is not moved past it)."""
    clocks = case_clocks(case)
    catch_up(case, [c for c in clocks if c.handoff_id is None], now, reached_now=True)
    case.paused_at = now
    case.resolution_breached_on_hold = False
    for clock in clocks:
        if clock.handoff_id is None and clock.state == ClockState.RUNNING.value:
            clock.state = ClockState.PAUSED.value
            clock.paused_at = now
            clock.next_threshold = clock.next_threshold_at = None
        elif clock.name == ClockName.RESOLUTION.value and clock.state == ClockState.BREACHED.value:
            # For the reports: a breached clock is not paused and stays breached (overdue)
            # through the hold; a paused one cannot breach before the case resumes.
            case.resolution_breached_on_hold = True


def _resume(clock: SlaClock, now: datetime) -> timedelta:
    """Move the due time and the pending thresholds later by exactly the working time held
    (to the microsecond); returns that time. ``paused_minutes`` shows the clock's total time
    held in whole minutes, rounded down (display only: deadlines never read it)."""
    assert clock.paused_at is not None
    held_before = held_time(clock)
    held = calendar_of(clock.calendar).working_time(clock.paused_at, now)
    total = held_before + held
    clock.paused_at = None
    clock.state = ClockState.RUNNING.value
    clock.paused_minutes = total // timedelta(minutes=1)
    refresh_due(clock, total)
    schedule_next(clock, _last_fired(clock), total)
    return held


def resume_case_clocks(case: Case, now: datetime) -> int:
    """Move the open due times later by the working time spent on hold; returns it in
    whole minutes, rounded down (for the ``case.resumed`` event)."""
    paused = timedelta(0)
    for clock in case_clocks(case):
        if clock.state == ClockState.PAUSED.value:
            paused = max(paused, _resume(clock, now))
    case.paused_at = None
    case.resolution_breached_on_hold = False
    _mirror_due_times(case)
    return paused // timedelta(minutes=1)

"""When a clock's thresholds fall due (DESIGN.md section 5): its warning percents and the
breach at 100 %, each at ``add(started_at, target * p / 100 + held)`` on the clock's working
calendar, where ``held`` is the working time spent on hold. Computation on one clock row; no
queries."""

from __future__ import annotations

from datetime import datetime, timedelta

from coord.domain.calendar import WorkingCalendar
from coord.models import ClockState, SlaClock
from coord.services.sla_calendars import calendar_of


def threshold_percents(warning_percents: list[int]) -> list[int]:
    """The thresholds a clock fires, in order: its warning percents, then 100 (the breach)."""
    return sorted({int(p) for p in warning_percents if 0 < int(p) < 100} | {100})


def thresholds(clock: SlaClock) -> list[int]:
    return threshold_percents(clock.warning_percents)


def share_of(target_minutes: int, percent: int) -> timedelta:
    """``percent`` of a target, exact: whole minutes times a whole percent is a whole number
    of 0.6 seconds, so no rounding ever happens."""
    return timedelta(minutes=target_minutes) * percent / 100


def held_time(clock: SlaClock) -> timedelta:
    """The working time the clock has spent on hold, exact: the working time from its start
    to its due time beyond its target (each resume moved ``due_at`` by the time held)."""
    worked = calendar_of(clock.calendar).working_time(clock.started_at, clock.due_at)
    return max(worked - timedelta(minutes=clock.target_minutes), timedelta(0))


def threshold_instant(clock: SlaClock, percent: int, held: timedelta | None = None) -> datetime:
    """When threshold ``percent`` falls due; ``held`` is ``held_time(clock)`` if known."""
    if held is None:
        held = held_time(clock)
    calendar = calendar_of(clock.calendar)
    return calendar.add(clock.started_at, share_of(clock.target_minutes, percent) + held)


def schedule_next(clock: SlaClock, after: int | None, held: timedelta | None = None) -> None:
    """Point ``next_threshold`` at the first threshold above ``after`` (None: the first);
    ``held`` is ``held_time(clock)`` if the caller has it."""
    if clock.state != ClockState.RUNNING.value and clock.state != ClockState.BREACHED.value:
        clock.next_threshold = clock.next_threshold_at = None
        return
    pending = [p for p in thresholds(clock) if after is None or p > after]
    if clock.state == ClockState.BREACHED.value or not pending:
        clock.next_threshold = clock.next_threshold_at = None
        return
    clock.next_threshold = pending[0]
    clock.next_threshold_at = threshold_instant(clock, pending[0], held)


def next_threshold_after(
    calendar: WorkingCalendar,
    *,
    target_minutes: int,
    percents: list[int],
    after: int,
    after_at: datetime,
) -> tuple[int | None, datetime | None]:
    """For a running clock whose threshold ``after`` fell due at ``after_at``: the next
    threshold and its instant, or ``(None, None)`` when none is left. ``percents`` is
    ``threshold_percents(...)``. Used by the sweep instead of ``schedule_next``.

    The instant is the same as ``threshold_instant``'s, counted on from ``after_at`` rather
    than from ``started_at``: ``after_at`` is ``add(started_at, share(after) + held)`` (the
    instant ``schedule_next`` stored), and ``add`` is additive (``add(add(t, a), b) ==
    add(t, a + b)``, tests/domain/test_calendar.py), so the calendar walks only the gap
    between the two thresholds instead of the whole elapsed target, and the time held need
    not be known. The shares are exact (``share_of``), so nothing is rounded.
    """
    pending = [p for p in percents if p > after]
    if not pending:
        return None, None
    nxt = pending[0]
    return nxt, calendar.add(after_at, share_of(target_minutes, nxt - after))


def refresh_due(clock: SlaClock, held: timedelta) -> None:
    clock.due_at = threshold_instant(clock, 100, held)

"""Working-time (business) calendar for service-level targets.

Why this exists: coord promises response and resolution targets in *working* time
("1 working day" for a kecamatan office means 480 minutes of office hours, not 24 hours),
so every due date and every "time spent" figure has to skip nights, weekends, Indonesian
national holidays, cuti bersama and dates an admin closes by hand.

This module is deliberately pure (stdlib + ``zoneinfo`` + ``holidays``) so the SLA rules
can be unit-tested without Flask or a database.

Conventions:

* Every instant is a timezone-aware ``datetime``; results are returned in UTC. Naive
  datetimes are rejected because guessing their zone silently shifts deadlines by hours.
* Minutes are elapsed (physical) time, so the calendar is correct in zones with DST too;
  note that ``aware_dt + timedelta`` in Python is wall-clock arithmetic, unlike ``add``.
* Working hours are local wall-clock intervals in the calendar's own time zone,
  half-open ``[start, end)``: at 08:00 an office is open, at 16:00 it is closed.
* An interval end of ``time(0)`` means midnight at the *end* of the day (24:00), so a
  whole-day interval is ``(time(0), time(0))``; in configs it is written ``"24:00"``.
* "Closed dates" are whole dates closed by a holiday or an admin; a weekday that simply
  has no hours (e.g. Sunday) is not a closed date, it just has no working time.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "ALWAYS_OPEN",
    "DEFAULT_CALENDAR",
    "DEFAULT_HOURS",
    "WorkingCalendar",
    "indonesian_closed_dates",
]

Interval = tuple[time, time]
DayHours = tuple[Interval, ...]

_DAY_SECONDS = 86_400
_ONE_DAY = timedelta(days=1)
_MINUTE = timedelta(minutes=1)
_ZERO = timedelta(0)
# A run of this many consecutive days without any working time (beyond the admin's own
# closed dates) means something is wrong with the calendar: stop instead of looping.
_MAX_IDLE_DAYS = 2 * 366

DEFAULT_HOURS: Mapping[int, DayHours] = MappingProxyType(
    {weekday: ((time(8, 0), time(16, 0)),) for weekday in range(5)}
)
"""Monday–Friday 08:00–16:00, the standard office hours of a kecamatan office."""


@functools.lru_cache(maxsize=64)
def indonesian_closed_dates(year: int) -> frozenset[date]:
    """Dates closed nationally in Indonesia in ``year``.

    Uses the ``holidays`` package's "public" (hari libur nasional) and "government"
    (cuti bersama, joint leave for civil servants) categories, because government
    offices and puskesmas close on both. Cached per year: building the table is slow.
    """
    table = holidays.country_holidays("ID", years=year, categories=("public", "government"))
    return frozenset(d for d in table if d.year == year)


def _time_to_seconds(value: time, *, is_end: bool) -> int:
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    if is_end and seconds == 0:
        return _DAY_SECONDS  # time(0) as an end means 24:00
    return seconds


def _normalize_hours(
    raw: Any,
) -> tuple[Mapping[int, DayHours], tuple[tuple[tuple[int, int], ...], ...]]:
    """Validate ``hours`` and return (read-only mapping, per-weekday second offsets)."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"hours: must be a mapping weekday -> intervals, got {type(raw).__name__}")
    normalized: dict[int, DayHours] = {}
    seconds: list[tuple[tuple[int, int], ...]] = [()] * 7
    for weekday in raw:
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(
                f"hours: weekday key {weekday!r} must be an int 0 (Monday) .. 6 (Sunday)"
            )
    for weekday in sorted(raw):
        intervals = raw[weekday]
        key = f"hours[{weekday}]"
        if isinstance(intervals, str | bytes) or not isinstance(intervals, Iterable):
            raise ValueError(f"{key}: must be a sequence of (start, end) pairs")
        day: list[Interval] = []
        day_seconds: list[tuple[int, int]] = []
        for index, pair in enumerate(intervals):
            where = f"{key}[{index}]"
            if isinstance(pair, str | bytes) or not isinstance(pair, Iterable):
                raise ValueError(f"{where}: must be a (start, end) pair of datetime.time")
            pair = tuple(pair)
            if len(pair) != 2:
                raise ValueError(f"{where}: must be a (start, end) pair, got {len(pair)} items")
            start, end = pair
            for label, value in (("start", start), ("end", end)):
                if not isinstance(value, time):
                    raise ValueError(f"{where}: {label} must be a datetime.time, got {value!r}")
                if value.tzinfo is not None or value.microsecond:
                    raise ValueError(
                        f"{where}: {label} must be a naive local time in whole seconds, "
                        f"got {value!r}"
                    )
            start_s = _time_to_seconds(start, is_end=False)
            end_s = _time_to_seconds(end, is_end=True)
            if start_s >= end_s:
                raise ValueError(f"{where}: start {start} must be before end {end}")
            if day_seconds and start_s < day_seconds[-1][1]:
                raise ValueError(
                    f"{where}: intervals must be sorted and must not overlap "
                    f"({start} starts before the previous interval ends)"
                )
            day.append((start, end))
            day_seconds.append((start_s, end_s))
        if day:  # an empty list is the same as a missing weekday: closed
            normalized[weekday] = tuple(day)
            seconds[weekday] = tuple(day_seconds)
    return MappingProxyType(normalized), tuple(seconds)


def load_zone(name: Any) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ValueError(f"timezone: must be an IANA time zone name, got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone: unknown IANA time zone {name!r}") from exc


def _minutes_to_delta(minutes: int | float | timedelta) -> timedelta:
    if isinstance(minutes, timedelta):
        if minutes < _ZERO:
            raise ValueError(f"working time must be >= 0, got {minutes!r}")
        return minutes
    if isinstance(minutes, bool) or not isinstance(minutes, numbers.Real):
        raise TypeError(f"minutes must be a number, got {minutes!r}")
    value = float(minutes)
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(f"minutes must be a finite number >= 0, got {minutes!r}")
    if isinstance(minutes, numbers.Integral):
        return timedelta(minutes=int(minutes))  # exact for any size of int that fits
    try:
        return timedelta(minutes=value)
    except OverflowError as exc:
        raise ValueError(f"minutes is too large: {minutes!r}") from exc


def _to_utc(value: Any, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class WorkingCalendar:
    """Working hours and closed dates of one unit (office, puskesmas, desk).

    ``hours`` maps weekday (0=Monday .. 6=Sunday) to sorted, non-overlapping local
    ``(start, end)`` intervals; a missing weekday is closed all day. ``extra_closed`` are
    dates an admin closed by hand. With ``always_open`` every minute counts and no date
    is closed (24x7 hazard desks), whatever the other fields say.
    """

    timezone: str = "Asia/Jakarta"
    hours: Mapping[int, DayHours] = field(default_factory=lambda: DEFAULT_HOURS)
    extra_closed: frozenset[date] = frozenset()
    national_holidays: bool = True
    always_open: bool = False

    # Derived in __post_init__ (per instance; ClassVar only keeps them out of the fields).
    _zone: ClassVar[ZoneInfo]
    _seconds: ClassVar[tuple[tuple[tuple[int, int], ...], ...]]
    _has_hours: ClassVar[bool]
    _hash: ClassVar[int]

    def __post_init__(self) -> None:
        zone = load_zone(self.timezone)
        hours, seconds = _normalize_hours(self.hours)
        if isinstance(self.extra_closed, str | bytes) or not isinstance(
            self.extra_closed, Iterable
        ):
            raise ValueError("extra_closed: must be a collection of datetime.date")
        closed = frozenset(self.extra_closed)
        for d in closed:
            if isinstance(d, datetime) or not isinstance(d, date):
                raise ValueError(f"extra_closed: {d!r} is not a datetime.date")
        for name in ("national_holidays", "always_open"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: must be a bool, got {getattr(self, name)!r}")
        object.__setattr__(self, "hours", hours)
        object.__setattr__(self, "extra_closed", closed)
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_seconds", seconds)
        object.__setattr__(self, "_has_hours", any(seconds))
        object.__setattr__(
            self,
            "_hash",
            hash(
                (
                    self.timezone,
                    tuple(hours.items()),
                    closed,
                    self.national_holidays,
                    self.always_open,
                )
            ),
        )

    # The mapping field is not hashable by itself; hash the normalized content instead so
    # calendars can be dict keys and cache keys.
    def __hash__(self) -> int:
        return self._hash

    # -- public API -------------------------------------------------------------------

    def is_closed_date(self, d: date) -> bool:
        """Whether local date ``d`` is closed all day by a holiday or an admin entry."""
        if isinstance(d, datetime) or not isinstance(d, date):
            raise TypeError(f"expected a datetime.date, got {d!r} (use is_open for instants)")
        if self.always_open:
            return False
        if d in self.extra_closed:
            return True
        return self.national_holidays and d in indonesian_closed_dates(d.year)

    def closed_dates_in(self, year: int) -> frozenset[date]:
        """All closed dates (holidays + admin-closed) of ``year``, e.g. for display."""
        if self.always_open:
            return frozenset()
        closed = {d for d in self.extra_closed if d.year == year}
        if self.national_holidays:
            closed |= indonesian_closed_dates(year)
        return frozenset(closed)

    def is_open(self, at: datetime) -> bool:
        """Whether instant ``at`` falls in working time (intervals are half-open)."""
        t = _to_utc(at, "at")
        if self.always_open:
            return True
        return any(s <= t < e for s, e in self._intervals_on(self._local_date(t)))

    def next_open(self, at: datetime) -> datetime:
        """``at`` (in UTC) if open, else the start of the next working interval (UTC)."""
        t = _to_utc(at, "at")
        if self.always_open:
            return t
        self._require_hours()
        d = self._local_date(t)
        for _ in range(self._idle_limit()):
            for s, e in self._intervals_on(d):
                if e > t:
                    return max(s, t)
            d += _ONE_DAY
        raise ValueError(f"no working time within {self._idle_limit()} days of {at}")

    def add(self, start: datetime, minutes: int | float | timedelta) -> datetime:
        """Instant (UTC) at which ``minutes`` of working time have elapsed after ``start``
        (a ``timedelta`` is taken as it is, to the microsecond).

        ``add(t, 0) == t`` even when ``t`` is outside working hours. When the last minute
        ends exactly at the close of an interval the result is that close (e.g. 16:00),
        not the next morning. Walks day by day over working intervals, so a multi-week
        target costs only a few hundred cheap steps.
        """
        t = _to_utc(start, "start")
        remaining = _minutes_to_delta(minutes)
        if remaining == _ZERO:
            return t
        if self.always_open:
            return t + remaining
        self._require_hours()
        d = self._local_date(t)
        idle_days = 0
        limit = self._idle_limit()
        while True:
            progressed = False
            for s, e in self._intervals_on(d):
                if e <= t:
                    continue
                s = max(s, t)
                available = e - s
                if remaining <= available:
                    return s + remaining
                remaining -= available
                progressed = True
            idle_days = 0 if progressed else idle_days + 1
            if idle_days > limit:
                raise ValueError(f"no working time within {limit} days; check the calendar")
            d += _ONE_DAY

    def between(self, start: datetime, end: datetime) -> int:
        """Whole working minutes in ``[start, end)``, rounded down (toward zero).

        Negative when ``end < start``: ``between(a, b) == -between(b, a)``. Rounding down
        means a partial minute never counts as spent; with minute-aligned inputs the
        result is exact and additive over consecutive ranges.
        """
        a = _to_utc(start, "start")
        b = _to_utc(end, "end")
        if b < a:
            return -self.between(b, a)
        return self.working_time(a, b) // _MINUTE

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """The working time in ``[start, end)``, exact to the microsecond (zero when ``end``
        is not after ``start``). The inverse of ``add``: ``working_time(t, add(t, d)) == d``.
        """
        a = _to_utc(start, "start")
        b = _to_utc(end, "end")
        if b <= a:
            return _ZERO
        if self.always_open:
            return b - a
        if not self._has_hours:
            return _ZERO
        total = _ZERO
        d = self._local_date(a)
        last = self._local_date(b)
        while d <= last:
            for s, e in self._intervals_on(d):
                lo = max(s, a)
                hi = min(e, b)
                if hi > lo:
                    total += hi - lo
            d += _ONE_DAY
        return total

    # -- internals --------------------------------------------------------------------

    def _require_hours(self) -> None:
        if not self._has_hours:
            raise ValueError("calendar has no working hours on any weekday and is not always_open")

    def _idle_limit(self) -> int:
        return _MAX_IDLE_DAYS + len(self.extra_closed)

    def _local_date(self, t: datetime) -> date:
        return t.astimezone(self._zone).date()

    def _instant(self, d: date, seconds: int) -> datetime:
        if seconds >= _DAY_SECONDS:
            d += _ONE_DAY
            seconds = 0
        hour, rest = divmod(seconds, 3600)
        minute, second = divmod(rest, 60)
        local = datetime(d.year, d.month, d.day, hour, minute, second, tzinfo=self._zone)
        return local.astimezone(UTC)

    def _intervals_on(self, d: date) -> tuple[tuple[datetime, datetime], ...]:
        """Working intervals of local date ``d`` as UTC instants (empty if closed)."""
        return _working_intervals(self, d)


@functools.lru_cache(maxsize=8192)
def _working_intervals(cal: WorkingCalendar, d: date) -> tuple[tuple[datetime, datetime], ...]:
    """``WorkingCalendar._intervals_on``, remembered: a calendar is immutable, and every new
    deadline walks the same few weeks of days (8,192 entries: about 20 calendars x a year)."""
    day = cal._seconds[d.weekday()]
    if not day or cal.is_closed_date(d):
        return ()
    result = []
    for start_s, end_s in day:
        start = cal._instant(d, start_s)
        end = cal._instant(d, end_s)
        if start < end:  # a DST jump can swallow a tiny interval
            result.append((start, end))
    return tuple(result)


DEFAULT_CALENDAR = WorkingCalendar()
"""Kecamatan office: Mon–Fri 08:00–16:00 WIB, closed on national holidays and cuti bersama."""

ALWAYS_OPEN = WorkingCalendar(always_open=True, national_holidays=False)
"""24x7: for urgent hazards every minute counts, holidays included."""

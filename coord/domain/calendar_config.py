"""A working calendar as JSON config (stored on units and SLA policies, edited by admins):
``calendar_from_config`` reads and validates it, ``calendar_to_config`` writes it. Pure Python,
like ``coord.domain.calendar``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from typing import Any

from coord.domain.calendar import DayHours, Interval, WorkingCalendar, load_zone

_CONFIG_KEYS = ("timezone", "hours", "extra_closed", "national_holidays", "always_open")
_TIME_RE = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?$")


def _parse_time(text: Any, where: str, *, is_end: bool) -> time:
    if not isinstance(text, str):
        raise ValueError(f'{where}: must be a "HH:MM" string, got {text!r}')
    match = _TIME_RE.match(text)
    if not match:
        raise ValueError(f'{where}: {text!r} is not a "HH:MM" or "HH:MM:SS" time')
    hour, minute, second = (int(g) if g else 0 for g in match.groups())
    if is_end and (hour, minute, second) == (24, 0, 0):
        return time(0)
    if is_end and (hour, minute, second) == (0, 0, 0):
        raise ValueError(f'{where}: an interval cannot end at "00:00"; use "24:00" for midnight')
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{where}: {text!r} is not a valid time of day")
    return time(hour, minute, second)


def _parse_hours(raw: Any) -> dict[int, DayHours]:
    if not isinstance(raw, Mapping):
        raise ValueError(
            f'hours: must be an object like {{"0": [["08:00", "16:00"]]}}, got {type(raw).__name__}'
        )
    parsed: dict[int, DayHours] = {}
    for key, intervals in raw.items():
        if isinstance(key, bool):
            weekday = -1
        elif isinstance(key, int):
            weekday = key
        elif isinstance(key, str) and key.strip().isdigit():
            weekday = int(key.strip())
        else:
            weekday = -1
        if not 0 <= weekday <= 6:
            raise ValueError(f"hours: weekday key {key!r} must be 0 (Monday) .. 6 (Sunday)")
        if weekday in parsed:
            raise ValueError(f"hours: weekday {weekday} is given twice")
        if not isinstance(intervals, list | tuple):
            raise ValueError(f'hours["{key}"]: must be a list of ["HH:MM", "HH:MM"] pairs')
        day: list[Interval] = []
        for index, pair in enumerate(intervals):
            where = f'hours["{key}"][{index}]'
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValueError(f'{where}: must be a ["HH:MM", "HH:MM"] pair, got {pair!r}')
            start = _parse_time(pair[0], f"{where} start", is_end=False)
            end = _parse_time(pair[1], f"{where} end", is_end=True)
            day.append((start, end))
        parsed[weekday] = tuple(day)
    return parsed


def _parse_dates(raw: Any) -> frozenset[date]:
    if not isinstance(raw, list | tuple):
        raise ValueError('extra_closed: must be a list of "YYYY-MM-DD" strings')
    dates = set()
    for index, text in enumerate(raw):
        if not isinstance(text, str):
            raise ValueError(f'extra_closed[{index}]: must be a "YYYY-MM-DD" string, got {text!r}')
        try:
            dates.add(date.fromisoformat(text))
        except ValueError as exc:
            raise ValueError(f"extra_closed[{index}]: {text!r} is not a YYYY-MM-DD date") from exc
    return frozenset(dates)


def calendar_from_config(cfg: Mapping[str, Any]) -> WorkingCalendar:
    """Build a calendar from its JSON form (as stored per unit); missing keys use defaults.

    Unknown keys are rejected so that a typo ("national_holiday") cannot silently turn a
    unit's holidays off. Raises ``ValueError`` naming the offending key.
    """
    if not isinstance(cfg, Mapping):
        raise ValueError(f"calendar config must be an object, got {type(cfg).__name__}")
    unknown = sorted(str(k) for k in cfg if k not in _CONFIG_KEYS)
    if unknown:
        raise ValueError(
            f"calendar config: unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(_CONFIG_KEYS)}"
        )
    kwargs: dict[str, Any] = {}
    if "timezone" in cfg:
        load_zone(cfg["timezone"])
        kwargs["timezone"] = cfg["timezone"]
    if "hours" in cfg:
        kwargs["hours"] = _parse_hours(cfg["hours"])
    if "extra_closed" in cfg:
        kwargs["extra_closed"] = _parse_dates(cfg["extra_closed"])
    for key in ("national_holidays", "always_open"):
        if key in cfg:
            if not isinstance(cfg[key], bool):
                raise ValueError(f"{key}: must be true or false, got {cfg[key]!r}")
            kwargs[key] = cfg[key]
    return WorkingCalendar(**kwargs)


def _format_time(value: time, *, is_end: bool) -> str:
    if is_end and value == time(0):
        return "24:00"
    if value.second:
        return value.strftime("%H:%M:%S")
    return value.strftime("%H:%M")


def calendar_to_config(cal: WorkingCalendar) -> dict[str, Any]:
    """JSON-able form of ``cal``; ``calendar_from_config`` turns it back into an equal calendar."""
    return {
        "timezone": cal.timezone,
        "hours": {
            str(weekday): [
                [_format_time(start, is_end=False), _format_time(end, is_end=True)]
                for start, end in intervals
            ]
            for weekday, intervals in sorted(cal.hours.items())
        },
        "extra_closed": [d.isoformat() for d in sorted(cal.extra_closed)],
        "national_holidays": cal.national_holidays,
        "always_open": cal.always_open,
    }

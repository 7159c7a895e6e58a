"""Tests for the working-time calendar behind SLA due dates.

Table tests pin real 2026 dates (as the ``holidays`` package knows them for Indonesia);
property tests check the algebra the SLA code relies on: ``add`` and ``between`` are
inverse, additive and monotonic, on several calendars and across 2025-2027.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coord.domain.calendar import (
    ALWAYS_OPEN,
    DEFAULT_CALENDAR,
    DEFAULT_HOURS,
    WorkingCalendar,
    indonesian_closed_dates,
)
from coord.domain.calendar_config import calendar_from_config, calendar_to_config

WIB = ZoneInfo("Asia/Jakarta")
WIT = timezone(timedelta(hours=9))  # Papua, +09:00
ONE_DAY = 480  # minutes in one 08:00-16:00 working day

WEEKDAYS = (0, 1, 2, 3, 4)
SPLIT_DAY = ((time(8), time(12)), (time(13), time(16)))

# Puskesmas: lunch break on weekdays, open Saturday morning.
PUSKESMAS = WorkingCalendar(
    hours={**{d: SPLIT_DAY for d in WEEKDAYS}, 5: ((time(8), time(12)),)},
)
SATURDAY = WorkingCalendar(hours={**DEFAULT_HOURS, 5: ((time(8), time(12)),)})
WITH_EXTRA = WorkingCalendar(
    extra_closed=frozenset({date(2026, 8, 18), date(2025, 12, 31), date(2027, 1, 4)})
)
# Whole-day intervals in a zone with DST, to make sure nothing assumes a fixed offset.
BERLIN_ALL_DAY = WorkingCalendar(
    timezone="Europe/Berlin",
    hours={d: ((time(0), time(0)),) for d in WEEKDAYS},
    national_holidays=False,
)


def wib(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=WIB)


# -- the holidays package's view of 2026 ----------------------------------------------


def test_2026_closed_dates_from_holidays_package() -> None:
    closed = indonesian_closed_dates(2026)
    # Nyepi (Day of Silence) Thu 19 Mar with cuti bersama Wed 18 Mar; Idulfitri 1447 H on
    # Sat 21 / Sun 22 Mar with cuti bersama Fri 20, Mon 23 and Tue 24 Mar.
    march = {date(2026, 3, day) for day in range(18, 25)}
    assert march <= closed
    assert date(2026, 3, 17) not in closed
    assert date(2026, 3, 25) not in closed
    # Christmas Fri 25 Dec with cuti bersama Thu 24 Dec; 26 Dec and 31 Dec are not closed.
    assert {date(2026, 12, 24), date(2026, 12, 25)} <= closed
    assert date(2026, 12, 26) not in closed
    assert date(2026, 12, 31) not in closed
    assert date(2026, 8, 17) in closed  # Independence Day
    assert date(2027, 1, 1) in indonesian_closed_dates(2027)
    assert all(d.year == 2026 for d in closed)
    assert indonesian_closed_dates(2026) is closed  # cached


def test_closed_dates_in_merges_admin_dates() -> None:
    assert DEFAULT_CALENDAR.closed_dates_in(2026) == indonesian_closed_dates(2026)
    assert WITH_EXTRA.closed_dates_in(2026) == indonesian_closed_dates(2026) | {date(2026, 8, 18)}
    no_national = WorkingCalendar(
        national_holidays=False, extra_closed=frozenset({date(2026, 8, 18)})
    )
    assert no_national.closed_dates_in(2026) == {date(2026, 8, 18)}
    assert no_national.closed_dates_in(2027) == frozenset()
    assert ALWAYS_OPEN.closed_dates_in(2026) == frozenset()
    assert WITH_EXTRA.is_closed_date(date(2026, 8, 18))
    assert DEFAULT_CALENDAR.is_closed_date(date(2026, 3, 20))
    assert not DEFAULT_CALENDAR.is_closed_date(date(2026, 3, 25))
    # A weekend is not a "closed date": it simply has no hours.
    assert not DEFAULT_CALENDAR.is_closed_date(date(2026, 3, 28))
    assert not ALWAYS_OPEN.is_closed_date(date(2026, 3, 20))
    with pytest.raises(TypeError):
        DEFAULT_CALENDAR.is_closed_date(wib(2026, 3, 20))  # type: ignore[arg-type]


# -- table tests with real dates --------------------------------------------------------


@pytest.mark.parametrize(
    ("cal", "start", "minutes", "due"),
    [
        # Handoff Tue 17 Mar 14:00 WIB, target one working day: 2 h left on Tuesday, then
        # 18-24 Mar are all closed (Nyepi + Idulfitri + cuti bersama, weekend inside), so
        # the remaining 6 h run Wed 25 Mar 08:00-14:00.
        (DEFAULT_CALENDAR, wib(2026, 3, 17, 14), ONE_DAY, wib(2026, 3, 25, 14)),
        # Friday 15:00 + 2 h: one hour on Friday, one on Monday morning.
        (DEFAULT_CALENDAR, wib(2026, 3, 6, 15), 120, wib(2026, 3, 9, 9)),
        # Weekday evening report: counting starts the next morning at 08:00.
        (DEFAULT_CALENDAR, wib(2026, 3, 2, 20), 60, wib(2026, 3, 3, 9)),
        (DEFAULT_CALENDAR, wib(2026, 3, 3, 3), 60, wib(2026, 3, 3, 9)),
        # Ends exactly at closing time: due at 16:00, not the next morning.
        (DEFAULT_CALENDAR, wib(2026, 3, 2, 8), ONE_DAY, wib(2026, 3, 2, 16)),
        (DEFAULT_CALENDAR, wib(2026, 3, 2, 15, 30), 30, wib(2026, 3, 2, 16)),
        # Year end: Thu 31 Dec 2026 is a working day; Fri 1 Jan 2027 is New Year, then a
        # weekend, so the rest falls on Mon 4 Jan 2027.
        (DEFAULT_CALENDAR, wib(2026, 12, 31, 14), ONE_DAY, wib(2027, 1, 4, 14)),
        # Christmas: Thu 24 Dec (cuti bersama) and Fri 25 Dec closed, then the weekend.
        (DEFAULT_CALENDAR, wib(2026, 12, 23, 12), ONE_DAY, wib(2026, 12, 28, 12)),
        # Starting on a holiday counts from the next working morning.
        (DEFAULT_CALENDAR, wib(2026, 8, 17, 10), 60, wib(2026, 8, 18, 9)),
        # Admin-closed Tue 18 Aug 2026 (after Independence Day Mon 17 Aug) is skipped too.
        (WITH_EXTRA, wib(2026, 8, 14, 15), 120, wib(2026, 8, 19, 9)),
        (DEFAULT_CALENDAR, wib(2026, 8, 14, 15), 120, wib(2026, 8, 18, 9)),
        # Saturday opening hours: Friday 15:00 + 2 h ends Saturday 09:00 ...
        (SATURDAY, wib(2026, 3, 6, 15), 120, wib(2026, 3, 7, 9)),
        # ... and Saturday 11:00 + 2 h continues on Monday.
        (SATURDAY, wib(2026, 3, 7, 11), 120, wib(2026, 3, 9, 9)),
        # Lunch break 12:00-13:00 is not counted.
        (PUSKESMAS, wib(2026, 3, 2, 11, 30), 60, wib(2026, 3, 2, 13, 30)),
        (PUSKESMAS, wib(2026, 3, 2, 11, 30), 30, wib(2026, 3, 2, 12)),
        (PUSKESMAS, wib(2026, 3, 2, 12, 15), 30, wib(2026, 3, 2, 13, 30)),
        (PUSKESMAS, wib(2026, 3, 2, 8), 420, wib(2026, 3, 2, 16)),
        (PUSKESMAS, wib(2026, 3, 6, 15), 120, wib(2026, 3, 7, 9)),
        # 24x7 ignores nights, weekends and Idulfitri alike.
        (ALWAYS_OPEN, wib(2026, 3, 20, 23, 30), 90, wib(2026, 3, 21, 1)),
        (ALWAYS_OPEN, wib(2026, 3, 17, 14), 7 * 1440, wib(2026, 3, 24, 14)),
        # Fractional minutes.
        (DEFAULT_CALENDAR, wib(2026, 3, 2, 15, 59), 1.5, wib(2026, 3, 3, 8, 0, 30)),
    ],
)
def test_add_real_dates(
    cal: WorkingCalendar, start: datetime, minutes: float, due: datetime
) -> None:
    result = cal.add(start, minutes)
    assert result == due
    assert result.tzinfo is UTC
    if float(minutes).is_integer():
        assert cal.between(start, result) == minutes


def test_add_same_instant_whatever_the_input_zone() -> None:
    start = wib(2026, 3, 17, 14)
    expected = wib(2026, 3, 25, 14)
    for same in (start, start.astimezone(UTC), start.astimezone(WIT)):
        assert DEFAULT_CALENDAR.add(same, ONE_DAY) == expected
        assert DEFAULT_CALENDAR.add(same, ONE_DAY).tzinfo is UTC
        assert DEFAULT_CALENDAR.between(same, expected.astimezone(WIT)) == ONE_DAY
    # 01:00 UTC is 08:00 WIB: the office has just opened.
    assert DEFAULT_CALENDAR.is_open(datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    assert not DEFAULT_CALENDAR.is_open(datetime(2026, 3, 3, 0, 59, tzinfo=UTC))
    # 10:00 in Jayapura (+09:00) is 08:00 WIB.
    assert DEFAULT_CALENDAR.is_open(datetime(2026, 3, 3, 10, 0, tzinfo=WIT))
    assert not DEFAULT_CALENDAR.is_open(datetime(2026, 3, 3, 9, 59, tzinfo=WIT))


def test_is_open_and_next_open() -> None:
    cal = PUSKESMAS
    assert cal.is_open(wib(2026, 3, 2, 8))
    assert not cal.is_open(wib(2026, 3, 2, 12))  # half-open: 12:00 is lunch
    assert not cal.is_open(wib(2026, 3, 2, 16))
    assert cal.is_open(wib(2026, 3, 7, 11, 59))  # Saturday morning
    assert not cal.is_open(wib(2026, 3, 8, 10))  # Sunday
    assert not cal.is_open(wib(2026, 3, 20, 10))  # cuti bersama
    assert cal.next_open(wib(2026, 3, 2, 9, 17)) == wib(2026, 3, 2, 9, 17)
    assert cal.next_open(wib(2026, 3, 2, 12, 30)) == wib(2026, 3, 2, 13)
    assert cal.next_open(wib(2026, 3, 2, 16)) == wib(2026, 3, 3, 8)
    assert cal.next_open(wib(2026, 3, 7, 12)) == wib(2026, 3, 9, 8)
    assert DEFAULT_CALENDAR.next_open(wib(2026, 3, 17, 16)) == wib(2026, 3, 25, 8)
    assert DEFAULT_CALENDAR.next_open(wib(2026, 3, 17, 16)).tzinfo is UTC
    assert ALWAYS_OPEN.is_open(wib(2026, 3, 21, 3))
    assert ALWAYS_OPEN.next_open(wib(2026, 3, 21, 3)) == wib(2026, 3, 21, 3)


def test_between_real_dates() -> None:
    cal = DEFAULT_CALENDAR
    # Whole week of 2-6 March 2026, no holidays.
    assert cal.between(wib(2026, 3, 2), wib(2026, 3, 9)) == 5 * ONE_DAY
    # Week of Idulfitri: only Mon 16 and Tue 17 March are working days.
    assert cal.between(wib(2026, 3, 16), wib(2026, 3, 23)) == 2 * ONE_DAY
    assert cal.between(wib(2026, 3, 2, 11), wib(2026, 3, 2, 14)) == 180
    assert PUSKESMAS.between(wib(2026, 3, 2, 11), wib(2026, 3, 2, 14)) == 120
    # Negative when the end comes first.
    assert cal.between(wib(2026, 3, 2, 14), wib(2026, 3, 2, 11)) == -180
    # Rounded down to whole minutes (toward zero).
    assert cal.between(wib(2026, 3, 2, 8), wib(2026, 3, 2, 8, 0, 59)) == 0
    assert cal.between(wib(2026, 3, 2, 7, 59, 30), wib(2026, 3, 2, 8, 1, 59)) == 1
    assert cal.between(wib(2026, 3, 2, 8, 1, 59), wib(2026, 3, 2, 7, 59, 30)) == -1
    assert ALWAYS_OPEN.between(wib(2026, 3, 20), wib(2026, 3, 25)) == 5 * 1440
    # Across the year end: 31 Dec 2026 plus Mon 4 Jan 2027.
    assert cal.between(wib(2026, 12, 31), wib(2027, 1, 5)) == 2 * ONE_DAY


def test_add_zero_and_errors() -> None:
    night = wib(2026, 3, 21, 2)  # Idulfitri, at night
    assert DEFAULT_CALENDAR.add(night, 0) == night
    assert DEFAULT_CALENDAR.add(night, 0.0) == night
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT_CALENDAR.add(datetime(2026, 3, 2, 9), 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT_CALENDAR.between(datetime(2026, 3, 2, 9), wib(2026, 3, 2, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT_CALENDAR.is_open(datetime(2026, 3, 2, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        DEFAULT_CALENDAR.next_open(datetime(2026, 3, 2, 9))
    for bad in (-1, -0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="minutes"):
            DEFAULT_CALENDAR.add(night, bad)
    with pytest.raises(TypeError):
        DEFAULT_CALENDAR.add(night, "10")  # type: ignore[arg-type]


def test_calendar_without_hours_does_not_loop() -> None:
    closed = WorkingCalendar(hours={})
    start = wib(2026, 3, 2, 9)
    assert closed.add(start, 0) == start
    assert not closed.is_open(start)
    assert closed.between(start, start + timedelta(days=30)) == 0
    with pytest.raises(ValueError, match="no working hours"):
        closed.add(start, 1)
    with pytest.raises(ValueError, match="no working hours"):
        closed.next_open(start)
    # always_open wins over missing hours.
    assert WorkingCalendar(hours={}, always_open=True).add(start, 5) == start + timedelta(minutes=5)


def test_sixty_working_day_target_counts_exactly_sixty_days() -> None:
    # The longest demo tier: 60 working days from the Nyepi/Lebaran week.
    start = wib(2026, 3, 17, 14)
    due = DEFAULT_CALENDAR.add(start, 60 * ONE_DAY)
    assert DEFAULT_CALENDAR.between(start, due) == 60 * ONE_DAY
    assert DEFAULT_CALENDAR.is_open(due - timedelta(minutes=1))


def test_calendar_is_hashable_and_normalized() -> None:
    # Lists are accepted and normalized to tuples / frozenset.
    as_lists: dict = {d: [(time(8), time(16))] for d in WEEKDAYS}
    same = WorkingCalendar(hours=as_lists, extra_closed=[])  # type: ignore[arg-type]
    assert same == DEFAULT_CALENDAR
    assert hash(same) == hash(DEFAULT_CALENDAR)
    assert len({DEFAULT_CALENDAR, same, ALWAYS_OPEN}) == 2
    assert WorkingCalendar(hours={**DEFAULT_HOURS, 6: ()}) == DEFAULT_CALENDAR


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Asia/Atlantis"}, "timezone"),
        ({"hours": {7: ((time(8), time(16)),)}}, "weekday"),
        ({"hours": {0: ((time(16), time(8)),)}}, r"hours\[0\]\[0\]"),
        ({"hours": {0: ((time(8), time(13)), (time(12), time(16)))}}, "overlap"),
        ({"hours": {0: ((time(8),),)}}, "pair"),
        ({"hours": [(time(8), time(16))]}, "hours"),
        ({"extra_closed": frozenset({datetime(2026, 1, 2, tzinfo=UTC)})}, "extra_closed"),
        ({"national_holidays": 1}, "national_holidays"),
    ],
)
def test_constructor_rejects_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingCalendar(**kwargs)


# -- config round trip ------------------------------------------------------------------


def test_config_round_trip() -> None:
    whole_day = WorkingCalendar(
        timezone="Asia/Makassar",
        hours={0: ((time(0), time(0)),), 5: ((time(7, 30), time(11, 45, 30)),)},
        national_holidays=False,
    )
    for cal in (DEFAULT_CALENDAR, ALWAYS_OPEN, PUSKESMAS, WITH_EXTRA, BERLIN_ALL_DAY, whole_day):
        cfg = calendar_to_config(cal)
        assert calendar_from_config(json.loads(json.dumps(cfg))) == cal
    assert calendar_to_config(whole_day)["hours"] == {
        "0": [["00:00", "24:00"]],
        "5": [["07:30", "11:45:30"]],
    }
    assert calendar_to_config(DEFAULT_CALENDAR) == {
        "timezone": "Asia/Jakarta",
        "hours": {str(d): [["08:00", "16:00"]] for d in WEEKDAYS},
        "extra_closed": [],
        "national_holidays": True,
        "always_open": False,
    }


def test_config_defaults_and_example() -> None:
    assert calendar_from_config({}) == DEFAULT_CALENDAR
    cal = calendar_from_config(
        {
            "timezone": "Asia/Jakarta",
            "hours": {"0": [["08:00", "12:00"], ["13:00", "16:00"]], 5: [["08:00", "12:00"]]},
            "extra_closed": ["2026-08-18"],
            "national_holidays": True,
            "always_open": False,
        }
    )
    assert cal.hours == {0: SPLIT_DAY, 5: ((time(8), time(12)),)}
    assert cal.extra_closed == {date(2026, 8, 18)}
    assert calendar_from_config({"hours": {}}).hours == {}


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ([], "object"),
        ({"national_holiday": False}, "national_holiday"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": 7}, "timezone"),
        ({"hours": [["08:00", "16:00"]]}, "hours"),
        ({"hours": {"7": [["08:00", "16:00"]]}}, "weekday key '7'"),
        ({"hours": {"mon": [["08:00", "16:00"]]}}, "weekday key 'mon'"),
        ({"hours": {"0": [["08:00", "16:00"]], 0: []}}, "twice"),
        ({"hours": {"0": "08:00-16:00"}}, r'hours\["0"\]'),
        ({"hours": {"0": [["08:00"]]}}, r'hours\["0"\]\[0\]'),
        ({"hours": {"0": [["8am", "16:00"]]}}, r'hours\["0"\]\[0\] start'),
        ({"hours": {"0": [["08:00", "25:00"]]}}, r'hours\["0"\]\[0\] end'),
        ({"hours": {"0": [["08:00", "00:00"]]}}, "24:00"),
        ({"hours": {"0": [["16:00", "08:00"]]}}, "before end"),
        ({"hours": {"0": [["13:00", "16:00"], ["08:00", "12:00"]]}}, "sorted"),
        ({"extra_closed": "2026-08-18"}, "extra_closed"),
        ({"extra_closed": ["2026-02-30"]}, r"extra_closed\[0\]"),
        ({"extra_closed": [20260818]}, r"extra_closed\[0\]"),
        ({"national_holidays": "yes"}, "national_holidays"),
        ({"always_open": 1}, "always_open"),
    ],
)
def test_config_errors_name_the_key(cfg: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calendar_from_config(cfg)  # type: ignore[arg-type]


# -- properties ---------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

CALENDARS = st.sampled_from(
    [DEFAULT_CALENDAR, PUSKESMAS, SATURDAY, WITH_EXTRA, BERLIN_ALL_DAY, ALWAYS_OPEN]
)
INPUT_ZONES = st.sampled_from(
    [UTC, WIB, WIT, timezone(timedelta(hours=-5)), ZoneInfo("Europe/Berlin")]
)

_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_SPAN_MINUTES = int((datetime(2028, 1, 1, tzinfo=UTC) - _EPOCH) / timedelta(minutes=1))
_HOLIDAYS = sorted(
    indonesian_closed_dates(2025) | indonesian_closed_dates(2026) | indonesian_closed_dates(2027)
)

_anywhere = st.integers(0, _SPAN_MINUTES).map(lambda m: _EPOCH + timedelta(minutes=m))
# Bias towards the interesting places: holidays (any hour) and office open/close times.
_on_holidays = st.builds(
    lambda d, h, m: datetime.combine(d, time(h, m), tzinfo=WIB),
    st.sampled_from(_HOLIDAYS),
    st.integers(0, 23),
    st.integers(0, 59),
)
_at_edges = st.builds(
    lambda m, h: (_EPOCH + timedelta(days=m)).astimezone(WIB).replace(hour=h, minute=0),
    st.integers(0, 3 * 365 - 1),
    st.sampled_from([0, 7, 8, 12, 13, 15, 16, 20, 23]),
)
INSTANTS = st.builds(
    lambda t, tz: t.astimezone(tz), st.one_of(_anywhere, _on_holidays, _at_edges), INPUT_ZONES
)
MINUTES = st.one_of(st.integers(0, 3 * ONE_DAY), st.integers(0, 40 * ONE_DAY))


@PROPERTY_SETTINGS
@given(cal=CALENDARS, t=INSTANTS, a=MINUTES, b=MINUTES)
def test_add_is_additive(cal: WorkingCalendar, t: datetime, a: int, b: int) -> None:
    assert cal.add(cal.add(t, a), b) == cal.add(t, a + b)


@PROPERTY_SETTINGS
@given(cal=CALENDARS, t=INSTANTS, d=MINUTES)
def test_between_inverts_add(cal: WorkingCalendar, t: datetime, d: int) -> None:
    due = cal.add(t, d)
    assert due.tzinfo is UTC
    assert due >= t
    assert cal.between(t, due) == d
    assert cal.between(due, t) == -d
    if d > 0:
        # Earliest such instant: one minute earlier, one working minute is missing.
        assert cal.between(t, due - timedelta(minutes=1)) == d - 1


@PROPERTY_SETTINGS
@given(cal=CALENDARS, t=INSTANTS, d=st.integers(1, 40 * ONE_DAY))
def test_add_lands_in_working_time_or_at_an_interval_end(
    cal: WorkingCalendar, t: datetime, d: int
) -> None:
    due = cal.add(t, d)
    # Either open at `due`, or `due` is the (exclusive) end of a working interval: the
    # second just before it is working time. It never lands in the middle of a night,
    # weekend or holiday.
    assert cal.is_open(due) or cal.is_open(due - timedelta(seconds=1))
    local_day = due.astimezone(ZoneInfo(cal.timezone)) - timedelta(seconds=1)
    assert not cal.is_closed_date(local_day.date())


@PROPERTY_SETTINGS
@given(cal=CALENDARS, a=INSTANTS, b=INSTANTS, c=INSTANTS)
def test_between_is_additive(cal: WorkingCalendar, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert cal.between(a, b) + cal.between(b, c) == cal.between(a, c)
    assert cal.between(a, b) >= 0


@PROPERTY_SETTINGS
@given(cal=CALENDARS, t1=INSTANTS, t2=INSTANTS, d1=MINUTES, d2=MINUTES)
def test_add_and_between_are_monotonic(
    cal: WorkingCalendar, t1: datetime, t2: datetime, d1: int, d2: int
) -> None:
    t1, t2 = sorted((t1, t2))
    d1, d2 = sorted((d1, d2))
    assert cal.add(t1, d1) <= cal.add(t1, d2)
    assert cal.add(t1, d1) <= cal.add(t2, d1)
    # Counting from a later start never gives more working time to the same end.
    end = cal.add(t2, d2)
    assert cal.between(t1, end) >= cal.between(t2, end)


@PROPERTY_SETTINGS
@given(cal=CALENDARS, t=INSTANTS, d=st.integers(1, 10 * ONE_DAY))
def test_next_open_agrees_with_is_open_and_add(cal: WorkingCalendar, t: datetime, d: int) -> None:
    start = cal.next_open(t)
    assert start >= t
    assert cal.is_open(start)
    assert cal.between(t, start) == 0
    assert (start == t) == cal.is_open(t)
    # With minute-aligned inputs, a minute is open exactly when it counts as working time.
    assert cal.is_open(t) == (cal.between(t, t.astimezone(UTC) + timedelta(minutes=1)) == 1)
    # Closed time before the next opening does not change a due date.
    assert cal.add(t, d) == cal.add(start, d)


@PROPERTY_SETTINGS
@given(t=INSTANTS, d=st.integers(0, 60 * 1440))
def test_always_open_counts_plain_minutes(t: datetime, d: int) -> None:
    # Elapsed time, not wall-clock time: an aware Berlin input crossing DST is still
    # exactly d minutes later (so do the arithmetic in UTC).
    end = t.astimezone(UTC) + timedelta(minutes=d)
    assert ALWAYS_OPEN.add(t, d) == end
    assert ALWAYS_OPEN.between(t, end) == d
    assert ALWAYS_OPEN.is_open(t)


@PROPERTY_SETTINGS
@given(t=INSTANTS, d=MINUTES)
def test_input_zone_does_not_matter(t: datetime, d: int) -> None:
    results = {DEFAULT_CALENDAR.add(t.astimezone(tz), d) for tz in (UTC, WIB, WIT)}
    assert len(results) == 1


# -- a brute-force oracle: walk the calendar minute by minute ------------------------------
#
# Independent of the interval arithmetic above: a minute counts when its local wall-clock
# time lies in the configured hours of its weekday and its local date is neither an admin's
# closed date nor, straight from the ``holidays`` package, a national holiday or cuti bersama.

_ORACLE_HOLIDAYS = frozenset(
    holidays.country_holidays("ID", years=(2026, 2027, 2028), categories=("public", "government"))
)


def _oracle_counts(cal: WorkingCalendar, minute_start: datetime) -> bool:
    local = minute_start.astimezone(ZoneInfo(cal.timezone))
    if cal.always_open:
        return True
    day = local.date()
    if day in cal.extra_closed or (cal.national_holidays and day in _ORACLE_HOLIDAYS):
        return False
    wall = local.time()
    return any(start <= wall < end for start, end in cal.hours.get(local.weekday(), ()))


def _oracle_add(cal: WorkingCalendar, start: datetime, minutes: int) -> datetime:
    at = start
    while minutes:
        if _oracle_counts(cal, at):
            minutes -= 1
        at += timedelta(minutes=1)
    return at


def _oracle_between(cal: WorkingCalendar, start: datetime, end: datetime) -> int:
    count, at = 0, start
    while at < end:
        count += _oracle_counts(cal, at)
        at += timedelta(minutes=1)
    return count


_ORACLE_START = datetime(2026, 1, 1, tzinfo=WIB)
_ORACLE_MINUTES = int((datetime(2028, 1, 1, tzinfo=WIB) - _ORACLE_START) / timedelta(minutes=1))
# Minute-aligned instants anywhere in 2026-2027, and the days around Idul Fitri, whose
# holidays and cuti bersama make the longest closed stretches of the year.
_ORACLE_INSTANTS = st.one_of(
    st.integers(0, _ORACLE_MINUTES - 1).map(lambda m: _ORACLE_START + timedelta(minutes=m)),
    st.builds(
        lambda day, minute: datetime.combine(day, time(0), tzinfo=WIB) + timedelta(minutes=minute),
        st.sampled_from([date(2026, 3, 17), date(2026, 3, 18), date(2027, 3, 8)]),
        st.integers(0, 24 * 60 - 1),
    ),
)
_ORACLE_SETTINGS = settings(max_examples=60, deadline=None, database=None)


@_ORACLE_SETTINGS
@given(
    cal=st.sampled_from([DEFAULT_CALENDAR, PUSKESMAS, SATURDAY, WITH_EXTRA]),
    t=_ORACLE_INSTANTS,
    minutes=st.one_of(st.integers(0, 2 * ONE_DAY), st.integers(0, 6 * ONE_DAY)),
)
def test_add_agrees_with_a_minute_by_minute_walk(
    cal: WorkingCalendar, t: datetime, minutes: int
) -> None:
    assert cal.add(t, minutes) == _oracle_add(cal, t, minutes)


@_ORACLE_SETTINGS
@given(
    cal=st.sampled_from([DEFAULT_CALENDAR, PUSKESMAS, SATURDAY, WITH_EXTRA]),
    t=_ORACLE_INSTANTS,
    span=st.integers(0, 14 * 24 * 60),
)
def test_between_agrees_with_a_minute_by_minute_walk(
    cal: WorkingCalendar, t: datetime, span: int
) -> None:
    end = t + timedelta(minutes=span)
    assert cal.between(t, end) == _oracle_between(cal, t, end)


def test_working_time_is_exact_and_the_inverse_of_add() -> None:
    cal = DEFAULT_CALENDAR
    start = datetime(2026, 3, 27, 15, 59, 20, tzinfo=WIB)  # Friday, 40 s before closing
    end = cal.add(start, timedelta(seconds=90))
    # 40 s on Friday, then Monday 30 March from 08:00: 50 s more.
    assert end == datetime(2026, 3, 30, 8, 0, 50, tzinfo=WIB)
    assert cal.working_time(start, end) == timedelta(seconds=90)
    assert cal.between(start, end) == 1  # whole minutes, rounded down
    assert cal.working_time(end, start) == timedelta(0)
    assert cal.add(start, timedelta(0)) == start
    with pytest.raises(ValueError):
        cal.add(start, timedelta(seconds=-1))

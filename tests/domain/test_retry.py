"""The webhook retry schedule: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter and
Retry-After, then give up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from coord.domain.retry import (
    JITTER,
    MAX_ATTEMPTS,
    RETRY_AFTER_CAP,
    SCHEDULE,
    next_retry_delay,
    parse_retry_after,
)

NOW = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
EXPECTED = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]


def test_the_schedule_is_the_documented_one():
    assert list(SCHEDULE) == EXPECTED
    assert MAX_ATTEMPTS == 8


@pytest.mark.parametrize("attempts", range(1, MAX_ATTEMPTS))
def test_each_delay_stays_within_the_jitter(attempts):
    rng = random.Random(attempts)
    base = EXPECTED[attempts - 1]
    delays = [next_retry_delay(attempts, rng=rng) for _ in range(200)]
    assert all(base * (1 - JITTER) <= d <= base * (1 + JITTER) for d in delays)
    assert len(set(delays)) > 100  # spread out, not one instant for everybody


def test_after_the_last_attempt_there_is_no_next():
    assert next_retry_delay(MAX_ATTEMPTS) is None
    assert next_retry_delay(MAX_ATTEMPTS + 3) is None
    with pytest.raises(ValueError):
        next_retry_delay(0)


def test_retry_after_is_a_lower_bound_and_capped():
    rng = random.Random(1)
    assert next_retry_delay(1, retry_after=timedelta(seconds=120), rng=rng) == timedelta(
        seconds=120
    )
    shorter = next_retry_delay(3, retry_after=timedelta(seconds=1), rng=rng)
    assert shorter is not None and shorter >= timedelta(minutes=25)
    assert next_retry_delay(1, retry_after=timedelta(days=30), rng=rng) == RETRY_AFTER_CAP


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        ("  0 ", timedelta(0)),
        ("Wed, 04 Mar 2026 04:00:00 GMT", timedelta(hours=1)),
        ("Wed, 04 Mar 2026 02:00:00 GMT", timedelta(0)),  # already past: no extra wait
        ("soon", None),
        ("", None),
        (None, None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header, expected):
    assert parse_retry_after(header, NOW) == expected

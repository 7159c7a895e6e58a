"""When to try a failed webhook delivery again (DESIGN.md section 6), as pure functions.

After the first attempt fails the next ones come about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
10 h later (eight attempts over about 28 hours), each delay spread by up to 15 percent either
way so that the deliveries of an endpoint that was down do not all come back at the same
instant. A ``Retry-After`` answer (seconds or an HTTP date) is honoured as a lower bound, capped
at the longest step so that a receiver cannot push a message out for ever.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# Delay after the 1st, 2nd, ... failed attempt.
SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.15
RETRY_AFTER_CAP = max(SCHEDULE)


def next_retry_delay(
    attempts_made: int, *, retry_after: timedelta | None = None, rng: random.Random | None = None
) -> timedelta | None:
    """The delay before the next attempt, or None when ``attempts_made`` used them all up.

    ``attempts_made`` counts the attempts so far, including the one that just failed.
    """
    if attempts_made < 1:
        raise ValueError("attempts_made counts the failed attempt, so it is at least 1")
    if attempts_made >= MAX_ATTEMPTS:
        return None
    base = SCHEDULE[attempts_made - 1]
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    delay = base * factor
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as a delay: delta-seconds or an HTTP date; None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return timedelta(seconds=min(int(value), 10**9))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))

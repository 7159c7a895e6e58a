"""The one source of the current time. Tests freeze it through ``freeze``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_frozen: datetime | None = None


def now_utc() -> datetime:
    """Timezone-aware current time in UTC (or the frozen instant in tests)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


@contextmanager
def freeze(at: datetime) -> Iterator[None]:
    global _frozen
    if at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    previous, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous


def set_frozen(at: datetime | None) -> None:
    """Set or clear the frozen instant (used by long-lived test fixtures)."""
    global _frozen
    _frozen = at.astimezone(UTC) if at is not None else None

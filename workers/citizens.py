"""Citizen jobs: closing resolved cases whose dispute window has passed."""

from __future__ import annotations

from coord.clock import now_utc


def close_expired_resolutions() -> int:
    """Close (as the system) every resolved case past COORD_DISPUTE_DAYS; returns how many.
    Idempotent: each case is re-checked under its lock and closes in its own transaction."""
    from coord.services.citizens import close_expired_resolutions as close_expired

    return close_expired(now_utc())

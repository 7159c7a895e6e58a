"""SLA jobs: the sweep that fires warnings and breaches."""

from __future__ import annotations

from coord.clock import now_utc


def sweep_sla() -> int:
    """Fire every SLA threshold that fell due; returns how many fired."""
    from coord.services.sla_sweep import sweep

    return sweep(now_utc())

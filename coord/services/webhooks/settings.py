"""Webhook settings read from the app config (``COORD_WEBHOOK_*``): the allowed networks,
timeout, batch size, claim lease, secret rotation overlap and the public base URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from coord.domain import netguard


@dataclass(frozen=True)
class WebhookSettings:
    allow_networks: tuple[netguard.IPNetwork, ...]
    timeout: float
    batch: int
    lease: timedelta
    rotation_overlap: timedelta
    public_base_url: str

    @property
    def time_budget(self) -> float:
        """Seconds a job may spend sending before it hands the rest back: half the lease,
        so that a claim never expires while its job is still working on it."""
        return max(self.lease.total_seconds() / 2 - self.timeout, 1.0)


def settings() -> WebhookSettings:
    config = current_app.config
    try:
        allow = netguard.parse_allow_list(config.get("COORD_WEBHOOK_ALLOW_CIDRS", ""))
    except ValueError as exc:
        raise RuntimeError(f"COORD_WEBHOOK_ALLOW_CIDRS: {exc}") from exc
    return WebhookSettings(
        allow_networks=tuple(allow),
        timeout=float(config.get("COORD_WEBHOOK_TIMEOUT", 10)),
        batch=max(int(config.get("COORD_WEBHOOK_BATCH", 100)), 1),
        lease=timedelta(seconds=int(config.get("COORD_WEBHOOK_LEASE_SECONDS", 120))),
        rotation_overlap=timedelta(
            hours=int(config.get("COORD_WEBHOOK_ROTATION_OVERLAP_HOURS", 24))
        ),
        public_base_url=str(config.get("COORD_PUBLIC_BASE_URL", "")).rstrip("/"),
    )

"""Webhook jobs: send an endpoint's due deliveries, and the sweep that finds lost work.

Both take ids only and are safe to run twice: a delivery is claimed under a lease before it is
sent, and the sweep only enqueues work that no live job holds.
"""

from __future__ import annotations

from coord.clock import now_utc


def deliver_endpoint(endpoint_id: int) -> int:
    """Send one batch of the endpoint's due deliveries; returns how many were delivered.

    Enqueues itself again while due deliveries remain (see coord.services.webhooks.delivery)."""
    from coord.services.webhooks.delivery import deliver_batch
    from coord.services.webhooks.scheduling import release_gate

    release_gate(endpoint_id)
    return deliver_batch(endpoint_id).delivered


def sweep_outbox() -> int:
    """Enqueue ``deliver_endpoint`` for every endpoint whose due deliveries no job holds
    (Redis was down at commit time or flushed, a worker was killed, a retry fell due);
    returns how many jobs were enqueued."""
    from coord.services.webhooks.scheduling import sweep

    return sweep(now_utc())

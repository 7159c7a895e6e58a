"""The webhook event types: what an endpoint may subscribe to, which internal event
(``CaseEvent.type``) is sent as which webhook type, and which types also go to the camat
office of the case's kecamatan.
"""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "case.created",
    "case.updated",
    "case.resolved",
    "case.closed",
    "case.reopened",
    "case.cancelled",
    "handoff.requested",
    "handoff.accepted",
    "handoff.rejected",
    "handoff.recalled",
    "handoff.completed",
    "sla.warning",
    "sla.breached",
    "case.escalated",
    "case.bounced",
    "feedback.received",
    "ping",
)
# What an endpoint may subscribe to; ``ping`` is sent on request whatever it subscribed.
SUBSCRIBABLE_TYPES: tuple[str, ...] = tuple(t for t in EVENT_TYPES if t != "ping")

# Internal event type (CaseEvent.type) -> webhook event type. Anything else is not sent.
WEBHOOK_TYPE: dict[str, str] = {
    "case.created": "case.created",
    "case.started": "case.updated",
    "case.assigned": "case.updated",
    "case.held": "case.updated",
    "case.resumed": "case.updated",
    "case.updated": "case.updated",
    "case.reassigned": "case.updated",
    "case.commented": "case.updated",  # public comments only (see write_outbox)
    "case.resolved": "case.resolved",
    "case.closed": "case.closed",
    "case.reopened": "case.reopened",
    "case.disputed": "case.reopened",
    "case.cancelled": "case.cancelled",
    "handoff.requested": "handoff.requested",
    "handoff.accepted": "handoff.accepted",
    "handoff.rejected": "handoff.rejected",
    "handoff.recalled": "handoff.recalled",
    "handoff.completed": "handoff.completed",
    "sla.warning": "sla.warning",
    "sla.breached": "sla.breached",
    "case.escalated": "case.escalated",
    "case.bounced": "case.bounced",
    "feedback.received": "feedback.received",
}
# Also sent to the camat office whose kecamatan holds the case.
CAMAT_OFFICE_TYPES = frozenset({"sla.breached", "case.escalated"})

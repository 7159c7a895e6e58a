"""Webhooks (DESIGN.md section 6): signed messages to a unit's own systems, one module per seam.

- ``event_types``: the event types an endpoint may subscribe to, and which internal event is
  sent as which.
- ``settings``: ``WebhookSettings`` read from the app config (``COORD_WEBHOOK_*``).
- ``endpoints``: who may manage a unit's endpoints, the destination (SSRF) check, and the
  endpoint commands (create, update, delete, rotate the secret, ping, redeliver).
- ``outbox``: the outbox writer, one delivery row per new event and subscribed endpoint,
  written in the event's transaction (``install_outbox`` subscribes it).
- ``scheduling``: the Redis gate that keeps at most one job per endpoint waiting, enqueueing
  ``workers.webhooks.deliver_endpoint``, and the sweep that finds lost work.
- ``transport``: the guarded HTTP session and the signed POST of one message.
- ``delivery``: the job's work, claim a batch under a lease, send it, record every outcome.

The package re-exports nothing: import each name from the module that holds it.
"""

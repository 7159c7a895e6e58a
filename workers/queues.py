"""Queue names, in one place. The config's RQ_QUEUES lists them in priority order."""

DEFAULT = "default"
WEBHOOKS = "webhooks"
SLA = "sla"

ALL = (SLA, WEBHOOKS, DEFAULT)

"""All models, imported here so Alembic and the app see one metadata."""

from coord.models.case_trail import Attachment, CaseEvent, IdempotencyKey, Visibility
from coord.models.cases import (
    CancelReason,
    Case,
    CaseUnit,
    CaseUnitRole,
    Channel,
    Handoff,
    ReporterPrivacy,
)
from coord.models.categories import Category, ClockKind, Priority, SlaPolicy
from coord.models.config import ConfigGeneration
from coord.models.feedback import SKM_ELEMENTS, Feedback, Open311Client
from coord.models.regions import Region, RegionLevel, Unit, UnitKind
from coord.models.sla import (
    ClockName,
    ClockState,
    Notification,
    NotificationKind,
    SlaAlert,
    SlaClock,
)
from coord.models.users import ApiToken, Role, User, UserRole
from coord.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Attachment",
    "SKM_ELEMENTS",
    "Feedback",
    "Open311Client",
    "ApiToken",
    "CancelReason",
    "ClockName",
    "ClockState",
    "DeliveryStatus",
    "Notification",
    "NotificationKind",
    "SlaAlert",
    "SlaClock",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Case",
    "CaseEvent",
    "CaseUnit",
    "CaseUnitRole",
    "ConfigGeneration",
    "Category",
    "Channel",
    "ClockKind",
    "Handoff",
    "IdempotencyKey",
    "Priority",
    "Region",
    "RegionLevel",
    "ReporterPrivacy",
    "Role",
    "SlaPolicy",
    "Unit",
    "UnitKind",
    "User",
    "UserRole",
    "Visibility",
]

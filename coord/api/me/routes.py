"""What needs the caller now: the attention feed."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from coord.api.auth import current_actor
from coord.api.base import Blueprint
from coord.api.cases.schemas import CaseOut
from coord.api.handoffs.schemas import HandoffOut
from coord.clock import now_utc
from coord.http.fields import Instant, Schema
from coord.services import attention
from coord.services.uow import unit_of_work

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The signed-in user")


class NotificationOut(Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    subject = ma.fields.String()
    body = ma.fields.String()
    case_id = ma.fields.Integer()
    created_at = Instant()
    deliver_after = Instant()
    read_at = Instant(allow_none=True)


class AttentionOut(Schema):
    notifications = ma.fields.List(ma.fields.Nested(NotificationOut))
    handoffs_to_acknowledge = ma.fields.List(ma.fields.Nested(HandoffOut))
    breached_cases = ma.fields.List(ma.fields.Nested(CaseOut))
    bounced_cases = ma.fields.List(ma.fields.Nested(CaseOut))
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


@blp.route("/attention")
class Attention(MethodView):
    @blp.response(200, AttentionOut)
    def get(self) -> dict[str, Any]:
        """Unread warnings and breaches (once the office is open), handoffs to acknowledge,
        breached open cases and, for managers, bounced cases awaiting a decision: the first
        50 of each list and, in ``counts``, each list's true length. Page through a list with
        ``GET /me/attention/{list}``."""
        return attention.attention_feed(current_actor(), now_utc())


def _section_page(section: str, pagination_parameters: Any) -> list[Any]:
    rows, total = attention.attention_section(
        current_actor(),
        section,
        now_utc(),
        limit=pagination_parameters.page_size,
        offset=pagination_parameters.first_item,
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/attention/notifications")
class AttentionNotifications(MethodView):
    @blp.response(200, NotificationOut(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: Any) -> list[Any]:
        """Your unread notifications that are due, newest first; paginated."""
        return _section_page("notifications", pagination_parameters)


@blp.route("/attention/handoffs_to_acknowledge")
class AttentionHandoffs(MethodView):
    @blp.response(200, HandoffOut(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: Any) -> list[Any]:
        """Pending handoffs to your unit, earliest answer deadline first; paginated."""
        return _section_page("handoffs_to_acknowledge", pagination_parameters)


@blp.route("/attention/breached_cases")
class AttentionBreached(MethodView):
    @blp.response(200, CaseOut(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: Any) -> list[Any]:
        """Open breached cases (managers: all you may read; others: your unit's), the
        freshest breach first; paginated."""
        return _section_page("breached_cases", pagination_parameters)


@blp.route("/attention/bounced_cases")
class AttentionBounced(MethodView):
    @blp.response(200, CaseOut(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: Any) -> list[Any]:
        """Managers: open bounced cases in your jurisdiction awaiting a decision, the longest
        waiting first; paginated."""
        return _section_page("bounced_cases", pagination_parameters)


@blp.route("/notifications/<id:notification_id>/read")
class NotificationRead(MethodView):
    @blp.response(200, NotificationOut)
    def post(self, notification_id: int) -> Any:
        """Mark one of your notifications read (it leaves the attention feed)."""
        with unit_of_work():
            notification = attention.mark_read(current_actor(), notification_id, now_utc())
        return notification

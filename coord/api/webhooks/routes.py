"""Webhook endpoints of a unit (its admins and liaisons) and their delivery log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import url_for
from flask.views import MethodView
from sqlalchemy import func, select

from coord.api.auth import current_actor
from coord.api.base import DIRECTORY_PAGE, Blueprint, page_of
from coord.api.webhooks.schemas import (
    DeliveryListArgs,
    DeliveryOut,
    EndpointCreate,
    EndpointEdit,
    EndpointOut,
    EndpointWithSecret,
    RotateIn,
)
from coord.clock import now_utc
from coord.extensions import db
from coord.models import WebhookDelivery, WebhookEndpoint
from coord.services.uow import unit_of_work
from coord.services.webhooks import endpoints as webhook_service

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1",
    description="Signed webhooks to a unit's own systems, and their delivery log",
)


def endpoint_view(endpoint: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": endpoint.id,
        "unit": endpoint.unit.code,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types or []),
        "active": endpoint.active,
        "disabled_reason": endpoint.disabled_reason,
        "previous_secret_expires_at": (
            endpoint.previous_secret_expires_at
            if endpoint.previous_secret
            and endpoint.previous_secret_expires_at
            and endpoint.previous_secret_expires_at > now_utc()
            else None
        ),
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
        "version": endpoint.version,
        "deliveries_url": url_for("webhooks.DeliveryCollection", endpoint_id=endpoint.id),
    }
    if secret is not None:
        view["secret"] = secret
    return view


def delivery_view(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "endpoint_id": delivery.endpoint_id,
        "msg_id": delivery.msg_id,
        "event_type": delivery.event_type,
        "event_id": delivery.event_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at,
        "last_attempt_at": delivery.last_attempt_at,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at,
        "payload": delivery.payload,
        "url": url_for("webhooks.DeliveryItem", delivery_id=delivery.id),
    }


@blp.route("/units/<string(maxlength=64):code>/webhooks")
class EndpointCollection(MethodView):
    @blp.response(200, EndpointOut(many=True))
    @blp.paginate(page_size=DIRECTORY_PAGE)
    def get(self, code: str, pagination_parameters: Any) -> list[dict[str, Any]]:
        """The unit's webhook endpoints (its admins and liaisons), oldest first; paginated."""
        unit = webhook_service.unit_for_management(current_actor(), code)
        query = (
            select(WebhookEndpoint)
            .where(WebhookEndpoint.unit_id == unit.id)
            .order_by(WebhookEndpoint.id)
        )
        return [endpoint_view(e) for e in page_of(query, pagination_parameters)]

    @blp.arguments(EndpointCreate)
    @blp.response(201, EndpointWithSecret)
    def post(self, data: dict[str, Any], code: str) -> dict[str, Any]:
        """Register an endpoint. The answer holds its signing secret, shown this once.

        The URL must be http or https and resolve to a public address (or one in the operator's
        allowed networks)."""
        with unit_of_work():
            endpoint, secret = webhook_service.create_endpoint(
                current_actor(),
                code,
                url=data["url"],
                event_types=data["event_types"],
                description=data.get("description"),
                active=data["active"],
                now=now_utc(),
            )
        return endpoint_view(endpoint, secret)


@blp.route("/webhooks/<id:endpoint_id>")
class EndpointItem(MethodView):
    @blp.response(200, EndpointOut)
    def get(self, endpoint_id: int) -> dict[str, Any]:
        """One endpoint (without its secret)."""
        return endpoint_view(webhook_service.get_endpoint(current_actor(), endpoint_id))

    @blp.arguments(EndpointEdit)
    @blp.response(200, EndpointOut)
    def patch(self, data: dict[str, Any], endpoint_id: int) -> dict[str, Any]:
        """Change the URL, event types, description or active flag. Turning it off cancels
        its pending deliveries (redeliver them by hand if needed)."""
        with unit_of_work():
            endpoint = webhook_service.update_endpoint(
                current_actor(), endpoint_id, data, now_utc()
            )
        return endpoint_view(endpoint)

    @blp.response(204)
    def delete(self, endpoint_id: int) -> None:
        """Remove the endpoint and its delivery log."""
        with unit_of_work():
            webhook_service.delete_endpoint(current_actor(), endpoint_id)


@blp.route("/webhooks/<id:endpoint_id>/rotate")
class EndpointRotate(MethodView):
    @blp.arguments(RotateIn)
    @blp.response(200, EndpointWithSecret)
    def post(self, data: dict[str, Any], endpoint_id: int) -> dict[str, Any]:
        """Replace the signing secret. The new one is shown this once; the old one keeps
        signing beside it until ``previous_secret_expires_at`` so receivers can switch."""
        overlap = data.get("overlap_hours")
        with unit_of_work():
            endpoint, secret = webhook_service.rotate_secret(
                current_actor(),
                endpoint_id,
                now_utc(),
                overlap=timedelta(hours=overlap) if overlap is not None else None,
            )
        return endpoint_view(endpoint, secret)


@blp.route("/webhooks/<id:endpoint_id>/ping")
class EndpointPing(MethodView):
    @blp.response(202, DeliveryOut)
    def post(self, endpoint_id: int) -> dict[str, Any]:
        """Send a ``ping`` message now; follow it in the delivery log."""
        with unit_of_work():
            delivery = webhook_service.ping_endpoint(current_actor(), endpoint_id, now_utc())
        return delivery_view(delivery)


@blp.route("/webhooks/<id:endpoint_id>/deliveries")
class DeliveryCollection(MethodView):
    @blp.arguments(DeliveryListArgs, location="query")
    @blp.response(200, DeliveryOut(many=True))
    @blp.paginate()
    def get(
        self, args: dict[str, Any], pagination_parameters: Any, endpoint_id: int
    ) -> list[dict[str, Any]]:
        """The endpoint's deliveries, newest first: status, attempts, last status code and
        error, next attempt."""
        endpoint = webhook_service.get_endpoint(current_actor(), endpoint_id)
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        if args.get("status"):
            query = query.where(WebhookDelivery.status.in_(args["status"]))
        if args.get("event_type"):
            query = query.where(WebhookDelivery.event_type == args["event_type"])
        total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        pagination_parameters.item_count = total
        rows = db.session.execute(
            query.order_by(WebhookDelivery.id.desc())
            .limit(pagination_parameters.page_size)
            .offset(pagination_parameters.first_item)
        ).scalars()
        return [delivery_view(d) for d in rows]


@blp.route("/deliveries/<id:delivery_id>")
class DeliveryItem(MethodView):
    @blp.response(200, DeliveryOut)
    def get(self, delivery_id: int) -> dict[str, Any]:
        """One delivery."""
        return delivery_view(webhook_service.get_delivery(current_actor(), delivery_id))


@blp.route("/deliveries/<id:delivery_id>/redeliver")
class DeliveryRedeliver(MethodView):
    @blp.response(202, DeliveryOut)
    def post(self, delivery_id: int) -> dict[str, Any]:
        """Send a delivered, failed or cancelled message again, with a fresh series of
        attempts and the same ``webhook-id``."""
        with unit_of_work():
            delivery = webhook_service.redeliver(current_actor(), delivery_id, now_utc())
        return delivery_view(delivery)

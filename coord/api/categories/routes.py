"""Categories with their current SLA targets."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coord.api.auth import current_actor
from coord.api.base import DIRECTORY_PAGE, Blueprint, page_of
from coord.clock import now_utc
from coord.http.fields import Instant, Schema
from coord.models import Category, ClockKind, Priority, SlaPolicy
from coord.services import configuration
from coord.services.uow import unit_of_work

blp = Blueprint(
    "categories",
    __name__,
    url_prefix="/api/v1/categories",
    description="Case categories and SLA targets",
)


class TargetOut(Schema):
    priority = ma.fields.String()
    version = ma.fields.Integer()
    response_minutes = ma.fields.Integer()
    resolution_minutes = ma.fields.Integer()
    handoff_ack_minutes = ma.fields.Integer()
    warning_percents = ma.fields.List(ma.fields.Integer())
    clock = ma.fields.String()


class CategoryOut(Schema):
    code = ma.fields.String()
    name_id = ma.fields.String()
    name_en = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    default_unit = ma.fields.String(allow_none=True)
    public = ma.fields.Boolean()
    active = ma.fields.Boolean()
    sla = ma.fields.List(ma.fields.Nested(TargetOut))


def category_view(category: Category) -> dict[str, Any]:
    return {
        "code": category.code,
        "name_id": category.name_id,
        "name_en": category.name_en,
        "description": category.description,
        "default_unit": category.default_unit.code if category.default_unit else None,
        "public": category.public,
        "active": category.active,
        "sla": [
            {
                "priority": p.priority,
                "version": p.version,
                "response_minutes": p.response_minutes,
                "resolution_minutes": p.resolution_minutes,
                "handoff_ack_minutes": p.handoff_ack_minutes,
                "warning_percents": p.warning_percents,
                "clock": p.clock,
            }
            for p in category.policies
            if p.superseded_at is None
        ],
    }


@blp.route("")
class CategoryCollection(MethodView):
    @blp.response(200, CategoryOut(many=True))
    @blp.paginate(page_size=DIRECTORY_PAGE)
    def get(self, pagination_parameters: Any) -> list[dict[str, Any]]:
        """Active categories with the SLA targets that apply to new cases, by code; paginated."""
        current_actor()
        query = (
            select(Category)
            .where(Category.active.is_(True))
            .order_by(Category.code)
            .options(selectinload(Category.policies), selectinload(Category.default_unit))
        )
        return [category_view(c) for c in page_of(query, pagination_parameters)]


class PolicyIn(Schema):
    priority = ma.fields.String(required=True, validate=validate.OneOf([p.value for p in Priority]))
    response_minutes = ma.fields.Integer(required=True, validate=validate.Range(1, 525_600))
    resolution_minutes = ma.fields.Integer(required=True, validate=validate.Range(1, 525_600))
    handoff_ack_minutes = ma.fields.Integer(required=True, validate=validate.Range(1, 525_600))
    warning_percents = ma.fields.List(
        ma.fields.Integer(validate=validate.Range(1, 99)),
        load_default=lambda: [50, 80],
        validate=validate.Length(max=5),
    )
    clock = ma.fields.String(
        load_default="business", validate=validate.OneOf([c.value for c in ClockKind])
    )


class PolicyOut(TargetOut):
    id = ma.fields.Integer()
    created_at = Instant()
    superseded_at = Instant(allow_none=True)
    current = ma.fields.Boolean()


def policy_view(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "priority": policy.priority,
        "version": policy.version,
        "response_minutes": policy.response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "handoff_ack_minutes": policy.handoff_ack_minutes,
        "warning_percents": policy.warning_percents,
        "clock": policy.clock,
        "created_at": policy.created_at,
        "superseded_at": policy.superseded_at,
        "current": policy.superseded_at is None,
    }


@blp.route("/<string(maxlength=64):code>/policies")
class CategoryPolicies(MethodView):
    @blp.response(200, PolicyOut(many=True))
    @blp.paginate(page_size=DIRECTORY_PAGE)
    def get(self, code: str, pagination_parameters: Any) -> list[dict[str, Any]]:
        """Every version of the category's SLA policies (current and superseded), by priority
        and version; paginated."""
        current_actor()
        query = configuration.policies_of(code)
        return [policy_view(p) for p in page_of(query, pagination_parameters)]

    @blp.arguments(PolicyIn)
    @blp.response(201, PolicyOut)
    def post(self, data: dict[str, Any], code: str) -> dict[str, Any]:
        """Publish new targets for one priority as a new version (admins). Open cases keep
        the version they were opened under."""
        with unit_of_work():
            policy = configuration.publish_policy(current_actor(), code, data, now_utc())
        return policy_view(policy)

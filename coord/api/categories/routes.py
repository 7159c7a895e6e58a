"""Categories with their current SLA targets."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coord.api.auth import current_actor
from coord.api.base import Blueprint, Schema
from coord.extensions import db
from coord.models import Category

blp = Blueprint("categories", __name__, url_prefix="/api/v1/categories",
                description="Case categories and SLA targets")


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
        "code": category.code, "name_id": category.name_id, "name_en": category.name_en,
        "description": category.description,
        "default_unit": category.default_unit.code if category.default_unit else None,
        "public": category.public, "active": category.active,
        "sla": [
            {"priority": p.priority, "version": p.version, "response_minutes": p.response_minutes,
             "resolution_minutes": p.resolution_minutes, "handoff_ack_minutes": p.handoff_ack_minutes,
             "warning_percents": p.warning_percents, "clock": p.clock}
            for p in category.policies if p.superseded_at is None
        ],
    }


@blp.route("")
class CategoryCollection(MethodView):
    @blp.response(200, CategoryOut(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Active categories with the SLA targets that apply to new cases."""
        current_actor()
        rows = db.session.execute(
            select(Category).where(Category.active.is_(True)).order_by(Category.code)
            .options(selectinload(Category.policies), selectinload(Category.default_unit))
        ).scalars()
        return [category_view(c) for c in rows]

"""Handoffs to or from the caller's unit, and the receiving and sending units' actions."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import and_, func, select

from coord.api.auth import current_actor
from coord.api.base import Blueprint
from coord.api.handoffs.schemas import AcceptIn, CompleteIn, HandoffListArgs, HandoffOut, RejectIn
from coord.clock import now_utc
from coord.domain.states import HandoffStatus
from coord.extensions import db
from coord.models import Handoff
from coord.presenters import handoff_view
from coord.services.case_actions import run_handoff_action
from coord.services.errors import NotFound
from coord.services.policy import can_read_handoff, readable_handoffs
from coord.services.uow import unit_of_work

blp = Blueprint(
    "handoffs",
    __name__,
    url_prefix="/api/v1/handoffs",
    description="Transfers and assistance requests between units",
)


@blp.route("")
class HandoffCollection(MethodView):
    @blp.arguments(HandoffListArgs, location="query")
    @blp.response(200, HandoffOut(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
        """Handoffs addressed to (incoming) or sent by (outgoing) your unit, oldest due first."""
        actor = current_actor()
        query = select(Handoff).where(readable_handoffs(actor))
        if args.get("direction") == "incoming":
            query = query.where(Handoff.to_unit_id == actor.unit_id)
        elif args.get("direction") == "outgoing":
            query = query.where(Handoff.from_unit_id == actor.unit_id)
        if args.get("status"):
            query = query.where(Handoff.status.in_(args["status"]))
        if args.get("kind"):
            query = query.where(Handoff.kind == args["kind"])
        if "overdue" in args:
            overdue = and_(
                Handoff.status == HandoffStatus.PENDING.value, Handoff.ack_due_at < now_utc()
            )
            query = query.where(overdue if args["overdue"] else ~overdue)
        total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        pagination_parameters.item_count = total
        rows = (
            db.session.execute(
                query.order_by(Handoff.ack_due_at.asc().nulls_last(), Handoff.id)
                .limit(pagination_parameters.page_size)
                .offset(pagination_parameters.first_item)
            )
            .unique()
            .scalars()
        )
        return [handoff_view(h) for h in rows]


@blp.route("/<id:handoff_id>")
class HandoffItem(MethodView):
    @blp.response(200, HandoffOut)
    def get(self, handoff_id: int) -> dict[str, Any]:
        """One handoff."""
        handoff = db.session.get(Handoff, handoff_id)
        if handoff is None or not can_read_handoff(current_actor(), handoff):
            raise NotFound("No handoff with that id in your scope.")
        return handoff_view(handoff)


@blp.route("/<id:handoff_id>/accept")
class HandoffAccept(MethodView):
    @blp.arguments(AcceptIn)
    @blp.response(200, HandoffOut)
    def post(self, data: dict[str, Any], handoff_id: int) -> dict[str, Any]:
        """Accept (receiving liaison): a transfer makes your unit the owner."""
        with unit_of_work(keep_loaded=True, fast_updates=True):
            handoff = run_handoff_action(current_actor(), handoff_id, "accept", data, now_utc())
        return handoff_view(handoff)


@blp.route("/<id:handoff_id>/reject")
class HandoffReject(MethodView):
    @blp.arguments(RejectIn)
    @blp.response(200, HandoffOut)
    def post(self, data: dict[str, Any], handoff_id: int) -> dict[str, Any]:
        """Reject with a reason (receiving liaison); a transfer goes back to the sender."""
        with unit_of_work(keep_loaded=True, fast_updates=True):
            handoff = run_handoff_action(current_actor(), handoff_id, "reject", data, now_utc())
        return handoff_view(handoff)


@blp.route("/<id:handoff_id>/recall")
class HandoffRecall(MethodView):
    @blp.arguments(AcceptIn)
    @blp.response(200, HandoffOut)
    def post(self, data: dict[str, Any], handoff_id: int) -> dict[str, Any]:
        """Take back a pending request (sending unit); also withdraws an accepted assist."""
        with unit_of_work(keep_loaded=True, fast_updates=True):
            handoff = run_handoff_action(current_actor(), handoff_id, "recall", data, now_utc())
        return handoff_view(handoff)


@blp.route("/<id:handoff_id>/complete")
class HandoffComplete(MethodView):
    @blp.arguments(CompleteIn)
    @blp.response(200, HandoffOut)
    def post(self, data: dict[str, Any], handoff_id: int) -> dict[str, Any]:
        """Report an accepted assistance request done, with a note (assisting unit)."""
        with unit_of_work(keep_loaded=True, fast_updates=True):
            handoff = run_handoff_action(current_actor(), handoff_id, "complete", data, now_utc())
        return handoff_view(handoff)

"""Cases: create, list, read, edit, actions, comments, events and handoff requests."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask import jsonify, request, url_for
from flask.views import MethodView
from sqlalchemy import func, select

from coord.api.auth import current_actor
from coord.api.base import Blueprint
from coord.api.cases.schemas import (
    ActionIn,
    CaseEdit,
    CaseListArgs,
    CaseOut,
    CommentIn,
    EventOut,
    HandoffCreate,
)
from coord.api.handoffs.schemas import HandoffOut
from coord.clock import now_utc
from coord.domain.states import CASE_ACTIONS
from coord.extensions import db
from coord.http.case_body import CaseCreate
from coord.http.etag import expected_version, set_etag
from coord.http.fields import Instant
from coord.models import Case, CaseEvent, SlaClock
from coord.presenters import case_view, event_view, handoff_view
from coord.services import attachments as attachment_service
from coord.services import case_intake, case_records
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.case_actions import run_case_action
from coord.services.case_queries import filter_cases
from coord.services.errors import InvalidInput
from coord.services.policy import allowed_case_actions, readable_cases, reporter_visible_case_ids
from coord.services.uow import run_command, unit_of_work

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases", description="Citizen cases")


def present(case: Case) -> dict[str, Any]:
    """The case as its reader sees it (a new case's clocks are in hand: no query)."""
    actor = current_actor()
    return case_view(
        case,
        case.id in reporter_visible_case_ids(actor, [case]),
        case.clocks,
        allowed_case_actions(actor, case),
    )


def clocks_by_case(case_ids: list[int]) -> dict[int, list[SlaClock]]:
    """Every deadline of the given cases, one query."""
    found: dict[int, list[SlaClock]] = {}
    if not case_ids:
        return found
    for clock in db.session.execute(
        select(SlaClock).where(SlaClock.case_id.in_(case_ids)).order_by(SlaClock.id)
    ).scalars():
        found.setdefault(clock.case_id, []).append(clock)
    return found


IDEMPOTENCY_KEY = "[ -~]{1,255}"  # visible ASCII and spaces
CASE_OUT = CaseOut()  # one instance: its nested schemas are built once, not per response


def case_response(case: Case, status: int = 200):  # type: ignore[no-untyped-def]
    response = jsonify(CASE_OUT.dump(present(case)))
    response.status_code = status
    return set_etag(response, case.version)


@blp.route("")
class CaseCollection(MethodView):
    @blp.arguments(CaseListArgs, location="query")
    @blp.response(200, CaseOut(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
        """List cases in your scope, newest change first (filters combine with AND)."""
        actor = current_actor()
        query = select(Case).where(readable_cases(actor))
        query = filter_cases(query, args)
        total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        pagination_parameters.item_count = total
        page: list[Case] = list(
            db.session.execute(
                query.order_by(Case.updated_at.desc(), Case.id.desc())
                .limit(pagination_parameters.page_size)
                .offset(pagination_parameters.first_item)
            )
            .unique()
            .scalars()
            .all()
        )
        visible = reporter_visible_case_ids(actor, page)
        clocks = clocks_by_case([c.id for c in page])
        return [
            case_view(c, c.id in visible, clocks.get(c.id, []), allowed_case_actions(actor, c))
            for c in page
        ]

    @blp.arguments(CaseCreate)
    @blp.response(201, CaseOut)
    @blp.doc(
        parameters=[
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": f"^{IDEMPOTENCY_KEY}$",
                },
                "description": "Retrying a POST with the same key returns the first case; "
                "1 to 255 printable ASCII characters (a UUID is a good key). Reusing a key with "
                "another body is 422.",
            }
        ]
    )
    def post(self, data: dict[str, Any]):  # type: ignore[no-untyped-def]
        """Record a case; your unit records and (unless owner_unit says otherwise) owns it."""
        actor = current_actor()
        key = request.headers.get("Idempotency-Key")
        if key is not None and not re.fullmatch(IDEMPOTENCY_KEY, key):
            raise InvalidInput.field("Idempotency-Key", "1 to 255 printable ASCII characters")
        new = case_intake.NewCase.from_payload(data)
        case, created = run_command(
            lambda: case_intake.create_case(actor, new, now_utc(), idempotency_key=key),
            keep_loaded=True,
        )
        response = case_response(case, 201 if created else 200)
        response.headers["Location"] = url_for("cases.CaseItem", case_id=case.id)
        if not created:
            response.headers["Idempotent-Replayed"] = "true"
        return response


@blp.route("/<id:case_id>")
class CaseItem(MethodView):
    @blp.response(200, CaseOut)
    def get(self, case_id: int):  # type: ignore[no-untyped-def]
        """Read one case; the ETag is its version, for If-Match on changes."""
        case = case_records.load_case(current_actor(), case_id)
        return case_response(case)

    @blp.arguments(CaseEdit)
    @blp.response(200, CaseOut)
    @blp.doc(
        parameters=[
            {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"}}
        ]
    )
    def patch(self, data: dict[str, Any], case_id: int):  # type: ignore[no-untyped-def]
        """Edit details (owner unit). Needs If-Match; a stale version gets 412."""
        changes = dict(data)
        location = changes.pop("location", None)
        if location:
            changes.update({k: v for k, v in location.items()})
        version = expected_version(required=True)
        with unit_of_work(keep_loaded=True, fast_updates=True):
            case = case_intake.edit_case(
                current_actor(), case_id, changes, now_utc(), expected_version=version
            )
        return case_response(case)


@blp.route("/<id:case_id>/<any(" + ",".join(CASE_ACTIONS) + "):action>")
class CaseAction(MethodView):
    @blp.arguments(ActionIn)
    @blp.response(200, CaseOut)
    def post(self, data: dict[str, Any], case_id: int, action: str):  # type: ignore[no-untyped-def]
        """Run an action: start, assign, hold (reason), resume, resolve (note), reopen
        (reason), close, cancel (reason: invalid, spam or duplicate with duplicate_of).
        If-Match is optional; when sent, a stale version gets 412."""
        version = expected_version(required=False)
        actor, now = current_actor(), now_utc()
        with unit_of_work(keep_loaded=True, fast_updates=True):
            case = run_case_action(actor, case_id, action, data, now, expected_version=version)
        return case_response(case)


@blp.route("/<id:case_id>/comments")
class CaseComments(MethodView):
    @blp.arguments(CommentIn)
    @blp.response(201, EventOut)
    def post(self, data: dict[str, Any], case_id: int) -> dict[str, Any]:
        """Comment on a case; public comments show on the citizen's timeline."""
        with unit_of_work(keep_loaded=True, fast_updates=True):
            case = case_service.comment_on_case(
                current_actor(), case_id, data["body"], data["visibility"], now_utc()
            )
            event = db.session.execute(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id)
                .order_by(CaseEvent.id.desc())
                .limit(1)
            ).scalar_one()
        return event_view(event)


@blp.route("/<id:case_id>/events")
class CaseEvents(MethodView):
    @blp.response(200, EventOut(many=True))
    def get(self, case_id: int) -> list[dict[str, Any]]:
        """The case's timeline, oldest first (internal and public events)."""
        case = case_records.load_case(current_actor(), case_id)
        events = db.session.execute(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.at, CaseEvent.id)
        ).scalars()
        return [event_view(e) for e in events]


@blp.route("/<id:case_id>/handoffs")
class CaseHandoffs(MethodView):
    @blp.response(200, HandoffOut(many=True))
    def get(self, case_id: int) -> list[dict[str, Any]]:
        """Handoffs of one case."""
        case = case_records.load_case(current_actor(), case_id)
        return [handoff_view(h) for h in case.handoffs]

    @blp.arguments(HandoffCreate)
    @blp.response(201, HandoffOut)
    def post(self, data: dict[str, Any], case_id: int) -> dict[str, Any]:
        """Forward the case (kind transfer) or ask another unit for assistance (kind assist)."""
        with unit_of_work(keep_loaded=True, fast_updates=True):
            handoff = handoff_service.request_handoff(
                current_actor(), case_id, data["kind"], data["to_unit"], data.get("note"), now_utc()
            )
        return handoff_view(handoff)


class AttachmentOut(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    sha256 = ma.fields.String()
    visibility = ma.fields.String()
    uploaded_at = Instant()
    url = ma.fields.Function(lambda a: f"/api/v1/attachments/{a.id}")


@blp.route("/<id:case_id>/attachments")
class CaseAttachments(MethodView):
    @blp.response(200, AttachmentOut(many=True))
    def get(self, case_id: int) -> Any:
        """Files attached to the case."""
        return attachment_service.attachments_of(current_actor(), case_id)

    @blp.response(201, AttachmentOut)
    @blp.doc(
        requestBody={
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "visibility": {"type": "string", "enum": ["internal", "public"]},
                        },
                    }
                }
            },
        }
    )
    def post(self, case_id: int) -> Any:
        """Attach a photo (JPEG, PNG, WebP) or a PDF, multipart field ``file``; at most
        COORD_ATTACHMENT_MAX_BYTES (5 MB by default)."""
        request.max_content_length = attachment_service.max_bytes() + 64 * 1024
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise InvalidInput.field("file", "send the file as multipart/form-data field 'file'")
        visibility = request.form.get("visibility", "internal")
        if visibility not in ("internal", "public"):
            raise InvalidInput.field("visibility", "internal or public")
        with unit_of_work(keep_loaded=True, fast_updates=True):
            attachment = attachment_service.add_attachment(
                current_actor(), case_id, upload.stream, upload.filename, visibility, now_utc()
            )
        return attachment

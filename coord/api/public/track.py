"""Public case tracking by tracking code (no bearer token; rate limited per IP address).

GET  /public/v1/track/{code}                   status, unit, due date, public timeline
GET  /public/v1/track/{code}/history[.pdf]     the same, printable (for the Ombudsman)
GET  /public/v1/track/{code}/receipt[.pdf]     the receipt; needs ?token=
POST /public/v1/track/{code}/feedback          SKM survey (token, u1..u9, comment)
POST /public/v1/track/{code}/dispute           dispute a resolution (token, reason)
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, current_app, url_for
from flask.views import MethodView
from marshmallow import validate

from coord.api.auth import public
from coord.api.base import Blueprint
from coord.clock import now_utc
from coord.domain.tracking import format_tracking_code, normalise_tracking_code
from coord.extensions import limiter
from coord.http.fields import Instant, Schema, Text
from coord.models import SKM_ELEMENTS
from coord.receipts import (
    pdf_filename,
    render_history,
    render_history_pdf,
    render_receipt,
    render_receipt_pdf,
)
from coord.services import citizens
from coord.services.uow import unit_of_work

blp = Blueprint(
    "public_track",
    __name__,
    url_prefix="/public/v1/track",
    description="Public case tracking, receipts, SKM feedback and disputes (no token)",
)

CODE = "<string(maxlength=32):code>"


def _public_limit() -> str:
    return str(current_app.config.get("COORD_PUBLIC_RATE_LIMIT", "30 per minute"))


# One budget per IP address for every tracking endpoint together.
RATE_LIMIT = limiter.shared_limit(_public_limit, scope="public-track")
NO_AUTH: dict[str, Any] = {"security": []}


def _html_doc(description: str, content_type: str) -> dict[str, Any]:
    return {
        "security": [],
        "responses": {"200": {"description": description, "content": {content_type: {}}}},
    }


class TimelineEntryOut(Schema):
    type = ma.fields.String(metadata={"description": "event type, e.g. case.resolved"})
    label = ma.fields.String(metadata={"description": "the event in Indonesian"})
    at = Instant()
    unit = ma.fields.String(metadata={"description": "the unit that acted (never a person)"})
    note = ma.fields.String(allow_none=True, metadata={"description": "public text, if any"})


class NamedOut(Schema):
    code = ma.fields.String()
    name = ma.fields.String()


class TrackingOut(Schema):
    tracking_code = ma.fields.String()
    status = ma.fields.String()
    status_label = ma.fields.String()
    category = ma.fields.Nested(NamedOut)
    unit = ma.fields.Nested(NamedOut)
    received_at = Instant()
    due_at = Instant(allow_none=True)
    resolved_at = Instant(allow_none=True)
    closed_at = Instant(allow_none=True)
    dispute_until = Instant(allow_none=True)
    can_dispute = ma.fields.Boolean()
    can_give_feedback = ma.fields.Boolean()
    timeline = ma.fields.List(ma.fields.Nested(TimelineEntryOut))
    links = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


def unicode_text(value: str) -> None:
    """JSON may carry lone surrogates ("\\ud800"), which no database can store."""
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ma.ValidationError("must be valid Unicode text")


class TokenField(ma.fields.String):
    """The citizen token printed on the receipt (missing means a 403, not a 422)."""

    def __init__(self) -> None:
        super().__init__(
            load_default=None,
            validate=[validate.Length(max=64), unicode_text],
            metadata={"description": "the token printed on the receipt"},
        )


class TokenArgs(Schema):
    token = TokenField()


def _score() -> ma.fields.Integer:
    return ma.fields.Integer(required=True, strict=True, validate=validate.Range(1, 4))


class FeedbackIn(Schema):
    token = TokenField()
    u1 = _score()
    u2 = _score()
    u3 = _score()
    u4 = _score()
    u5 = _score()
    u6 = _score()
    u7 = _score()
    u8 = _score()
    u9 = _score()
    comment = Text(
        max_length=2000,
        min_length=0,
        load_default=None,
        allow_none=True,
        validate=[unicode_text],
    )


class FeedbackOut(Schema):
    message = ma.fields.String()
    tracking_code = ma.fields.String()
    resolution_number = ma.fields.Integer()
    submitted_at = Instant()


class DisputeIn(Schema):
    token = TokenField()
    reason = Text(max_length=2000, required=True, validate=[unicode_text])


def _document(
    body: str | bytes, mimetype: str, *, private: bool, filename: str | None = None
) -> Response:
    response = Response(body, mimetype=mimetype)
    if filename:
        response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    if private:
        # The receipt carries the citizen's token (and its URL does): keep it out of caches
        # and out of Referer headers.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    else:  # the public history: no personal data, may be kept if revalidated
        response.headers["Cache-Control"] = "no-cache"
    return response


@blp.route(f"/{CODE}")
@public
class Track(MethodView):
    decorators = [RATE_LIMIT]

    @blp.response(200, TrackingOut)
    @blp.doc(**NO_AUTH)
    def get(self, code: str) -> dict[str, Any]:
        """A case by its tracking code (case-insensitive, dash optional): status, the unit that
        holds it, the due date and the public timeline. No personal data, no internal notes."""
        return citizens.tracking_view(citizens.find_case_by_code(code), now_utc())


@blp.route(f"/{CODE}/history")
@public
class History(MethodView):
    decorators = [RATE_LIMIT]

    @blp.doc(**_html_doc("The public handling history as a printable page", "text/html"))
    def get(self, code: str) -> Response:
        """The public timeline as a printable page (Indonesian, WIB)."""
        case = citizens.find_case_by_code(code)
        href = url_for(".HistoryPdf", code=code)
        return _document(render_history(case, now_utc(), pdf_href=href), "text/html", private=False)


@blp.route(f"/{CODE}/history.pdf")
@public
class HistoryPdf(MethodView):
    decorators = [RATE_LIMIT]

    @blp.doc(**_html_doc("The public handling history as a PDF", "application/pdf"))
    def get(self, code: str) -> Response:
        """The public timeline as a PDF."""
        case = citizens.find_case_by_code(code)
        return _document(
            render_history_pdf(case, now_utc()),
            "application/pdf",
            private=False,
            filename=pdf_filename("riwayat", case),
        )


@blp.route(f"/{CODE}/receipt")
@public
class Receipt(MethodView):
    decorators = [RATE_LIMIT]

    @blp.arguments(TokenArgs, location="query")
    @blp.doc(**_html_doc("The receipt (tanda terima) as a printable page", "text/html"))
    def get(self, args: dict[str, Any], code: str) -> Response:
        """The receipt of the case; 403 unless ``token`` is the one printed on it."""
        case = citizens.case_for_citizen(code, args["token"])
        href = url_for(".ReceiptPdf", code=code, token=args["token"])
        return _document(render_receipt(case, now_utc(), pdf_href=href), "text/html", private=True)


@blp.route(f"/{CODE}/receipt.pdf")
@public
class ReceiptPdf(MethodView):
    decorators = [RATE_LIMIT]

    @blp.arguments(TokenArgs, location="query")
    @blp.doc(**_html_doc("The receipt (tanda terima) as a PDF", "application/pdf"))
    def get(self, args: dict[str, Any], code: str) -> Response:
        """The receipt as a PDF; 403 unless ``token`` is the one printed on it."""
        case = citizens.case_for_citizen(code, args["token"])
        return _document(
            render_receipt_pdf(case, now_utc()),
            "application/pdf",
            private=True,
            filename=pdf_filename("tanda-terima", case),
        )


@blp.route(f"/{CODE}/feedback")
@public
class Feedback(MethodView):
    decorators = [RATE_LIMIT]

    @blp.arguments(FeedbackIn)
    @blp.response(201, FeedbackOut)
    @blp.doc(**NO_AUTH)
    def post(self, data: dict[str, Any], code: str) -> dict[str, Any]:
        """The SKM survey: the nine elements u1..u9 (1 to 4) and an optional comment, once per
        resolution of a resolved or closed case. 403 for a wrong token, 409 if this resolution
        was rated already or the case is not resolved."""
        answers = {element: data[element] for element in SKM_ELEMENTS}
        with unit_of_work():
            feedback = citizens.submit_feedback(
                code, data["token"], answers, data["comment"], now_utc()
            )
        return {
            "message": "Terima kasih. Penilaian Anda sudah kami terima.",
            "tracking_code": format_tracking_code(normalise_tracking_code(code) or ""),
            "resolution_number": feedback.resolution_number,
            "submitted_at": feedback.submitted_at,
        }


@blp.route(f"/{CODE}/dispute")
@public
class Dispute(MethodView):
    decorators = [RATE_LIMIT]

    @blp.arguments(DisputeIn)
    @blp.response(200, TrackingOut)
    @blp.doc(**NO_AUTH)
    def post(self, data: dict[str, Any], code: str) -> dict[str, Any]:
        """Dispute the resolution within COORD_DISPUTE_DAYS of it: the case reopens with the
        reason on its public timeline. 403 for a wrong token; 409 after the window (the
        message names the deadline) or when the case is not resolved."""
        now = now_utc()
        with unit_of_work():
            case = citizens.dispute_case(code, data["token"], data["reason"], now)
        return citizens.tracking_view(case, now)

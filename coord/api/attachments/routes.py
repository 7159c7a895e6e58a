"""Downloading an attachment (whoever may read its case)."""

from __future__ import annotations

from flask.views import MethodView

from coord.api.auth import current_actor
from coord.api.base import Blueprint
from coord.http.files import send_attachment
from coord.services import attachments as attachment_service

blp = Blueprint("attachments", __name__, url_prefix="/api/v1/attachments", description="Case files")


@blp.route("/<id:attachment_id>")
class AttachmentFile(MethodView):
    @blp.response(200, content_type="application/octet-stream")
    def get(self, attachment_id: int):  # type: ignore[no-untyped-def]
        """The file, as a download named with the extension of its real type."""
        attachment, path = attachment_service.open_attachment(current_actor(), attachment_id)
        return send_attachment(attachment, path)

"""How an attachment file is sent, the same from the API and the staff pages."""

from __future__ import annotations

from pathlib import Path

from flask import Response, send_file

from coord.models import Attachment
from coord.services.attachments import download_name


def send_attachment(attachment: Attachment, path: Path) -> Response:
    """Always a download (``Content-Disposition: attachment``), under a name whose extension
    matches the type found in the bytes, with that type; never stored by caches (case files
    are personal data). ``nosniff`` comes with every response (coord/web/security.py)."""
    response = send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=download_name(attachment),
        conditional=True,
    )
    response.headers["Cache-Control"] = "no-store"
    return response

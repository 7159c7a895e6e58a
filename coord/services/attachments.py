"""Attachments: checked on upload (size and real file type), stored outside the database.

The default store is a folder (``COORD_ATTACHMENT_DIR``, default ``instance/attachments``);
files are written under a random key before the row is committed, and a file whose row never
commits is simply an orphan on disk, never a row without a file.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from coord.domain.filetypes import EXTENSIONS, filename_for, sniff
from coord.extensions import db
from coord.models import Attachment, User, Visibility
from coord.services.case_records import load_case, touch
from coord.services.errors import InvalidInput, NotFound
from coord.services.events import record_event
from coord.services.policy import Actor, authorize_case

CHUNK = 64 * 1024


def max_bytes() -> int:
    return int(current_app.config.get("COORD_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024))


def storage_root() -> Path:
    configured = current_app.config.get("COORD_ATTACHMENT_DIR")
    root = Path(configured) if configured else Path(current_app.instance_path) / "attachments"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _path(key: str) -> Path:
    return storage_root() / key[:2] / key


def add_attachment(
    actor: Actor, case_id: int, stream: IO[bytes], filename: str, visibility: str, now: datetime
) -> Attachment:
    """Store a file on a case (units working on it may attach). Refused: empty, larger than
    ``COORD_ATTACHMENT_MAX_BYTES``, or not a JPEG, PNG, WebP or PDF by its content. The name
    kept is the client's, without paths, with the extension of the real type (a PNG sent as
    ``halaman.html`` is kept as ``halaman.png``). Writes ``case.attachment_added``."""
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "comment", case)
    head = stream.read(16)
    content_type = sniff(head)
    if content_type is None:
        raise InvalidInput.field(
            "file",
            "only JPEG, PNG, WebP photos or PDF documents",
            _l("Hanya foto JPEG, PNG, WebP atau dokumen PDF. Pilih berkas lain."),
        )
    key = secrets.token_hex(16) + EXTENSIONS[content_type]
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(head)
    size = len(head)
    limit = max_bytes()
    try:
        with open(path, "xb") as out:
            out.write(head)
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise InvalidInput.field(
                        "file",
                        f"larger than {limit // (1024 * 1024)} MB",
                        _l(
                            "Berkas lebih besar dari %(mb)s MB. Perkecil atau pilih berkas lain.",
                            mb=limit // (1024 * 1024),
                        ),
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    attachment = Attachment(
        case_id=case.id,
        filename=filename_for(filename, content_type),
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
        storage_key=key,
        visibility=Visibility(visibility).value,
        uploaded_by_id=actor.id if isinstance(actor, User) else None,
        uploaded_at=now,
    )
    db.session.add(attachment)
    db.session.flush()
    touch(case, now)
    record_event(
        case,
        "case.attachment_added",
        actor,
        now,
        visibility=visibility,
        changes={
            "attachment_id": attachment.id,
            "filename": attachment.filename,
            "content_type": content_type,
            "size": size,
        },
    )
    return attachment


def attachments_of(actor: Actor, case_id: int) -> list[Attachment]:
    case = load_case(actor, case_id)
    return list(
        db.session.execute(
            select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)
        ).scalars()
    )


def download_name(attachment: Attachment) -> str:
    """The name a download is offered under: always with the extension of its real type
    (also for files stored before names were checked on upload)."""
    return filename_for(attachment.filename, attachment.content_type)


def open_attachment(actor: Actor, attachment_id: int) -> tuple[Attachment, Path]:
    """The row and the file path, for anyone who may read the case."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("No attachment with that id in your scope.")
    load_case(actor, attachment.case_id)  # 404 outside the scope
    path = _path(attachment.storage_key)
    if not path.exists():
        raise NotFound("The file of this attachment is missing from the store.")
    return attachment, path

"""The staff case page and what is done from it: case actions (start, assign, hold, resolve,
...), comments, handoffs (request, accept, reject, recall, complete) and attachments
(upload, download)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from coord.clock import now_utc
from coord.domain.states import RejectReason
from coord.extensions import db
from coord.models import Case, CaseEvent, Handoff, SlaClock, Unit, User
from coord.presenters import reporter_view
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.case_actions import (
    CASE_COMMANDS,
    MissingFields,
    run_case_action,
    run_handoff_action,
)
from coord.services.errors import InvalidInput, ServiceError
from coord.services.policy import (
    allowed_case_actions,
    allowed_handoff_actions,
    can_read_case,
    reporter_visible_case_ids,
)
from coord.services.uow import unit_of_work
from coord.web.auth import login_required
from coord.web.expired_form import redisplays
from coord.web.forms import form_int
from coord.web.staff.blueprint import blp


def _load_case_or_404(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None or not can_read_case(g.actor, case):
        abort(404)
    return case


@blp.get("/web/cases/<id:case_id>")
@login_required
def case_page(case_id: int):  # type: ignore[no-untyped-def]
    actor = g.actor
    case = _load_case_or_404(case_id)
    events = list(
        db.session.execute(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.at, CaseEvent.id)
        ).scalars()
    )
    clocks = list(
        db.session.execute(
            select(SlaClock).where(SlaClock.case_id == case.id).order_by(SlaClock.id)
        ).scalars()
    )
    actions = allowed_case_actions(actor, case)
    units = list(
        db.session.execute(
            select(Unit)
            .where(Unit.active.is_(True), Unit.id != case.owner_unit_id)
            .order_by(Unit.kind, Unit.name)
        ).scalars()
    )
    colleagues = list(
        db.session.execute(
            select(User)
            .where(
                User.unit_id == case.owner_unit_id,
                User.active.is_(True),
                User.is_service.is_(False),
            )
            .order_by(User.full_name)
        ).scalars()
    )
    handoff_actions = {h.id: allowed_handoff_actions(actor, h) for h in case.handoffs}
    from coord.models import Attachment

    attachments = list(
        db.session.execute(
            select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)
        ).scalars()
    )
    return render_template(
        "staff/case.html",
        case=case,
        events=events,
        clocks=clocks,
        actions=actions,
        units=units,
        colleagues=colleagues,
        reporter=reporter_view(case, case.id in reporter_visible_case_ids(actor, [case])),
        handoff_actions=handoff_actions,
        reject_reasons=[r.value for r in RejectReason],
        show_receipt=request.args.get("receipt") == "1",
        attachments=attachments,
    )


@redisplays("staff.case_action", "staff.comment")
def _redisplay(case_id: int, action: str | None = None) -> Any:
    """The case page with the note being typed kept (coord/web/expired_form.py)."""
    return case_page(case_id=case_id)


def _run(fn, *args: Any, success: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    try:
        with unit_of_work():
            fn(*args, **kwargs)
    except ServiceError as exc:
        flash(exc.display, "error")  # the text for people (coord/services/errors.py)
        return False
    flash(success, "success")
    return True


@blp.post(
    "/web/cases/<id:case_id>/action/<any(start,assign,hold,resume,resolve,reopen,close,cancel,reassign):action>"
)
@login_required
def case_action(case_id: int, action: str):  # type: ignore[no-untyped-def]
    actor, now, form = g.actor, now_utc(), request.form

    command = "assign" if action == "reassign" else action  # reassign: the managers' form
    reads = CASE_COMMANDS[command].reads

    # Read inside the command, so that a bad number is flashed like any refusal.
    def run() -> None:
        payload: dict[str, Any] = {
            "note": (form.get("note") or "").strip() or None,
            "reason": (form.get("reason") or "").strip() or None,
        }
        for number in ("assignee_id", "duplicate_of"):
            if number in reads:
                payload[number] = form_int(form.get(number), number)
        if action == "reassign":  # a blank unit is refused, not read as a plain assign
            payload["owner_unit"] = form.get("owner_unit") or ""
        try:
            run_case_action(
                actor,
                case_id,
                command,
                payload,
                now,
                expected_version=form_int(form.get("version"), "version"),
            )
        except MissingFields as missing:
            message = _("Isi %(field)s.", field=_field_label(missing.fields[0]))
            raise InvalidInput(message, text=message) from None

    _run(run, success=_("Tersimpan."))
    return redirect(url_for("staff.case_page", case_id=case_id))


def _field_label(name: str) -> str:
    """How the case page names a field an action needs."""
    return _("catatan penyelesaian") if name == "note" else _("alasan")


@blp.post("/web/cases/<id:case_id>/comment")
@login_required
def comment(case_id: int):  # type: ignore[no-untyped-def]
    body = (request.form.get("body") or "").strip()
    visibility = "public" if request.form.get("visibility") == "public" else "internal"
    if not body:
        flash(_("Catatan kosong tidak disimpan."), "error")
    else:
        _run(
            case_service.comment_on_case,
            g.actor,
            case_id,
            body[:10_000],
            visibility,
            now_utc(),
            success=_("Catatan tersimpan."),
        )
    return redirect(url_for("staff.case_page", case_id=case_id) + "#timeline")


@blp.post("/web/cases/<id:case_id>/handoff")
@login_required
def request_handoff(case_id: int):  # type: ignore[no-untyped-def]
    kind = "assist" if request.form.get("kind") == "assist" else "transfer"
    note = (request.form.get("note") or "").strip() or None
    _run(
        handoff_service.request_handoff,
        g.actor,
        case_id,
        kind,
        request.form.get("to_unit", ""),
        note,
        now_utc(),
        success=_("Disposisi terkirim."),
    )
    return redirect(url_for("staff.case_page", case_id=case_id))


@blp.post("/web/handoffs/<id:handoff_id>/<any(accept,reject,recall,complete):action>")
@login_required
def handoff_action(handoff_id: int, action: str):  # type: ignore[no-untyped-def]
    handoff = db.session.get(Handoff, handoff_id)
    if handoff is None:
        abort(404)
    case_id = handoff.case_id
    actor, form = g.actor, request.form
    # The action table (HANDOFF_COMMANDS) reads the fields each action takes.
    payload = {"note": (form.get("note") or "").strip() or None, "reason": form.get("reason", "")}
    messages = {
        "accept": _("Disposisi diterima."),
        "reject": _("Disposisi ditolak."),
        "recall": _("Disposisi ditarik."),
        "complete": _("Bantuan selesai."),
    }
    ok = _run(
        run_handoff_action,
        actor,
        handoff_id,
        action,
        payload,
        now_utc(),
        success=messages[action],
    )
    back = request.form.get("back")
    case = db.session.get(Case, case_id)
    if back == "inbox" or (not ok and (case is None or not can_read_case(actor, case))):
        return redirect(url_for("staff.inbox"))
    return redirect(url_for("staff.case_page", case_id=case_id))


@blp.post("/web/cases/<id:case_id>/attachments")
@login_required
def upload_attachment(case_id: int):  # type: ignore[no-untyped-def]
    from coord.services import attachments as attachment_service

    request.max_content_length = attachment_service.max_bytes() + 64 * 1024
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Pilih berkas foto atau PDF terlebih dahulu."), "error")
    else:
        visibility = "public" if request.form.get("visibility") == "public" else "internal"
        _run(
            attachment_service.add_attachment,
            g.actor,
            case_id,
            upload.stream,
            upload.filename,
            visibility,
            now_utc(),
            success=_("Lampiran tersimpan."),
        )
    return redirect(url_for("staff.case_page", case_id=case_id) + "#attachments")


@blp.get("/web/attachments/<id:attachment_id>")
@login_required
def download_attachment(attachment_id: int):  # type: ignore[no-untyped-def]
    from coord.http.files import send_attachment
    from coord.services import attachments as attachment_service

    try:
        attachment, path = attachment_service.open_attachment(g.actor, attachment_id)
    except ServiceError:
        abort(404)
    return send_attachment(attachment, path)

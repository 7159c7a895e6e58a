"""Staff pages: login, inbox, intake, the case page and its actions."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from coord.clock import now_utc
from coord.domain.states import OPEN_CASE_STATUSES, HandoffStatus, RejectReason
from coord.extensions import db, limiter
from coord.http.case_body import CaseCreate
from coord.models import (
    Case,
    CaseEvent,
    Category,
    Handoff,
    Region,
    RegionLevel,
    Role,
    SlaClock,
    Unit,
    User,
)
from coord.presenters import reporter_view
from coord.services import attention
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.accounts import end_sessions, log_in, set_password, verify_password
from coord.services.case_queries import filter_cases, possible_duplicates
from coord.services.cases import NewCase
from coord.services.errors import ServiceError, TooManyAttempts
from coord.services.policy import (
    allowed_case_actions,
    allowed_handoff_actions,
    can_read_case,
    readable_cases,
    reporter_visible_case_ids,
)
from coord.services.uow import run_command, unit_of_work
from coord.web.auth import (
    forget_user,
    login_required,
    login_user,
    password_problem_messages,
)
from coord.web.forms import form_int

blp = Blueprint("staff", __name__)
OPEN = [s.value for s in OPEN_CASE_STATUSES]


def _login_limit() -> str:
    return str(current_app.config.get("COORD_LOGIN_RATE_LIMIT", "10 per minute"))


@blp.get("/")
def home():  # type: ignore[no-untyped-def]
    return redirect(url_for("staff.inbox") if g.get("actor") else url_for("public.track_form"))


@blp.route("/web/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():  # type: ignore[no-untyped-def]
    if request.method == "POST":
        now = now_utc()
        try:
            user = log_in(
                request.form.get("username", "").strip(), request.form.get("password", ""), now
            )
        except TooManyAttempts as exc:
            minutes = max(1, -(-exc.retry_after // 60))
            flash(
                _(
                    "Terlalu banyak percobaan masuk yang gagal untuk akun ini. "
                    "Coba lagi dalam %(minutes)s menit.",
                    minutes=minutes,
                ),
                "error",
            )
            return render_template("staff/login.html"), 429, {"Retry-After": exc.retry_after}
        except ServiceError:
            flash(_("Nama pengguna atau kata sandi salah."), "error")
            return render_template("staff/login.html"), 401
        login_user(user, now)
        target = request.args.get("next") or ""
        if not target.startswith("/web"):
            target = url_for("staff.inbox")
        return redirect(target)
    return render_template("staff/login.html")


@blp.post("/web/logout")
def logout():  # type: ignore[no-untyped-def]
    actor = g.get("actor")
    if actor is not None:
        with unit_of_work():
            end_sessions(actor)
    forget_user()
    flash(_("Anda sudah keluar."), "info")
    return redirect(url_for("staff.login"))


@blp.route("/web/password", methods=["GET", "POST"])
@login_required
def change_password():  # type: ignore[no-untyped-def]
    actor = g.actor
    if request.method == "POST":
        current = request.form.get("current", "")
        new = request.form.get("new", "")
        errors = []
        if not verify_password(actor, current):
            errors.append(_("Kata sandi lama salah."))
        errors.extend(password_problem_messages(new, actor.username))
        if new != request.form.get("confirm", ""):
            errors.append(_("Konfirmasi kata sandi tidak sama."))
        if errors:
            for e in errors:
                flash(e, "error")
            return render_template("staff/password.html"), 422
        now = now_utc()
        with unit_of_work():
            set_password(actor, new, now)
        login_user(actor, now)
        flash(_("Kata sandi sudah diganti."), "success")
        return redirect(url_for("staff.inbox"))
    return render_template("staff/password.html")


@blp.get("/web/")
@login_required
def inbox():  # type: ignore[no-untyped-def]
    actor = g.actor
    now = now_utc()
    owned = list(
        db.session.execute(
            select(Case)
            .where(Case.owner_unit_id == actor.unit_id, Case.status.in_(OPEN))
            .order_by(Case.breached.desc(), Case.resolution_due_at.asc().nulls_last(), Case.id)
            .limit(200)
        )
        .unique()
        .scalars()
    )
    incoming = list(
        db.session.execute(
            select(Handoff)
            .where(
                Handoff.to_unit_id == actor.unit_id,
                Handoff.status.in_([HandoffStatus.PENDING.value, HandoffStatus.ACCEPTED.value]),
            )
            .order_by(Handoff.ack_due_at.asc().nulls_last())
        )
        .unique()
        .scalars()
    )
    outgoing = list(
        db.session.execute(
            select(Handoff)
            .where(
                Handoff.from_unit_id == actor.unit_id, Handoff.status == HandoffStatus.PENDING.value
            )
            .order_by(Handoff.ack_due_at.asc().nulls_last())
        )
        .unique()
        .scalars()
    )
    feed = (
        attention.attention_feed(actor, now, limit=INBOX_ATTENTION_ROWS)
        if actor.has_role(Role.STAFF, Role.LIAISON, Role.MANAGER)
        else None
    )
    return render_template(
        "staff/inbox.html",
        owned=owned,
        incoming=incoming,
        outgoing=outgoing,
        feed=feed,
        reject_reasons=[r.value for r in RejectReason],
        can_answer=actor.has_role(Role.LIAISON, Role.MANAGER),
    )


INBOX_ATTENTION_ROWS = 10  # the first rows of each attention list in the inbox
ATTENTION_PAGE_ROWS = 25


@blp.get("/web/attention/<section>")
@login_required
def attention_list(section: str):  # type: ignore[no-untyped-def]
    """One attention list of the inbox, page by page (``?page=``), most urgent first."""
    if section not in attention.SECTIONS:
        abort(404)
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        message = _("Nomor halaman (page) harus bilangan bulat 1 atau lebih.")
        return render_template(
            "errors.html", code=400, title=_("Permintaan tidak dapat diproses"), message=message
        ), 400
    page = int(raw)
    rows, total = attention.attention_section(
        g.actor,
        section,
        now_utc(),
        limit=ATTENTION_PAGE_ROWS,
        offset=(page - 1) * ATTENTION_PAGE_ROWS,
    )
    return render_template(
        "staff/attention.html",
        section=section,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // ATTENTION_PAGE_ROWS)),
    )


@blp.get("/web/cases")
@login_required
def case_search():  # type: ignore[no-untyped-def]
    actor = g.actor
    args: dict[str, Any] = {}
    if request.args.get("q"):
        args["q"] = request.args["q"][:200]
    if request.args.get("status"):
        args["status"] = [request.args["status"]]
    query = filter_cases(select(Case).where(readable_cases(actor)), args)
    rows: list[Case] = list(
        db.session.execute(query.order_by(Case.updated_at.desc()).limit(100)).unique().scalars()
    )
    return render_template("staff/cases.html", cases=rows, q=request.args.get("q", ""))


def _kelurahan_options() -> list[Region]:
    return list(
        db.session.execute(
            select(Region).where(Region.level == RegionLevel.KELURAHAN.value).order_by(Region.name)
        ).scalars()
    )


def _category_options() -> list[Category]:
    return list(
        db.session.execute(
            select(Category).where(Category.active.is_(True)).order_by(Category.name_id)
        ).scalars()
    )


def _form_to_case_json(form: Any) -> dict[str, Any]:
    privacy = form.get("reporter_privacy", "named")
    body: dict[str, Any] = {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "category": form.get("category", ""),
        "priority": form.get("priority", "normal"),
        "channel": form.get("channel", "walk_in"),
        "location": {
            "region_code": form.get("region_code", ""),
            "address": form.get("address") or None,
        },
        "reporter": {"privacy": privacy},
    }
    if form.get("received_at"):
        body["received_at"] = form["received_at"]
    if privacy != "anonymous":
        body["reporter"].update(
            {
                "name": form.get("reporter_name") or None,
                "phone": form.get("reporter_phone") or None,
                "email": form.get("reporter_email") or None,
                "nik": form.get("reporter_nik") or None,
            }
        )
    return body


@blp.route("/web/cases/new", methods=["GET", "POST"])
@login_required
def intake():  # type: ignore[no-untyped-def]
    actor = g.actor
    context = {
        "kelurahan": _kelurahan_options(),
        "categories": _category_options(),
        "form": request.form,
        "errors": {},
        "duplicates": [],
    }
    if request.method == "GET":
        return render_template("staff/intake.html", **context)
    try:
        data = CaseCreate().load(_form_to_case_json(request.form))
    except ValidationError as exc:
        context["errors"] = _flatten(exc.messages)
        flash(_("Periksa kembali isian yang ditandai."), "error")
        return render_template("staff/intake.html", **context), 422
    if not request.form.get("confirm_not_duplicate"):
        duplicates = possible_duplicates(actor, data["category"], data["location"]["region_code"])
        if duplicates:
            context["duplicates"] = duplicates
            return render_template("staff/intake.html", **context), 200
    try:
        case, _created = run_command(
            lambda: case_service.create_case(actor, NewCase.from_payload(data), now_utc())
        )
    except ServiceError as exc:
        context["errors"] = {k: " ".join(v) for k, v in exc.errors.items()}
        flash(exc.message, "error")
        return render_template("staff/intake.html", **context), exc.status
    flash(
        _(
            "Kasus %(code)s sudah dicatat. Serahkan tanda terima kepada warga.",
            code=case.tracking_code[:4] + "-" + case.tracking_code[4:],
        ),
        "success",
    )
    return redirect(url_for("staff.case_page", case_id=case.id, receipt=1))


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            flat.update(_flatten(value, str(key) if not prefix else f"{prefix}.{key}"))
    elif isinstance(messages, list):
        flat[prefix] = " ".join(str(m) for m in messages)
    return flat


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


def _run(fn, *args: Any, success: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    try:
        with unit_of_work():
            fn(*args, **kwargs)
    except ServiceError as exc:
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items() if k != "status")
        flash(exc.message + (f" ({details})" if details else ""), "error")
        return False
    flash(success, "success")
    return True


@blp.post(
    "/web/cases/<id:case_id>/action/<any(start,assign,hold,resume,resolve,reopen,close,cancel,reassign):action>"
)
@login_required
def case_action(case_id: int, action: str):  # type: ignore[no-untyped-def]
    actor, now, form = g.actor, now_utc(), request.form
    s = case_service
    note = (form.get("note") or "").strip() or None
    reason = (form.get("reason") or "").strip() or None

    # Read inside the command, so that a bad number is flashed like any refusal.
    def number(name: str) -> int | None:
        return form_int(form.get(name), name)

    calls = {
        "start": lambda: s.start_case(actor, case_id, now, expected_version=number("version")),
        "assign": lambda: s.assign_case(
            actor,
            case_id,
            number("assignee_id"),
            now,
            note=note,
            expected_version=number("version"),
        ),
        "reassign": lambda: s.assign_case(
            actor,
            case_id,
            number("assignee_id"),
            now,
            owner_unit=form.get("owner_unit") or "",
            note=note,
            expected_version=number("version"),
        ),
        "hold": lambda: s.hold_case(
            actor, case_id, _required(reason, _("alasan")), now, expected_version=number("version")
        ),
        "resume": lambda: s.resume_case(actor, case_id, now, expected_version=number("version")),
        "resolve": lambda: s.resolve_case(
            actor,
            case_id,
            _required(note, _("catatan penyelesaian")),
            now,
            expected_version=number("version"),
        ),
        "reopen": lambda: s.reopen_case(
            actor, case_id, _required(reason, _("alasan")), now, expected_version=number("version")
        ),
        "close": lambda: s.close_case(
            actor, case_id, now, note=note, expected_version=number("version")
        ),
        "cancel": lambda: s.cancel_case(
            actor,
            case_id,
            _required(reason, _("alasan")),
            now,
            note=note,
            expected_version=number("version"),
            duplicate_of=number("duplicate_of"),
        ),
    }
    _run(calls[action], success=_("Tersimpan."))
    return redirect(url_for("staff.case_page", case_id=case_id))


def _required(value: str | None, label: str) -> str:
    """``value``, or a message naming the field when it is empty."""
    if not value:
        from coord.services.errors import InvalidInput

        raise InvalidInput(_("Isi %(field)s.", field=label))
    return value


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
    note = (request.form.get("note") or "").strip() or None
    actor, now = g.actor, now_utc()
    h = handoff_service
    if action == "accept":
        ok = _run(
            h.accept_handoff, actor, handoff_id, now, note=note, success=_("Disposisi diterima.")
        )
    elif action == "reject":
        ok = _run(
            h.reject_handoff,
            actor,
            handoff_id,
            request.form.get("reason", ""),
            now,
            note=note,
            success=_("Disposisi ditolak."),
        )
    elif action == "recall":
        ok = _run(
            h.recall_handoff, actor, handoff_id, now, note=note, success=_("Disposisi ditarik.")
        )
    else:
        ok = _run(
            h.complete_handoff, actor, handoff_id, note or "", now, success=_("Bantuan selesai.")
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

"""The staff inbox (the unit's open cases, incoming and outgoing handoffs, the first rows of
each attention list) and one attention list page by page."""

from __future__ import annotations

from flask import abort, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from coord.clock import now_utc
from coord.domain.states import OPEN_CASE_STATUSES, HandoffStatus, RejectReason
from coord.extensions import db
from coord.models import Case, Handoff, Role
from coord.services import attention
from coord.services.errors import InvalidInput
from coord.web.auth import login_required
from coord.web.forms import form_int
from coord.web.staff.blueprint import blp

OPEN = [s.value for s in OPEN_CASE_STATUSES]


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
        attention.attention_feed(actor, now, limit=INBOX_ATTENTION_ROWS, notifications_by_case=True)
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
    try:
        page = form_int(request.args.get("page"), "page", maximum=100_000) or 1
    except InvalidInput:
        message = _("Nomor halaman (page) harus bilangan bulat 1 atau lebih.")
        return render_template(
            "errors.html", code=400, title=_("Permintaan tidak dapat diproses"), message=message
        ), 400
    rows, total = attention.attention_section(
        g.actor,
        section,
        now_utc(),
        limit=ATTENTION_PAGE_ROWS,
        offset=(page - 1) * ATTENTION_PAGE_ROWS,
        notifications_by_case=True,
    )
    return render_template(
        "staff/attention.html",
        section=section,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // ATTENTION_PAGE_ROWS)),
    )

"""The staff inbox (the unit's open cases, incoming and outgoing handoffs, the first rows of
each attention list) and one attention list page by page."""

from __future__ import annotations

from flask import abort, g, render_template, request
from flask_babel import gettext as _

from coord.clock import now_utc
from coord.domain.paging import Page
from coord.domain.states import RejectReason
from coord.models import Role
from coord.services import attention
from coord.services import inbox as inbox_lists
from coord.services.errors import InvalidInput
from coord.web.auth import login_required
from coord.web.forms import form_int
from coord.web.paging import page_arg
from coord.web.staff.blueprint import blp


@blp.get("/web/")
@login_required
def inbox():  # type: ignore[no-untyped-def]
    actor = g.actor
    feed = (
        attention.attention_feed(
            actor, now_utc(), limit=INBOX_ATTENTION_ROWS, notifications_by_case=True
        )
        if actor.has_role(Role.STAFF, Role.LIAISON, Role.MANAGER)
        else None
    )
    return render_template(
        "staff/inbox.html",
        sections=inbox_lists.inbox(actor),
        feed=feed,
        reject_reasons=[r.value for r in RejectReason],
        can_answer=actor.has_role(Role.LIAISON, Role.MANAGER),
    )


@blp.get("/web/inbox/<any(incoming,owned,outgoing):section>")
@login_required
def inbox_list(section: str):  # type: ignore[no-untyped-def]
    """One list of the inbox (the unit's open cases, handoffs in or out), page by page."""
    actor = g.actor
    return render_template(
        "staff/inbox_list.html",
        section=section,
        page=inbox_lists.inbox_section(actor, section, page_arg()),
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
        page=Page(number=page, size=ATTENTION_PAGE_ROWS, total=total, rows=rows),
    )

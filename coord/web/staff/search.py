"""Case search for staff: the cases the signed-in user may read, by text and status, a page at
a time with the true number found."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request

from coord.services.case_queries import search_cases
from coord.web.auth import login_required
from coord.web.paging import page_arg
from coord.web.staff.blueprint import blp


@blp.get("/web/cases")
@login_required
def case_search():  # type: ignore[no-untyped-def]
    args: dict[str, Any] = {}
    if request.args.get("q"):
        args["q"] = request.args["q"][:200]
    if request.args.get("status"):
        args["status"] = [request.args["status"]]
    page = search_cases(g.actor, args, page_arg())
    return render_template("staff/cases.html", page=page, q=request.args.get("q", ""))

"""Case search for staff: the cases the signed-in user may read, by text and status."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request
from sqlalchemy import select

from coord.extensions import db
from coord.models import Case
from coord.services.case_queries import filter_cases
from coord.services.policy import readable_cases
from coord.web.auth import login_required
from coord.web.staff.blueprint import blp


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

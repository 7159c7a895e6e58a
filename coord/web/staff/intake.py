"""Case intake by staff: the new-case form, checked with the shared new-case body
(``coord.http.case_body.CaseCreate``), with a possible-duplicates check before the case is
created."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from coord.clock import now_utc
from coord.extensions import db
from coord.http.case_body import CaseCreate
from coord.models import Category, Region, RegionLevel
from coord.services import case_intake
from coord.services.case_intake import NewCase
from coord.services.case_queries import possible_duplicates
from coord.services.errors import ServiceError
from coord.services.uow import run_command
from coord.web.auth import login_required
from coord.web.expired_form import redisplays
from coord.web.staff.blueprint import blp


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


def _context() -> dict[str, Any]:
    return {
        "kelurahan": _kelurahan_options(),
        "categories": _category_options(),
        "form": request.form,
        "errors": {},
        "duplicates": [],
    }


@redisplays("staff.intake")
def _redisplay() -> str:
    """The form as it was sent (coord/web/expired_form.py)."""
    return render_template("staff/intake.html", **_context())


@blp.route("/web/cases/new", methods=["GET", "POST"])
@login_required
def intake():  # type: ignore[no-untyped-def]
    actor = g.actor
    context = _context()
    if request.method == "GET":
        return render_template("staff/intake.html", **context)
    try:
        data = CaseCreate(for_people=True).load(_form_to_case_json(request.form))
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
            lambda: case_intake.create_case(actor, NewCase.from_payload(data), now_utc())
        )
    except ServiceError as exc:
        context["errors"] = {k: str(v) for k, v in exc.field_texts.items()}
        flash(exc.display, "error")
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
    else:  # a single message (a translatable text)
        flat[prefix] = str(messages)
    return flat

"""Public pages for citizens: track a case, rate the service (SKM), dispute a resolution,
see the public statistics. No personal data and no internal note is ever shown here."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from coord.clock import now_utc
from coord.domain import ikm
from coord.extensions import limiter
from coord.models import SKM_ELEMENTS
from coord.services import citizens
from coord.services.errors import NotFound, ServiceError
from coord.services.uow import unit_of_work
from coord.web.forms import form_int

blp = Blueprint("public", __name__)


def _limit() -> str:
    return str(current_app.config.get("COORD_PUBLIC_RATE_LIMIT", "30 per minute"))


@blp.get("/lacak")
def track_form():  # type: ignore[no-untyped-def]
    code = (request.args.get("kode") or "").strip()
    if code:
        return redirect(url_for("public.track_page", code=code))
    return render_template("public/track_form.html")


@blp.get("/lacak/<string(maxlength=20):code>")
@limiter.limit(_limit)
def track_page(code: str):  # type: ignore[no-untyped-def]
    try:
        case = citizens.find_case_by_code(code)
    except NotFound:
        flash(_("Kode pelacakan tidak ditemukan. Periksa kembali kode pada tanda terima."), "error")
        return render_template("public/track_form.html", code=code), 404
    view = citizens.tracking_view(case, now_utc())
    return render_template(
        "public/track.html",
        view=view,
        code=view["tracking_code"],
        token=request.args.get("token", ""),
        elements=SKM_ELEMENTS,
        element_names=ikm.ELEMENT_NAMES,
    )


@blp.post("/lacak/<string(maxlength=20):code>/survei")
@limiter.limit(_limit)
def feedback(code: str):  # type: ignore[no-untyped-def]
    comment = (request.form.get("comment") or "").strip()[:2000] or None

    def submit() -> object:
        answers = {e: form_int(request.form.get(e), e, maximum=4) for e in SKM_ELEMENTS}
        return citizens.submit_feedback(
            code, request.form.get("token"), answers, comment, now_utc()
        )

    return _citizen_command(
        code,
        submit,
        _("Terima kasih! Penilaian Anda sudah kami terima."),
    )


@blp.post("/lacak/<string(maxlength=20):code>/sanggah")
@limiter.limit(_limit)
def dispute(code: str):  # type: ignore[no-untyped-def]
    return _citizen_command(
        code,
        lambda: citizens.dispute_case(
            code, request.form.get("token"), request.form.get("reason", "")[:2000], now_utc()
        ),
        _("Sanggahan diterima; laporan Anda dibuka kembali dan ditangani lagi."),
    )


def _citizen_command(code: str, command: Callable[[], object], thanks: str):  # type: ignore[no-untyped-def]
    """Run a citizen's command; back to the tracking page with the outcome (the token kept
    in the address when it failed, so the citizen can correct and resend)."""
    try:
        with unit_of_work():
            command()
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(
            url_for("public.track_page", code=code, token=request.form.get("token", ""))
        )
    flash(thanks, "success")
    return redirect(url_for("public.track_page", code=code))


@blp.get("/statistik")
@limiter.limit(_limit)
def stats_page():  # type: ignore[no-untyped-def]
    from coord.services.reports import ReportFilters, default_public_range, public_stats

    now = now_utc()
    since, until = default_public_range(now)
    rows = public_stats(ReportFilters(since=since, until=until), now)
    months = sorted({r["month"] for r in rows})
    latest = months[-1] if months else None
    return render_template(
        "public/stats.html",
        rows=rows,
        latest=latest,
        latest_rows=[r for r in rows if r["month"] == latest],
    )

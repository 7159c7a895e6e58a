"""Admin pages: units, users and roles, calendars and closed dates, categories and SLA policy
versions, webhook endpoints with their delivery log."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from coord.clock import now_utc
from coord.domain.calendar import calendar_to_config
from coord.extensions import db
from coord.models import (
    Category,
    ClockKind,
    Priority,
    Role,
    Unit,
    UnitKind,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from coord.services import configuration
from coord.services import webhooks as webhook_service
from coord.services.accounts import create_user, end_access, set_password, update_user
from coord.services.errors import ServiceError
from coord.services.sla import unit_calendar
from coord.services.uow import unit_of_work
from coord.web.auth import login_required, password_problem_messages

blp = Blueprint("admin", __name__, url_prefix="/web/admin")
WEEKDAYS = [
    (0, "Senin"),
    (1, "Selasa"),
    (2, "Rabu"),
    (3, "Kamis"),
    (4, "Jumat"),
    (5, "Sabtu"),
    (6, "Minggu"),
]
EVENT_TYPES = webhook_service.SUBSCRIBABLE_TYPES


@blp.before_request
@login_required
def _admins_only():  # type: ignore[no-untyped-def]
    if not g.actor.has_role(Role.ADMIN):
        abort(403)


def _run(fn, *args: Any, success: str, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
    try:
        with unit_of_work():
            result = fn(*args, **kwargs)
    except ServiceError as exc:
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
        flash(exc.message + (f" ({details})" if details else ""), "error")
        return None
    flash(success, "success")
    return result if result is not None else True


def _managed_units() -> list[Unit]:
    units = db.session.execute(select(Unit).order_by(Unit.kind, Unit.name)).scalars()
    return [u for u in units if configuration.can_configure_unit(g.actor, u)]


def _unit_or_404(code: str) -> Unit:
    unit = db.session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None or not configuration.can_configure_unit(g.actor, unit):
        abort(404)
    return unit


@blp.get("/")
def home():  # type: ignore[no-untyped-def]
    categories = list(db.session.execute(select(Category).order_by(Category.name_id)).scalars())
    return render_template(
        "admin/home.html",
        units=_managed_units(),
        categories=categories,
        kinds=[k.value for k in UnitKind],
    )


@blp.post("/units")
def create_unit():  # type: ignore[no-untyped-def]
    form = request.form
    code = (form.get("code") or "").strip().lower()

    def create() -> Unit:
        from coord.models import Region
        from coord.services.errors import Forbidden, InvalidInput
        from coord.services.policy import region_within

        if not code or len(code) > 64 or not all(ch.isalnum() or ch in "-_." for ch in code):
            raise InvalidInput.field("code", _("huruf kecil, angka, - _ ."))
        region = db.session.get(Region, (form.get("region_code") or "").strip())
        if region is None:
            raise InvalidInput.field("region_code", _("wilayah tidak dikenal"))
        if (
            not region_within(region.code, g.actor.unit.region_code)
            and region.code not in g.actor.unit.region_code
        ):
            raise Forbidden(_("Wilayah itu di luar wewenang unit Anda."))
        if db.session.execute(select(Unit.id).where(Unit.code == code)).first():
            raise InvalidInput.field("code", _("kode sudah dipakai"))
        kind = form.get("kind", "")
        if kind not in {k.value for k in UnitKind}:
            raise InvalidInput.field("kind", _("jenis unit tidak dikenal"))
        unit = Unit(
            code=code,
            name=(form.get("name") or code).strip()[:200],
            kind=kind,
            region_code=region.code,
            email=form.get("email") or None,
            phone=form.get("phone") or None,
        )
        db.session.add(unit)
        return unit

    created = _run(create, success=_("Unit dibuat."))
    if created:
        return redirect(url_for("admin.unit_page", code=code))
    return redirect(url_for("admin.home"))


@blp.get("/units/<string(maxlength=64):code>")
def unit_page(code: str):  # type: ignore[no-untyped-def]
    unit = _unit_or_404(code)
    calendar = calendar_to_config(unit_calendar(unit))
    users = list(
        db.session.execute(
            select(User).where(User.unit_id == unit.id).order_by(User.username)
        ).scalars()
    )
    endpoints = list(
        db.session.execute(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.unit_id == unit.id)
            .order_by(WebhookEndpoint.id)
        ).scalars()
    )
    return render_template(
        "admin/unit.html",
        unit=unit,
        calendar=calendar,
        weekdays=WEEKDAYS,
        users=users,
        endpoints=endpoints,
        roles=[r.value for r in Role],
        event_types=EVENT_TYPES,
        new_secret=request.args.get("secret_for"),
    )


def _save_calendar(unit: Unit, config: dict[str, Any]) -> None:
    _run(
        configuration.set_unit_calendar, g.actor, unit.code, config, success=_("Kalender disimpan.")
    )


@blp.post("/units/<string(maxlength=64):code>/hours")
def save_hours(code: str):  # type: ignore[no-untyped-def]
    unit = _unit_or_404(code)
    config = calendar_to_config(unit_calendar(unit))
    hours: dict[str, list[list[str]]] = {}
    for day, _name in WEEKDAYS:
        start, end = request.form.get(f"start_{day}", ""), request.form.get(f"end_{day}", "")
        if start and end:
            hours[str(day)] = [[start, end]]
    config["hours"] = hours
    config["national_holidays"] = request.form.get("national_holidays") == "1"
    _save_calendar(unit, config)
    return redirect(url_for("admin.unit_page", code=code) + "#calendar")


@blp.post("/units/<string(maxlength=64):code>/closed-dates")
def closed_dates(code: str):  # type: ignore[no-untyped-def]
    unit = _unit_or_404(code)
    config = calendar_to_config(unit_calendar(unit))
    dates = set(config.get("extra_closed", []))
    if request.form.get("remove"):
        dates.discard(request.form["remove"])
    else:
        try:
            dates.add(date.fromisoformat(request.form.get("date", "")).isoformat())
        except ValueError:
            flash(_("Tanggal tidak valid; gunakan pemilih tanggal."), "error")
            return redirect(url_for("admin.unit_page", code=code) + "#calendar")
    config["extra_closed"] = sorted(dates)
    _save_calendar(unit, config)
    return redirect(url_for("admin.unit_page", code=code) + "#calendar")


@blp.post("/units/<string(maxlength=64):code>/users")
def add_user(code: str):  # type: ignore[no-untyped-def]
    unit = _unit_or_404(code)
    form = request.form
    roles = form.getlist("roles")
    password = form.get("password") or ""
    problems = password_problem_messages(password, (form.get("username") or "").strip())
    if problems:
        for problem in problems:
            flash(problem, "error")
        return redirect(url_for("admin.unit_page", code=code) + "#users")
    _run(
        create_user,
        (form.get("username") or "").strip(),
        (form.get("full_name") or "").strip() or "-",
        unit.code,
        roles,
        now_utc(),
        password=password,
        email=form.get("email") or None,
        success=_("Pengguna dibuat."),
    )
    return redirect(url_for("admin.unit_page", code=code) + "#users")


@blp.post("/users/<id:user_id>")
def edit_user(user_id: int):  # type: ignore[no-untyped-def]
    user = db.session.get(User, user_id)
    if user is None or not configuration.can_configure_unit(g.actor, user.unit):
        abort(404)
    form = request.form
    new_password = form.get("new_password") or ""
    problems = password_problem_messages(new_password, user.username) if new_password else []
    if problems:
        for problem in problems:
            flash(problem, "error")
        return redirect(url_for("admin.unit_page", code=user.unit.code) + "#users")
    was_active = user.active

    def change() -> User:
        update_user(True, user, roles=form.getlist("roles"), active=form.get("active") == "1")
        if new_password:
            set_password(user, new_password, now_utc())
        if was_active and not user.active:
            end_access(user, now_utc())  # reactivation must not revive old tokens
        return user

    _run(change, success=_("Pengguna diperbarui."))
    return redirect(url_for("admin.unit_page", code=user.unit.code) + "#users")


@blp.get("/categories/<string(maxlength=64):code>")
def category_page(code: str):  # type: ignore[no-untyped-def]
    category = db.session.execute(
        select(Category).where(Category.code == code)
    ).scalar_one_or_none()
    if category is None:
        abort(404)
    return render_template(
        "admin/category.html",
        category=category,
        policies=configuration.policies_of(code),
        priorities=[p.value for p in Priority],
        clocks=[c.value for c in ClockKind],
    )


@blp.post("/categories/<string(maxlength=64):code>/policies")
def publish_policy(code: str):  # type: ignore[no-untyped-def]
    form = request.form

    def number(name: str) -> int:
        raw = form.get(name, "")
        if not raw.isdigit() or not 0 < int(raw) <= 525_600:
            from coord.services.errors import InvalidInput

            raise InvalidInput.field(name, _("angka menit antara 1 dan 525600"))
        return int(raw)

    def publish() -> Any:
        data = {
            "priority": form.get("priority", ""),
            "response_minutes": number("response_minutes"),
            "resolution_minutes": number("resolution_minutes"),
            "handoff_ack_minutes": number("handoff_ack_minutes"),
            "warning_percents": [
                int(p)
                for p in form.get("warning_percents", "50,80").split(",")
                if p.strip().isdigit()
            ],
            "clock": form.get("clock", "business"),
        }
        if data["priority"] not in {p.value for p in Priority}:
            from coord.services.errors import InvalidInput

            raise InvalidInput.field("priority", _("prioritas tidak dikenal"))
        return configuration.publish_policy(g.actor, code, data, now_utc())

    _run(publish, success=_("Versi standar baru diterbitkan; kasus lama tetap memakai versinya."))
    return redirect(url_for("admin.category_page", code=code))


@blp.post("/units/<string(maxlength=64):code>/webhooks")
def add_webhook(code: str):  # type: ignore[no-untyped-def]
    _unit_or_404(code)
    result = _run(
        webhook_service.create_endpoint,
        g.actor,
        code,
        url=(request.form.get("url") or "").strip(),
        event_types=request.form.getlist("event_types") or list(EVENT_TYPES),
        now=now_utc(),
        description=request.form.get("description") or None,
        success=_("Endpoint webhook dibuat."),
    )
    if result:
        endpoint, secret = result
        flash(
            _(
                "Rahasia penandatanganan (hanya ditampilkan sekali, simpan sekarang): %(s)s",
                s=secret,
            ),
            "info",
        )
    return redirect(url_for("admin.unit_page", code=code) + "#webhooks")


@blp.get("/webhooks/<id:endpoint_id>")
def webhook_page(endpoint_id: int):  # type: ignore[no-untyped-def]
    try:
        endpoint = webhook_service.get_endpoint(g.actor, endpoint_id)
    except ServiceError:
        abort(404)
    deliveries = list(
        db.session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(100)
        ).scalars()
    )
    return render_template("admin/webhook.html", endpoint=endpoint, deliveries=deliveries)


@blp.post("/webhooks/<id:endpoint_id>/<any(ping,rotate,enable,disable):action>")
def webhook_action(endpoint_id: int, action: str):  # type: ignore[no-untyped-def]
    now = now_utc()
    if action == "ping":
        _run(webhook_service.ping_endpoint, g.actor, endpoint_id, now, success=_("Ping dikirim."))
    elif action == "rotate":
        result = _run(
            webhook_service.rotate_secret, g.actor, endpoint_id, now, success=_("Rahasia diganti.")
        )
        if result:
            flash(_("Rahasia baru (hanya ditampilkan sekali): %(s)s", s=result[1]), "info")
    else:
        _run(
            webhook_service.update_endpoint,
            g.actor,
            endpoint_id,
            {"active": action == "enable"},
            now,
            success=_("Tersimpan."),
        )
    return redirect(url_for("admin.webhook_page", endpoint_id=endpoint_id))


@blp.post("/deliveries/<id:delivery_id>/redeliver")
def redeliver(delivery_id: int):  # type: ignore[no-untyped-def]
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        abort(404)
    _run(
        webhook_service.redeliver,
        g.actor,
        delivery_id,
        now_utc(),
        success=_("Dijadwalkan untuk dikirim ulang."),
    )
    return redirect(url_for("admin.webhook_page", endpoint_id=delivery.endpoint_id))

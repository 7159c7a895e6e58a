"""Admin pages: units, users and roles, calendars and closed dates, categories and SLA policy
versions, webhook endpoints with their delivery log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from coord.clock import now_utc
from coord.domain.calendar_config import calendar_to_config
from coord.extensions import db
from coord.models import (
    Category,
    ClockKind,
    Priority,
    Role,
    Unit,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from coord.services import configuration
from coord.services.accounts import create_user, set_password, update_user
from coord.services.errors import InvalidInput, ServiceError
from coord.services.paging import fetch_page
from coord.services.sla_calendars import unit_calendar
from coord.services.uow import unit_of_work
from coord.services.webhooks import endpoints as webhook_service
from coord.services.webhooks.event_types import SUBSCRIBABLE_TYPES
from coord.web.auth import login_required, password_problem_messages
from coord.web.forms import form_int
from coord.web.paging import page_arg

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
EVENT_TYPES = SUBSCRIBABLE_TYPES


@blp.before_request
@login_required
def _admins_only():  # type: ignore[no-untyped-def]
    if not g.actor.has_role(Role.ADMIN):
        abort(403)


def _run(fn, *args: Any, success: str, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
    """Run a command in one unit of work. A refusal is flashed (in Indonesian for bad input,
    naming the field) and its status kept in ``g.admin_error`` for ``_answer``."""
    try:
        with unit_of_work():
            result = fn(*args, **kwargs)
    except ServiceError as exc:
        g.admin_error = exc.status
        if exc.field_texts:  # what to do, field by field, in the reader's language
            details = "; ".join(f"{k}: {v}" for k, v in exc.field_texts.items())
            flash(_("Isian tidak valid: %(details)s", details=details), "error")
        else:
            flash(exc.display, "error")  # the text for people (coord/services/errors.py)
            if isinstance(exc, InvalidInput) and exc.errors:
                fields = ", ".join(exc.errors)
                flash(_("Isian tidak valid: %(details)s", details=fields), "error")
        return None
    flash(success, "success")
    return result if result is not None else True


def _field_refused(name: str, text: str) -> InvalidInput:
    """Bad input found by this page, already in the reader's language."""
    return InvalidInput.field(name, text, text)


def _answer(url: str, page: Callable[[], str]) -> ResponseReturnValue:
    """After a form post: back to ``url`` when it worked; when it was refused, the page again
    (showing the flashed reason) with the refusal's status (422 bad input, 403, 404, 409)."""
    status = g.pop("admin_error", None)
    if status is None:
        return redirect(url)
    return page(), status


def _form_text(name: str, column: InstrumentedAttribute[Any], *, required: bool = False) -> str:
    """A form field, stripped, no longer than its database column (so that an overlong value
    is a clear 422 naming the field, not a database error)."""
    value = (request.form.get(name) or "").strip()
    limit = getattr(column.type, "length", None)
    if required and not value:
        raise _field_refused(name, _("wajib diisi"))
    if limit is not None and len(value) > limit:
        raise _field_refused(name, _("paling banyak %(n)d karakter", n=limit))
    return value


def _whole_number(name: str, raw: str, low: int, high: int) -> int:
    """A required whole number between ``low`` and ``high`` (``coord.web.forms.form_int``)."""
    number = form_int(raw, name, minimum=low, maximum=high)
    if number is None:
        raise _field_refused(name, _("wajib diisi"))
    return number


def _unit_or_404(code: str) -> Unit:
    """A unit this admin may configure; any other is not found (404)."""
    unit = db.session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None or not configuration.may_configure_unit(g.actor, unit):
        abort(404)
    return unit


def _home_page() -> str:
    categories = select(Category).order_by(Category.name_id, Category.id)
    return render_template(
        "admin/home.html",
        units=fetch_page(configuration.configurable_units(g.actor), page_arg("units_page")),
        categories=fetch_page(categories, page_arg("categories_page")),
        kinds=configuration.creatable_kinds(g.actor),
    )


@blp.get("/")
def home():  # type: ignore[no-untyped-def]
    return _home_page()


@blp.post("/units")
def create_unit():  # type: ignore[no-untyped-def]
    def create() -> Unit:
        data = {
            "code": _form_text("code", Unit.code, required=True).lower(),
            "name": _form_text("name", Unit.name, required=True),
            "kind": _form_text("kind", Unit.kind, required=True),
            "region_code": _form_text("region_code", Unit.region_code, required=True),
            "email": _form_text("email", Unit.email) or None,
            "phone": _form_text("phone", Unit.phone) or None,
        }
        return configuration.create_unit(g.actor, data)

    created = _run(create, success=_("Unit dibuat."))
    url = url_for("admin.unit_page", code=created.code) if created else url_for("admin.home")
    return _answer(url, _home_page)


@blp.get("/units/<string(maxlength=64):code>")
def unit_page(code: str):  # type: ignore[no-untyped-def]
    return _unit_page(_unit_or_404(code))


def _unit_page(unit: Unit) -> str:
    calendar = calendar_to_config(unit_calendar(unit))
    users = select(User).where(User.unit_id == unit.id).order_by(User.username, User.id)
    endpoints = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.unit_id == unit.id)
        .order_by(WebhookEndpoint.id)
    )
    return render_template(
        "admin/unit.html",
        unit=unit,
        calendar=calendar,
        weekdays=WEEKDAYS,
        users=fetch_page(users, page_arg("users_page")),
        endpoints=fetch_page(endpoints, page_arg("endpoints_page")),
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
    return _answer(url_for("admin.unit_page", code=code) + "#calendar", lambda: _unit_page(unit))


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
            return _unit_page(unit), 422
    config["extra_closed"] = sorted(dates)
    _save_calendar(unit, config)
    return _answer(url_for("admin.unit_page", code=code) + "#calendar", lambda: _unit_page(unit))


def _new_password(name: str, username: str) -> str:
    """The password typed in field ``name``, or InvalidInput naming the field with every
    problem found (too short, too common, contains the username), in the user's language."""
    password = request.form.get(name) or ""
    problems = password_problem_messages(password, username)
    if problems:
        raise _field_refused(name, " ".join(problems))
    return password


@blp.post("/units/<string(maxlength=64):code>/users")
def add_user(code: str):  # type: ignore[no-untyped-def]
    unit = _unit_or_404(code)

    def add() -> User:
        username = _form_text("username", User.username, required=True)
        return create_user(
            g.actor,
            username,
            _form_text("full_name", User.full_name) or "-",
            unit.code,
            request.form.getlist("roles"),
            now_utc(),
            password=_new_password("password", username),
            email=_form_text("email", User.email) or None,
        )

    _run(add, success=_("Pengguna dibuat."))
    return _answer(url_for("admin.unit_page", code=code) + "#users", lambda: _unit_page(unit))


@blp.post("/users/<id:user_id>")
def edit_user(user_id: int):  # type: ignore[no-untyped-def]
    user = db.session.get(User, user_id)
    if user is None or not configuration.may_configure_unit(g.actor, user.unit):
        abort(404)
    form = request.form

    def change() -> User:
        now = now_utc()
        update_user(
            g.actor, user, now, roles=form.getlist("roles"), active=form.get("active") == "1"
        )
        if form.get("new_password"):
            set_password(user, _new_password("new_password", user.username), now)
        return user

    _run(change, success=_("Pengguna diperbarui."))
    unit = user.unit
    return _answer(url_for("admin.unit_page", code=unit.code) + "#users", lambda: _unit_page(unit))


@blp.get("/categories/<string(maxlength=64):code>")
def category_page(code: str):  # type: ignore[no-untyped-def]
    return _category_page(code)


def _category_page(code: str) -> str:
    category = db.session.execute(
        select(Category).where(Category.code == code)
    ).scalar_one_or_none()
    if category is None:
        abort(404)
    return render_template(
        "admin/category.html",
        category=category,
        policies=fetch_page(configuration.policies_of(code), page_arg()),
        priorities=[p.value for p in Priority],
        clocks=[c.value for c in ClockKind],
        may_publish=configuration.has_city_wide_scope(g.actor),
    )


@blp.post("/categories/<string(maxlength=64):code>/policies")
def publish_policy(code: str):  # type: ignore[no-untyped-def]
    form = request.form

    def minutes(name: str) -> int:
        return _whole_number(name, form.get(name, ""), 1, 525_600)

    def publish() -> Any:
        raw_percents = [p for p in form.get("warning_percents", "50,80").split(",") if p.strip()]
        data = {
            "priority": form.get("priority", ""),
            "response_minutes": minutes("response_minutes"),
            "resolution_minutes": minutes("resolution_minutes"),
            "handoff_ack_minutes": minutes("handoff_ack_minutes"),
            "warning_percents": [_whole_number("warning_percents", p, 1, 99) for p in raw_percents],
            "clock": form.get("clock", "business"),
        }
        if data["priority"] not in {p.value for p in Priority}:
            raise _field_refused("priority", _("prioritas tidak dikenal"))
        if data["clock"] not in {c.value for c in ClockKind}:
            raise _field_refused("clock", _("jenis jam tidak dikenal"))
        return configuration.publish_policy(g.actor, code, data, now_utc())

    _run(publish, success=_("Versi standar baru diterbitkan; kasus lama tetap memakai versinya."))
    return _answer(url_for("admin.category_page", code=code), lambda: _category_page(code))


@blp.post("/units/<string(maxlength=64):code>/webhooks")
def add_webhook(code: str):  # type: ignore[no-untyped-def]
    unit = _unit_or_404(code)

    def add() -> tuple[WebhookEndpoint, str]:
        return webhook_service.create_endpoint(
            g.actor,
            code,
            url=_form_text("url", WebhookEndpoint.url, required=True),
            event_types=request.form.getlist("event_types") or list(EVENT_TYPES),
            now=now_utc(),
            description=_form_text("description", WebhookEndpoint.description) or None,
        )

    result = _run(add, success=_("Endpoint webhook dibuat."))
    if result:
        endpoint, secret = result
        flash(
            _(
                "Rahasia penandatanganan (hanya ditampilkan sekali, simpan sekarang): %(s)s",
                s=secret,
            ),
            "info",
        )
    return _answer(url_for("admin.unit_page", code=code) + "#webhooks", lambda: _unit_page(unit))


@blp.get("/webhooks/<id:endpoint_id>")
def webhook_page(endpoint_id: int):  # type: ignore[no-untyped-def]
    return _webhook_page(endpoint_id)


def _webhook_page(endpoint_id: int) -> str:
    """The endpoint and its deliveries, newest first, page by page; an endpoint the admin may
    not manage: 404."""
    try:
        endpoint = webhook_service.get_endpoint(g.actor, endpoint_id)
    except ServiceError:
        abort(404)
    deliveries = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
    )
    return render_template(
        "admin/webhook.html", endpoint=endpoint, deliveries=fetch_page(deliveries, page_arg())
    )


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
    return _answer(
        url_for("admin.webhook_page", endpoint_id=endpoint_id), lambda: _webhook_page(endpoint_id)
    )


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
    endpoint_id = delivery.endpoint_id
    return _answer(
        url_for("admin.webhook_page", endpoint_id=endpoint_id), lambda: _webhook_page(endpoint_id)
    )

"""Hostile input in the web forms, query strings and path parameters (tests/api/test_fuzz.py
covers JSON bodies): NUL characters, 10,000-character strings, digits that are not ASCII,
30-digit numbers, impossible dates and months. Whatever a staff member, a manager or a citizen
sends, the answer is never a 5xx (PostgreSQL refuses NUL and over-long text at the driver, so
this file matters most there)."""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from coord.clock import now_utc
from coord.models import SKM_ELEMENTS
from coord.services import handoffs as handoff_service
from coord.services.uow import unit_of_work
from tests.factories import World, case_in_status, make_case
from tests.web.forms import WebUser, web_client

HOSTILE = [
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "9" * 10_000,
    "\xb2",  # superscript two: str.isdigit() says yes, int() says no
    "\u2460",  # circled digit one
    "\u0661\u0662\u0663",  # Arabic-Indic digits: int() accepts them
    "9" * 30,
    "-1",
    "0",
    "2026-02-30",
    "2026-1\xb2",
    "0000-01",
    "9999-12",
    "",
]


@dataclass
class Form:
    """A form (or a GET with query arguments): the user who sends it, the URL for the
    subjects the test made, the valid values, and the fields to make hostile."""

    user: str | None
    url: Callable[[dict[str, Any]], str]
    valid: Callable[[dict[str, Any]], dict[str, str]]
    fields: list[str]
    method: str = "POST"
    extra: list[str] = field(default_factory=list)


def _action(name: str, **valid: str) -> Form:
    fields = ["version", "note", "reason", "assignee_id", "owner_unit", "duplicate_of"]
    return Form(
        "camat-a.manager" if name in ("cancel", "reassign") else "kel-a1.staff",
        lambda s: f"/web/cases/{s['case']}/action/{name}",
        lambda s: {"version": str(s["version"]), **valid},
        fields,
    )


FORMS: dict[str, Form] = {
    "login": Form(
        None,
        lambda s: "/web/login",
        lambda s: {"username": "kel-a1.staff", "password": "salah"},
        ["username", "password"],
    ),
    "intake": Form(
        "kel-a1.staff",
        lambda s: "/web/cases/new",
        lambda s: {
            "title": "Lampu mati",
            "description": "Tiga lampu",
            "category": "sampah",
            "priority": "normal",
            "channel": "walk_in",
            "region_code": "12.71.01.1001",
            "address": "Jl. Halat",
            "reporter_privacy": "named",
            "reporter_name": "Siti",
            "reporter_phone": "081234567890",
            "confirm_not_duplicate": "1",
        },
        [
            "title",
            "description",
            "category",
            "priority",
            "channel",
            "region_code",
            "address",
            "received_at",
            "reporter_privacy",
            "reporter_name",
            "reporter_phone",
            "reporter_email",
            "reporter_nik",
        ],
    ),
    "start": _action("start"),
    "assign": _action("assign", assignee_id="1"),
    "hold": _action("hold", reason="menunggu"),
    "resolve": _action("resolve", note="selesai"),
    "cancel": _action("cancel", reason="duplicate", duplicate_of="1"),
    "reassign": _action("reassign", owner_unit="kel-a2"),
    "comment": Form(
        "kel-a1.staff",
        lambda s: f"/web/cases/{s['case']}/comment",
        lambda s: {"body": "dicek", "visibility": "internal"},
        ["body", "visibility"],
    ),
    "handoff": Form(
        "kel-a1.staff",
        lambda s: f"/web/cases/{s['case']}/handoff",
        lambda s: {"kind": "assist", "to_unit": "dlh", "note": "bantu"},
        ["kind", "to_unit", "note"],
    ),
    "handoff-reject": Form(
        "dinas-pu.liaison",
        lambda s: f"/web/handoffs/{s['handoff']}/reject",
        lambda s: {"reason": "other", "note": "bukan kami"},
        ["reason", "note", "back"],
    ),
    "handoff-accept": Form(
        "dinas-pu.liaison",
        lambda s: f"/web/handoffs/{s['handoff']}/accept",
        lambda s: {"note": "kami terima", "back": "inbox"},
        ["note", "back"],
    ),
    "handoff-complete": Form(
        "dinas-pu.liaison",
        lambda s: f"/web/handoffs/{s['handoff']}/complete",
        lambda s: {"note": "sudah dibantu"},
        ["note", "back"],
    ),
    "handoff-recall": Form(
        "kel-a1.staff",
        lambda s: f"/web/handoffs/{s['handoff']}/recall",
        lambda s: {"note": "tidak jadi"},
        ["note", "back"],
    ),
    "password": Form(
        "kel-a1.staff",
        lambda s: "/web/password",
        lambda s: {"current": "salah", "new": "x", "confirm": "y"},
        ["current", "new", "confirm"],
    ),
    "case-search": Form(
        "kel-a1.staff", lambda s: "/web/cases", lambda s: {}, ["q", "status"], method="GET"
    ),
    "dashboard": Form(
        "camat-a.manager", lambda s: "/web/dashboard/", lambda s: {}, ["month"], method="GET"
    ),
    "dashboard-csv": Form(
        "camat-a.manager",
        lambda s: "/web/dashboard/sla.csv",
        lambda s: {},
        ["month"],
        method="GET",
    ),
    "survey": Form(
        None,
        lambda s: f"/lacak/{s['code']}/survei",
        lambda s: {"token": s["token"], **{e: "4" for e in SKM_ELEMENTS}},
        [*SKM_ELEMENTS, "token", "comment"],
    ),
    "dispute": Form(
        None,
        lambda s: f"/lacak/{s['code']}/sanggah",
        lambda s: {"token": s["token"], "reason": "belum beres"},
        ["token", "reason"],
    ),
    "track": Form(None, lambda s: "/lacak", lambda s: {}, ["kode"], method="GET"),
}


def _subjects(world: World) -> dict[str, Any]:
    resolved = case_in_status(world, "resolved")
    case = case_in_status(world, "in_progress")
    other = make_case(world)
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            world.user("kel-a1", "staff"), other.id, "assist", "dinas-pu", "bantu", now_utc()
        )
    return {
        "case": case.id,
        "version": case.version,
        "handoff": handoff.id,
        "code": resolved.tracking_code,
        "token": resolved.citizen_token,
    }


@pytest.mark.parametrize("name", list(FORMS))
def test_hostile_values_in_web_forms(name: str, world: World, app: Flask) -> None:
    form = FORMS[name]
    subjects = _subjects(world)
    user = WebUser(app.test_client(), form.user)
    failures = []
    for field_name in form.fields:
        for value in HOSTILE:
            data = {**form.valid(subjects), field_name: value}
            url = form.url(subjects)
            if form.method == "GET":
                response = user.get(url, query_string=data)
            else:
                response = user.post(url, data)
            if response.status_code >= 500:
                failures.append(f"{field_name}={value[:12]!r}: {response.status_code}")
    assert not failures, f"{form.method} {form.url(subjects)}:\n" + "\n".join(failures)


def test_hostile_attachment_uploads(
    world: World, app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upload form is multipart: its file name and visibility, hostile."""
    monkeypatch.setitem(app.config, "COORD_ATTACHMENT_DIR", str(tmp_path))
    case = case_in_status(world, "in_progress")
    staff = WebUser(app.test_client(), "kel-a1.staff")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    failures = []
    for value in HOSTILE:
        for name, visibility in ((f"{value}.png", "internal"), ("foto.png", value)):
            response = staff.post(
                f"/web/cases/{case.id}/attachments",
                {"file": (io.BytesIO(png), name), "visibility": visibility},
                content_type="multipart/form-data",
            )
            if response.status_code >= 500:
                failures.append(f"{name[:20]!r} {visibility[:12]!r}: {response.status_code}")
    assert not failures, "\n".join(failures)


PATHS = [
    "/api/v1/units/{v}",
    "/api/v1/units/{v}/calendar",
    "/api/v1/units/{v}/webhooks",
    "/api/v1/categories/{v}/policies",
    "/api/v1/cases/{v}",
    "/api/v1/handoffs/{v}",
    "/public/v1/track/{v}",
    "/open311/v2/services/{v}.json",
    "/open311/v2/requests/{v}.json",
    "/open311/v2/tokens/{v}.json",
    "/open311/v2/{v}",
    "/lacak/{v}",
    "/web/cases/{v}",
    "/web/dashboard/{v}.csv",
]
PATH_VALUES = ["%00", "a%00b", "x" * 10_000, "%C2%B2", "9" * 30, "%ED%A0%80", "..%2F..", "-1"]


@pytest.mark.parametrize("template", PATHS)
def test_hostile_path_parameters(template: str, world: World, app: Flask) -> None:
    client = web_client(app)
    headers = world.headers("camat-a", "admin")
    web = WebUser(app.test_client(), "camat-a.manager")
    failures = []
    for value in PATH_VALUES:
        url = template.replace("{v}", value)
        if url.startswith(("/web", "/lacak")):
            response = web.get(url)
        else:
            response = client.get(url, headers=headers)
        if response.status_code >= 500:
            failures.append(f"{url[:80]}: {response.status_code}")
    assert not failures, "\n".join(failures)


# -- what the user is told -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/open311/v2/services/%00.json",
        "/open311/v2/tokens/%00.json",
        "/open311/v2/services/a%00b.xml",
        "/api/v1/units/a%00b",
        "/api/v1/units/a%00b/calendar",
        "/api/v1/units/a%00b/webhooks",
        "/api/v1/categories/a%00b/policies",
    ],
)
def test_nul_in_a_path_is_not_found_and_logs_no_error(
    path: str, world: World, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    response = web_client(app).get(path, headers=world.headers("camat-a", "admin"))
    assert response.status_code == 404, response.get_data(as_text=True)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_nul_in_a_query_or_form_value_is_refused_naming_the_parameter(
    world: World, app: Flask
) -> None:
    client = web_client(app)
    api = client.get(
        "/api/v1/cases",
        headers=world.headers("kel-a1", "staff"),
        query_string={"q": "a\x00b"},
    )
    assert api.status_code == 422 and "q" in api.get_json()["errors"], api.get_json()
    staff = WebUser(app.test_client(), "kel-a1.staff")
    page = staff.get("/web/cases", query_string={"q": "lampu\x00"})
    assert page.status_code == 422
    assert "Isian 'q'" in html.unescape(page.get_data(as_text=True))
    citizen = WebUser(app.test_client(), None)
    login = citizen.post("/web/login", {"username": "kel-a1\x00", "password": "x"})
    assert login.status_code == 422
    assert "Isian 'username'" in html.unescape(login.get_data(as_text=True))


def test_a_survey_answer_in_unicode_digits_is_refused_with_a_message(
    world: World, app: Flask
) -> None:
    case = case_in_status(world, "resolved")
    citizen = WebUser(app.test_client(), None)
    answers = {e: "4" for e in SKM_ELEMENTS}
    for value in ("\xb2", "9" * 5000, "\u0664"):
        response = citizen.post(
            f"/lacak/{case.tracking_code}/survei",
            {"token": case.citizen_token, **answers, "u1": value},
        )
        assert response.status_code == 302
        errors = [m for c, m in citizen.flashes() if c == "error"]
        assert errors and "u1" in errors[0], errors
    accepted = citizen.post(
        f"/lacak/{case.tracking_code}/survei", {"token": case.citizen_token, **answers}
    )
    assert accepted.status_code == 302
    assert [c for c, m in citizen.flashes()] == ["success"]


def test_a_30_digit_assignee_is_refused_with_a_message(world: World, app: Flask) -> None:
    case = case_in_status(world, "in_progress")
    staff = WebUser(app.test_client(), "kel-a1.staff")
    for name, value in (("assignee_id", "9" * 30), ("assignee_id", "\u2460"), ("version", "²")):
        form = {"version": str(case.version), "assignee_id": "1", name: value}
        response = staff.post(f"/web/cases/{case.id}/action/assign", form)
        assert response.status_code == 302
        errors = [m for c, m in staff.flashes() if c == "error"]
        assert errors and name in errors[0], errors


@pytest.mark.parametrize("month", ["9999-12", "0000-01", "2026-13", "2026-1\xb2", "2026-2"])
@pytest.mark.parametrize("page", ["/web/dashboard/", "/web/dashboard/sla.csv"])
def test_a_month_out_of_range_on_the_dashboard_is_refused(
    month: str, page: str, world: World, app: Flask
) -> None:
    manager = WebUser(app.test_client(), "camat-a.manager")
    response = manager.get(page, query_string={"month": month})
    assert response.status_code == 422, response.status_code
    assert "TTTT-BB" in response.get_data(as_text=True)
    assert manager.get(page, query_string={"month": "2026-02"}).status_code == 200

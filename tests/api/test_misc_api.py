"""Tokens, units, categories, health probes, the OpenAPI document and the one error shape."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from coord import clock
from coord.extensions import db
from coord.models import Category, SlaPolicy, User
from coord.services.uow import unit_of_work
from tests.api.test_cases_api import API, Tokens, assert_error
from tests.factories import UNITS, World

LOGIN = f"{API}/auth/tokens"


def login(client: Any, username: str, password: str = "secret-pass") -> Any:
    return client.post(LOGIN, json={"username": username, "password": password})


# -- tokens -----------------------------------------------------------------------------------


def test_login_returns_a_working_token(client: Any, world: World, frozen_now: datetime) -> None:
    response = login(client, "dinas-pu.liaison")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["token"]
    assert body["user"]["username"] == "dinas-pu.liaison"
    assert body["user"]["unit"] == "dinas-pu" and body["user"]["roles"] == ["liaison"]
    assert "password" not in body and "password_hash" not in str(body)
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires > frozen_now
    units = client.get(f"{API}/units", headers={"Authorization": f"Bearer {body['token']}"})
    assert units.status_code == 200
    second = login(client, "dinas-pu.liaison").get_json()["token"]
    assert second != body["token"], "every login gets its own token"


def test_wrong_password_and_unknown_user_get_the_same_401(client: Any, world: World) -> None:
    wrong = assert_error(login(client, "kel-a1.staff", "salah"), 401)
    unknown = assert_error(login(client, "tidak.ada", "secret-pass"), 401)
    assert wrong["message"] == unknown["message"]
    assert "token" not in wrong and "token" not in unknown
    assert_error(client.post(LOGIN, json={"username": "kel-a1.staff"}), 422, "password")
    assert_error(client.post(LOGIN, json={"password": "x"}), 422, "username")
    assert_error(
        client.post(LOGIN, json={"username": "kel-a1.staff", "password": ""}), 422, "password"
    )


def test_a_disabled_user_can_neither_log_in_nor_use_a_token(client: Any, world: World) -> None:
    token = world.token("kel-a1", "staff")
    with unit_of_work():
        db.session.get(User, world.user("kel-a1", "staff").id).active = False
    assert_error(login(client, "kel-a1.staff"), 401)
    assert_error(client.get(f"{API}/units", headers={"Authorization": f"Bearer {token}"}), 401)


def test_an_expired_token_is_refused(
    client: Any, world: World, frozen_now: datetime, app: Any
) -> None:
    token = login(client, "kel-a1.staff").get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    lifetime = timedelta(hours=app.config["COORD_TOKEN_HOURS"])
    clock.set_frozen(frozen_now + lifetime - timedelta(minutes=1))
    assert client.get(f"{API}/units", headers=headers).status_code == 200
    clock.set_frozen(frozen_now + lifetime + timedelta(minutes=1))
    error = assert_error(client.get(f"{API}/units", headers=headers), 401)
    assert "expired" in error["message"]


def test_requests_without_a_usable_token_are_401(client: Any, world: World) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer  "},
        {"Authorization": "Token abc"},
        {"Authorization": "Bearer coord_salah"},
        {"Authorization": "Bearer " + "x" * 5000},
    ):
        for path in ("/units", "/units/kel-a1", "/categories", "/cases", "/handoffs"):
            assert_error(client.get(f"{API}{path}", headers=headers), 401)


# -- units ------------------------------------------------------------------------------------


def test_units_directory(client: Any, world: World) -> None:
    auth = Tokens(world)
    listed = client.get(f"{API}/units", headers=auth("kel-a1"))
    assert listed.status_code == 200
    assert {u["code"] for u in listed.get_json()} == set(UNITS)
    agencies = client.get(f"{API}/units?kind=agency", headers=auth("kel-a1")).get_json()
    assert {u["code"] for u in agencies} == {
        c for c, (_, kind, _) in UNITS.items() if kind == "agency"
    }
    assert_error(client.get(f"{API}/units?kind=pabrik", headers=auth("kel-a1")), 422, "kind")

    one = client.get(f"{API}/units/dinas-pu", headers=auth("kel-b1"))
    assert one.status_code == 200
    name, kind, region = UNITS["dinas-pu"]
    assert (
        one.get_json()["code"],
        one.get_json()["name"],
        one.get_json()["kind"],
        one.get_json()["region_code"],
        one.get_json()["active"],
    ) == ("dinas-pu", name, kind, region, True)
    assert_error(client.get(f"{API}/units/tidak-ada", headers=auth("kel-a1")), 404)
    assert_error(client.get(f"{API}/units/{'x' * 300}", headers=auth("kel-a1")), 404)


def test_only_admins_create_and_edit_units(client: Any, world: World) -> None:
    auth = Tokens(world)
    new_unit = {
        "code": "puskesmas-a",
        "name": "Puskesmas A",
        "kind": "agency",
        "region_code": "12.71.01",
        "email": "pkm@example.go.id",
    }
    for role in ("staff", "liaison", "manager"):
        assert_error(client.post(f"{API}/units", headers=auth("camat-a", role), json=new_unit), 403)
        assert_error(
            client.patch(
                f"{API}/units/kel-a1", headers=auth("camat-a", role), json={"name": "Diubah"}
            ),
            403,
        )
    assert_error(client.get(f"{API}/units/puskesmas-a", headers=auth("camat-a")), 404)
    # An agency binds more than one kecamatan: not the camat office's admin, the city office's.
    assert_error(client.post(f"{API}/units", headers=auth("camat-a", "admin"), json=new_unit), 403)

    admin = auth("pemkot", "admin")
    created = client.post(f"{API}/units", headers=admin, json=new_unit)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["code"] == "puskesmas-a" and created.get_json()["active"] is True
    assert client.get(f"{API}/units/puskesmas-a", headers=auth("kel-a1")).status_code == 200

    assert_error(client.post(f"{API}/units", headers=admin, json=new_unit), 422, "code")
    assert_error(
        client.post(
            f"{API}/units", headers=admin, json={**new_unit, "code": "pkm-b", "region_code": "99"}
        ),
        422,
        "region_code",
    )
    assert_error(
        client.post(f"{API}/units", headers=admin, json={**new_unit, "code": "Bukan Kode!"}),
        422,
        "code",
    )
    assert_error(
        client.post(
            f"{API}/units", headers=admin, json={**new_unit, "code": "pkm-c", "kind": "pabrik"}
        ),
        422,
        "kind",
    )
    assert_error(client.post(f"{API}/units", headers=admin, json={"code": "pkm-d"}), 422, "name")

    edited = client.patch(
        f"{API}/units/puskesmas-a",
        headers=admin,
        json={"name": "Puskesmas Medan Area", "active": False},
    )
    assert edited.status_code == 200, edited.get_json()
    assert (edited.get_json()["name"], edited.get_json()["active"]) == (
        "Puskesmas Medan Area",
        False,
    )
    got = client.get(f"{API}/units/puskesmas-a", headers=auth("kel-a1")).get_json()
    assert (got["name"], got["active"]) == ("Puskesmas Medan Area", False)
    assert_error(
        client.patch(f"{API}/units/puskesmas-a", headers=admin, json={"kind": "kelurahan"}),
        422,
        "kind",
    )
    assert_error(client.patch(f"{API}/units/tidak-ada", headers=admin, json={"name": "x"}), 404)


# -- categories -------------------------------------------------------------------------------


def test_categories_show_their_sla_targets_per_priority(client: Any, world: World) -> None:
    response = client.get(f"{API}/categories", headers=Tokens(world)("kel-a1"))
    assert response.status_code == 200
    categories = {c["code"]: c for c in response.get_json()}
    assert set(categories) == set(world.categories)
    policies = db.session.execute(select(SlaPolicy)).scalars().all()
    for category in world.categories.values():
        shown = {t["priority"]: t for t in categories[category.code]["sla"]}
        assert set(shown) == {"low", "normal", "high", "urgent"}
        for policy in (p for p in policies if p.category_id == category.id):
            target = shown[policy.priority]
            assert (
                target["response_minutes"],
                target["resolution_minutes"],
                target["handoff_ack_minutes"],
                target["warning_percents"],
                target["clock"],
                target["version"],
            ) == (
                policy.response_minutes,
                policy.resolution_minutes,
                policy.handoff_ack_minutes,
                list(policy.warning_percents),
                policy.clock,
                policy.version,
            )
    assert categories["sampah"]["default_unit"] == "dlh"

    with unit_of_work():
        db.session.get(Category, world.categories["sampah"].id).active = False
    codes = [
        c["code"]
        for c in client.get(f"{API}/categories", headers=Tokens(world)("kel-a1")).get_json()
    ]
    assert codes == ["jalan-rusak"]


# -- health and documentation -----------------------------------------------------------------


def test_health_probes(client: Any, app: Any) -> None:
    live = client.get("/healthz")
    assert live.status_code == 200 and live.get_json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["checks"] == {"database": True, "redis": True}
    url = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    try:
        ready = client.get("/readyz")
    finally:
        app.config["REDIS_URL"] = url
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"database": True, "redis": False}


def test_openapi_document_lists_the_case_paths(client: Any) -> None:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.") and spec["info"]["title"]
    paths = set(spec["paths"])
    for expected in (
        f"{API}/cases",
        f"{API}/cases/{{case_id}}",
        f"{API}/cases/{{case_id}}/events",
        f"{API}/cases/{{case_id}}/comments",
        f"{API}/cases/{{case_id}}/handoffs",
        f"{API}/handoffs",
        f"{API}/handoffs/{{handoff_id}}/accept",
        f"{API}/units",
        f"{API}/categories",
        f"{API}/auth/tokens",
    ):
        assert expected in paths, expected
    actions = [p for p in paths if p.startswith(f"{API}/cases/{{case_id}}/") and "{action}" in p]
    assert actions or all(f"{API}/cases/{{case_id}}/{a}" in paths for a in ("start", "resolve"))
    assert "bearer" in spec["components"]["securitySchemes"]


def test_docs_page_is_html_and_its_script_is_served(client: Any) -> None:
    page = client.get(f"{API}/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "openapi.json" in html
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert scripts, html
    for src in scripts:
        if src.startswith("/"):
            assert client.get(src).status_code == 200, (
                f"the docs page loads {src}, which is missing"
            )


# -- one error shape --------------------------------------------------------------------------


def test_every_error_has_the_same_shape(client: Any, world: World, app: Any) -> None:
    auth = Tokens(world)
    assert_error(client.get(f"{API}/nothing-here", headers=auth("kel-a1")), 404)
    assert_error(client.get(f"{API}/cases"), 401)
    assert_error(client.delete(f"{API}/cases", headers=auth("kel-a1")), 405)
    assert_error(client.post(f"{API}/cases", headers=auth("kel-a1"), json={}), 422, "title")
    too_big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        f"{API}/cases", headers=auth("kel-a1"), data=too_big, content_type="application/json"
    )
    assert_error(response, 413)
    body = assert_error(client.post(f"{API}/cases", headers=auth("kel-a1"), json={"x": 1}), 422)
    assert isinstance(body["errors"], dict) and body["errors"]
    body = assert_error(client.get(f"{API}/units/tidak-ada", headers=auth("kel-a1")), 404)
    assert "errors" not in body or body["errors"]

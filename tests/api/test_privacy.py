"""Reporters' personal data and secrets in API responses (DESIGN.md sections 3, 7 and 9).

* Reporter phone, email and NIK are shown only to units that owned or recorded the case and to
  managers of its jurisdiction (jurisdiction is a prefix test on region codes, so a city
  agency's managers hold every case in the city). Everyone else who may read the case (an
  assisting unit, a unit a transfer is waiting at, a manager whose unit touched the case from
  outside its jurisdiction) gets ``masked: true`` and must not find the full values anywhere in
  the JSON they receive.
* A confidential reporter is known only to the recording unit: everyone else also gets the
  name masked. An anonymous reporter has no contact data at all.
* The same holds in list responses.
* Secrets: a login response carries its token once, and no GET returns a password hash, a
  token hash, or a token.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from coord.clock import now_utc
from coord.extensions import db
from coord.models import ApiToken, Case, User
from coord.services import handoffs as handoff_service
from coord.services.uow import unit_of_work
from tests.factories import World, make_case

NAME = "Siti Aminah"
PHONE = "081234567890"
EMAIL = "siti@example.com"
NIK = "1271010101010001"
FULL = {"name": NAME, "phone": PHONE, "email": EMAIL, "nik": NIK}


def _transfer(
    world: World, case_id: int, from_unit: str, to_unit: str, *, accept: bool = True
) -> int:
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            world.user(from_unit, "staff"), case_id, "transfer", to_unit, None, now_utc()
        )
    if accept:
        with unit_of_work():
            handoff_service.accept_handoff(world.user(to_unit, "liaison"), handoff.id, now_utc())
    return handoff.id


def _assist(world: World, case_id: int, from_unit: str, to_unit: str) -> int:
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            world.user(from_unit, "staff"), case_id, "assist", to_unit, None, now_utc()
        )
    with unit_of_work():
        handoff_service.accept_handoff(world.user(to_unit, "liaison"), handoff.id, now_utc())
    return handoff.id


def _responses(client: FlaskClient, headers: dict[str, str], case_id: int) -> dict[str, Any]:
    """Everything a reader gets about one case: the case, its timeline and handoffs, and the
    lists (with the case's own entry picked out)."""
    got = {
        "case": client.get(f"/api/v1/cases/{case_id}", headers=headers),
        "events": client.get(f"/api/v1/cases/{case_id}/events", headers=headers),
        "handoffs": client.get(f"/api/v1/cases/{case_id}/handoffs", headers=headers),
        "list": client.get("/api/v1/cases?page_size=100", headers=headers),
        "handoff list": client.get("/api/v1/handoffs?page_size=100", headers=headers),
    }
    return got


def _listed_reporter(response: Any, case_id: int) -> dict[str, Any] | None:
    for item in response.json:
        if item["id"] == case_id:
            return item["reporter"]
    return None


def assert_full(
    client: FlaskClient, world: World, unit: str, role: str, case_id: int, privacy: str = "named"
) -> None:
    got = _responses(client, world.headers(unit, role), case_id)
    who = f"{unit}.{role}"
    assert got["case"].status_code == 200, (who, got["case"].json)
    expected = {"privacy": privacy, **FULL, "masked": False}
    assert got["case"].json["reporter"] == expected, (who, got["case"].json["reporter"])
    assert _listed_reporter(got["list"], case_id) == expected, (who, "in GET /cases")


def assert_masked(
    client: FlaskClient,
    world: World,
    unit: str,
    role: str,
    case_id: int,
    *,
    name_hidden: bool = False,
    privacy: str = "named",
) -> None:
    got = _responses(client, world.headers(unit, role), case_id)
    who = f"{unit}.{role}"
    assert got["case"].status_code == 200, (who, got["case"].json)
    reporter = got["case"].json["reporter"]
    assert reporter["masked"] is True, (who, reporter)
    assert reporter["privacy"] == privacy, (who, reporter)
    assert reporter["nik"] is None, (who, reporter)
    assert (
        reporter["phone"]
        and reporter["phone"].endswith(PHONE[-3:])
        and PHONE not in reporter["phone"]
    ), (who, reporter)
    assert (
        reporter["email"]
        and reporter["email"] != EMAIL
        and reporter["email"].endswith("@example.com")
    ), (who, reporter)
    if name_hidden:
        assert reporter["name"] and reporter["name"] != NAME, (who, reporter)
    else:
        assert reporter["name"] == NAME, (who, reporter)
    assert _listed_reporter(got["list"], case_id) == reporter, (
        who,
        "GET /cases differs from GET /cases/{id}",
    )
    secrets = [PHONE, EMAIL, NIK, PHONE[1:], "+62" + PHONE[1:], "siti@"] + (
        [NAME, "Aminah"] if name_hidden else []
    )
    for what, response in got.items():
        assert response.status_code == 200, (who, what, response.json)
        text = response.get_data(as_text=True)
        for secret in secrets:
            assert secret not in text, f"{who}: {secret!r} appears in {what}"


def assert_not_readable(
    client: FlaskClient, world: World, unit: str, role: str, case_id: int
) -> None:
    got = _responses(client, world.headers(unit, role), case_id)
    who = f"{unit}.{role}"
    assert got["case"].status_code == 404, (who, got["case"].status_code)
    assert _listed_reporter(got["list"], case_id) is None, who
    for secret in (PHONE, EMAIL, NIK, NAME):
        for what, response in got.items():
            assert secret not in response.get_data(as_text=True), f"{who}: {secret!r} in {what}"


# ---------------------------------------------------------------------------------------------
# named reporters


@pytest.fixture
def named_case(world: World) -> Case:
    """Recorded and owned by kel-a1 (kecamatan A, 12.71.01.1001); dinas-pu (a city agency) and
    kel-b1 (kecamatan B) are assisting; a transfer to dlh is pending."""
    case = make_case(world, "kel-a1")
    _assist(world, case.id, "kel-a1", "dinas-pu")
    _assist(world, case.id, "kel-a1", "kel-b1")
    return case


@pytest.mark.parametrize("role", ["staff", "liaison", "manager"])
def test_recording_and_owning_unit_sees_the_reporter(
    role: str, world: World, client: FlaskClient, named_case: Case
) -> None:
    assert_full(client, world, "kel-a1", role, named_case.id)


@pytest.mark.parametrize("unit", ["camat-a", "dinas-pu", "dlh"])
def test_managers_of_the_jurisdiction_see_the_reporter(
    unit: str, world: World, client: FlaskClient, named_case: Case
) -> None:
    # camat-a holds kecamatan A; dinas-pu and dlh are city agencies, whose jurisdiction (12.71)
    # holds every kelurahan of the city: they are managers of this case's jurisdiction too.
    assert_full(client, world, unit, "manager", named_case.id)


@pytest.mark.parametrize(
    ("unit", "role"),
    [
        ("dinas-pu", "staff"),
        ("dinas-pu", "liaison"),  # assisting unit
        ("kel-b1", "staff"),
        ("kel-b1", "liaison"),  # assisting unit in another kecamatan
        ("kel-b1", "manager"),  # reads it (its unit assists) but holds kecamatan B, not the case
    ],
)
def test_assisting_units_and_managers_outside_the_jurisdiction_get_masked_data(
    unit: str, role: str, world: World, client: FlaskClient, named_case: Case
) -> None:
    assert_masked(client, world, unit, role, named_case.id)


@pytest.mark.parametrize(
    ("unit", "role"),
    [
        ("camat-a", "staff"),
        ("kel-a2", "manager"),
        ("camat-b", "manager"),
        ("dlh", "staff"),
        ("kel-a1", "admin"),
        ("camat-a", "admin"),
    ],
)
def test_units_without_a_relation_see_nothing(
    unit: str, role: str, world: World, client: FlaskClient, named_case: Case
) -> None:
    assert_not_readable(client, world, unit, role, named_case.id)


def test_a_unit_a_transfer_waits_at_gets_masked_data(world: World, client: FlaskClient) -> None:
    case = make_case(world, "kel-a1")
    _transfer(world, case.id, "kel-a1", "dlh", accept=False)
    assert_masked(client, world, "dlh", "liaison", case.id)
    assert_masked(client, world, "dlh", "staff", case.id)
    assert_full(client, world, "kel-a1", "staff", case.id)


def test_units_that_owned_the_case_keep_seeing_the_reporter(
    world: World, client: FlaskClient
) -> None:
    """kel-a2 records it for kel-a1; kel-a1 forwards it to dinas-pu, which accepts. The recorder,
    the former owner and the new owner see the reporter; an assisting unit does not."""
    case = make_case(world, "kel-a2", owner_unit="kel-a1")
    _transfer(world, case.id, "kel-a1", "dinas-pu")
    _assist(world, case.id, "dinas-pu", "kel-a2")  # kel-a2 also assists, but it recorded the case
    _assist(world, case.id, "dinas-pu", "kel-b1")
    for unit in ("kel-a2", "kel-a1", "dinas-pu"):
        assert_full(client, world, unit, "staff", case.id)
    assert_masked(client, world, "kel-b1", "staff", case.id)
    assert_masked(client, world, "kel-b1", "manager", case.id)


# ---------------------------------------------------------------------------------------------
# confidential and anonymous reporters


def test_confidential_reporter_is_known_only_to_the_recording_unit(
    world: World, client: FlaskClient
) -> None:
    """Recorded by kel-a1 for dinas-pu (owner), kel-b1 assisting: only kel-a1 sees who it is."""
    case = make_case(world, "kel-a1", reporter_privacy="confidential", owner_unit="dinas-pu")
    _assist(world, case.id, "dinas-pu", "kel-b1")
    for role in ("staff", "liaison", "manager"):
        assert_full(client, world, "kel-a1", role, case.id, privacy="confidential")
    for unit, role in (
        ("dinas-pu", "staff"),
        ("dinas-pu", "manager"),
        ("camat-a", "manager"),
        ("dlh", "manager"),
        ("kel-b1", "staff"),
        ("kel-b1", "manager"),
    ):
        assert_masked(client, world, unit, role, case.id, name_hidden=True, privacy="confidential")


def test_confidential_reporter_stays_hidden_from_later_owners(
    world: World, client: FlaskClient
) -> None:
    case = make_case(world, "kel-a1", reporter_privacy="confidential")
    _transfer(world, case.id, "kel-a1", "kel-a2")
    assert_masked(
        client, world, "kel-a2", "staff", case.id, name_hidden=True, privacy="confidential"
    )
    assert_full(client, world, "kel-a1", "staff", case.id, privacy="confidential")


def test_anonymous_reporter_has_no_contact_data(world: World, client: FlaskClient) -> None:
    headers = world.headers("kel-a1", "staff")
    body = {
        "title": "Sampah menumpuk",
        "description": "Di ujung gang",
        "category": "sampah",
        "location": {"region_code": "12.71.01.1001"},
        "reporter": {"privacy": "anonymous"},
    }
    created = client.post("/api/v1/cases", headers=headers, json=body)
    assert created.status_code == 201, created.json
    nobody = {
        "privacy": "anonymous",
        "name": None,
        "phone": None,
        "email": None,
        "nik": None,
        "masked": False,
    }
    assert created.json["reporter"] == nobody
    case_id = created.json["id"]
    _assist(world, case_id, "kel-a1", "dinas-pu")
    for unit, role in (("kel-a1", "staff"), ("camat-a", "manager"), ("dinas-pu", "staff")):
        h = world.headers(unit, role)
        assert client.get(f"/api/v1/cases/{case_id}", headers=h).json["reporter"] == nobody, (
            unit,
            role,
        )
        listed = client.get("/api/v1/cases", headers=h).json
        assert [c["reporter"] for c in listed if c["id"] == case_id] == [nobody], (unit, role)
    no_reporter = client.post(
        "/api/v1/cases", headers=headers, json={k: v for k, v in body.items() if k != "reporter"}
    )
    assert no_reporter.status_code == 201 and no_reporter.json["reporter"] == nobody


@pytest.mark.parametrize("contact", [{"phone": PHONE}, {"email": EMAIL}, {"nik": NIK}])
def test_anonymous_reporter_cannot_carry_contact_data(
    contact: dict[str, str], world: World, client: FlaskClient
) -> None:
    body = {
        "title": "Sampah",
        "description": "Di gang",
        "category": "sampah",
        "location": {"region_code": "12.71.01.1001"},
        "reporter": {"privacy": "anonymous", **contact},
    }
    response = client.post("/api/v1/cases", headers=world.headers("kel-a1", "staff"), json=body)
    assert response.status_code == 422, response.json
    assert "privacy" in str(response.json["errors"])
    assert db.session.execute(select(Case.id)).first() is None


# ---------------------------------------------------------------------------------------------
# secrets


def test_login_returns_the_token_once_and_nothing_else_secret(
    world: World, client: FlaskClient
) -> None:
    response = client.post(
        "/api/v1/auth/tokens", json={"username": "kel-a1.staff", "password": "secret-pass"}
    )
    assert response.status_code == 201, response.json
    token = response.json["token"]
    text = response.get_data(as_text=True)
    assert text.count(token) == 1
    user = db.session.execute(select(User).where(User.username == "kel-a1.staff")).scalar_one()
    stored = (
        db.session.execute(select(ApiToken.token_hash).where(ApiToken.user_id == user.id))
        .scalars()
        .all()
    )
    for secret in ["secret-pass", user.password_hash, "$argon2", *stored]:
        assert secret not in text
    for name, value in response.headers.items():
        assert token not in value, name
    assert "password" not in response.json["user"] and "token_hash" not in text
    assert (
        client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )


def test_failed_logins_do_not_echo_the_password_or_tell_users_apart(
    world: World, client: FlaskClient
) -> None:
    wrong = client.post(
        "/api/v1/auth/tokens", json={"username": "kel-a1.staff", "password": "tebak-tebak"}
    )
    unknown = client.post(
        "/api/v1/auth/tokens", json={"username": "nobody.here", "password": "tebak-tebak"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    too_long = "rahasia-" * 40
    invalid = client.post(
        "/api/v1/auth/tokens", json={"username": "kel-a1.staff", "password": too_long}
    )
    assert invalid.status_code == 422
    for response in (wrong, unknown, invalid):
        text = response.get_data(as_text=True)
        assert "tebak-tebak" not in text and "rahasia-" not in text


def _crawl(
    client: FlaskClient, headers: dict[str, str], case_ids: list[int], handoff_ids: list[int]
) -> dict[str, str]:
    paths = [
        "/api/v1/cases?page_size=100",
        "/api/v1/handoffs?page_size=100",
        "/api/v1/units",
        "/api/v1/units/kel-a1",
        "/api/v1/categories",
        "/api/v1/me/attention",
    ]
    for case_id in case_ids:
        paths += [
            f"/api/v1/cases/{case_id}",
            f"/api/v1/cases/{case_id}/events",
            f"/api/v1/cases/{case_id}/handoffs",
        ]
    paths += [f"/api/v1/handoffs/{h}" for h in handoff_ids]
    texts = {}
    for path in paths:
        response = client.get(path, headers=headers)
        assert response.status_code < 500, (path, response.status_code)
        texts[path] = (
            response.get_data(as_text=True)
            + "\n"
            + "\n".join(f"{k}: {v}" for k, v in response.headers)
        )
    return texts


def test_no_get_returns_password_hashes_tokens_or_token_hashes(
    world: World, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    case = make_case(world, "kel-a1")
    handoff_ids = [_assist(world, case.id, "kel-a1", "dinas-pu")]
    callers = [
        ("kel-a1", "staff"),
        ("dinas-pu", "liaison"),
        ("camat-a", "manager"),
        ("camat-a", "admin"),
    ]
    tokens = {f"{u}.{r}": world.token(u, r) for u, r in callers}
    login = client.post(
        "/api/v1/auth/tokens", json={"username": "dlh.manager", "password": "secret-pass"}
    )
    tokens["dlh.manager"] = login.json["token"]
    client.get(
        "/api/v1/cases", headers={"Authorization": "Bearer coord_wrong-token"}
    )  # a failed auth, logged or not
    db.session.expire_all()
    secrets: list[str] = list(tokens.values())
    secrets += [
        u.password_hash for u in db.session.execute(select(User)).scalars() if u.password_hash
    ]
    secrets += list(db.session.execute(select(ApiToken.token_hash)).scalars())
    assert len(secrets) > 30
    for name, token in tokens.items():
        texts = _crawl(client, {"Authorization": f"Bearer {token}"}, [case.id], handoff_ids)
        for path, text in texts.items():
            for secret in secrets:
                assert secret not in text, f"{name}: a secret ({secret[:10]}...) in GET {path}"
            assert (
                "$argon2" not in text and "password_hash" not in text and "token_hash" not in text
            ), (name, path)
    logged = "\n".join(
        record.getMessage() + repr(record.__dict__.get("args")) for record in caplog.records
    )
    for secret in [*tokens.values(), "secret-pass"]:
        assert secret not in logged, "a token or password was logged"

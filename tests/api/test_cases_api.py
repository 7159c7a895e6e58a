"""The case endpoints over HTTP with bearer tokens: create (validation, idempotency), list
(every filter, pagination), read (ETag), edit (If-Match), the actions, comments and the
timeline, and the error paths a client meets."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from coord import clock
from coord.clock import now_utc
from coord.extensions import db
from coord.models import Case, CaseEvent
from coord.services import cases as case_service
from coord.services.uow import unit_of_work
from tests.factories import World, case_in_status, make_case

API = "/api/v1"
EXPECTED_PUBLIC = ("start", "assign", "hold", "resume", "resolve", "reopen", "close", "cancel")
LOCATIONS = ("json", "query", "headers", "form", "path", "view_args")


class Tokens:
    """One bearer token per (unit, role) per test: issuing them is not what is tested."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.cache: dict[tuple[str, str], dict[str, str]] = {}

    def __call__(self, unit: str, role: str = "staff", **extra: str) -> dict[str, str]:
        key = (unit, role)
        if key not in self.cache:
            self.cache[key] = self.world.headers(unit, role)
        return {**self.cache[key], **extra}


@pytest.fixture
def auth(world: World) -> Tokens:
    return Tokens(world)


def field_errors(body: dict[str, Any]) -> set[str]:
    """Dotted names of the fields an error body blames (``reporter.phone``), whatever the
    nesting by request location."""
    found: set[str] = set()

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                key = str(key)
                if not path and key in LOCATIONS:
                    walk(item, "")
                else:
                    walk(item, f"{path}.{key}" if path else key)
        else:
            found.add(path)

    walk(body.get("errors") or {}, "")
    return found


def assert_error(response: Any, status: int, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert body["code"] == status and isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    blamed = field_errors(body)
    for name in fields:
        assert any(b == name or b.startswith(name + ".") for b in blamed), (name, body)
    return body


def case_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Lampu jalan mati",
        "description": "Tiga lampu di Jl. Halat mati sejak minggu lalu",
        "category": "jalan-rusak",
        "priority": "high",
        "channel": "phone",
        "location": {
            "region_code": "12.71.01.1001",
            "address": "Jl. Halat No. 12",
            "latitude": 3.58,
            "longitude": 98.69,
        },
        "reporter": {
            "privacy": "named",
            "name": "Budi Santoso",
            "phone": "081234567890",
            "nik": "1271010101010001",
            "email": "budi@example.com",
        },
    }
    body.update(overrides)
    return body


def count_cases() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(Case)).scalar_one()


# -- create -----------------------------------------------------------------------------------


def test_create_returns_the_case_with_its_location(client: Any, auth: Tokens) -> None:
    response = client.post(f"{API}/cases", headers=auth("kel-a1"), json=case_body())
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert response.headers["Location"].endswith(f"{API}/cases/{case['id']}")
    assert response.headers["ETag"] == f'"{case["version"]}"'
    assert case["status"] == "new"
    assert (case["title"], case["category"], case["priority"], case["channel"]) == (
        "Lampu jalan mati",
        "jalan-rusak",
        "high",
        "phone",
    )
    assert case["owner_unit"]["code"] == "kel-a1" and case["recorded_by_unit"]["code"] == "kel-a1"
    assert case["location"]["region_code"] == "12.71.01.1001"
    assert case["location"]["address"] == "Jl. Halat No. 12"
    assert case["reporter"]["phone"] == "081234567890" and case["reporter"]["masked"] is False
    code = case["tracking_code"]
    assert len(code) == 9 and code[4] == "-" and code.replace("-", "").isalnum()
    assert case["sla"]["resolution_due_at"] is not None
    assert "start" in case["allowed_actions"] and "close" not in case["allowed_actions"]
    got = client.get(response.headers["Location"], headers=auth("kel-a1"))
    assert got.status_code == 200 and got.get_json()["id"] == case["id"]


def test_create_defaults_and_anonymous_reporter(client: Any, auth: Tokens) -> None:
    body = case_body()
    del body["priority"], body["channel"], body["reporter"]
    response = client.post(f"{API}/cases", headers=auth("kel-a1"), json=body)
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert (case["priority"], case["channel"]) == ("normal", "walk_in")
    assert case["reporter"]["privacy"] == "anonymous" and case["reporter"]["phone"] is None


def _without(name: str) -> dict[str, Any]:
    body = case_body()
    del body[name]
    return body


def _reporter(**changes: Any) -> dict[str, Any]:
    return case_body(reporter={**case_body()["reporter"], **changes})


INVALID_CREATES = {
    "missing title": (_without("title"), "title"),
    "blank title": (case_body(title="   "), "title"),
    "bad priority": (case_body(priority="segera"), "priority"),
    "bad channel": (case_body(channel="pigeon"), "channel"),
    "bad phone": (_reporter(phone="telepon saya"), "reporter.phone"),
    "bad NIK": (_reporter(nik="12345"), "reporter.nik"),
    "bad email": (_reporter(email="bukan-email"), "reporter.email"),
    "named without name": (_reporter(name=None), "reporter.name"),
    "unknown category": (case_body(category="tidak-ada"), "category"),
    "kecamatan as location": (case_body(location={"region_code": "12.71.01"}), "region_code"),
    "unknown region": (case_body(location={"region_code": "99.99.99.9999"}), "region_code"),
    "missing location": (_without("location"), "location"),
    "latitude out of range": (
        case_body(location={"region_code": "12.71.01.1001", "latitude": 123}),
        "location.latitude",
    ),
    "unknown field": (case_body(urgency="tinggi"), "urgency"),
    "unknown reporter field": (_reporter(age=40), "reporter.age"),
    "unknown owner unit": (case_body(owner_unit="dinas-tidak-ada"), "owner_unit"),
    "received_at not a time": (case_body(received_at="kemarin"), "received_at"),
    "anonymous with phone": (
        case_body(reporter={"privacy": "anonymous", "phone": "081234567890"}),
        "reporter_privacy",
    ),
}


def test_create_refuses_bad_input_naming_the_field(client: Any, auth: Tokens) -> None:
    headers = auth("kel-a1")
    for name, (body, field) in INVALID_CREATES.items():
        response = client.post(f"{API}/cases", headers=headers, json=body)
        try:
            assert_error(response, 422, field)
        except AssertionError as failure:
            raise AssertionError(f"{name}: {failure}") from None
    assert count_cases() == 0


def test_create_refuses_received_at_in_the_future(client: Any, auth: Tokens) -> None:
    tomorrow = (now_utc() + timedelta(days=1)).isoformat()
    response = client.post(
        f"{API}/cases", headers=auth("kel-a1"), json=case_body(received_at=tomorrow)
    )
    assert_error(response, 422, "received_at")
    yesterday = (now_utc() - timedelta(days=1)).isoformat()
    accepted = client.post(
        f"{API}/cases", headers=auth("kel-a1"), json=case_body(received_at=yesterday)
    )
    assert accepted.status_code == 201
    received = datetime.fromisoformat(accepted.get_json()["received_at"].replace("Z", "+00:00"))
    assert abs(received - datetime.fromisoformat(yesterday)) < timedelta(seconds=1)


def test_create_names_every_bad_field_at_once(client: Any, auth: Tokens) -> None:
    body = case_body(
        priority="segera", reporter={"privacy": "named", "name": "Budi", "phone": "x", "nik": "1"}
    )
    del body["title"]
    response = client.post(f"{API}/cases", headers=auth("kel-a1"), json=body)
    body = assert_error(response, 422, "title", "priority", "reporter.phone", "reporter.nik")
    for name in ("title", "priority", "reporter"):
        assert name in body["message"]


def test_create_needs_a_token_and_a_json_object(client: Any, auth: Tokens) -> None:
    assert_error(client.post(f"{API}/cases", json=case_body()), 401)
    assert_error(
        client.post(
            f"{API}/cases", json=case_body(), headers={"Authorization": "Bearer coord_not-a-token"}
        ),
        401,
    )
    assert_error(
        client.post(f"{API}/cases", json=case_body(), headers={"Authorization": "Basic a2VsOnB3"}),
        401,
    )
    for raw in ("[1, 2]", "{", '"teks"', "null"):
        response = client.post(
            f"{API}/cases", headers=auth("kel-a1"), data=raw, content_type="application/json"
        )
        assert response.status_code in (400, 422), (raw, response.status_code)
        assert response.get_json()["code"] == response.status_code
    assert count_cases() == 0


def test_admin_without_a_work_role_cannot_record_cases(client: Any, auth: Tokens) -> None:
    assert_error(
        client.post(f"{API}/cases", headers=auth("kel-a1", "admin"), json=case_body()), 403
    )
    assert count_cases() == 0


# -- idempotency ------------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_case(client: Any, auth: Tokens) -> None:
    headers = auth("kel-a1", **{"Idempotency-Key": "kel-a1-2026-0001"})
    first = client.post(f"{API}/cases", headers=headers, json=case_body())
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    second = client.post(f"{API}/cases", headers=headers, json=case_body())
    assert second.status_code == 200, second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json()["id"] == first.get_json()["id"]
    assert second.headers["Location"] == first.headers["Location"]
    assert count_cases() == 1
    db.session.expire_all()
    created = db.session.execute(
        select(func.count()).select_from(CaseEvent).where(CaseEvent.type == "case.created")
    ).scalar_one()
    assert created == 1

    changed = client.post(f"{API}/cases", headers=headers, json=case_body(title="Lain"))
    assert_error(changed, 422, "Idempotency-Key")
    assert count_cases() == 1

    # The key belongs to its user: another user's same key records a new case.
    other = client.post(
        f"{API}/cases",
        headers=auth("kel-a1", "liaison", **{"Idempotency-Key": "kel-a1-2026-0001"}),
        json=case_body(),
    )
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]
    assert count_cases() == 2


def test_idempotency_key_must_be_printable_and_short(client: Any, auth: Tokens) -> None:
    for key in ("x" * 256, "tab\there"):
        response = client.post(
            f"{API}/cases", headers=auth("kel-a1", **{"Idempotency-Key": key}), json=case_body()
        )
        assert_error(response, 422, "Idempotency-Key")
    assert count_cases() == 0


# -- list -------------------------------------------------------------------------------------


@pytest.fixture
def listed(world: World) -> dict[str, Any]:
    """Five cases; camat-a's manager reads the four in Kecamatan A."""
    now = now_utc()
    overdue = make_case(
        world, title="Jalan amblas di Jl. Medan Area", received_at=now - timedelta(days=40)
    )
    garbage = case_in_status(
        world,
        "in_progress",
        category="sampah",
        priority="high",
        title="Sampah menumpuk",
        description="Di pasar",
    )
    other_kel = make_case(
        world,
        "kel-a2",
        region_code="12.71.01.1002",
        priority="low",
        title="Trotoar rusak 100% hancur",
        description="Dekat sekolah_dasar",
    )
    flagged = make_case(world, title="Drainase", description="Air tergenang")
    elsewhere = make_case(world, "kel-b1", region_code="12.71.02.1001", title="Jalan berlubang B")
    with unit_of_work():
        db.session.get(Case, other_kel.id).breached = True
        db.session.get(Case, flagged.id).bounced = True
    later = now + timedelta(hours=1)
    with clock.freeze(later), unit_of_work():
        case_service.comment_on_case(
            world.user("kel-a1", "staff"), garbage.id, "dicek", "internal", later
        )
    return {
        "overdue": overdue.id,
        "garbage": garbage.id,
        "other_kel": other_kel.id,
        "flagged": flagged.id,
        "elsewhere": elsewhere.id,
        "now": now,
        "later": later,
        "codes": {c.id: c.tracking_code for c in (overdue, garbage, other_kel, flagged)},
    }


def list_ids(client: Any, headers: dict[str, str], query: str = "") -> list[int]:
    response = client.get(f"{API}/cases{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [c["id"] for c in response.get_json()]


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def test_list_filters(client: Any, auth: Tokens, listed: dict[str, Any]) -> None:
    manager = auth("camat-a", "manager")
    ids = listed
    everything = {ids["overdue"], ids["garbage"], ids["other_kel"], ids["flagged"]}

    assert set(list_ids(client, manager)) == everything
    assert list_ids(client, manager)[0] == ids["garbage"], "newest change first"
    assert set(list_ids(client, manager, "?status=in_progress")) == {ids["garbage"]}
    assert set(list_ids(client, manager, "?status=new&status=in_progress")) == everything
    assert set(list_ids(client, manager, "?owner_unit=kel-a2")) == {ids["other_kel"]}
    assert set(list_ids(client, manager, "?owner_unit=kel-a1")) == everything - {ids["other_kel"]}
    assert list_ids(client, manager, "?owner_unit=kel-b1") == []
    assert set(list_ids(client, manager, "?category=sampah")) == {ids["garbage"]}
    assert set(list_ids(client, manager, "?priority=low")) == {ids["other_kel"]}
    # Received 40 days before entry, the overdue case is breached as soon as it is recorded.
    late = {ids["other_kel"], ids["overdue"]}
    assert set(list_ids(client, manager, "?breached=true")) == late
    assert set(list_ids(client, manager, "?breached=false")) == everything - late
    assert set(list_ids(client, manager, "?bounced=true")) == {ids["flagged"]}
    assert set(list_ids(client, manager, f"?due_before={iso(ids['now'])}")) == {ids["overdue"]}
    since = iso(ids["now"] + timedelta(minutes=30))
    assert set(list_ids(client, manager, f"?updated_since={since}")) == {ids["garbage"]}
    assert set(list_ids(client, manager, "?status=new&priority=low&breached=true")) == {
        ids["other_kel"]
    }

    # Staff see only what their unit touched.
    assert set(list_ids(client, auth("kel-a2"))) == {ids["other_kel"]}
    assert set(list_ids(client, auth("kel-b1"))) == {ids["elsewhere"]}
    assert list_ids(client, auth("dlh")) == []


def test_list_search(client: Any, auth: Tokens, listed: dict[str, Any]) -> None:
    manager = auth("camat-a", "manager")
    assert set(list_ids(client, manager, "?q=SAMPAH")) == {listed["garbage"]}
    assert set(list_ids(client, manager, "?q=tergenang")) == {listed["flagged"]}
    for case_id, code in listed["codes"].items():
        dashed = f"{code[:4]}-{code[4:]}".lower()
        assert list_ids(client, manager, f"?q={dashed}") == [case_id]
        assert list_ids(client, manager, f"?q={code.lower()}") == [case_id]
    # LIKE wildcards are searched for literally.
    assert set(list_ids(client, manager, "?q=100%25")) == {listed["other_kel"]}
    assert list_ids(client, manager, "?q=%25%25") == []
    assert set(list_ids(client, manager, "?q=sekolah_dasar")) == {listed["other_kel"]}
    assert list_ids(client, manager, "?q=_") == [listed["other_kel"]]
    # Out of scope stays out of scope, even by tracking code.
    assert list_ids(client, auth("kel-b1"), f"?q={listed['codes'][listed['garbage']]}") == []


def test_list_pagination(client: Any, auth: Tokens, listed: dict[str, Any]) -> None:
    manager = auth("camat-a", "manager")
    first = client.get(f"{API}/cases?page_size=3", headers=manager)
    assert first.status_code == 200
    meta = json.loads(first.headers["X-Pagination"])
    assert (meta["total"], meta["total_pages"], meta["page"]) == (4, 2, 1)
    second = client.get(f"{API}/cases?page_size=3&page=2", headers=manager)
    assert json.loads(second.headers["X-Pagination"])["page"] == 2
    seen = [c["id"] for c in first.get_json()] + [c["id"] for c in second.get_json()]
    assert len(first.get_json()) == 3 and len(second.get_json()) == 1
    assert sorted(seen) == sorted(
        {listed["overdue"], listed["garbage"], listed["other_kel"], listed["flagged"]}
    )
    assert client.get(f"{API}/cases?page=99", headers=manager).get_json() == []


BAD_FILTERS = [
    "?status=archived",
    "?priority=segera",
    "?breached=mungkin",
    "?bounced=2",
    "?due_before=besok",
    "?updated_since=1999-01-01T00:00:00Z",
    "?page_size=0",
    "?page=0",
    "?page_size=100000",
    "?q=",
    "?owner_unit=" + "x" * 65,
]


def test_list_refuses_bad_filters_naming_them(client: Any, auth: Tokens) -> None:
    headers = auth("camat-a", "manager")
    for query in BAD_FILTERS:
        response = client.get(f"{API}/cases{query}", headers=headers)
        name = query[1:].split("=")[0]
        try:
            assert_error(response, 422, name)
        except AssertionError as failure:
            raise AssertionError(f"{query}: {failure}") from None


def test_list_needs_a_token(client: Any, world: World) -> None:
    assert_error(client.get(f"{API}/cases"), 401)


# -- read and edit ----------------------------------------------------------------------------


def test_read_with_etag_and_scope(client: Any, auth: Tokens, world: World) -> None:
    case = make_case(world)
    response = client.get(f"{API}/cases/{case.id}", headers=auth("kel-a1"))
    assert response.status_code == 200
    body = response.get_json()
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert body["id"] == case.id and body["tracking_code"].replace("-", "") == case.tracking_code
    assert (
        client.get(f"{API}/cases/{case.id}", headers=auth("camat-a", "manager")).status_code == 200
    )
    for outsider in (
        auth("kel-b1"),
        auth("dinas-pu"),
        auth("camat-b", "manager"),
        auth("camat-a", "staff"),
        auth("kel-a1", "admin"),
    ):
        assert_error(client.get(f"{API}/cases/{case.id}", headers=outsider), 404)


MISSING = [
    "/cases/424242",
    "/cases/99999999999999999999",
    "/cases/0",
    "/cases/-1",
    "/cases/abc",
    "/cases/9223372036854775807",
    "/cases/99999999999999999999/events",
    "/cases/424242/events",
    "/cases/424242/handoffs",
]


def test_nonexistent_cases_are_404_not_500(client: Any, auth: Tokens) -> None:
    headers = auth("kel-a1")
    for path in MISSING:
        assert_error(client.get(f"{API}{path}", headers=headers), 404)
    for path in (
        "/cases/424242/start",
        "/cases/99999999999999999999/resolve",
        "/cases/424242/comments",
    ):
        assert_error(
            client.post(
                f"{API}{path}",
                headers=headers,
                json={"note": "x"}
                if "resolve" in path
                else ({"body": "x"} if "comments" in path else {}),
            ),
            404,
        )
    edit = {**headers, "If-Match": '"1"'}
    assert_error(client.patch(f"{API}/cases/424242", headers=edit, json={"title": "x"}), 404)
    assert_error(
        client.patch(f"{API}/cases/99999999999999999999", headers=edit, json={"title": "x"}), 404
    )


def test_patch_with_if_match(client: Any, auth: Tokens, world: World) -> None:
    case = make_case(world)
    staff = auth("kel-a1")
    etag = client.get(f"{API}/cases/{case.id}", headers=staff).headers["ETag"]

    assert_error(client.patch(f"{API}/cases/{case.id}", headers=staff, json={"title": "Baru"}), 428)
    edited = client.patch(
        f"{API}/cases/{case.id}",
        headers={**staff, "If-Match": etag},
        json={"title": "Jalan berlubang besar", "priority": "urgent"},
    )
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["title"] == "Jalan berlubang besar"
    assert edited.get_json()["priority"] == "urgent"
    new_etag = edited.headers["ETag"]
    assert new_etag != etag and new_etag == f'"{edited.get_json()["version"]}"'

    stale = client.patch(
        f"{API}/cases/{case.id}", headers={**staff, "If-Match": etag}, json={"title": "Ditimpa"}
    )
    assert_error(stale, 412)
    for garbage in ("*", "abc", '"-1"', '"' + "9" * 30 + '"'):
        response = client.patch(
            f"{API}/cases/{case.id}",
            headers={**staff, "If-Match": garbage},
            json={"title": "Ditimpa"},
        )
        assert response.status_code == 412, garbage
    current = client.get(f"{API}/cases/{case.id}", headers=staff)
    assert current.get_json()["title"] == "Jalan berlubang besar"
    assert current.headers["ETag"] == new_etag

    events = client.get(f"{API}/cases/{case.id}/events", headers=staff).get_json()
    assert events[-1]["type"] == "case.updated"
    assert events[-1]["changes"]["title"] == ["Jalan berlubang", "Jalan berlubang besar"]
    assert events[-1]["changes"]["priority"] == ["normal", "urgent"]


def test_patch_validation_and_permission(client: Any, auth: Tokens, world: World) -> None:
    case = make_case(world)
    etag = client.get(f"{API}/cases/{case.id}", headers=auth("kel-a1")).headers["ETag"]
    staff = auth("kel-a1", **{"If-Match": etag})
    assert_error(client.patch(f"{API}/cases/{case.id}", headers=staff, json={}), 422)
    assert_error(
        client.patch(f"{API}/cases/{case.id}", headers=staff, json={"priority": "kilat"}),
        422,
        "priority",
    )
    assert_error(
        client.patch(f"{API}/cases/{case.id}", headers=staff, json={"status": "closed"}),
        422,
        "status",
    )
    assert_error(
        client.patch(f"{API}/cases/{case.id}", headers=staff, json={"category": "tidak-ada"}),
        422,
        "category",
    )
    manager = auth("camat-a", "manager", **{"If-Match": etag})
    assert_error(client.patch(f"{API}/cases/{case.id}", headers=manager, json={"title": "x"}), 403)
    assert client.get(f"{API}/cases/{case.id}", headers=auth("kel-a1")).headers["ETag"] == etag


def test_patch_location_keeps_the_parts_not_sent(client: Any, auth: Tokens) -> None:
    """Moving a case to another kelurahan does not erase the street address."""
    staff = auth("kel-a1")
    created = client.post(f"{API}/cases", headers=staff, json=case_body())
    case = created.get_json()
    edited = client.patch(
        f"{API}/cases/{case['id']}",
        headers={**staff, "If-Match": created.headers["ETag"]},
        json={"location": {"region_code": "12.71.01.1002"}},
    )
    assert edited.status_code == 200, edited.get_json()
    location = edited.get_json()["location"]
    assert location["region_code"] == "12.71.01.1002"
    assert (location["address"], location["latitude"], location["longitude"]) == (
        "Jl. Halat No. 12",
        3.58,
        98.69,
    )


# -- actions ----------------------------------------------------------------------------------


def act(client: Any, headers: dict[str, str], case_id: int, action: str, **body: Any) -> Any:
    return client.post(f"{API}/cases/{case_id}/{action}", headers=headers, json=body)


def test_every_action_over_http(client: Any, auth: Tokens, world: World) -> None:
    staff = auth("kel-a1")
    case_id = make_case(world).id
    assignee = world.user("kel-a1", "liaison").id
    steps = [
        ("start", {}, "in_progress"),
        ("assign", {"assignee_id": assignee, "note": "tolong cek"}, "in_progress"),
        ("hold", {"reason": "menunggu surat dari RT"}, "on_hold"),
        ("resume", {}, "in_progress"),
        ("resolve", {"note": "lubang ditambal"}, "resolved"),
        ("reopen", {"reason": "warga: masih berlubang"}, "in_progress"),
        ("resolve", {"note": "ditambal ulang"}, "resolved"),
        ("close", {"note": "terima kasih"}, "closed"),
    ]
    etag = client.get(f"{API}/cases/{case_id}", headers=staff).headers["ETag"]
    for action, body, status in steps:
        response = act(client, {**staff, "If-Match": etag}, case_id, action, **body)
        assert response.status_code == 200, (action, response.get_json())
        assert response.get_json()["status"] == status, action
        assert response.headers["ETag"] != etag
        etag = response.headers["ETag"]
    final = client.get(f"{API}/cases/{case_id}", headers=staff).get_json()
    assert final["assignee"]["id"] == assignee
    assert final["resolution_note"] == "ditambal ulang" and final["closed_at"] is not None
    assert [a for a in final["allowed_actions"] if a in EXPECTED_PUBLIC] == []
    types = [
        e["type"] for e in client.get(f"{API}/cases/{case_id}/events", headers=staff).get_json()
    ]
    assert types == [
        "case.created",
        "case.started",
        "case.assigned",
        "case.held",
        "case.resumed",
        "case.resolved",
        "case.reopened",
        "case.resolved",
        "case.closed",
    ]

    other = make_case(world).id
    cancelled = act(
        client, auth("camat-a", "manager"), other, "cancel", reason="spam", note="iklan"
    )
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["cancel_reason"] == "spam"
    duplicate = make_case(world).id
    marked = act(
        client,
        auth("camat-a", "manager"),
        duplicate,
        "cancel",
        reason="duplicate",
        duplicate_of=case_id,
    )
    assert marked.status_code == 200 and marked.get_json()["duplicate_of"] == case_id


def test_an_action_the_state_forbids_is_409_naming_the_state(
    client: Any, auth: Tokens, world: World
) -> None:
    case = case_in_status(world, "closed")
    bodies: dict[str, dict[str, Any]] = {
        "start": {},
        "assign": {"assignee_id": world.user("kel-a1", "liaison").id},
        "hold": {"reason": "x"},
        "resume": {},
        "resolve": {"note": "x"},
        "reopen": {"reason": "x"},
        "close": {},
        "cancel": {"reason": "spam"},
    }
    before = client.get(f"{API}/cases/{case.id}", headers=auth("kel-a1")).headers["ETag"]
    for action, body in bodies.items():
        headers = auth("camat-a", "manager") if action == "cancel" else auth("kel-a1")
        error = assert_error(act(client, headers, case.id, action, **body), 409)
        assert "closed" in error["message"], action
        assert error["errors"]["status"] == ["closed"], action
    assert client.get(f"{API}/cases/{case.id}", headers=auth("kel-a1")).headers["ETag"] == before
    resolved = case_in_status(world, "resolved")
    error = assert_error(act(client, auth("kel-a1"), resolved.id, "hold", reason="x"), 409)
    assert "resolved" in error["message"] and "in_progress" in error["message"]


def test_action_input_errors(client: Any, auth: Tokens, world: World) -> None:
    staff = auth("kel-a1")
    manager = auth("camat-a", "manager")
    case = case_in_status(world, "in_progress")
    assert_error(act(client, staff, case.id, "hold"), 422, "reason")
    assert_error(act(client, staff, case.id, "resolve"), 422, "note")
    assert_error(act(client, staff, case.id, "resolve", note="   "), 422, "note")
    assert_error(act(client, manager, case.id, "cancel"), 422, "reason")
    assert_error(act(client, manager, case.id, "cancel", reason="bosan"), 422, "reason")
    assert_error(act(client, manager, case.id, "cancel", reason="duplicate"), 422, "duplicate_of")
    assert_error(act(client, staff, case.id, "assign"), 422, "assignee_id")
    assert_error(
        act(client, staff, case.id, "assign", assignee_id=world.user("dlh", "staff").id),
        422,
        "assignee_id",
    )
    assert_error(act(client, staff, case.id, "hold", reason="x", colour="red"), 422, "colour")
    assert_error(act(client, staff, case.id, "assign", assignee_id=10**30), 422, "assignee_id")
    assert client.post(f"{API}/cases/{case.id}/archive", headers=staff, json={}).status_code == 404
    assert client.get(f"{API}/cases/{case.id}", headers=staff).get_json()["status"] == "in_progress"


def test_hold_and_reopen_need_a_real_reason(client: Any, auth: Tokens, world: World) -> None:
    """A reason of blanks is no reason: the action is refused and the case stays as it was."""
    staff = auth("kel-a1")
    for status, action in (("in_progress", "hold"), ("resolved", "reopen")):
        case = case_in_status(world, status)
        assert_error(act(client, staff, case.id, action, reason="   "), 422, "reason")
        assert client.get(f"{API}/cases/{case.id}", headers=staff).get_json()["status"] == status


def test_cancel_as_duplicate_of_a_case_out_of_scope_names_the_field(
    client: Any, auth: Tokens, world: World
) -> None:
    """The case being cancelled exists; what is wrong is ``duplicate_of``: 422, not 404."""
    case = make_case(world)
    elsewhere = make_case(world, "kel-b1", region_code="12.71.02.1001")
    response = act(
        client,
        auth("camat-a", "manager"),
        case.id,
        "cancel",
        reason="duplicate",
        duplicate_of=elsewhere.id,
    )
    assert_error(response, 422, "duplicate_of")
    assert (
        client.get(f"{API}/cases/{case.id}", headers=auth("kel-a1")).get_json()["status"] == "new"
    )


def test_action_permissions_and_stale_if_match(client: Any, auth: Tokens, world: World) -> None:
    case = make_case(world)
    etag = client.get(f"{API}/cases/{case.id}", headers=auth("kel-a1")).headers["ETag"]
    assert_error(act(client, auth("camat-a", "manager"), case.id, "start"), 403)
    assert_error(act(client, auth("kel-a1"), case.id, "cancel", reason="spam"), 403)
    assert_error(act(client, auth("kel-a2"), case.id, "start"), 404)
    assert_error(act(client, auth("camat-b", "manager"), case.id, "cancel", reason="spam"), 404)
    assert_error(client.post(f"{API}/cases/{case.id}/start", json={}), 401)
    started = act(client, auth("kel-a1", **{"If-Match": etag}), case.id, "start")
    assert started.status_code == 200
    assert_error(
        act(client, auth("kel-a1", **{"If-Match": etag}), case.id, "hold", reason="x"), 412
    )
    assert client.get(f"{API}/cases/{case.id}", headers=auth("kel-a1")).get_json()["status"] == (
        "in_progress"
    )


# -- comments and timeline --------------------------------------------------------------------


def test_comments_and_the_timeline(client: Any, auth: Tokens, world: World) -> None:
    case = make_case(world)
    staff = auth("kel-a1")
    internal = client.post(
        f"{API}/cases/{case.id}/comments", headers=staff, json={"body": "Sudah telepon pelapor"}
    )
    assert internal.status_code == 201, internal.get_json()
    assert internal.get_json()["type"] == "case.commented"
    assert internal.get_json()["visibility"] == "internal"
    assert internal.get_json()["body"] == "Sudah telepon pelapor"
    public = client.post(
        f"{API}/cases/{case.id}/comments",
        headers=staff,
        json={"body": "  Petugas akan datang besok  ", "visibility": "public"},
    )
    assert public.status_code == 201
    assert public.get_json()["visibility"] == "public"
    assert public.get_json()["body"] == "Petugas akan datang besok"
    manager_note = client.post(
        f"{API}/cases/{case.id}/comments",
        headers=auth("camat-a", "manager"),
        json={"body": "Prioritaskan"},
    )
    assert manager_note.status_code == 201

    events = client.get(f"{API}/cases/{case.id}/events", headers=staff)
    assert events.status_code == 200
    timeline = events.get_json()
    assert [(e["type"], e["visibility"]) for e in timeline] == [
        ("case.created", "public"),
        ("case.commented", "internal"),
        ("case.commented", "public"),
        ("case.commented", "internal"),
    ]
    assert [e["id"] for e in timeline] == sorted(e["id"] for e in timeline)
    assert timeline[1]["id"] == internal.get_json()["id"]
    assert timeline[3]["actor_unit"] == "camat-a"
    versions = [e["case_version"] for e in timeline]
    assert versions == sorted(versions)

    assert_error(
        client.post(f"{API}/cases/{case.id}/comments", headers=staff, json={"body": "  "}),
        422,
        "body",
    )
    assert_error(
        client.post(
            f"{API}/cases/{case.id}/comments",
            headers=staff,
            json={"body": "x", "visibility": "semua"},
        ),
        422,
        "visibility",
    )
    assert_error(
        client.post(f"{API}/cases/{case.id}/comments", headers=auth("kel-b1"), json={"body": "x"}),
        404,
    )
    assert_error(client.get(f"{API}/cases/{case.id}/events", headers=auth("kel-b1")), 404)
    assert len(client.get(f"{API}/cases/{case.id}/events", headers=staff).get_json()) == 4

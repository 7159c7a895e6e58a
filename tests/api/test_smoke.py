"""A first walk through the API: log in, create, forward, accept, resolve."""

from __future__ import annotations


def test_case_walk_through_api(client, world):  # type: ignore[no-untyped-def]
    login = client.post(
        "/api/v1/auth/tokens", json={"username": "kel-a1.staff", "password": "secret-pass"}
    )
    assert login.status_code == 201, login.json
    staff = {"Authorization": f"Bearer {login.json['token']}"}
    created = client.post(
        "/api/v1/cases",
        headers=staff,
        json={
            "title": "Parit tersumbat",
            "description": "Air meluap ke jalan",
            "category": "jalan-rusak",
            "location": {"region_code": "12.71.01.1001"},
            "reporter": {"privacy": "named", "name": "Budi", "phone": "081200000001"},
        },
    )
    assert created.status_code == 201, created.json
    case = created.json
    assert case["status"] == "new" and len(case["tracking_code"]) == 9
    forwarded = client.post(
        f"/api/v1/cases/{case['id']}/handoffs",
        headers=staff,
        json={"kind": "transfer", "to_unit": "dinas-pu", "note": "mohon"},
    )
    assert forwarded.status_code == 201, forwarded.json
    liaison = world.headers("dinas-pu", "liaison")
    accepted = client.post(
        f"/api/v1/handoffs/{forwarded.json['id']}/accept", headers=liaison, json={}
    )
    assert accepted.status_code == 200, accepted.json
    pu_staff = world.headers("dinas-pu", "staff")
    got = client.get(f"/api/v1/cases/{case['id']}", headers=pu_staff)
    assert got.json["owner_unit"]["code"] == "dinas-pu" and got.json["status"] == "in_progress"
    resolved = client.post(
        f"/api/v1/cases/{case['id']}/resolve", headers=pu_staff, json={"note": "beres"}
    )
    assert resolved.status_code == 200 and resolved.json["status"] == "resolved"
    events = client.get(f"/api/v1/cases/{case['id']}/events", headers=staff)
    assert [e["type"] for e in events.json] == [
        "case.created",
        "handoff.requested",
        "handoff.accepted",
        "case.resolved",
    ]


def test_one_command_makes_one_new_version(client, world):  # type: ignore[no-untyped-def]
    staff = world.headers("kel-a1", "staff")
    created = client.post(
        "/api/v1/cases",
        headers=staff,
        json={
            "title": "Lampu padam",
            "description": "Gelap",
            "category": "jalan-rusak",
            "location": {"region_code": "12.71.01.1001"},
        },
    )
    assert created.json["version"] == 1 and created.headers["ETag"] == '"1"'
    edited = client.patch(
        f"/api/v1/cases/{created.json['id']}",
        headers={**staff, "If-Match": '"1"'},
        json={"priority": "high", "title": "Lampu jalan padam"},
    )
    assert edited.json["version"] == 2 and edited.headers["ETag"] == '"2"'
    started = client.post(f"/api/v1/cases/{created.json['id']}/start", headers=staff, json={})
    assert started.json["version"] == 3
    events = client.get(f"/api/v1/cases/{created.json['id']}/events", headers=staff).json
    assert [e["case_version"] for e in events] == [1, 2, 3]

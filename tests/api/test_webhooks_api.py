"""The webhook endpoints API: who may manage what, URL checks, secrets shown once, the
delivery log and redelivery."""

from __future__ import annotations

import logging

import pytest

from coord.extensions import db
from coord.models import WebhookDelivery, WebhookEndpoint
from tests import webhook_receiver
from tests.webhook_receiver import (
    drain,
    forward,
    register,
)

# Fixtures shared by the webhook tests.
receiver = webhook_receiver.receiver
webhook_app = webhook_receiver.webhook_app

URL = "http://127.0.0.1:9/hook"


@pytest.fixture
def admin(world):
    return world.headers("dinas-pu", "admin")


def create(client, headers, unit="dinas-pu", **body):
    body.setdefault("url", URL)
    body.setdefault("event_types", ["handoff.requested"])
    return client.post(f"/api/v1/units/{unit}/webhooks", headers=headers, json=body)


# --------------------------------------------------------------------------------------------
# Who may


@pytest.mark.parametrize("role", ["admin", "liaison"])
def test_admins_and_liaisons_of_the_unit_manage_its_endpoints(webhook_app, world, client, role):
    headers = world.headers("dinas-pu", role)
    created = create(client, headers, description="SIMPU dinas")
    assert created.status_code == 201, created.json
    hook = created.json
    assert hook["unit"] == "dinas-pu" and hook["active"] is True and hook["version"] == 1
    assert hook["deliveries_url"] == f"/api/v1/webhooks/{hook['id']}/deliveries"
    listed = client.get("/api/v1/units/dinas-pu/webhooks", headers=headers)
    assert listed.status_code == 200 and [h["id"] for h in listed.json] == [hook["id"]]
    assert client.get(f"/api/v1/webhooks/{hook['id']}", headers=headers).status_code == 200


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_other_roles_of_the_unit_are_forbidden(webhook_app, world, client, admin, role):
    hook = create(client, admin).json
    headers = world.headers("dinas-pu", role)
    assert create(client, headers).status_code == 403
    assert client.get("/api/v1/units/dinas-pu/webhooks", headers=headers).status_code == 403
    for method, path in _item_paths(hook["id"]):
        assert getattr(client, method)(path, headers=headers, json={}).status_code == 403, path


def test_another_units_liaison_sees_nothing(webhook_app, world, client, admin):
    hook = create(client, admin).json
    ping = client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=admin).json
    other = world.headers("dlh", "liaison")
    assert create(client, other).status_code == 403
    assert client.get("/api/v1/units/dinas-pu/webhooks", headers=other).status_code == 403
    for method, path in _item_paths(hook["id"]) + [
        ("get", f"/api/v1/deliveries/{ping['id']}"),
        ("post", f"/api/v1/deliveries/{ping['id']}/redeliver"),
    ]:
        response = getattr(client, method)(path, headers=other, json={})
        assert response.status_code == 404, path
    # ... while its own unit's endpoints are its to manage
    assert create(client, other, unit="dlh").status_code == 201


def test_without_a_token_401_and_unknown_things_404(webhook_app, world, client, admin):
    assert client.get("/api/v1/units/dinas-pu/webhooks").status_code == 401
    assert client.get("/api/v1/units/nope/webhooks", headers=admin).status_code == 404
    assert client.get("/api/v1/webhooks/999", headers=admin).status_code == 404
    assert client.get(f"/api/v1/webhooks/{2**70}", headers=admin).status_code == 404
    assert client.post("/api/v1/deliveries/999/redeliver", headers=admin).status_code == 404


def _item_paths(endpoint_id):
    return [
        ("get", f"/api/v1/webhooks/{endpoint_id}"),
        ("patch", f"/api/v1/webhooks/{endpoint_id}"),
        ("delete", f"/api/v1/webhooks/{endpoint_id}"),
        ("post", f"/api/v1/webhooks/{endpoint_id}/rotate"),
        ("post", f"/api/v1/webhooks/{endpoint_id}/ping"),
        ("get", f"/api/v1/webhooks/{endpoint_id}/deliveries"),
    ]


# --------------------------------------------------------------------------------------------
# What is accepted


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://127.0.0.1/hook", "https://"),
        ("javascript:alert(1)", "https://"),
        ("http:///nohost", "host"),
        ("http://user:pw@127.0.0.1/hook", "credentials"),
        ("http://127.0.0.1:99999/hook", "valid URL"),
        ("http://no-such-host.invalid/hook", "does not resolve"),
    ],
)
def test_malformed_urls_are_refused_naming_url(webhook_app, client, admin, url, why):
    response = create(client, admin, url=url)
    assert response.status_code == 422, response.json
    assert "url" in response.json["errors"] and why in response.json["errors"]["url"][0]


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/hook",
        "http://localhost:8080/hook",
        "http://127.0.0.1/hook",
        "https://0.0.0.0/hook",
    ],
)
def test_private_destinations_are_refused_unless_allowed(app, world, client, monkeypatch, url):
    monkeypatch.setitem(app.config, "COORD_WEBHOOK_ALLOW_CIDRS", "")
    admin = world.headers("dinas-pu", "admin")
    response = create(client, admin, url=url)
    assert response.status_code == 422, response.json
    assert "refused" in response.json["errors"]["url"][0]


def test_an_allowed_network_may_receive(app, world, client, monkeypatch):
    monkeypatch.setitem(app.config, "COORD_WEBHOOK_ALLOW_CIDRS", "10.1.0.0/16, 127.0.0.0/8, ::1")
    admin = world.headers("dinas-pu", "admin")
    assert create(client, admin, url="http://10.1.2.3/hook").status_code == 201
    assert create(client, admin, url="http://localhost:8080/hook").status_code == 201
    assert create(client, admin, url="http://10.2.0.1/hook").status_code == 422


def test_event_types_must_be_known(webhook_app, client, admin):
    for body in (
        {"event_types": ["case.exploded"]},
        {"event_types": []},
        {"event_types": ["ping"]},
    ):
        response = create(client, admin, **body)
        assert response.status_code == 422 and "event_types" in str(response.json["errors"])
    response = client.post("/api/v1/units/dinas-pu/webhooks", headers=admin, json={"url": URL})
    assert response.status_code == 422 and "event_types" in str(response.json["errors"])
    assert create(client, admin, extra=1).status_code == 422
    garbage = client.post(
        "/api/v1/units/dinas-pu/webhooks", headers=admin, data="{", content_type="application/json"
    )
    assert garbage.status_code in (400, 422)


# --------------------------------------------------------------------------------------------
# Secrets


def test_the_secret_is_shown_on_create_and_rotate_only(webhook_app, world, client, admin, caplog):
    caplog.set_level(logging.DEBUG)
    hook = create(client, admin).json
    secret = hook["secret"]
    assert secret.startswith("whsec_")
    shown = [
        client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin).json,
        client.get("/api/v1/units/dinas-pu/webhooks", headers=admin).json[0],
        client.patch(
            f"/api/v1/webhooks/{hook['id']}", headers=admin, json={"description": "x"}
        ).json,
    ]
    assert all("secret" not in view for view in shown)

    rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate", headers=admin, json={})
    assert rotated.status_code == 200
    new_secret = rotated.json["secret"]
    assert new_secret != secret and secret not in rotated.get_data(as_text=True)
    assert rotated.json["previous_secret_expires_at"] is not None
    assert "secret" not in client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin).json
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in logged and new_secret not in logged


def test_rotation_overlap_is_24_hours_by_default_and_can_be_chosen(
    webhook_app, world, client, admin, frozen_now
):
    hook = create(client, admin).json
    rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate", headers=admin, json={})
    assert rotated.json["previous_secret_expires_at"] == "2026-03-05T03:00:00Z"
    now = client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate", headers=admin, json={"overlap_hours": 0}
    )
    assert now.json["previous_secret_expires_at"] is None
    db.session.rollback()
    endpoint = db.session.get(WebhookEndpoint, hook["id"])
    assert endpoint.secret == now.json["secret"] and endpoint.previous_secret is None
    bad = client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate", headers=admin, json={"overlap_hours": -1}
    )
    assert bad.status_code == 422


# --------------------------------------------------------------------------------------------
# Editing, turning off, deleting


def test_patch_checks_the_url_again_and_turning_off_cancels_pending(
    webhook_app, world, client, admin, monkeypatch, frozen_now
):
    hook = create(client, admin).json
    forward(world)
    monkeypatch.setitem(webhook_app.config, "COORD_WEBHOOK_ALLOW_CIDRS", "")
    refused = client.patch(
        f"/api/v1/webhooks/{hook['id']}", headers=admin, json={"url": "http://10.1.2.3/x"}
    )
    assert refused.status_code == 422 and "url" in refused.json["errors"]

    off = client.patch(f"/api/v1/webhooks/{hook['id']}", headers=admin, json={"active": False})
    assert off.status_code == 200
    assert off.json["active"] is False and "dinas-pu.admin" in off.json["disabled_reason"]
    assert off.json["version"] == 2
    log = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin).json
    assert [d["status"] for d in log] == ["cancelled"]

    on = client.patch(
        f"/api/v1/webhooks/{hook['id']}",
        headers=admin,
        json={"active": True, "event_types": ["handoff.requested", "case.bounced"]},
    )
    assert on.json["active"] is True and on.json["disabled_reason"] is None
    assert on.json["event_types"] == ["handoff.requested", "case.bounced"]
    ping_off = client.patch(f"/api/v1/webhooks/{hook['id']}", headers=admin, json={"active": False})
    assert ping_off.status_code == 200
    assert client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=admin).status_code == 409


def test_delete_removes_the_endpoint_and_its_log(webhook_app, world, client, admin):
    hook = create(client, admin).json
    client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=admin)
    deleted = client.delete(f"/api/v1/webhooks/{hook['id']}", headers=admin)
    assert deleted.status_code == 204
    assert client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin).status_code == 404
    db.session.rollback()
    assert db.session.query(WebhookDelivery).count() == 0


# --------------------------------------------------------------------------------------------
# Delivery log and redelivery


def test_the_delivery_log_is_paginated_and_filtered(webhook_app, world, client, admin, frozen_now):
    hook = create(client, admin).json
    for _ in range(5):
        forward(world)
    client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=admin)
    page = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?page_size=2&page=1", headers=admin)
    assert page.status_code == 200 and len(page.json) == 2
    assert '"total": 6' in page.headers["X-Pagination"]
    first = page.json[0]
    assert first["event_type"] == "ping" and first["status"] == "pending"
    assert set(first) >= {
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "msg_id",
        "payload",
    }
    only = client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries?event_type=handoff.requested", headers=admin
    )
    assert len(only.json) == 5
    bad = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?status=lost", headers=admin)
    assert bad.status_code == 422


def test_redeliver_resets_a_finished_delivery_and_refuses_a_pending_one(
    webhook_app, world, client, receiver, frozen_now
):
    admin = world.headers("dinas-pu", "admin")
    hook = register(client, admin, "dinas-pu", receiver.url("/pu"), ["handoff.requested"])
    receiver.trust("pu", hook["secret"])
    receiver.respond("/pu", 410)
    forward(world)
    drain(webhook_app)
    [failed] = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin).json
    assert failed["status"] == "failed" and failed["last_status_code"] == 410

    refused = client.post(f"/api/v1/deliveries/{failed['id']}/redeliver", headers=admin)
    assert refused.status_code == 409  # the endpoint was turned off by the 410
    client.patch(f"/api/v1/webhooks/{hook['id']}", headers=admin, json={"active": True})
    again = client.post(f"/api/v1/deliveries/{failed['id']}/redeliver", headers=admin)
    assert again.status_code == 202
    assert (again.json["status"], again.json["attempts"]) == ("pending", 0)
    assert again.json["msg_id"] == failed["msg_id"]
    assert (
        client.post(f"/api/v1/deliveries/{failed['id']}/redeliver", headers=admin).status_code
        == 409
    )
    drain(webhook_app)
    assert receiver.msg_ids("/pu") == [failed["msg_id"]] * 2
    shown = client.get(f"/api/v1/deliveries/{failed['id']}", headers=admin).json
    assert shown["status"] == "delivered" and shown["delivered_at"] == "2026-03-04T03:00:00Z"


def test_the_openapi_document_lists_the_webhook_paths(app, client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/units/{code}/webhooks",
        "/api/v1/webhooks/{endpoint_id}",
        "/api/v1/webhooks/{endpoint_id}/rotate",
        "/api/v1/webhooks/{endpoint_id}/ping",
        "/api/v1/webhooks/{endpoint_id}/deliveries",
        "/api/v1/deliveries/{delivery_id}/redeliver",
    ):
        assert path in paths


@pytest.mark.parametrize(
    "raw",
    [
        '{"url": "http://127.0.0.1:9/a\\ud800", "event_types": ["handoff.requested"]}',
        '{"url": "http://127.0.0.1:9/a", "event_types": ["handoff.requested"], '
        '"description": "x\\udfffy"}',
        '{"url": "http://\\ud800.example/a", "event_types": ["handoff.requested"]}',
        '{"url": "http://127.0.0.1:9/a\\u0000", "event_types": ["handoff.requested"]}',
        '{"url": 12, "event_types": "handoff.requested"}',
        "[]",
    ],
)
def test_malformed_bodies_never_get_a_500(webhook_app, client, admin, raw):
    response = client.post(
        "/api/v1/units/dinas-pu/webhooks",
        data=raw,
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422), response.get_data(as_text=True)


@pytest.mark.parametrize("page", [str(2**62), str(2**63), "10000000000000000000000", "0", "-1"])
def test_pages_far_beyond_the_last_one_are_refused_or_empty(webhook_app, client, admin, page):
    hook = create(client, admin).json
    response = client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin, query_string={"page": page}
    )
    assert response.status_code in (200, 422), response.get_data(as_text=True)
    if response.status_code == 200:
        assert response.json == []

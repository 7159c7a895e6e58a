"""Webhook delivery end to end: the API and services write events, the outbox writes delivery
rows, real RQ workers (burst mode) on real Redis send them to a real HTTP receiver on loopback
that verifies every request with the ``standardwebhooks`` library."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select

from coord import clock
from coord.clock import now_utc
from coord.extensions import db
from coord.models import CaseEvent, WebhookDelivery, WebhookEndpoint
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.events import PublishedEvent, publish, record_event
from coord.services.policy import SYSTEM
from coord.services.uow import unit_of_work
from tests import webhook_receiver
from tests.factories import make_case, unit_by_code
from tests.webhook_receiver import (
    drain,
    forward,
    forward_via_api,
    queued_jobs,
    register,
    sweep,
)

# Fixtures shared by the webhook tests.
receiver = webhook_receiver.receiver
webhook_app = webhook_receiver.webhook_app

BASE = "https://coord.example.go.id"
ALL_TYPES = [
    "case.created",
    "case.updated",
    "case.resolved",
    "case.closed",
    "case.reopened",
    "case.cancelled",
    "handoff.requested",
    "handoff.accepted",
    "handoff.rejected",
    "handoff.recalled",
    "handoff.completed",
    "sla.warning",
    "sla.breached",
    "case.escalated",
    "case.bounced",
    "feedback.received",
]


def deliveries(endpoint_id: int | None = None) -> list[WebhookDelivery]:
    db.session.rollback()
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    return list(db.session.execute(query).scalars())


def endpoint(endpoint_id: int) -> WebhookEndpoint:
    db.session.rollback()
    found = db.session.get(WebhookEndpoint, endpoint_id)
    assert found is not None
    return found


def advance(**delta: float) -> None:
    clock.set_frozen(now_utc() + timedelta(**delta))


# --------------------------------------------------------------------------------------------
# The happy path


def test_forwarding_a_case_delivers_a_verified_handoff_requested(
    webhook_app, world, client, receiver, frozen_now
):
    liaison = world.headers("dinas-pu", "liaison")
    hook = register(client, liaison, "dinas-pu", receiver.url("/pu"))
    assert hook["secret"].startswith("whsec_")
    receiver.trust("pu", hook["secret"])

    handoff = forward_via_api(client, world.headers("kel-a1", "staff"))
    drain(webhook_app)

    assert receiver.wait_for(1, "/pu")
    assert receiver.unverified == []
    [request] = receiver.on("/pu")
    assert request.verified_by == ["pu"]
    body = request.payload
    assert body["type"] == "handoff.requested"
    assert body["timestamp"] == "2026-03-04T03:00:00Z"
    data = body["data"]
    assert data["case_id"] == handoff["case_id"]
    assert data["tracking_code"] == handoff["tracking_code"]
    assert data["status"] == "pending_transfer"
    assert data["owner_unit"] == "kel-a1"
    assert data["case_version"] >= 2
    assert data["url"] == f"{BASE}/api/v1/cases/{handoff['case_id']}"
    assert data["handoff"] == {
        "id": handoff["id"],
        "kind": "transfer",
        "status": "pending",
        "from_unit": "kel-a1",
        "to_unit": "dinas-pu",
        "url": f"{BASE}/api/v1/handoffs/{handoff['id']}",
        "accept_url": f"{BASE}/api/v1/handoffs/{handoff['id']}/accept",
        "reject_url": f"{BASE}/api/v1/handoffs/{handoff['id']}/reject",
    }
    [row] = deliveries(hook["id"])
    assert row.status == "delivered" and row.attempts == 1 and row.last_status_code == 200
    assert request.msg_id == row.msg_id and row.msg_id.startswith("msg_")

    # The agency's system acts back through the accept_url it was sent.
    accepted = client.post(
        data["handoff"]["accept_url"].removeprefix(BASE), headers=liaison, json={"note": "diterima"}
    )
    assert accepted.status_code == 200, accepted.json
    drain(webhook_app)
    assert receiver.wait_for(2, "/pu")
    second = receiver.on("/pu")[1].payload
    assert second["type"] == "handoff.accepted"
    assert second["data"]["owner_unit"] == "dinas-pu"
    assert "accept_url" not in second["data"]["handoff"]
    assert receiver.unverified == []


def test_deliveries_for_one_endpoint_are_batched_into_one_job(
    webhook_app, world, client, receiver, frozen_now
):
    hook = register(client, world.headers("dinas-pu", "admin"), "dinas-pu", receiver.url("/pu"))
    receiver.trust("pu", hook["secret"])
    for _ in range(30):
        forward(world)
    assert queued_jobs(webhook_app) == 1  # one waiting job per endpoint, not one per event
    drain(webhook_app)
    assert receiver.wait_for(30, "/pu")
    assert receiver.unverified == []
    rows = deliveries(hook["id"])
    assert len(rows) == 30 and {r.status for r in rows} == {"delivered"}
    assert sorted(receiver.msg_ids("/pu")) == sorted(r.msg_id for r in rows)


# --------------------------------------------------------------------------------------------
# Failures and retries


def test_server_errors_are_retried_on_the_schedule_then_delivered(
    webhook_app, world, client, receiver, frozen_now
):
    hook = register(
        client, world.headers("dinas-pu", "liaison"), "dinas-pu", receiver.url("/flaky")
    )
    receiver.trust("pu", hook["secret"])
    receiver.respond("/flaky", 500, 500)
    forward(world)

    drain(webhook_app)
    [row] = deliveries(hook["id"])
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
    assert row.last_error.startswith("HTTP 500")
    first_delay = row.next_attempt_at - row.last_attempt_at
    assert timedelta(seconds=4) <= first_delay <= timedelta(seconds=6)

    assert sweep() == 0  # not due yet: nothing to enqueue
    advance(seconds=6)
    assert sweep() == 1
    drain(webhook_app)
    [row] = deliveries(hook["id"])
    assert (row.status, row.attempts) == ("pending", 2)
    assert timedelta(minutes=4) <= row.next_attempt_at - row.last_attempt_at <= timedelta(minutes=6)

    advance(minutes=6)
    assert sweep() == 1
    drain(webhook_app)
    [row] = deliveries(hook["id"])
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 3, 200)
    assert row.last_error is None and row.delivered_at == now_utc()

    requests = receiver.on("/flaky")
    assert len(requests) == 3
    assert {r.msg_id for r in requests} == {row.msg_id}  # the same webhook-id on every retry
    assert receiver.unverified == []


def test_retry_after_is_honoured(webhook_app, world, client, receiver, frozen_now):
    hook = register(client, world.headers("dinas-pu", "liaison"), "dinas-pu", receiver.url("/busy"))
    receiver.trust("pu", hook["secret"])
    receiver.respond("/busy", (503, {"Retry-After": "3600"}))
    forward(world)
    drain(webhook_app)
    [row] = deliveries(hook["id"])
    assert row.status == "pending" and row.last_status_code == 503
    assert row.next_attempt_at - row.last_attempt_at >= timedelta(hours=1)
    advance(minutes=30)
    assert sweep() == 0


def test_a_delivery_fails_after_the_last_attempt(webhook_app, world, client, receiver, frozen_now):
    hook = register(client, world.headers("dinas-pu", "liaison"), "dinas-pu", receiver.url("/down"))
    receiver.trust("pu", hook["secret"])
    receiver.respond("/down", *([500] * 8))
    forward(world)
    drain(webhook_app)
    for _ in range(7):
        advance(hours=12)
        assert sweep() == 1
        drain(webhook_app)
    [row] = deliveries(hook["id"])
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 8, None)
    assert row.last_error.startswith("gave up after 8 attempts")
    assert len(receiver.on("/down")) == 8
    advance(hours=12)
    assert sweep() == 0

    # The unit's admins see it in the delivery log.
    listed = client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries?status=failed",
        headers=world.headers("dinas-pu", "admin"),
    )
    assert listed.status_code == 200
    assert [(d["id"], d["attempts"]) for d in listed.json] == [(row.id, 8)]


def test_410_gone_disables_the_endpoint_and_cancels_its_pending_deliveries(
    webhook_app, world, client, receiver, frozen_now
):
    hook = register(client, world.headers("dinas-pu", "liaison"), "dinas-pu", receiver.url("/gone"))
    receiver.trust("pu", hook["secret"])
    receiver.respond("/gone", 410)
    forward(world)
    forward(world)
    drain(webhook_app)

    assert len(receiver.on("/gone")) == 1
    gone = endpoint(hook["id"])
    assert gone.active is False and "410" in gone.disabled_reason
    first, second = deliveries(hook["id"])
    assert (first.status, first.last_status_code) == ("failed", 410)
    assert second.status == "cancelled"

    forward(world)  # an inactive endpoint gets nothing new
    assert len(deliveries(hook["id"])) == 2
    shown = client.get(
        f"/api/v1/webhooks/{hook['id']}", headers=world.headers("dinas-pu", "liaison")
    )
    assert shown.json["active"] is False and "410" in shown.json["disabled_reason"]


def test_a_redirect_is_not_followed(webhook_app, world, client, receiver, frozen_now):
    hook = register(
        client, world.headers("dinas-pu", "liaison"), "dinas-pu", receiver.url("/moved")
    )
    receiver.trust("pu", hook["secret"])
    receiver.respond("/moved", (302, {"Location": receiver.url("/target")}))
    forward(world)
    drain(webhook_app)

    assert len(receiver.on("/moved")) == 1
    assert receiver.on("/target") == []
    [row] = deliveries(hook["id"])
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 302)
    assert "not followed" in row.last_error


def test_a_private_destination_is_refused_at_delivery(
    webhook_app, world, client, receiver, frozen_now, monkeypatch
):
    hook = register(client, world.headers("dinas-pu", "liaison"), "dinas-pu", receiver.url("/pu"))
    receiver.trust("pu", hook["secret"])
    # The operator narrows the allow list after the endpoint was registered.
    monkeypatch.setitem(webhook_app.config, "COORD_WEBHOOK_ALLOW_CIDRS", "")
    forward(world)
    drain(webhook_app)

    assert receiver.received == []
    [row] = deliveries(hook["id"])
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 1, None)
    assert "refused" in row.last_error and "loopback" in row.last_error
    advance(hours=1)
    assert sweep() == 0  # a refused destination is not retried


def test_an_unreachable_endpoint_is_retried(webhook_app, world, client, receiver, frozen_now):
    hook = register(
        client,
        world.headers("dinas-pu", "liaison"),
        "dinas-pu",
        "http://127.0.0.1:9/nothing-listens-here",
    )
    forward(world)
    forward(world)
    drain(webhook_app)
    rows = deliveries(hook["id"])
    assert [(r.status, r.attempts) for r in rows] == [("pending", 1), ("pending", 1)]
    assert "could not connect" in rows[0].last_error
    assert "endpoint unreachable" in rows[1].last_error  # not sent: the first one showed it


def test_https_goes_through_the_same_guard_and_a_failed_handshake_is_retried(
    webhook_app, world, client, receiver, frozen_now, monkeypatch
):
    # The receiver speaks plain HTTP, so the TLS handshake fails after the guarded connect.
    hook = register(
        client,
        world.headers("dinas-pu", "liaison"),
        "dinas-pu",
        receiver.url("/tls").replace("http://", "https://"),
    )
    forward(world)
    drain(webhook_app)
    [row] = deliveries(hook["id"])
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)
    assert "SSL" in row.last_error or "ssl" in row.last_error

    monkeypatch.setitem(webhook_app.config, "COORD_WEBHOOK_ALLOW_CIDRS", "")
    advance(seconds=10)
    assert sweep() == 1
    drain(webhook_app)
    [row] = deliveries(hook["id"])
    assert row.status == "failed" and "refused" in row.last_error


# --------------------------------------------------------------------------------------------
# Secret rotation


def test_during_rotation_both_secrets_sign_and_after_it_only_the_new(
    webhook_app, world, client, receiver, frozen_now
):
    liaison = world.headers("dinas-pu", "liaison")
    hook = register(client, liaison, "dinas-pu", receiver.url("/pu"))
    receiver.trust("old", hook["secret"])
    rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate", headers=liaison, json={})
    assert rotated.status_code == 200, rotated.json
    assert rotated.json["secret"] != hook["secret"]
    receiver.trust("new", rotated.json["secret"])

    forward(world)
    drain(webhook_app)
    [during] = receiver.on("/pu")
    assert len(during.signatures) == 2
    assert during.verified_by == ["old", "new"]

    advance(hours=24, seconds=1)  # the overlap (24 h by default) is over
    forward(world)
    drain(webhook_app)
    after = receiver.on("/pu")[1]
    assert len(after.signatures) == 1
    assert after.verified_by == ["new"]
    assert receiver.unverified == []


# --------------------------------------------------------------------------------------------
# Ping and redelivery


def test_ping_and_redeliver_reach_the_receiver_with_the_same_webhook_id(
    webhook_app, world, client, receiver, frozen_now
):
    admin = world.headers("dinas-pu", "admin")
    hook = register(client, admin, "dinas-pu", receiver.url("/pu"), ["handoff.requested"])
    receiver.trust("pu", hook["secret"])
    ping = client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=admin)
    assert ping.status_code == 202, ping.json
    drain(webhook_app)
    [request] = receiver.on("/pu")
    assert request.payload["type"] == "ping"
    assert request.payload["data"]["unit"] == "dinas-pu"

    again = client.post(f"/api/v1/deliveries/{ping.json['id']}/redeliver", headers=admin)
    assert again.status_code == 202, again.json
    assert again.json["status"] == "pending" and again.json["msg_id"] == ping.json["msg_id"]
    drain(webhook_app)
    assert receiver.msg_ids("/pu") == [ping.json["msg_id"]] * 2
    shown = client.get(f"/api/v1/deliveries/{ping.json['id']}", headers=admin)
    assert shown.json["status"] == "delivered" and shown.json["attempts"] == 1


# --------------------------------------------------------------------------------------------
# Who hears of what (outbox routing)


def _endpoint_for(
    unit: str,
    url: str = "http://127.0.0.1:9/x",
    types: list[str] | None = None,
    active: bool = True,
) -> int:
    endpoint = WebhookEndpoint(
        unit_id=unit_by_code(unit).id,
        url=url,
        event_types=types or ALL_TYPES,
        active=active,
        secret="whsec_" + "A" * 44,
        created_at=now_utc(),
        updated_at=now_utc(),
        version=1,
    )
    with unit_of_work():
        db.session.add(endpoint)
    return endpoint.id


def _types_by_endpoint() -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for row in deliveries():
        found.setdefault(row.endpoint_id, []).append(row.event_type)
    return found


def test_old_and_new_owner_both_hear_of_an_accepted_transfer(webhook_app, world, frozen_now):
    kel = _endpoint_for("kel-a1")
    pu = _endpoint_for("dinas-pu")
    dlh = _endpoint_for("dlh")
    handoff_id = forward(world)
    with unit_of_work():
        handoff_service.accept_handoff(world.user("dinas-pu", "liaison"), handoff_id, now_utc())
    case_id = deliveries(pu)[0].payload["data"]["case_id"]
    with unit_of_work():
        case_service.hold_case(
            world.user("dinas-pu", "staff"), case_id, "menunggu warga", now_utc()
        )

    assert _types_by_endpoint() == {
        kel: ["case.created", "handoff.requested", "handoff.accepted"],
        pu: ["handoff.requested", "handoff.accepted", "case.updated"],
    }
    assert dlh not in _types_by_endpoint()


def test_camat_office_hears_of_breaches_and_escalations_in_its_kecamatan(
    webhook_app, world, frozen_now
):
    camat_a = _endpoint_for("camat-a")
    camat_b = _endpoint_for("camat-b")
    kel = _endpoint_for("kel-a1", types=["sla.warning", "sla.breached", "case.escalated"])
    case = make_case(world)
    with unit_of_work():
        for kind in ("sla.warning", "sla.breached", "case.escalated"):
            record_event(case, kind, SYSTEM, now_utc(), changes={"clock": "resolution"})
    found = _types_by_endpoint()
    assert found[camat_a] == ["sla.breached", "case.escalated"]
    assert found[kel] == ["sla.warning", "sla.breached", "case.escalated"]
    assert camat_b not in found


def test_only_public_comments_become_case_updated(webhook_app, world, frozen_now):
    kel = _endpoint_for("kel-a1", types=["case.updated"])
    case = make_case(world)
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        case_service.comment_on_case(staff, case.id, "catatan internal", "internal", now_utc())
    with unit_of_work():
        case_service.comment_on_case(staff, case.id, "sedang kami cek", "public", now_utc())
    [row] = deliveries(kel)
    assert row.event_type == "case.updated" and row.payload["data"]["event"] == "case.commented"


def test_subscriptions_and_the_active_flag_filter_what_is_written(webhook_app, world, frozen_now):
    only_handoffs = _endpoint_for("kel-a1", types=["handoff.requested"])
    inactive = _endpoint_for("kel-a1", active=False)
    forward(world)
    assert _types_by_endpoint() == {only_handoffs: ["handoff.requested"]}
    assert inactive not in _types_by_endpoint()


def test_nothing_is_written_or_enqueued_when_the_command_rolls_back(webhook_app, world, frozen_now):
    _endpoint_for("kel-a1")
    case = make_case(world)
    before = len(deliveries())
    queued = queued_jobs(webhook_app)
    try:
        with unit_of_work():
            case_service.start_case(world.user("kel-a1", "staff"), case.id, now_utc())
            raise RuntimeError("the command fails after writing its event")
    except RuntimeError:
        pass
    assert len(deliveries()) == before
    assert queued_jobs(webhook_app) == queued


def test_a_bulk_publish_writes_every_row_and_enqueues_one_job(webhook_app, world, frozen_now):
    camat = _endpoint_for("camat-a", types=["sla.breached"])
    case = make_case(world)
    at = now_utc()
    with unit_of_work():
        ids = (
            db.session.execute(
                insert(CaseEvent).returning(CaseEvent.id),
                [
                    {
                        "case_id": case.id,
                        "type": "sla.breached",
                        "at": at,
                        "actor_label": "system",
                        "visibility": "internal",
                        "case_version": case.version,
                        "changes": {"n": n},
                    }
                    for n in range(1500)
                ],
            )
            .scalars()
            .all()
        )
        publish(
            [
                PublishedEvent(
                    event_id=event_id,
                    type="sla.breached",
                    at=at,
                    case_id=case.id,
                    tracking_code=case.tracking_code,
                    case_version=case.version,
                    owner_unit_id=case.owner_unit_id,
                    region_code=case.region_code,
                )
                for event_id in ids
            ]
        )
    count = db.session.execute(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == camat)
    ).scalar_one()
    assert count == 1500
    assert queued_jobs(webhook_app) == 1

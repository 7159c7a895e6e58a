"""Handoffs over HTTP: forwarding and asking for assistance, the incoming and outgoing lists
with their filters, and accept / reject / recall / complete with their error paths."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from coord import clock
from coord.clock import now_utc
from coord.extensions import db
from coord.models import Case
from tests.api.test_cases_api import API, Tokens, assert_error
from tests.factories import World, case_in_status, make_case


@pytest.fixture
def auth(world: World) -> Tokens:
    return Tokens(world)


def forward(
    client: Any,
    auth: Tokens,
    case_id: int,
    kind: str = "transfer",
    to_unit: str = "dinas-pu",
    unit: str = "kel-a1",
    **extra: Any,
) -> Any:
    return client.post(
        f"{API}/cases/{case_id}/handoffs",
        headers=auth(unit),
        json={"kind": kind, "to_unit": to_unit, "note": "mohon dibantu", **extra},
    )


def handoff_action(
    client: Any, headers: dict[str, str], handoff_id: int, action: str, **body: Any
) -> Any:
    return client.post(f"{API}/handoffs/{handoff_id}/{action}", headers=headers, json=body)


def case_status(client: Any, auth: Tokens, case_id: int, unit: str = "kel-a1") -> dict[str, Any]:
    return client.get(f"{API}/cases/{case_id}", headers=auth(unit, "manager")).get_json()


def test_forward_and_accept(client: Any, auth: Tokens, world: World) -> None:
    case = make_case(world)
    response = forward(client, auth, case.id)
    assert response.status_code == 201, response.get_json()
    handoff = response.get_json()
    assert (handoff["kind"], handoff["status"], handoff["case_id"]) == (
        "transfer",
        "pending",
        case.id,
    )
    assert handoff["from_unit"]["code"] == "kel-a1" and handoff["to_unit"]["code"] == "dinas-pu"
    assert handoff["note"] == "mohon dibantu" and handoff["ack_due_at"] is not None
    assert handoff["tracking_code"].replace("-", "") == case.tracking_code
    seen = client.get(f"{API}/cases/{case.id}", headers=auth("kel-a1")).get_json()
    assert (seen["status"], seen["owner_unit"]["code"]) == ("pending_transfer", "kel-a1")

    # The receiving unit sees the case and the handoff before answering.
    liaison = auth("dinas-pu", "liaison")
    assert client.get(f"{API}/cases/{case.id}", headers=liaison).status_code == 200
    assert (
        client.get(f"{API}/handoffs/{handoff['id']}", headers=liaison).get_json()["id"]
        == handoff["id"]
    )
    listed = client.get(f"{API}/cases/{case.id}/handoffs", headers=auth("kel-a1"))
    assert [h["id"] for h in listed.get_json()] == [handoff["id"]]

    accepted = handoff_action(client, liaison, handoff["id"], "accept", note="kami tangani")
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "accepted" and accepted.get_json()["acted_at"]
    after = client.get(f"{API}/cases/{case.id}", headers=auth("dinas-pu")).get_json()
    assert (after["status"], after["owner_unit"]["code"], after["ownership_moves"]) == (
        "in_progress",
        "dinas-pu",
        1,
    )
    error = assert_error(handoff_action(client, liaison, handoff["id"], "accept"), 409)
    assert "accepted" in error["message"]
    assert_error(
        handoff_action(
            client, auth("dinas-pu", "liaison"), handoff["id"], "reject", reason="other", note="x"
        ),
        409,
    )


def test_forward_input_errors(client: Any, auth: Tokens, world: World) -> None:
    case = make_case(world)
    url = f"{API}/cases/{case.id}/handoffs"
    staff = auth("kel-a1")
    assert_error(client.post(url, headers=staff, json={"to_unit": "dinas-pu"}), 422, "kind")
    assert_error(
        client.post(url, headers=staff, json={"kind": "pindah", "to_unit": "dinas-pu"}), 422, "kind"
    )
    assert_error(client.post(url, headers=staff, json={"kind": "transfer"}), 422, "to_unit")
    assert_error(forward(client, auth, case.id, to_unit="dinas-tidak-ada"), 422, "to_unit")
    assert_error(forward(client, auth, case.id, to_unit="kel-a1"), 422, "to_unit")
    assert_error(forward(client, auth, case.id, priority="high"), 422, "priority")
    assert_error(forward(client, auth, case.id, unit="kel-b1"), 404)
    assert_error(
        client.post(
            url,
            headers=auth("camat-a", "manager"),
            json={"kind": "transfer", "to_unit": "dinas-pu"},
        ),
        403,
    )
    assert_error(client.post(url, json={"kind": "transfer", "to_unit": "dinas-pu"}), 401)
    assert_error(
        client.post(
            f"{API}/cases/99999999999999999999/handoffs",
            headers=staff,
            json={"kind": "transfer", "to_unit": "dinas-pu"},
        ),
        404,
    )
    assert case_status(client, auth, case.id)["status"] == "new"
    assert client.get(f"{API}/handoffs", headers=staff).get_json() == []

    closed = case_in_status(world, "closed")
    error = assert_error(forward(client, auth, closed.id), 409)
    assert "closed" in error["message"]
    first = forward(client, auth, case.id, kind="assist")
    assert first.status_code == 201
    assert_error(forward(client, auth, case.id, kind="assist"), 409)


def test_list_handoffs_with_filters(client: Any, auth: Tokens, world: World) -> None:
    now = now_utc()
    auth("kel-a1")  # a token issued now, still valid at the earlier frozen instant
    with clock.freeze(now - timedelta(days=10)):
        old = forward(client, auth, make_case(world, at=now_utc()).id).get_json()
    fresh = forward(client, auth, make_case(world).id).get_json()
    assist = forward(
        client, auth, case_in_status(world, "in_progress").id, kind="assist", to_unit="dlh"
    ).get_json()
    incoming = forward(
        client,
        auth,
        make_case(world, "dinas-pu", region_code="12.71.01.1002").id,
        to_unit="kel-a1",
        unit="dinas-pu",
    ).get_json()
    rejected = forward(client, auth, make_case(world).id).get_json()
    assert (
        handoff_action(
            client, auth("dinas-pu", "liaison"), rejected["id"], "reject", reason="duplicate"
        ).status_code
        == 200
    )

    def ids(headers: dict[str, str], query: str = "") -> list[int]:
        response = client.get(f"{API}/handoffs{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [h["id"] for h in response.get_json()]

    staff = auth("kel-a1")
    pu = auth("dinas-pu", "liaison")
    mine = {old["id"], fresh["id"], assist["id"], incoming["id"], rejected["id"]}
    assert set(ids(staff)) == mine
    assert set(ids(staff, "?direction=outgoing")) == mine - {incoming["id"]}
    assert ids(staff, "?direction=incoming") == [incoming["id"]]
    assert set(ids(pu, "?direction=incoming")) == {old["id"], fresh["id"], rejected["id"]}
    assert ids(pu, "?direction=outgoing") == [incoming["id"]]
    assert set(ids(pu, "?direction=incoming&status=pending")) == {old["id"], fresh["id"]}
    assert ids(pu, "?status=rejected") == [rejected["id"]]
    assert set(ids(pu, "?status=rejected&status=pending")) == {
        old["id"],
        fresh["id"],
        rejected["id"],
        incoming["id"],
    }
    assert ids(staff, "?kind=assist") == [assist["id"]]
    assert ids(pu, "?overdue=true") == [old["id"]]
    assert old["id"] not in ids(pu, "?overdue=false")
    assert fresh["id"] in ids(pu, "?overdue=false")
    assert ids(auth("dlh", "liaison")) == [assist["id"]]
    assert ids(auth("kel-b1")) == []
    ordered = ids(pu, "?direction=incoming&status=pending")
    assert ordered == [old["id"], fresh["id"]], "the oldest deadline first"

    page = client.get(f"{API}/handoffs?page_size=2", headers=staff)
    assert json.loads(page.headers["X-Pagination"])["total"] == 5 and len(page.get_json()) == 2

    for bad in ("?direction=sideways", "?status=done", "?kind=help", "?overdue=maybe", "?page=0"):
        assert_error(client.get(f"{API}/handoffs{bad}", headers=staff), 422)
    assert_error(client.get(f"{API}/handoffs"), 401)


def test_reject_needs_a_reason(client: Any, auth: Tokens, world: World) -> None:
    case = case_in_status(world, "in_progress")
    handoff = forward(client, auth, case.id).get_json()
    liaison = auth("dinas-pu", "liaison")
    assert_error(handoff_action(client, liaison, handoff["id"], "reject"), 422, "reason")
    assert_error(
        handoff_action(client, liaison, handoff["id"], "reject", reason="malas"), 422, "reason"
    )
    error = assert_error(
        handoff_action(client, liaison, handoff["id"], "reject", reason="other"), 422, "note"
    )
    assert "note" in error["message"]
    assert_error(
        handoff_action(client, liaison, handoff["id"], "reject", reason="other", note="   "),
        422,
        "note",
    )
    assert case_status(client, auth, case.id)["status"] == "pending_transfer"

    done = handoff_action(
        client,
        liaison,
        handoff["id"],
        "reject",
        reason="not_our_jurisdiction",
        note="Urusan kelurahan",
    )
    assert done.status_code == 200
    assert (
        done.get_json()["status"],
        done.get_json()["reject_reason"],
        done.get_json()["reject_note"],
    ) == ("rejected", "not_our_jurisdiction", "Urusan kelurahan")
    after = case_status(client, auth, case.id)
    assert (after["status"], after["owner_unit"]["code"]) == ("in_progress", "kel-a1")


def test_recall_and_complete(client: Any, auth: Tokens, world: World) -> None:
    case = make_case(world)
    staff = auth("kel-a1")
    transfer = forward(client, auth, case.id).get_json()
    assert_error(handoff_action(client, auth("dinas-pu", "liaison"), transfer["id"], "recall"), 403)
    recalled = handoff_action(client, staff, transfer["id"], "recall", note="salah alamat")
    assert recalled.status_code == 200 and recalled.get_json()["status"] == "recalled"
    assert case_status(client, auth, case.id)["status"] == "new"
    assert_error(handoff_action(client, staff, transfer["id"], "recall"), 409)
    assert_error(handoff_action(client, auth("dinas-pu", "liaison"), transfer["id"], "accept"), 409)

    assist = forward(client, auth, case.id, kind="assist").get_json()
    helper = auth("dinas-pu")
    error = assert_error(handoff_action(client, helper, assist["id"], "complete", note="x"), 409)
    assert "pending" in error["message"]
    assert (
        handoff_action(client, auth("dinas-pu", "liaison"), assist["id"], "accept").status_code
        == 200
    )
    assert_error(handoff_action(client, helper, assist["id"], "complete"), 422, "note")
    assert_error(handoff_action(client, helper, assist["id"], "complete", note="  "), 422, "note")
    assert_error(handoff_action(client, staff, assist["id"], "complete", note="x"), 403)
    blocked = client.post(f"{API}/cases/{case.id}/resolve", headers=staff, json={"note": "beres"})
    assert_error(blocked, 409)
    done = handoff_action(client, helper, assist["id"], "complete", note="Saluran sudah dikeruk")
    assert done.status_code == 200
    assert (done.get_json()["status"], done.get_json()["completion_note"]) == (
        "completed",
        "Saluran sudah dikeruk",
    )
    assert done.get_json()["completed_at"] is not None
    resolved = client.post(f"{API}/cases/{case.id}/resolve", headers=staff, json={"note": "beres"})
    assert resolved.status_code == 200 and resolved.get_json()["status"] == "resolved"

    transfer_to_complete = forward(client, auth, make_case(world).id).get_json()
    handoff_action(client, auth("dinas-pu", "liaison"), transfer_to_complete["id"], "accept")
    assert_error(
        handoff_action(client, helper, transfer_to_complete["id"], "complete", note="x"), 409
    )


def test_who_may_answer_a_handoff(client: Any, auth: Tokens, world: World) -> None:
    case = make_case(world)
    handoff = forward(client, auth, case.id).get_json()
    hid = handoff["id"]
    error = assert_error(handoff_action(client, auth("dinas-pu", "staff"), hid, "accept"), 403)
    assert "liaison" in error["message"]
    assert_error(
        handoff_action(client, auth("dinas-pu", "staff"), hid, "reject", reason="duplicate"), 403
    )
    assert_error(handoff_action(client, auth("kel-a1", "liaison"), hid, "accept"), 403)
    for outsider in (auth("dlh", "liaison"), auth("kel-b1", "liaison"), auth("camat-b", "manager")):
        assert_error(handoff_action(client, outsider, hid, "accept"), 404)
        assert_error(client.get(f"{API}/handoffs/{hid}", headers=outsider), 404)
    assert_error(handoff_action(client, auth("dinas-pu", "liaison"), 424242, "accept"), 404)
    assert_error(
        handoff_action(client, auth("dinas-pu", "liaison"), 99999999999999999999, "accept"), 404
    )
    assert_error(
        client.get(f"{API}/handoffs/99999999999999999999", headers=auth("dinas-pu", "liaison")), 404
    )
    assert_error(handoff_action(client, {}, hid, "accept"), 401)
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "pending_transfer"
    assert (
        client.get(f"{API}/handoffs/{hid}", headers=auth("camat-a", "manager")).status_code == 200
    )
    accepted = handoff_action(client, auth("dinas-pu", "manager"), hid, "accept")
    assert accepted.status_code == 200

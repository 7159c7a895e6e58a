"""SLA over HTTP: every deadline on the case, the attention feed, the breaches report,
policy versions and unit calendars."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from coord import clock
from coord.services.sla_sweep import sweep
from tests.factories import make_case

WIB = ZoneInfo("Asia/Jakarta")


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


@pytest.fixture
def tuesday(app_ctx):  # type: ignore[no-untyped-def]
    clock.set_frozen(wib(2026, 3, 17, 14))
    yield
    clock.set_frozen(None)


def test_case_shows_every_deadline_with_its_state(client, world, tuesday):  # type: ignore[no-untyped-def]
    case = make_case(world)
    staff = world.headers("kel-a1", "staff")
    forwarded = client.post(
        f"/api/v1/cases/{case.id}/handoffs",
        headers=staff,
        json={"kind": "assist", "to_unit": "dlh", "note": "bantu angkut"},
    )
    assert forwarded.status_code == 201
    started = client.post(f"/api/v1/cases/{case.id}/start", headers=staff, json={})
    assert started.status_code == 200
    clocks = {(c["name"], c["handoff_id"]): c for c in started.json["sla"]["clocks"]}
    response = clocks[("response", None)]
    assert response["state"] == "met" and response["minutes_over"] == -24 * 60
    resolution = clocks[("resolution", None)]
    assert resolution["state"] == "running" and resolution["due_at"] == "2026-03-31T07:00:00Z"
    ack = clocks[("handoff_ack", forwarded.json["id"])]
    assert ack["state"] == "running" and ack["due_at"] == "2026-03-25T07:00:00Z"


def test_attention_feed_and_breach_report(client, world, tuesday, run_worker):  # type: ignore[no-untyped-def]
    case = make_case(world)
    sweep(wib(2026, 3, 27, 14))
    run_worker()  # the notification fan-out the sweep enqueued after its commit
    clock.set_frozen(wib(2026, 3, 27, 15))
    manager = world.headers("camat-a", "manager")
    feed = client.get("/api/v1/me/attention", headers=manager)
    assert feed.status_code == 200
    assert [c["id"] for c in feed.json["breached_cases"]] == [case.id]
    assert feed.json["counts"]["notifications"] == 1
    note = feed.json["notifications"][0]
    assert note["kind"] == "sla.breached" and case.tracking_code[:4] in note["subject"]
    read = client.post(f"/api/v1/me/notifications/{note['id']}/read", headers=manager)
    assert read.status_code == 200
    assert client.get("/api/v1/me/attention", headers=manager).json["counts"]["notifications"] == 0
    # Someone else's notification cannot be marked read.
    other = client.post(
        f"/api/v1/me/notifications/{note['id']}/read", headers=world.headers("camat-b", "manager")
    )
    assert other.status_code == 404

    report = client.get("/api/v1/reports/breaches", headers=manager)
    assert report.status_code == 200
    assert [(r["case_id"], r["clock"], r["open"]) for r in report.json] == [
        (case.id, "response", True)
    ]
    assert report.json[0]["breached_at"] == "2026-03-27T07:00:00Z"
    # Out of jurisdiction: nothing.
    assert (
        client.get("/api/v1/reports/breaches", headers=world.headers("camat-b", "manager")).json
        == []
    )
    download = client.get("/api/v1/reports/breaches?format=csv", headers=manager)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["case_id"], r["clock"], r["breached_at"]) for r in rows] == [
        (str(case.id), "response", "2026-03-27 14:00")
    ]


def test_handoffs_to_acknowledge_in_feed(client, world, tuesday):  # type: ignore[no-untyped-def]
    case = make_case(world)
    client.post(
        f"/api/v1/cases/{case.id}/handoffs",
        headers=world.headers("kel-a1", "staff"),
        json={"kind": "transfer", "to_unit": "dinas-pu"},
    )
    feed = client.get("/api/v1/me/attention", headers=world.headers("dinas-pu", "liaison")).json
    assert [h["case_id"] for h in feed["handoffs_to_acknowledge"]] == [case.id]
    assert (
        client.get("/api/v1/me/attention", headers=world.headers("dlh", "liaison")).json[
            "handoffs_to_acknowledge"
        ]
        == []
    )


def test_publishing_a_policy_version(client, world, tuesday):  # type: ignore[no-untyped-def]
    body = {
        "priority": "high",
        "response_minutes": 240,
        "resolution_minutes": 960,
        "handoff_ack_minutes": 120,
        "warning_percents": [80, 50],
        "clock": "business",
    }
    refused = client.post(
        "/api/v1/categories/sampah/policies", headers=world.headers("kel-a1", "staff"), json=body
    )
    assert refused.status_code == 403
    published = client.post(
        "/api/v1/categories/sampah/policies", headers=world.headers("pemkot", "admin"), json=body
    )
    assert published.status_code == 201
    assert published.json["version"] == 2 and published.json["warning_percents"] == [50, 80]
    versions = client.get(
        "/api/v1/categories/sampah/policies", headers=world.headers("kel-a1", "staff")
    ).json
    high = [(p["version"], p["current"]) for p in versions if p["priority"] == "high"]
    assert high == [(1, False), (2, True)]
    listed = client.get("/api/v1/categories", headers=world.headers("kel-a1", "staff")).json
    targets = {t["priority"]: t for c in listed if c["code"] == "sampah" for t in c["sla"]}
    assert targets["high"]["resolution_minutes"] == 960
    bad = client.post(
        "/api/v1/categories/sampah/policies",
        headers=world.headers("camat-a", "admin"),
        json={**body, "response_minutes": 0, "clock": "sometimes"},
    )
    assert bad.status_code == 422
    assert set(bad.json["errors"]["json"]) == {"response_minutes", "clock"}


def test_unit_calendar_with_closed_date_moves_new_deadlines(client, world, tuesday):  # type: ignore[no-untyped-def]
    admin = world.headers("camat-a", "admin")
    calendar = client.get("/api/v1/units/camat-a/calendar", headers=admin).json
    assert calendar["hours"]["0"] == [["08:00", "16:00"]] and calendar["national_holidays"] is True
    calendar["extra_closed"] = ["2026-03-25"]
    saved = client.put("/api/v1/units/camat-a/calendar", headers=admin, json=calendar)
    assert saved.status_code == 200, saved.json
    assert saved.json["extra_closed"] == ["2026-03-25"]
    case = make_case(world)
    # One closed day more: response due moves from 27 March to 30 March 14:00.
    assert case.response_due_at == wib(2026, 3, 30, 14)
    # Admins of another kecamatan may not change it; a malformed calendar names the field.
    assert (
        client.put(
            "/api/v1/units/camat-a/calendar",
            headers=world.headers("camat-b", "admin"),
            json=calendar,
        ).status_code
        == 403
    )
    broken = client.put(
        "/api/v1/units/camat-a/calendar",
        headers=admin,
        json={**calendar, "hours": {"0": [["16:00", "08:00"]]}},
    )
    assert broken.status_code == 422 and "calendar" in broken.json["errors"]


def test_metrics_count_requests_and_open_work(client, world, tuesday):  # type: ignore[no-untyped-def]
    make_case(world)
    client.get("/api/v1/cases", headers=world.headers("kel-a1", "staff"))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'coord_open_cases{status="new"} 1.0' in text
    assert 'coord_http_requests_total{endpoint="/api/v1/cases",method="GET",status="200"}' in text


def _breach_rows(client, headers, case_id):  # type: ignore[no-untyped-def]
    report = client.get("/api/v1/reports/breaches", headers=headers)
    assert report.status_code == 200
    return {r["clock"]: r["breached_at"] for r in report.json if r["case_id"] == case_id}


def test_letter_received_weeks_ago_is_late_as_soon_as_it_is_entered(
    client, world, tuesday, run_worker
):  # type: ignore[no-untyped-def]
    staff = world.headers("kel-a1", "staff")
    manager = world.headers("camat-a", "manager")
    body = {
        "title": "Surat warga: drainase tersumbat",
        "description": "Surat diterima 23 Februari, baru dicatat sekarang",
        "category": "jalan-rusak",
        "channel": "letter",
        "received_at": "2026-02-23T09:00:00+07:00",
        "location": {"region_code": "12.71.01.1001"},
        "reporter": {"privacy": "anonymous"},
    }
    created = client.post("/api/v1/cases", headers=staff, json=body)
    assert created.status_code == 201
    assert created.json["sla"]["breached"] is True
    clocks = {c["name"]: c for c in created.json["sla"]["clocks"]}
    for name in ("response", "resolution"):
        assert clocks[name]["state"] == "breached"
        assert clocks[name]["breached_at"] == clocks[name]["due_at"]
    # The events of the sweep, at the due instants, recorded by the create command.
    events = client.get(f"/api/v1/cases/{created.json['id']}/events", headers=staff).json
    breaches = sorted(e["at"] for e in events if e["type"] == "sla.breached")
    assert breaches == sorted(clocks[n]["due_at"] for n in ("response", "resolution"))
    assert sorted(e["at"] for e in events if e["type"] == "case.escalated") == breaches
    # The managers are told through the notification job enqueued after the commit.
    run_worker()
    feed = client.get("/api/v1/me/attention", headers=manager).json
    assert [c["id"] for c in feed["breached_cases"]] == [created.json["id"]]
    assert sorted(n["kind"] for n in feed["notifications"]) == ["sla.breached", "sla.breached"]
    # The breach list and the case page agree.
    page = client.get(f"/api/v1/cases/{created.json['id']}", headers=manager).json
    shown = {c["name"]: c["breached_at"] for c in page["sla"]["clocks"]}
    assert _breach_rows(client, manager, created.json["id"]) == shown
    # The sweep finds nothing left to fire.
    assert sweep(wib(2026, 3, 17, 14, 1)) == 0


def test_late_first_action_breach_agrees_on_case_page_and_breach_list(client, world, tuesday):  # type: ignore[no-untyped-def]
    case = make_case(world)
    clock.set_frozen(wib(2026, 3, 30, 10))  # no sweep ran: the workers were down
    started = client.post(
        f"/api/v1/cases/{case.id}/start", headers=world.headers("kel-a1", "staff"), json={}
    )
    assert started.status_code == 200
    response = {c["name"]: c for c in started.json["sla"]["clocks"]}["response"]
    assert response["state"] == "breached"
    assert response["breached_at"] == response["due_at"] == "2026-03-27T07:00:00Z"
    assert response["minutes_over"] == 240
    assert started.json["sla"]["breached"] is True
    manager = world.headers("camat-a", "manager")
    assert _breach_rows(client, manager, case.id) == {"response": "2026-03-27T07:00:00Z"}


def test_late_entry_over_http_tells_the_managers_even_if_redis_refuses(
    client, world, tuesday, monkeypatch
):  # type: ignore[no-untyped-def]
    from coord import jobs

    monkeypatch.setattr(jobs, "enqueue", lambda *a, **k: False)
    created = client.post(
        "/api/v1/cases",
        headers=world.headers("kel-a1", "staff"),
        json={
            "title": "Surat warga",
            "description": "Diterima bulan lalu",
            "category": "jalan-rusak",
            "channel": "letter",
            "received_at": "2026-02-23T09:00:00+07:00",
            "location": {"region_code": "12.71.01.1001"},
            "reporter": {"privacy": "anonymous"},
        },
    )
    assert created.status_code == 201 and created.json["sla"]["breached"] is True
    feed = client.get("/api/v1/me/attention", headers=world.headers("camat-a", "manager")).json
    assert feed["counts"]["notifications"] == 2

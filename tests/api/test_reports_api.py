"""The manager reports over HTTP: JSON figures (the hand-computed ones of
tests/services/test_reports.py), the same numbers in the CSV downloads, filters, validation,
roles and scope."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask import Flask

from coord import clock
from coord.api.public.stats import stats_cache
from coord.services import cases as cs
from coord.services import handoffs as hs
from coord.services.sla_sweep import sweep
from tests.factories import World
from tests.services.test_reports import (
    BACKLOG_EXPECTED,
    FEB_NRR,
    HANDOFFS_EXPECTED,
    SLA_EXPECTED,
    Dataset,
    band_edge_feedback,
    build_dataset,
    handoff_rows,
    ikm_summary,
    strip,
    wib,
)

API = "/api/v1/reports"


@pytest.fixture
def dataset(world: World) -> Any:
    yield build_dataset(world)
    clock.set_frozen(None)


def get(client: Any, world: World, path: str, unit: str = "camat-a", role: str = "manager") -> Any:
    return client.get(API + path, headers=world.headers(unit, role))


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # UTF-8 BOM for spreadsheet programs
    return list(csv.DictReader(io.StringIO(text[1:])))


def as_cell(value: Any) -> str:
    """How a JSON value reads in the CSV file."""
    return "" if value is None else str(value)


def assert_csv_matches(
    rows: list[dict[str, str]], expected: list[dict[str, Any]], columns: list[str]
) -> None:
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        assert {c: got[c] for c in columns} == {c: as_cell(want[c]) for c in columns}


def test_sla_report_json_and_csv(client: Any, dataset: Dataset) -> None:
    world = dataset.world
    response = get(client, world, "/sla")
    assert response.status_code == 200, response.json
    assert strip(response.json["rows"], "unit_name") == SLA_EXPECTED
    assert response.json["filters"] == {
        "since": None,
        "until": None,
        "unit": None,
        "category": None,
    }
    rows = read_csv(get(client, world, "/sla?format=csv"))
    assert list(rows[0]) == [
        "unit",
        "unit_name",
        "category",
        "month",
        "cases",
        "open",
        "resolved",
        "resolved_on_time",
        "breached",
        "open_overdue",
        "on_time_share",
        "response_minutes_median",
        "response_minutes_p90",
        "resolution_minutes_median",
        "resolution_minutes_p90",
    ]
    assert_csv_matches(rows, response.json["rows"], list(rows[0]))
    # Spot checks a spreadsheet user would see: 0.5 on-time share, 2616.0 minutes at p90, and an
    # empty cell where there is nothing to divide.
    assert (rows[1]["on_time_share"], rows[1]["resolution_minutes_p90"]) == ("0.5", "2616.0")
    assert rows[3]["on_time_share"] == ""
    march = get(client, world, "/sla?month=2026-03&category=jalan-rusak").json
    assert strip(march["rows"], "unit_name") == [SLA_EXPECTED[2]]
    assert march["filters"]["since"] == "2026-02-28T17:00:00Z"
    assert march["filters"]["until"] == "2026-03-31T17:00:00Z"
    window = get(
        client, world, "/sla?since=2026-02-10T00:00:00%2B07:00&until=2026-03-01&unit=kel-a1"
    )
    assert [(r["month"], r["cases"]) for r in window.json["rows"]] == [("2026-02", 2)]


def test_handoff_report_json_and_csv(client: Any, dataset: Dataset) -> None:
    world = dataset.world
    body = get(client, world, "/handoffs").json
    assert handoff_rows(body["rows"]) == HANDOFFS_EXPECTED
    [bounced] = body["bounced"]
    assert bounced["route"] == ["kel-a1", "dinas-pu", "dlh", "kel-a2"]
    assert bounced["bounced_at"] == "2026-02-10T02:00:00Z" and bounced["still_bounced"] is True
    rows = read_csv(get(client, world, "/handoffs?format=csv"))
    assert list(rows[0]) == [
        "unit",
        "unit_name",
        "handoffs",
        "acknowledged",
        "acknowledged_on_time",
        "pending",
        "ack_minutes_median",
        "rejected",
        "rejected_not_our_jurisdiction",
        "rejected_incomplete_information",
        "rejected_duplicate",
        "rejected_other",
        "bounced_cases",
    ]
    flat = [{**r, **{f"rejected_{k}": v for k, v in r["rejections"].items()}} for r in body["rows"]]
    assert_csv_matches(rows, flat, list(rows[0]))
    routes = read_csv(get(client, world, "/handoffs?format=csv&section=bounced"))
    assert [(r["case_id"], r["route"], r["bounced_at"], r["still_bounced"]) for r in routes] == [
        (str(bounced["case_id"]), "kel-a1 > dinas-pu > dlh > kel-a2", "2026-02-10 09:00", "ya")
    ]


def test_backlog_report_json_and_csv(client: Any, dataset: Dataset) -> None:
    world = dataset.world
    body = get(client, world, "/backlog").json
    expected = [
        {
            "unit": r["unit"],
            "open": r["open"],
            "ages": {k[4:]: v for k, v in r.items() if k.startswith("age_")},
        }
        for r in BACKLOG_EXPECTED
    ]
    assert strip(body["rows"], "unit_name") == expected
    rows = read_csv(get(client, world, "/backlog?format=csv"))
    assert_csv_matches(
        rows,
        BACKLOG_EXPECTED,
        ["unit", "open", "age_0-2", "age_3-5", "age_6-14", "age_15-30", "age_31+"],
    )


def test_ikm_report_json_csv_and_weight(
    client: Any, dataset: Dataset, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = dataset.world
    body = get(client, world, "/ikm").json
    assert body["weight"] == "1/9" and body["period"] == "month"
    assert ikm_summary(body["rows"]) == [
        ("dinas-pu", "2026-02", 1, 100.0, "A"),
        ("kel-a1", "2026-02", 3, 81.94, "B"),
        ("kel-a1", "2026-03", 1, 50.0, "D"),
    ]
    assert body["rows"][1]["nrr"] == FEB_NRR
    rows = read_csv(get(client, world, "/ikm?format=csv"))
    columns = ["unit", "period", "respondents", "ikm", "band", "band_label"]
    assert_csv_matches(rows, body["rows"], columns)
    assert [rows[1][f"nrr_u{n}"] for n in range(1, 10)] == [
        as_cell(FEB_NRR[f"u{n}"]) for n in range(1, 10)
    ]
    assert rows[1]["nrr_u1"] == "3.667" and rows[1]["ikm"] == "81.94"
    quarter = get(client, world, "/ikm?period=quarter").json
    assert ikm_summary(quarter["rows"])[1] == ("kel-a1", "2026-Q1", 4, 73.61, "C")
    monkeypatch.setitem(app.config, "COORD_IKM_WEIGHT", "0.11")
    worksheet = get(client, world, "/ikm").json
    assert worksheet["weight"] == "0.11"
    assert ikm_summary(worksheet["rows"])[1] == ("kel-a1", "2026-02", 3, 81.13, "B")
    assert read_csv(get(client, world, "/ikm?format=csv"))[1]["ikm"] == "81.13"


def test_ikm_band_edge_over_http(
    client: Any, world: World, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    band_edge_feedback(world)
    try:
        assert ikm_summary(get(client, world, "/ikm").json["rows"]) == [
            ("kel-a1", "2026-03", 10, 88.33, "A")
        ]
        monkeypatch.setitem(app.config, "COORD_IKM_WEIGHT", "0.11")
        body = get(client, world, "/ikm").json
        assert ikm_summary(body["rows"]) == [("kel-a1", "2026-03", 10, 87.45, "B")]
        assert body["rows"][0]["band_label"] == "Baik"
    finally:
        clock.set_frozen(None)


@pytest.mark.parametrize("path", ["/sla", "/handoffs", "/backlog", "/ikm"])
def test_reports_are_for_managers_in_their_scope(client: Any, dataset: Dataset, path: str) -> None:
    world = dataset.world
    for unit, role in (("kel-a1", "staff"), ("dinas-pu", "liaison"), ("camat-a", "admin")):
        refused = get(client, world, path, unit, role)
        assert refused.status_code == 403, (unit, role)
        assert refused.json["code"] == 403 and "manager" in refused.json["message"]
        assert get(client, world, path + "?format=csv", unit, role).status_code == 403
    assert client.get(API + path).status_code == 401
    # The other kecamatan's manager: nothing of kecamatan A.
    other = get(client, world, path, "camat-b").json["rows"]
    assert all(r["unit"] == "kel-b1" for r in other)
    if path in ("/handoffs", "/backlog"):
        assert other == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("month=2026-13", "month"),
        ("month=March", "month"),
        ("month=0000-01", "month"),
        ("month=9999-12", "month"),
        ("month=2026-03%0A", "month"),
        ("month=2026-03&since=2026-03-01", "month"),
        ("since=2026-03-10&until=2026-03-01", "until"),
        ("since=yesterday", "since"),
        ("format=xlsx", "format"),
        ("unit=", "unit"),
    ],
)
def test_bad_filters_are_refused(client: Any, dataset: Dataset, query: str, field: str) -> None:
    response = get(client, dataset.world, "/sla?" + query)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["query"]


def test_bad_ikm_period_and_section(client: Any, dataset: Dataset) -> None:
    world = dataset.world
    assert get(client, world, "/ikm?period=week").status_code == 422
    assert get(client, world, "/handoffs?section=people").status_code == 422


# -- cancelled cases (docs/reports.md, "Cancelled cases") ------------------------------------


@pytest.fixture
def july(world: World) -> Any:
    """Two kel-a1 cases received Thu 2 Jul 2026 09:00 WIB, response due Tue 7 Jul 09:00
    (420 + 480 + 480 + 60 = 1440 working minutes), both breached by the sweep of that time.
    Y: started Tue 7 Jul 10:00 (1500 minutes), asks dlh for assistance at 10:30, accepted 11:30
    (ack 60); still in progress. X: the same, started Wed 8 Jul 09:00 (1920), assist at 09:30
    accepted 10:00 (ack 30), then cancelled by the camat manager at 11:00."""
    d = Dataset(world)
    d.create("Y", wib(2026, 7, 2, 9))
    d.create("X", wib(2026, 7, 2, 9))
    sweep(wib(2026, 7, 7, 9))
    d.run(wib(2026, 7, 7, 10), cs.start_case, d.staff("kel-a1"), d.id("Y"), wib(2026, 7, 7, 10))
    d.handoffs["Y"] = d.forward("Y", wib(2026, 7, 7, 10, 30), "kel-a1", "dlh", kind="assist")
    d.run(
        wib(2026, 7, 7, 11, 30),
        hs.accept_handoff,
        d.liaison("dlh"),
        d.handoffs["Y"],
        wib(2026, 7, 7, 11, 30),
    )
    d.run(wib(2026, 7, 8, 9), cs.start_case, d.staff("kel-a1"), d.id("X"), wib(2026, 7, 8, 9))
    d.handoffs["X"] = d.forward("X", wib(2026, 7, 8, 9, 30), "kel-a1", "dlh", kind="assist")
    d.run(
        wib(2026, 7, 8, 10),
        hs.accept_handoff,
        d.liaison("dlh"),
        d.handoffs["X"],
        wib(2026, 7, 8, 10),
    )
    d.run(
        wib(2026, 7, 8, 11),
        cs.cancel_case,
        world.user("camat-a", "manager"),
        d.id("X"),
        "invalid",
        wib(2026, 7, 8, 11),
    )
    clock.set_frozen(wib(2026, 7, 8, 12))
    yield d
    clock.set_frozen(None)


def test_cancelled_cases_count_in_cases_only(client: Any, july: Dataset) -> None:
    """A cancelled case is received (``cases``, ``handoffs``) and nothing else: not breached,
    not in the medians, not in the breach list, in JSON, CSV and the public statistics."""
    world = july.world
    sla = get(client, world, "/sla?month=2026-07&unit=kel-a1").json["rows"]
    expected = {
        "unit": "kel-a1",
        "category": "jalan-rusak",
        "month": "2026-07",
        "cases": 2,
        "open": 1,
        "resolved": 0,
        "resolved_on_time": 0,
        "breached": 1,  # Y only; X breached too, but it was cancelled
        "open_overdue": 0,
        "on_time_share": None,
        "response_minutes_median": 1500.0,  # Y only (X's 1920 left out)
        "response_minutes_p90": 1500.0,
        "resolution_minutes_median": None,
        "resolution_minutes_p90": None,
    }
    assert strip(sla, "unit_name") == [expected]
    rows = read_csv(get(client, world, "/sla?month=2026-07&unit=kel-a1&format=csv"))
    assert_csv_matches(rows, [expected], list(expected))

    handoffs = get(client, world, "/handoffs?month=2026-07").json
    [dlh] = handoffs["rows"]
    assert (dlh["unit"], dlh["handoffs"], dlh["acknowledged"], dlh["acknowledged_on_time"]) == (
        "dlh",
        2,
        1,
        1,
    )
    assert (dlh["pending"], dlh["rejected"], dlh["ack_minutes_median"]) == (0, 0, 60.0)
    csv_rows = read_csv(get(client, world, "/handoffs?month=2026-07&format=csv"))
    assert (csv_rows[0]["handoffs"], csv_rows[0]["acknowledged"]) == ("2", "1")
    assert csv_rows[0]["ack_minutes_median"] == "60.0"

    breaches = client.get(API + "/breaches", headers=world.headers("camat-a", "manager")).json
    assert [(r["case_id"], r["clock"]) for r in breaches] == [(july.id("Y"), "response")]
    finished = client.get(
        API + "/breaches?open=false", headers=world.headers("kel-a1", "staff")
    ).json
    assert finished == []

    backlog = get(client, world, "/backlog?unit=kel-a1").json["rows"]
    assert [(r["unit"], r["open"]) for r in backlog] == [("kel-a1", 1)]

    stats_cache.clear()
    public = client.get("/public/v1/stats?month=2026-07&unit=kel-a1").json["rows"]
    assert [
        (r["cases"], r["resolved"], r["on_time_share"], r["resolution_minutes_median"])
        for r in public
    ] == [(2, 0, None, None)]
    stats_cache.clear()


def test_a_breach_survives_reopening_and_cancelling(client: Any, world: World) -> None:
    """Resolved late (no sweep in between), reopened, then cancelled: the case page's flag, its
    resolution clock and the reports agree that it breached (until the cancellation, after
    which the reports leave it out as they leave out every cancelled case)."""
    d = Dataset(world)
    # Received Thu 2 Jul 09:00 WIB: response due Tue 7 Jul 09:00 (1440 working minutes),
    # resolution due Thu 9 Jul 09:00 (2400); resolved from new Fri 10 Jul 10:00, so both close
    # late (no sweep ran); reopened 11:00 (the resolution clock runs again); cancelled 12:00.
    d.create("Z", wib(2026, 7, 2, 9))
    d.run(
        wib(2026, 7, 10, 10),
        cs.resolve_case,
        d.staff("kel-a1"),
        d.id("Z"),
        "selesai",
        wib(2026, 7, 10, 10),
    )
    d.run(
        wib(2026, 7, 10, 11),
        cs.reopen_case,
        d.staff("kel-a1"),
        d.id("Z"),
        "warga menyatakan belum selesai",
        wib(2026, 7, 10, 11),
    )

    def resolution_clock() -> tuple[bool, str, str | None]:
        staff = world.headers("kel-a1", "staff")
        response = client.get(f"/api/v1/cases/{d.id('Z')}", headers=staff)
        assert response.status_code == 200, response.json
        sla = response.json["sla"]
        [found] = [c for c in sla["clocks"] if c["name"] == "resolution"]
        return sla["breached"], found["state"], found["breached_at"]

    assert resolution_clock() == (True, "breached", "2026-07-09T02:00:00Z")
    [row] = get(client, world, "/sla?month=2026-07").json["rows"]
    assert (row["cases"], row["open"], row["breached"], row["open_overdue"]) == (1, 1, 1, 1)
    breaches = client.get(API + "/breaches", headers=world.headers("kel-a1", "staff")).json
    assert [(r["case_id"], r["clock"], r["open"], r["breached_at"]) for r in breaches] == [
        (d.id("Z"), "resolution", True, "2026-07-09T02:00:00Z"),
        (d.id("Z"), "response", True, "2026-07-07T02:00:00Z"),
    ]

    d.run(
        wib(2026, 7, 10, 12),
        cs.cancel_case,
        world.user("camat-a", "manager"),
        d.id("Z"),
        "invalid",
        wib(2026, 7, 10, 12),
    )
    clock.set_frozen(wib(2026, 7, 10, 13))
    try:
        assert resolution_clock() == (True, "breached", "2026-07-09T02:00:00Z")
        [row] = get(client, world, "/sla?month=2026-07").json["rows"]
        assert (row["cases"], row["open"], row["breached"]) == (1, 0, 0)
        assert client.get(API + "/breaches", headers=world.headers("kel-a1", "staff")).json == []
    finally:
        clock.set_frozen(None)

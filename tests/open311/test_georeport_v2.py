"""/open311/v2 checked field by field against the GeoReport v2 structures in ``spec`` (XML and
JSON), with the specification's errors, filters and status mapping, and coord's privacy and
ownership rules for requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from coord import clock
from coord.extensions import db
from coord.models import Case, CaseEvent, Category, Open311Client
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.open311 import clients, queries
from coord.services.open311.jurisdiction import WIB
from coord.services.uow import unit_of_work
from tests.api.test_public_track import rate_limited_calls
from tests.factories import World, case_in_status, make_case, make_policy
from tests.open311 import spec
from tests.services.test_citizens import SECRETS, T0, leaked, sensitive_case

BASE = "/open311/v2"
FORMATS = ("xml", "json")


@pytest.fixture
def at_t0() -> Iterator[datetime]:
    clock.set_frozen(T0)
    yield T0
    clock.set_frozen(None)


@pytest.fixture
def api_key(world: World) -> str:
    with unit_of_work():
        _, key = clients.create_client("Aplikasi Lapor Medan", clock.now_utc())
    return key


def code_of(case: Case) -> str:
    return f"{case.tracking_code[:4]}-{case.tracking_code[4:]}"


def get(client: Any, path: str, fmt: str, **query: Any) -> Any:
    response = client.get(f"{BASE}/{path}.{fmt}", query_string=query)
    assert response.headers["Content-Type"] == spec.CONTENT_TYPES[fmt], response.headers
    return response


def both(client: Any, path: str, root: str, structure: list[spec.Field], **query: Any) -> Any:
    """GET ``path`` as XML and JSON, check each against the structure, and check they agree."""
    xml = get(client, path, "xml", **query)
    js = get(client, path, "json", **query)
    assert xml.status_code == js.status_code == 200, (xml.data[:500], js.data[:500])
    if root in spec.ITEMS:
        from_xml: Any = spec.check_list_xml(xml.data, root, structure)
        from_json: Any = spec.check_list_json(js.data, structure)
    else:
        from_xml = spec.check_xml(spec.parse_xml(xml.data, root), structure)
        from_json = json.loads(js.data)
        spec.check_json(from_json, structure)
    assert spec.normalise_json(from_json) == from_xml
    return from_json


def error_of(response: Any, fmt: str, status: int) -> str:
    """The single error of a GeoReport error response, checked in either format."""
    assert response.status_code == status, response.data[:500]
    assert response.headers["Content-Type"] == spec.CONTENT_TYPES[fmt]
    if fmt == "xml":
        errors = spec.check_list_xml(response.data, "errors", spec.ERROR)
    else:
        errors = spec.check_list_json(response.data, spec.ERROR)
    assert len(errors) == 1 and errors[0]["code"] == status
    return str(errors[0]["description"])


def post(client: Any, fmt: str, **form: Any) -> Any:
    return client.post(f"{BASE}/requests.{fmt}", data=form)


def valid_form(key: str, **overrides: Any) -> dict[str, Any]:
    form = {
        "api_key": key,
        "jurisdiction_id": "medan.go.id",
        "service_code": "sampah",
        "lat": "3.5702",
        "long": "98.6960",
        "address_string": "Jl. Halat, depan pasar",
        "attribute[kelurahan]": "12.71.01.1002",
        "description": "Tumpukan sampah di trotoar\nSudah tiga hari",
        "email": "budi@example.com",
        "first_name": "Budi",
        "last_name": "Santoso",
        "phone": "+62 812-0000-1111",
        "device_id": "abc",
        "account_id": "42",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


# -- discovery, services, service definitions ---------------------------------------------


def test_discovery(client: Any, world: World) -> None:
    body = both(client, "discovery", "discovery", spec.DISCOVERY)
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert body["key_service"] and body["contact"]


def test_services_lists_the_public_active_categories(client: Any, world: World) -> None:
    with unit_of_work():
        hidden = Category(
            code="sktm", name_id="Surat keterangan tidak mampu", name_en="Low income", public=False
        )
        retired = Category(code="lama", name_id="Kategori lama", name_en="Old", active=False)
        db.session.add_all([hidden, retired])
    services = both(client, "services", "services", spec.SERVICE)
    assert [s["service_code"] for s in services] == ["jalan-rusak", "sampah"]
    road = services[0]
    assert road == {
        "service_code": "jalan-rusak",
        "service_name": "Jalan-Rusak",
        "description": "Jalan-Rusak",
        "metadata": True,
        "type": "realtime",
        "keywords": "jalan-rusak",
        "group": "Dinas PU",
    }


def test_service_definition_lists_the_kelurahan(app: Flask, client: Any, world: World) -> None:
    definition = both(client, "services/sampah", "service_definition", spec.SERVICE_DEFINITION)
    assert definition["service_code"] == "sampah"
    (attribute,) = definition["attributes"]
    assert attribute["code"] == "kelurahan" and attribute["datatype"] == "singlevaluelist"
    assert attribute["required"] is True and attribute["variable"] is True
    assert [v["key"] for v in attribute["values"]] == [
        "12.71.01.1001",
        "12.71.02.1001",
        "12.71.01.1002",
    ]
    assert attribute["values"][0]["name"] == "Kelurahan 1001"

    app.config["COORD_OPEN311_REGION"] = "12.71.01"
    try:
        scoped = both(client, "services/sampah", "service_definition", spec.SERVICE_DEFINITION)
    finally:
        app.config["COORD_OPEN311_REGION"] = ""
    assert [v["key"] for v in scoped["attributes"][0]["values"]] == [
        "12.71.01.1001",
        "12.71.01.1002",
    ]


def test_unknown_service_definition_is_404(client: Any, world: World) -> None:
    for fmt in FORMATS:
        assert "nope" in error_of(get(client, "services/nope", fmt), fmt, 404)


# -- POST requests ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_request_creates_an_open311_case(
    client: Any, world: World, api_key: str, at_t0: datetime, fmt: str
) -> None:
    response = post(client, fmt, **valid_form(api_key))
    assert response.status_code == 200, response.data
    if fmt == "xml":
        (created,) = spec.check_list_xml(response.data, "service_requests", spec.CREATED)
    else:
        (created,) = spec.check_list_json(response.data, spec.CREATED)
    case = db.session.execute(select(Case)).scalar_one()
    assert created["service_request_id"] == code_of(case)
    assert created["token"] == case.citizen_token
    assert created["account_id"] is None
    assert (
        code_of(case) in created["service_notice"]
        and "Kantor Lurah A2" in created["service_notice"]
    )

    client_row = db.session.execute(select(Open311Client)).scalar_one()
    assert (case.channel, case.status, case.open311_client_id) == ("open311", "new", client_row.id)
    assert case.owner_unit.code == "kel-a2" and case.recorded_by_unit.code == "kel-a2"
    assert case.region_code == "12.71.01.1002" and case.category.code == "sampah"
    assert (case.latitude, case.longitude, case.address) == (
        3.5702,
        98.696,
        "Jl. Halat, depan pasar",
    )
    assert case.title == "Tumpukan sampah di trotoar"
    assert case.description == "Tumpukan sampah di trotoar\nSudah tiga hari"
    assert (
        case.reporter_privacy,
        case.reporter_name,
        case.reporter_email,
        case.reporter_phone,
    ) == ("named", "Budi Santoso", "budi@example.com", "+62 812-0000-1111")
    assert case.received_at == at_t0 and case.resolution_due_at is not None
    (event,) = db.session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id)).scalars()
    assert (event.type, event.actor_label, event.actor_user_id) == (
        "case.created",
        "open311:Aplikasi Lapor Medan",
        None,
    )
    assert event.changes["channel"] == "open311"

    # The request reads back through GET, with its description and location (sent to a
    # public API by its sender), and through its token.
    (again,) = both(
        client, f"requests/{code_of(case)}", "service_requests", spec.REQUEST_WITH_NOTES
    )
    assert again["description"] == case.description and again["lat"] == 3.5702
    assert again["address"] == "Jl. Halat, depan pasar" and again["status"] == "open"
    (token,) = both(client, f"tokens/{case.citizen_token}", "service_requests", spec.TOKEN)
    assert token == {"service_request_id": code_of(case), "token": case.citizen_token}


def test_post_request_anonymous_with_an_address_only(
    client: Any, world: World, api_key: str
) -> None:
    form = valid_form(
        api_key,
        lat=None,
        long=None,
        email=None,
        first_name=None,
        last_name=None,
        phone=None,
        description=None,
        jurisdiction_id=None,
        media_url="https://foto.example.org/1.jpg",
    )
    assert post(client, "json", **form).status_code == 200
    case = db.session.execute(select(Case)).scalar_one()
    assert case.reporter_privacy == "anonymous" and case.reporter_name is None
    assert case.latitude is None and case.address == "Jl. Halat, depan pasar"
    assert case.title == "Sampah" and case.description == "Media: https://foto.example.org/1.jpg"


@pytest.mark.parametrize(
    "overrides,status,words",
    [
        ({"api_key": None}, 403, "api_key"),
        ({"api_key": "o311_wrong"}, 403, "Invalid api_key"),
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "nope"}, 404, "service_code 'nope' not found"),
        ({"service_code": "sktm"}, 404, "service_code 'sktm' not found"),
        ({"jurisdiction_id": "jakarta.go.id"}, 404, "jurisdiction_id"),
        ({"lat": None, "long": None, "address_string": None}, 400, "location"),
        ({"long": None}, 400, "long"),
        ({"lat": "abc"}, 400, "lat"),
        ({"lat": "nan"}, 400, "lat"),
        ({"lat": "91"}, 400, "lat"),
        ({"long": "-180.5"}, 400, "long"),
        ({"attribute[kelurahan]": None}, 400, "attribute[kelurahan]"),
        ({"attribute[kelurahan]": "12.71.01"}, 400, "not a kelurahan served here"),
        ({"attribute[kelurahan]": "99.99.99.9999"}, 400, "not a kelurahan served here"),
        ({"description": "x" * 4001}, 400, "description"),
        ({"email": "not-an-email"}, 400, "email"),
        ({"phone": "call me maybe"}, 400, "phone"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"description": "nul\x00byte"}, 400, "NUL"),
    ],
)
def test_post_request_errors(
    client: Any, world: World, api_key: str, overrides: dict[str, Any], status: int, words: str
) -> None:
    with unit_of_work():
        db.session.add(Category(code="sktm", name_id="SKTM", name_en="Low income", public=False))
    for fmt in FORMATS:
        description = error_of(post(client, fmt, **valid_form(api_key, **overrides)), fmt, status)
        assert words in description
    assert db.session.execute(select(Case)).first() is None


def test_a_deactivated_client_cannot_post(client: Any, world: World, api_key: str) -> None:
    row = db.session.execute(select(Open311Client)).scalar_one()
    assert row.key_hash != api_key and api_key.startswith(row.prefix)
    row.active = False
    db.session.commit()
    assert "Invalid api_key" in error_of(post(client, "json", **valid_form(api_key)), "json", 403)


# -- GET requests -------------------------------------------------------------------------


def test_requests_of_staff_recorded_cases_hide_their_text(
    client: Any, world: World, at_t0: datetime
) -> None:
    case = sensitive_case(world, "in_progress")
    with unit_of_work():
        handoff_service.request_handoff(
            world.user("kel-a1", "staff"),
            case.id,
            "transfer",
            "dinas-pu",
            "NOTA-RAHASIA-transfer",
            at_t0,
        )
    for fmt in FORMATS:
        raw = get(client, "requests", fmt).get_data(as_text=True)
        assert leaked(raw) == [] and "NOTA-RAHASIA" not in raw
        assert case.citizen_token not in raw
    (request,) = both(client, "requests", "service_requests", spec.REQUEST_WITH_NOTES)
    assert request == {
        "service_request_id": code_of(case),
        "status": "open",
        "status_notes": "Diterima oleh unit tujuan",  # the latest public event (the assist)
        "service_name": "Jalan-Rusak",
        "service_code": "jalan-rusak",
        "description": None,
        "agency_responsible": "Kantor Lurah A1",
        "service_notice": None,
        "requested_datetime": "2026-03-04T10:00:00+07:00",
        "updated_datetime": "2026-03-04T10:00:00+07:00",
        "expected_datetime": case.resolution_due_at.astimezone(WIB).isoformat(),
        "address": "Kelurahan 1001",
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
        "notes": [
            # The rejected transfer to DLH is left out; the accepted assist and the pending
            # transfer are shown without the staff's notes.
            {
                "type": "assist",
                "datetime": "2026-03-04T10:00:00+07:00",
                "summary": "Koordinasi: Kantor Lurah A1 meminta bantuan Dinas PU",
                "description": "Bagian Dinas PU sudah selesai",
            },
            {
                "type": "transfer",
                "datetime": "2026-03-04T10:00:00+07:00",
                "summary": "Dialihkan dari Kantor Lurah A1 ke Dinas PU",
                "description": "Menunggu konfirmasi Dinas PU",
            },
        ],
    }


@pytest.mark.parametrize(
    "status,expected",
    [
        ("new", "open"),
        ("in_progress", "open"),
        ("pending_transfer", "open"),
        ("on_hold", "open"),
        ("resolved", "closed"),
        ("closed", "closed"),
        ("cancelled", "closed"),
    ],
)
def test_status_mapping(client: Any, world: World, status: str, expected: str) -> None:
    case = case_in_status(world, status)
    (request,) = both(
        client,
        f"requests/{case.tracking_code.lower()}",
        "service_requests",
        spec.REQUEST_WITH_NOTES,
    )
    assert request["status"] == expected
    only = both(client, "requests", "service_requests", spec.REQUEST_WITH_NOTES, status=expected)
    assert [r["service_request_id"] for r in only] == [code_of(case)]
    other = "closed" if expected == "open" else "open"
    assert both(client, "requests", "service_requests", spec.REQUEST_WITH_NOTES, status=other) == []


def test_requests_filters(client: Any, world: World, at_t0: datetime) -> None:
    def at(days_ago: float, **kwargs: Any) -> Case:
        with clock.freeze(at_t0 - timedelta(days=days_ago)):
            return make_case(world, **kwargs)

    old = at(100)
    month = at(30, category="sampah")
    week = at(7)
    today = at(0)
    with unit_of_work():
        hidden_category = Category(code="sktm", name_id="SKTM", name_en="Low income", public=False)
        db.session.add(hidden_category)
        db.session.flush()
        make_policy(hidden_category)
    hidden = make_case(world, category="sktm")

    def ids(**query: Any) -> list[str]:
        return [
            r["service_request_id"]
            for r in both(client, "requests", "service_requests", spec.REQUEST_WITH_NOTES, **query)
        ]

    # Default: the last 90 days, newest first; non-public categories never.
    assert ids() == [code_of(today), code_of(week), code_of(month)]
    assert ids(service_code="sampah") == [code_of(month)]
    assert ids(service_code="sampah,jalan-rusak") == [code_of(today), code_of(week), code_of(month)]
    assert ids(start_date="2026-02-20T00:00:00+07:00") == [code_of(today), code_of(week)]
    assert ids(start_date="2025-11-20T00:00:00Z", end_date="2026-02-01T00:00:00Z") == [code_of(old)]
    assert ids(end_date="2026-02-26T10:00:00+07:00") == [code_of(week), code_of(month)]
    # service_request_id overrides every other filter (even the 90 days); unknown ids vanish.
    assert ids(
        service_request_id=f"{code_of(old)},{old.tracking_code},ZZZZ-ZZZZ,garbage,"
        f"{code_of(hidden)}",
        status="closed",
    ) == [code_of(old)]
    assert code_of(hidden) not in json.dumps(json.loads(get(client, "requests", "json").data))


def test_requests_are_capped_at_1000(
    client: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        make_case(world)
    monkeypatch.setattr(queries, "MAX_REQUESTS", 2)
    assert len(json.loads(get(client, "requests", "json").data)) == 2


def test_requests_outside_the_region_are_not_served(app: Flask, client: Any, world: World) -> None:
    inside = make_case(world)
    outside = make_case(world, "kel-b1", region_code="12.71.02.1001")
    app.config["COORD_OPEN311_REGION"] = "12.71.01"
    try:
        listed = [r["service_request_id"] for r in json.loads(get(client, "requests", "json").data)]
        missing = get(client, f"requests/{code_of(outside)}", "json")
    finally:
        app.config["COORD_OPEN311_REGION"] = ""
    assert listed == [code_of(inside)]
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "query,words",
    [
        ({"status": "pending"}, "status"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-01"}, "end_date"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-02T00:00:00Z"}, "90 days"),
        ({"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-01T00:00:00Z"}, "end_date"),
        ({"start_date": "1900-01-01"}, "start_date"),
        ({"jurisdiction_id": "jakarta.go.id"}, "jurisdiction_id 'jakarta.go.id' not found"),
        ({"service_code": "a\x00b"}, "NUL"),
    ],
)
def test_requests_argument_errors(
    client: Any, world: World, query: dict[str, str], words: str
) -> None:
    status = 404 if "jurisdiction_id" in query else 400
    for fmt in FORMATS:
        assert words in error_of(get(client, "requests", fmt, **query), fmt, status)


def test_unknown_request_and_token_are_404(client: Any, world: World) -> None:
    walk_in = make_case(world)
    for fmt in FORMATS:
        assert "not found" in error_of(get(client, "requests/ZZZZ-ZZZZ", fmt), fmt, 404)
        assert "not found" in error_of(get(client, "requests/%00", fmt), fmt, 404)
        assert "not found" in error_of(get(client, "tokens/nope", fmt), fmt, 404)
        # A staff-recorded case's receipt token is not an Open311 token.
        assert "not found" in error_of(
            get(client, f"tokens/{walk_in.citizen_token}", fmt), fmt, 404
        )


def test_jurisdiction_id_is_accepted_on_every_endpoint(client: Any, world: World) -> None:
    case = make_case(world)
    for path in (
        "discovery",
        "services",
        "services/sampah",
        "requests",
        f"requests/{code_of(case)}",
    ):
        ok = get(client, path, "json", jurisdiction_id="medan.go.id")
        assert ok.status_code == 200, path
        assert "jurisdiction_id" in error_of(
            get(client, path, "xml", jurisdiction_id="x"), "xml", 404
        )


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("GET", "/open311/v2/nothing.json", 404),
        ("GET", "/open311/v2/services.html", 404),
        ("GET", "/open311/v2/services", 404),
        ("GET", "/open311/v2/", 404),
        ("GET", "/open311/v2/a/b/c.xml", 404),
        ("GET", "/open311/v2/things/x.json", 404),
        ("POST", "/open311/v2/services.json", 405),
        ("POST", "/open311/v2/requests/ABCD-EFGH.xml", 405),
        ("PUT", "/open311/v2/requests.json", 405),
        ("DELETE", "/open311/v2/services.xml", 405),
    ],
)
def test_unknown_paths_and_methods_answer_in_the_spec_format(
    client: Any, world: World, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method)
    fmt = "json" if path.endswith(".json") else "xml"
    error_of(response, fmt, status)


def test_no_input_gets_a_500(client: Any, world: World, api_key: str) -> None:
    weird = [
        "%ff%fe",
        "x" * 3000,
        "ZZZZ-ZZZZ" * 50,
        "😀",
        "../../etc/passwd",
        "%00",
        "\x01\x1f\x7f",
    ]
    for fmt in FORMATS:
        for value in weird:
            for path in (f"requests/{value}", f"services/{value}", f"tokens/{value}"):
                assert client.get(f"{BASE}/{path}.{fmt}").status_code in (400, 404)
            for arg in ("service_request_id", "service_code", "start_date", "end_date", "status"):
                response = client.get(f"{BASE}/requests.{fmt}", query_string={arg: value})
                assert response.status_code in (200, 400), (arg, value)
            form = valid_form(api_key, description=value, address_string=value[:500])
            assert post(client, fmt, **form).status_code in (200, 400)
        garbage = client.post(
            f"{BASE}/requests.{fmt}",
            data=b"\xff\xfe\x00garbage",
            content_type="application/x-www-form-urlencoded",
        )
        assert garbage.status_code in (400, 403)
    # Control characters stored through the form still make well-formed XML.
    listed = spec.check_list_xml(
        get(client, "requests", "xml").data, "service_requests", spec.REQUEST_WITH_NOTES
    )
    assert any(r["description"] == "\x7f" for r in listed)


def test_reads_and_writes_are_rate_limited(app: Flask, world: World) -> None:
    calls = [("GET", f"{BASE}/services.json", "127.0.0.1")] * 3 + [
        ("GET", f"{BASE}/services.xml", "127.0.0.1")
    ]
    results = rate_limited_calls(app, calls, COORD_OPEN311_READ_RATE_LIMIT="3 per minute")
    assert [status for status, _ in results] == [200, 200, 200, 429]
    assert json.loads(results[0][1])[0]["service_code"] == "jalan-rusak"
    assert "<errors><error><code>429</code>" in results[3][1]


def test_cli_creates_a_key_shown_once(app: Flask, world: World) -> None:
    result = app.test_cli_runner().invoke(args=["coord", "create-open311-key", "Aplikasi Warga"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("o311_")
    row = db.session.execute(
        select(Open311Client).where(Open311Client.name == "Aplikasi Warga")
    ).scalar_one()
    assert row.key_hash != key and key not in row.key_hash and row.active
    assert clients.client_for_key(key).id == row.id


def test_resolved_requests_show_the_resolution_as_status_notes(client: Any, world: World) -> None:
    case = case_in_status(world, "resolved")
    with unit_of_work():
        case_service.comment_on_case(
            world.user("kel-a1", "staff"), case.id, "catatan dalam", "internal", clock.now_utc()
        )
    (request,) = json.loads(get(client, f"requests/{code_of(case)}", "json").data)
    assert request["status"] == "closed" and request["status_notes"] == "sudah ditambal"
    assert SECRETS["reporter_phone"] not in json.dumps(request)


@pytest.mark.parametrize("fmt", FORMATS)
def test_reads_carry_an_etag_of_their_data(
    client: Any, world: World, at_t0: datetime, fmt: str
) -> None:
    """Every successful read has an ETag that is a digest of what it lists, not of the time
    of the request: a repeat with If-None-Match gets 304 and no body, also minutes later; a new
    request changes the list and its ETag (docs/open311.md)."""
    make_case(world)
    for path in ("discovery", "services", "services/jalan-rusak", "requests"):
        first = client.get(f"{BASE}/{path}.{fmt}")
        assert first.status_code == 200
        etag = first.headers["ETag"]
        with clock.freeze(T0 + timedelta(minutes=10)):
            again = client.get(f"{BASE}/{path}.{fmt}", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b"", path
        assert again.headers["ETag"] == etag
    requests_etag = client.get(f"{BASE}/requests.{fmt}").headers["ETag"]
    services_etag = client.get(f"{BASE}/services.{fmt}").headers["ETag"]
    with clock.freeze(T0 + timedelta(minutes=20)):
        make_case(world, category="sampah")
        listed = client.get(f"{BASE}/requests.{fmt}", headers={"If-None-Match": requests_etag})
        assert listed.status_code == 200 and listed.headers["ETag"] != requests_etag
        same = client.get(f"{BASE}/services.{fmt}", headers={"If-None-Match": services_etag})
        assert same.status_code == 304
    # The two formats are different documents: different ETags.
    other = "json" if fmt == "xml" else "xml"
    assert client.get(f"{BASE}/services.{other}").headers["ETag"] != services_etag
    # Errors carry none.
    assert "ETag" not in client.get(f"{BASE}/services/nope.{fmt}").headers

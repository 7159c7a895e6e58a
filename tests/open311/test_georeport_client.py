"""A third-party GeoReport v2 client (``georeport`` from PyPI) reads services and requests from
a running coord server, in JSON and in XML; a plain HTTP form POST creates a request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests
from flask import Flask
from georeport import GeoReport
from werkzeug.serving import make_server

from coord import clock
from coord.services.open311.clients import create_client
from coord.services.uow import unit_of_work
from tests.factories import World, case_in_status
from tests.services.test_citizens import T0


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test app served over HTTP on a free loopback port for the duration of a test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def at_t0() -> Iterator[datetime]:
    clock.set_frozen(T0)
    yield T0
    clock.set_frozen(None)


def as_list(value: Any) -> list[Any]:
    """xmltodict gives a dict for a single repeated element and a list for several."""
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_reads_services_and_requests(
    live_server: str, world: World, at_t0: datetime, fmt: str
) -> None:
    with unit_of_work():
        _, key = create_client("Aplikasi uji", clock.now_utc())
    posted = requests.post(
        f"{live_server}/open311/v2/requests.json",
        timeout=30,
        data={
            "api_key": key,
            "service_code": "sampah",
            "address_string": "Jl. Sutomo 1",
            "attribute[kelurahan]": "12.71.01.1001",
            "description": "Sampah menumpuk",
        },
    )
    assert posted.status_code == 200, posted.text
    new_id = posted.json()[0]["service_request_id"]
    resolved = case_in_status(world, "resolved")
    resolved_id = f"{resolved.tracking_code[:4]}-{resolved.tracking_code[4:]}"

    client = GeoReport(f"{live_server}/open311/v2", jurisdiction="medan.go.id", output_format=fmt)

    services = client.get_service_list()
    assert [s["service_code"] for s in services] == ["jalan-rusak", "sampah"]
    assert services[1]["service_name"] == "Sampah"
    assert str(services[1]["metadata"]).lower() == "true" and services[1]["type"] == "realtime"

    definition = client.get_service_definition("sampah")
    attributes = (
        definition["attributes"]
        if fmt == "json"
        else as_list(definition["attributes"]["attribute"])
    )
    assert attributes[0]["code"] == "kelurahan"
    assert str(attributes[0]["required"]).lower() == "true"

    found = client.get_service_requests()
    # Same received time: the later recorded comes first.
    assert [r["service_request_id"] for r in found] == [resolved_id, new_id]
    by_id = {r["service_request_id"]: r for r in found}
    assert by_id[new_id]["status"] == "open" and by_id[new_id]["description"] == "Sampah menumpuk"
    assert by_id[resolved_id]["status"] == "closed"
    assert by_id[new_id]["requested_datetime"] == "2026-03-04T10:00:00+07:00"

    closed = as_list(client.get_service_requests(status="closed", service_code="jalan-rusak"))
    assert [r["service_request_id"] for r in closed] == [resolved_id]
    both_ids = as_list(client.get_service_requests(service_request_id=f"{new_id},{resolved_id}"))
    assert len(both_ids) == 2

    one = client.get_service_request(new_id)
    assert one["service_request_id"] == new_id and one["agency_responsible"] == "Kantor Lurah A1"
    assert one["service_code"] == "sampah" and one["address"] == "Jl. Sutomo 1"


def test_georeport_client_sees_the_specification_errors(live_server: str, world: World) -> None:
    client = GeoReport(
        f"{live_server}/open311/v2", jurisdiction="elsewhere.example", output_format="json"
    )
    with pytest.raises(requests.HTTPError) as refused:
        client.get_service_list()
    assert refused.value.response.status_code == 404
    assert refused.value.response.json()[0]["code"] == 404

"""What a client is told when its body is not the JSON the endpoint reads: the actual syntax
error with its place, 415 for JSON sent under another content type, never a generic message
(the raw-socket cases, chunked encoding and keep-alive after a 413, are in
tests/test_http_raw.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import World, make_case

BODY = (
    '{"title": "Lampu mati", "description": "Tiga lampu", "category": "sampah",'
    ' "location": {"region_code": "12.71.01.1001"}}'
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"title": ', "Expecting value (line 1, column 11)"),
        ('{"title": "x",\n "description": }', "Expecting value (line 2, column 17)"),
        ('{"title": "x"} trailing', "Extra data (line 1, column 16)"),
        ("{'title': 'x'}", "Expecting property name enclosed in double quotes"),
        (b'{"title": "\xff"}', "not UTF-8"),
        ("[" * 100_000, "nested too deeply"),
        ('{"assignee_id": ' + "9" * 5000 + "}", "too many digits"),
    ],
)
def test_invalid_json_is_named(raw: Any, expected: str, world: World, client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/cases",
        headers={**world.headers("kel-a1", "staff"), "Content-Type": "application/json"},
        data=raw,
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert expected in body["message"], body
    assert "browser (or proxy)" not in body["message"]
    assert body["errors"]["json"] == [body["message"]]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
def test_json_under_another_content_type_is_415(
    content_type: str | None, world: World, client: FlaskClient
) -> None:
    headers = world.headers("kel-a1", "staff")
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/api/v1/cases", headers=headers, data=BODY)
    assert response.status_code == 415, response.get_data(as_text=True)
    assert "application/json" in response.get_json()["message"]


def test_json_with_a_charset_or_a_json_suffix_type_is_read(
    world: World, client: FlaskClient
) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = client.post(
            "/api/v1/cases",
            headers={**world.headers("kel-a1", "staff"), "Content-Type": content_type},
            data=BODY,
        )
        assert response.status_code == 201, (content_type, response.get_data(as_text=True))


def test_an_action_without_a_body_needs_no_content_type(world: World, client: FlaskClient) -> None:
    case = make_case(world)
    response = client.post(
        f"/api/v1/cases/{case.id}/start", headers=world.headers("kel-a1", "staff")
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_open311_still_takes_form_encoded_posts(world: World, client: FlaskClient) -> None:
    """Open311 reads its form itself: the JSON rule does not reach it (a missing api_key is
    its usual 403, not a 415)."""
    response = client.post(
        "/open311/v2/requests.json",
        data={"service_code": "sampah", "description": "x"},
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 403, response.get_data(as_text=True)

"""The OpenAPI document states the limits the service enforces, so that a generated client
(and schemathesis) never sends what is bound to be refused: the month of a report and that it
excludes since/until, the weekdays of a calendar, the last page, the Idempotency-Key."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from coord.api.base import MAX_PAGE
from tests.factories import World


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()


def parameters(spec: dict[str, Any], name: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter["name"] == name:
                    found.append((f"{method.upper()} {path}", parameter))
    return found


def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """The pattern as a JSON Schema (ECMA 262) validator reads it: no Python-only syntax
    such as \\Z, searched anywhere in the value unless anchored."""
    assert "\\Z" not in pattern and "\\A" not in pattern, pattern
    return re.compile(pattern)


def test_report_months_are_bounded_and_exclude_since_and_until(spec: dict[str, Any]) -> None:
    months = parameters(spec, "month")
    assert len(months) >= 5
    for where, parameter in months:
        pattern = ecma_pattern(parameter["schema"]["pattern"])
        assert pattern.search("2026-03"), where
        for bad in ("9999-12", "0000-01", "2026-13", "2026-3", "x2026-03", "2026-03x"):
            assert not pattern.search(bad), (where, bad)
        description = parameter["description"]
        assert "since" in description and "until" in description and "not" in description


def test_every_paginated_list_documents_the_last_page(spec: dict[str, Any]) -> None:
    pages = parameters(spec, "page")
    assert len(pages) >= 4
    for where, parameter in pages:
        assert parameter["schema"].get("maximum") == MAX_PAGE, where


def test_calendar_hours_are_keyed_by_weekday(spec: dict[str, Any]) -> None:
    hours = spec["components"]["schemas"]["CalendarIn"]["properties"]["hours"]
    assert hours["additionalProperties"] is False
    assert sorted(hours["properties"]) == [str(d) for d in range(7)]
    day = hours["properties"]["0"]
    assert day["type"] == "array" and day["maxItems"] == 6


def test_the_idempotency_key_rule_is_documented_and_is_the_one_applied(
    spec: dict[str, Any], world: World, client: FlaskClient
) -> None:
    (where, parameter), *_ = parameters(spec, "Idempotency-Key")
    schema = parameter["schema"]
    assert schema["minLength"] == 1 and schema["maxLength"] == 255
    pattern = ecma_pattern(schema["pattern"])
    body = {
        "title": "Lampu mati",
        "description": "Tiga lampu",
        "category": "sampah",
        "location": {"region_code": "12.71.01.1001"},
    }
    for key in ("a", "3f2b-9c", "k" * 255, "\xe9t\xe9", "k" * 256, "tab\there"):
        allowed = bool(pattern.search(key)) and len(key) <= 255
        headers = {**world.headers("kel-a1", "staff"), "Idempotency-Key": key}
        response = client.post("/api/v1/cases", headers=headers, json=body)
        assert (response.status_code < 300) == allowed, (key, response.status_code)

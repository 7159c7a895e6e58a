"""schemathesis over real HTTP: a gunicorn with the production settings serving the test
database (seeded as in test_fuzz.py), called through its OpenAPI document, stateless and
stateful (schemathesis infers the links between operations: a created case's id feeds the
operations on that case). No answer may be a 5xx; every 4xx has the one error shape.

Bounded to a minute or so: few examples per operation, short scenarios. The in-process run
(test_fuzz.py) covers far more inputs; this one covers what only a real server shows (the
HTTP parser, connection reuse, the worker's own error handling)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from tests.api.test_fuzz import SEED, Seeded, _steer, check_response, seed_data
from tests.factories import World
from tests.live import running_gunicorn

EXAMPLES = 4
CALLER = "staff"


def http_config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["all"],
            "generation": {"deterministic": True, "database": "none", "max-examples": EXAMPLES},
            "phases": {"coverage": {"enabled": False}},
        }
    )


@pytest.fixture
def live(
    app: Flask, world: World, database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[str, Seeded]]:
    seeded = seed_data(world)
    with running_gunicorn(database_url, redis_url, tmp_path / "gunicorn.log", threads=4) as base:
        yield base, seeded


@pytest.fixture
def live_schema(live: tuple[str, Seeded]) -> Any:
    base, _ = live
    return schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json", config=http_config())


@pytest.fixture(autouse=True)
def _schemathesis_pytest9_node_id(request: pytest.FixtureRequest) -> None:
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid  # type: ignore[attr-defined]


lazy_live_schema = schemathesis.pytest.from_fixture("live_schema")


def _check(response: Any, what: str) -> None:
    content_type = response.headers.get("content-type") or ""
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    check_response(response.status_code, content_type, response.content, what)


@lazy_live_schema.include(path_regex=r"^/(api|public)/v1/").parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.timeout(300)
def test_every_operation_over_http(case: Any, live: tuple[str, Seeded]) -> None:  # type: ignore[no-untyped-def]
    base, seeded = live
    _steer(case, seeded)
    headers = seeded.headers[CALLER]
    response = case.call(base_url=base, headers=headers, timeout=30)
    _check(response, f"as {CALLER}: {case.as_curl_command(headers=headers)}")


@pytest.mark.timeout(300)
def test_stateful_scenarios_over_http(live: tuple[str, Seeded], live_schema: Any) -> None:
    base, seeded = live
    headers = seeded.headers[CALLER]

    machine = live_schema.as_state_machine()
    calls: list[str] = []

    class Scenarios(machine):  # type: ignore[misc,valid-type]
        def before_call(self, case: Any) -> None:
            _steer(case, seeded)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base, "headers": headers, "timeout": 30}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            calls.append(f"{case.method} {case.path} -> {response.status_code}")
            _check(response, f"as {CALLER}: {case.as_curl_command(headers=headers)}")

    Scenarios.run(
        settings=settings(
            max_examples=12,
            stateful_step_count=6,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert len(calls) >= 20 and any(c.endswith(("200", "201")) for c in calls), calls

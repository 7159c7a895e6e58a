"""/public/v1/track over HTTP: no bearer token, nothing private in the answer, the token guards
feedback and disputes, clear messages for every refusal, and a rate limit per IP address."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from coord import clock
from coord.extensions import db
from coord.models import Case, Feedback
from coord.services import citizens
from tests.factories import World, case_in_status, make_case
from tests.services.test_citizens import PUBLIC_COMMENT, RESOLUTION_NOTE, T0, leaked, sensitive_case

PUBLIC_KEYS = {
    "tracking_code",
    "status",
    "status_label",
    "category",
    "unit",
    "received_at",
    "due_at",
    "resolved_at",
    "closed_at",
    "dispute_until",
    "can_dispute",
    "can_give_feedback",
    "timeline",
    "links",
}


@pytest.fixture
def at_t0() -> Iterator[datetime]:
    clock.set_frozen(T0)
    yield T0
    clock.set_frozen(None)


def url(case: Case, suffix: str = "") -> str:
    return f"/public/v1/track/{case.tracking_code[:4]}-{case.tracking_code[4:]}{suffix}"


ANSWERS_JSON = ", ".join(f'"u{i}": 3' for i in range(1, 10))


def answers(value: int = 3, **extra: Any) -> dict[str, Any]:
    return {**{f"u{i}": value for i in range(1, 10)}, **extra}


def test_tracking_needs_no_token_and_shows_nothing_private(
    client: Any, world: World, at_t0: datetime
) -> None:
    case = sensitive_case(world)
    typed = case.tracking_code.lower()  # no dash, lower case
    response = client.get(f"/public/v1/track/{typed}")
    assert response.status_code == 200, response.json
    assert leaked(response.get_data(as_text=True)) == []
    body = response.json
    assert set(body) == PUBLIC_KEYS
    assert body["tracking_code"] == url(case)[len("/public/v1/track/") :]
    assert body["status"] == "resolved"
    assert body["unit"] == {"code": "kel-a1", "name": "Kantor Lurah A1"}
    assert body["received_at"] == "2026-03-04T03:00:00Z"
    assert body["due_at"] == case.resolution_due_at.isoformat().replace("+00:00", "Z")
    assert body["dispute_until"] == "2026-03-11T03:00:00Z"
    assert [(e["type"], e["unit"], e["note"]) for e in body["timeline"]] == [
        ("case.created", "Kantor Lurah A1", None),
        ("case.started", "Kantor Lurah A1", None),
        ("case.commented", "Kantor Lurah A1", PUBLIC_COMMENT),
        ("handoff.accepted", "Dinas PU", None),
        ("case.resolved", "Kantor Lurah A1", RESOLUTION_NOTE),
    ]
    for entry in body["timeline"]:
        assert set(entry) == {"type", "label", "at", "unit", "note"}
    assert body["links"]["history"].endswith(url(case, "/history"))
    assert "citizen_token" not in response.get_data(as_text=True)
    assert case.citizen_token not in response.get_data(as_text=True)


@pytest.mark.parametrize("code", ["ZZZZ-ZZZZ", "0000-0000", "abc", "UUUU-UUUU", "1234-567%21"])
def test_unknown_codes_get_one_404_message(client: Any, world: World, code: str) -> None:
    make_case(world)
    response = client.get(f"/public/v1/track/{code}")
    assert response.status_code == 404
    assert response.json["message"] == citizens.UNKNOWN_CODE


def test_feedback_over_http(client: Any, world: World, at_t0: datetime) -> None:
    case = case_in_status(world, "resolved")
    wrong = client.post(url(case, "/feedback"), json={"token": "nope", **answers()})
    assert wrong.status_code == 403
    assert "Token tidak cocok" in wrong.json["message"]
    missing = client.post(url(case, "/feedback"), json=answers())
    assert missing.status_code == 403

    created = client.post(
        url(case, "/feedback"),
        json={"token": case.citizen_token, **answers(4), "comment": " Mantap "},
    )
    assert created.status_code == 201, created.json
    assert created.json["resolution_number"] == 1
    assert created.json["tracking_code"] == url(case)[len("/public/v1/track/") :]
    assert db.session.execute(select(Feedback.comment)).scalar_one() == "Mantap"

    reused = client.post(url(case, "/feedback"), json={"token": case.citizen_token, **answers()})
    assert reused.status_code == 409
    assert "hanya dapat dinilai satu kali" in reused.json["message"]
    assert client.get(url(case)).json["can_give_feedback"] is False
    assert db.session.execute(select(func.count()).select_from(Feedback)).scalar_one() == 1


@pytest.mark.parametrize(
    "body,field",
    [
        ({"u1": 3}, "u2"),
        (answers(3, u9=5), "u9"),
        (answers(3, u3="3"), "u3"),
        (answers(3, u4=2.5), "u4"),
        (answers(3, extra="x"), "extra"),
        (answers(3, comment="x" * 2001), "comment"),
    ],
)
def test_feedback_input_errors_name_the_field(
    client: Any, world: World, body: dict[str, Any], field: str
) -> None:
    case = case_in_status(world, "resolved")
    response = client.post(url(case, "/feedback"), json={"token": case.citizen_token, **body})
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


def test_feedback_before_resolution_is_refused(client: Any, world: World) -> None:
    case = case_in_status(world, "in_progress")
    response = client.post(url(case, "/feedback"), json={"token": case.citizen_token, **answers()})
    assert response.status_code == 409
    assert "setelah laporan selesai" in response.json["message"]


def test_dispute_over_http(client: Any, world: World, at_t0: datetime) -> None:
    case = case_in_status(world, "resolved")
    wrong = client.post(url(case, "/dispute"), json={"token": "nope", "reason": "belum beres"})
    assert wrong.status_code == 403
    assert "Token tidak cocok" in wrong.json["message"]
    empty = client.post(url(case, "/dispute"), json={"token": case.citizen_token, "reason": "  "})
    assert empty.status_code == 422

    clock.set_frozen(T0 + timedelta(days=3))
    reopened = client.post(
        url(case, "/dispute"), json={"token": case.citizen_token, "reason": "Air masih menggenang"}
    )
    assert reopened.status_code == 200, reopened.json
    assert reopened.json["status"] == "in_progress"
    last = reopened.json["timeline"][-1]
    assert (last["type"], last["unit"], last["note"]) == (
        "case.reopened",
        "Warga (pelapor)",
        "Air masih menggenang",
    )
    again = client.post(url(case, "/dispute"), json={"token": case.citizen_token, "reason": "x"})
    assert again.status_code == 409


def test_dispute_after_the_window_names_the_deadline(
    client: Any, world: World, at_t0: datetime
) -> None:
    case = case_in_status(world, "resolved")
    clock.set_frozen(T0 + timedelta(days=8))
    response = client.post(url(case, "/dispute"), json={"token": case.citizen_token, "reason": "x"})
    assert response.status_code == 409
    assert response.json["message"].startswith(
        "Masa sanggahan 7 hari sudah berakhir pada Rabu, 11 Maret 2026 pukul 10.00 WIB"
    )
    assert response.json["errors"] == {"dispute_deadline": ["2026-03-11T10:00:00+07:00"]}
    assert client.get(url(case)).json["status"] == "resolved"


def test_public_endpoints_ignore_bearer_tokens_and_cookies(client: Any, world: World) -> None:
    case = case_in_status(world, "resolved")
    # A bogus Authorization header does not matter: there is no token check here.
    response = client.get(url(case), headers={"Authorization": "Bearer garbage"})
    assert response.status_code == 200
    posted = client.post(
        url(case, "/feedback"),
        headers={"Authorization": "Bearer garbage"},
        json={"token": case.citizen_token, **answers()},
    )
    assert posted.status_code == 201  # no CSRF token needed for the JSON API


_LIMITED_CLIENT = """
import json, sys
from coord import create_app
config, calls = json.loads(sys.argv[1]), json.loads(sys.argv[2])
client = create_app(config, env="testing").test_client()
out = []
for method, path, address in calls:
    response = client.open(path, method=method, environ_base={"REMOTE_ADDR": address})
    out.append([response.status_code, response.get_data(as_text=True)])
print(json.dumps(out))
"""


def rate_limited_calls(
    app: Flask, calls: list[tuple[str, str, str]], **limits: str
) -> list[tuple[int, str]]:
    """Make ``calls`` (method, path, client address) to a fresh app with the rate limiter on.

    A separate process, because the limiter is set up when an app is created and the test app
    has it off (and Flask allows no setup after the first request)."""
    config = {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "RQ_CONNECTION": app.config["REDIS_URL"],
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        **limits,
    }
    done = subprocess.run(
        [sys.executable, "-c", _LIMITED_CLIENT, json.dumps(config), json.dumps(calls)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COORD_ENV": "testing"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [(status, body) for status, body in json.loads(done.stdout.strip().splitlines()[-1])]


def test_tracking_is_rate_limited_per_address(app: Flask, world: World) -> None:
    case = make_case(world)
    calls = [("GET", url(case), "127.0.0.1")] * 5 + [
        ("GET", url(case, "/history"), "127.0.0.1"),  # one budget for every tracking endpoint
        ("GET", url(case), "127.0.0.2"),  # another address has its own
    ]
    results = rate_limited_calls(app, calls, COORD_PUBLIC_RATE_LIMIT="5 per minute")
    assert [status for status, _ in results] == [200] * 5 + [429, 200]
    assert json.loads(results[5][1])["code"] == 429


@pytest.mark.parametrize(
    "path,raw",
    [
        ("/dispute", '{"token": "a\\ud800b", "reason": "x"}'),
        ("/dispute", '{"token": "TOKEN", "reason": "x\\udfffy"}'),
        ("/feedback", '{"token": "TOKEN", "comment": "x\\udfffy", ' + ANSWERS_JSON + "}"),
        ("/feedback", '{"token": "\\u0000", ' + ANSWERS_JSON + "}"),
        ("/feedback", "[1, 2, 3]"),
        ("/feedback", '{"token": "TOKEN", "u1": 1e999}'),
        ("/dispute", "not json at all"),
        ("/dispute", '{"token": "TOKEN"}'),
        ("/dispute", "{}"),
    ],
)
def test_malformed_bodies_are_refused_not_500(
    client: Any, world: World, path: str, raw: str
) -> None:
    case = case_in_status(world, "resolved")
    body = raw.replace("TOKEN", case.citizen_token or "")
    response = client.post(url(case, path), data=body, content_type="application/json")
    assert response.status_code in (400, 403, 422), response.json
    assert client.get(url(case)).json["status"] == "resolved"

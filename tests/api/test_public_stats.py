"""GET /public/v1/stats: no token, figures per unit and month (hand-computed in
tests/services/test_reports.py), no personal data, cache headers, and a rate limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from coord import clock
from coord.api.public.stats import stats_cache
from tests.factories import World
from tests.services.test_reports import NOW, Dataset, build_dataset

ROOT = Path(__file__).resolve().parents[2]
STATS = "/public/v1/stats"
ROW_FIELDS = {
    "unit",
    "unit_name",
    "month",
    "cases",
    "resolved",
    "on_time_share",
    "resolution_minutes_median",
    "ikm",
    "band",
    "respondents",
}


@pytest.fixture
def dataset(world: World) -> Any:
    stats_cache.clear()  # figures another test computed must not be served here
    yield build_dataset(world)
    stats_cache.clear()
    clock.set_frozen(None)


def test_stats_without_a_token(client: Any, dataset: Dataset) -> None:
    response = client.get(STATS)
    assert response.status_code == 200, response.json
    body = response.json
    # Default: the last twelve WIB months (April 2025 to March 2026).
    assert body["filters"]["since"] == "2025-03-31T17:00:00Z"
    assert body["filters"]["until"] == "2026-03-31T17:00:00Z"
    assert body["weight"] == "1/9"
    assert [
        (
            r["unit"],
            r["month"],
            r["cases"],
            r["resolved"],
            r["on_time_share"],
            r["resolution_minutes_median"],
            r["ikm"],
            r["band"],
            r["respondents"],
        )
        for r in body["rows"]
    ] == [
        ("dinas-pu", "2026-02", 1, 1, 1.0, 1020.0, 100.0, "A", 1),
        ("kel-a1", "2026-02", 5, 3, 0.5, 1320.0, 81.94, "B", 3),
        ("kel-a1", "2026-03", 4, 1, 1.0, 540.0, 50.0, "D", 1),
        ("kel-a2", "2026-02", 2, 0, 0.0, None, None, None, 0),
        ("kel-b1", "2026-02", 1, 1, 1.0, 480.0, 75.0, "C", 1),
    ]
    assert body["rows"][1]["unit_name"] == "Kantor Lurah A1"
    only = client.get(STATS + "?month=2026-03&unit=kel-a1").json["rows"]
    assert [(r["unit"], r["month"], r["cases"]) for r in only] == [("kel-a1", "2026-03", 4)]
    assert client.get(STATS + "?month=2026-3").status_code == 422


def test_stats_leak_no_personal_data(client: Any, dataset: Dataset) -> None:
    body = client.get(STATS).json
    assert set(body) == {"generated_at", "filters", "weight", "rows"}
    for row in body["rows"]:
        assert set(row) == ROW_FIELDS
    text = json.dumps(body)
    for case in dataset.cases.values():
        for secret in (
            case.reporter_name,
            case.reporter_phone,
            case.reporter_email,
            case.reporter_nik,
            case.tracking_code,
            case.title,
            case.description,
            case.citizen_token,
        ):
            assert secret and secret not in text


def test_stats_are_cacheable(client: Any, dataset: Dataset) -> None:
    first = client.get(STATS)
    assert first.headers["Cache-Control"] == "public, max-age=300"
    etag = first.headers["ETag"]
    again = client.get(STATS, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    other = client.get(STATS + "?month=2026-02", headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["ETag"] != etag


def test_stats_are_recomputed_at_most_every_five_minutes(client: Any, dataset: Dataset) -> None:
    def kel_a1_march() -> int:
        rows = client.get(STATS).json["rows"]
        return next(r["cases"] for r in rows if (r["unit"], r["month"]) == ("kel-a1", "2026-03"))

    assert kel_a1_march() == 4
    dataset.create("C14", NOW)  # a fifth March case for kel-a1
    clock.set_frozen(NOW + timedelta(minutes=4, seconds=59))
    assert kel_a1_march() == 4  # served from the cache
    clock.set_frozen(NOW + timedelta(minutes=5))
    assert kel_a1_march() == 5


def test_stats_are_rate_limited(app: Flask) -> None:
    """A separate process with rate limiting on (the shared test app has it off) and a budget
    of two requests: the third from the same address is refused with 429."""
    script = textwrap.dedent("""
        import json, os, sys
        from coord import create_app
        app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "RATELIMIT_ENABLED": True,
                          "RATELIMIT_STORAGE_URI": "memory://",
                          "COORD_PUBLIC_RATE_LIMIT": "2 per minute"}, env="testing")
        client = app.test_client()
        codes = [client.get("/public/v1/stats").status_code for _ in range(3)]
        print(json.dumps(codes))
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT), COORD_ENV="testing")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    done = subprocess.run(
        [sys.executable, "-c", script, url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [200, 200, 429]


def test_stats_etag_depends_on_the_data_not_on_the_time(client: Any, dataset: Dataset) -> None:
    """The ETag is a digest of the figures: the same a second later and after the figures
    are recomputed (five minutes on), so a repeat request gets 304 with no body; a new case
    gives a new ETag once the figures include it."""
    first = client.get(STATS)
    etag = first.headers["ETag"]
    clock.set_frozen(NOW + timedelta(seconds=1))
    later = client.get(STATS)
    assert later.headers["ETag"] == etag
    assert later.json["generated_at"] == first.json["generated_at"]  # the same figures
    again = client.get(STATS, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    clock.set_frozen(NOW + timedelta(minutes=6))  # recomputed: the same data, the same ETag
    recomputed = client.get(STATS)
    assert recomputed.headers["ETag"] == etag
    assert recomputed.json["rows"] == first.json["rows"]
    assert client.get(STATS, headers={"If-None-Match": etag}).status_code == 304
    dataset.create("C14", NOW + timedelta(minutes=7))  # a fifth March case for kel-a1
    clock.set_frozen(NOW + timedelta(minutes=12))
    changed = client.get(STATS, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    march = [r for r in changed.json["rows"] if (r["unit"], r["month"]) == ("kel-a1", "2026-03")]
    assert march[0]["cases"] == 5

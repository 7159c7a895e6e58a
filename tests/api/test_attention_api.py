"""The attention feed counts truly and pages: more breached cases, handoffs and notifications
than one page holds (docs/api.md, "What needs me now")."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from coord import clock
from coord.services import handoffs as handoff_service
from coord.services.uow import unit_of_work
from tests.factories import make_case

WIB = ZoneInfo("Asia/Jakarta")
BREACHED = 55  # more than the feed's first page of 50
FORWARDED = 52


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


@pytest.fixture
def crowded(app_ctx, world, run_worker):  # type: ignore[no-untyped-def]
    """55 open cases of kel-a1 entered late (breached on entry), received an hour apart; 52 of
    them forwarded to dinas-pu and not yet answered."""
    clock.set_frozen(wib(2026, 3, 17, 14))
    first_received = wib(2026, 2, 2, 8)
    ids = [
        make_case(world, received_at=first_received + timedelta(hours=i)).id
        for i in range(BREACHED)
    ]
    staff = world.user("kel-a1", "staff")
    for case_id in ids[:FORWARDED]:
        with unit_of_work():
            handoff_service.request_handoff(
                staff, case_id, "transfer", "dinas-pu", None, wib(2026, 3, 17, 14)
            )
    run_worker()  # the breach notifications
    yield ids
    clock.set_frozen(None)


def pages(client: Any, path: str, headers: dict[str, str], size: int) -> list[list[Any]]:
    found = []
    page = 1
    while True:
        response = client.get(f"{path}?page={page}&page_size={size}", headers=headers)
        assert response.status_code == 200
        meta = json.loads(response.headers["X-Pagination"])
        found.append(response.json)
        if page >= meta["total_pages"]:
            return found
        page += 1


def test_counts_are_true_counts_and_the_freshest_come_first(client, world, crowded):  # type: ignore[no-untyped-def]
    manager = world.headers("camat-a", "manager")
    feed = client.get("/api/v1/me/attention", headers=manager)
    assert feed.status_code == 200
    counts = feed.json["counts"]
    assert counts["breached_cases"] == BREACHED
    assert counts["notifications"] == 2 * BREACHED  # response and resolution breach each
    # The overview holds the first page of each list; the freshest breach comes first.
    listed = [c["id"] for c in feed.json["breached_cases"]]
    assert len(listed) == 50
    assert listed[:3] == list(reversed(crowded))[:3]
    assert len(feed.json["notifications"]) == 50


def test_each_attention_list_pages_like_the_case_list(client, world, crowded):  # type: ignore[no-untyped-def]
    manager = world.headers("camat-a", "manager")
    first = client.get("/api/v1/me/attention/breached_cases?page_size=20", headers=manager)
    assert first.status_code == 200
    meta = json.loads(first.headers["X-Pagination"])
    assert (meta["total"], meta["total_pages"], meta["page"]) == (BREACHED, 3, 1)
    everything = [
        c["id"]
        for page in pages(client, "/api/v1/me/attention/breached_cases", manager, 20)
        for c in page
    ]
    assert everything == list(reversed(crowded))

    notes = pages(client, "/api/v1/me/attention/notifications", manager, 40)
    assert [len(p) for p in notes] == [40, 40, 30]
    assert len({n["id"] for p in notes for n in p}) == 2 * BREACHED

    liaison = world.headers("dinas-pu", "liaison")
    feed = client.get("/api/v1/me/attention", headers=liaison).json
    assert feed["counts"]["handoffs_to_acknowledge"] == FORWARDED
    handoffs = pages(client, "/api/v1/me/attention/handoffs_to_acknowledge", liaison, 25)
    assert sorted(h["case_id"] for p in handoffs for h in p) == sorted(crowded[:FORWARDED])

    bounced = client.get("/api/v1/me/attention/bounced_cases", headers=manager)
    assert bounced.status_code == 200 and bounced.json == []
    assert json.loads(bounced.headers["X-Pagination"])["total"] == 0


def test_attention_list_paging_refuses_bad_input(client, world, crowded):  # type: ignore[no-untyped-def]
    manager = world.headers("camat-a", "manager")
    bad = client.get("/api/v1/me/attention/breached_cases?page=0", headers=manager)
    assert bad.status_code == 422 and "page" in json.dumps(bad.json)
    bad = client.get("/api/v1/me/attention/breached_cases?page_size=abc", headers=manager)
    assert bad.status_code == 422 and "page_size" in json.dumps(bad.json)
    assert client.get("/api/v1/me/attention/nothing", headers=manager).status_code == 404

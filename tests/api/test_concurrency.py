"""Concurrent writers on one record (DESIGN.md section 10): exactly one wins, the other gets
409 or 412, and the effect happens once. Each request runs in its own thread with its own app
context, test client and database session, released together by a barrier.

PostgreSQL serialises the writers with row locks; SQLite with its file lock and the version
check. The same assertions hold for both."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import ORMExecuteState, Session

from coord.extensions import db
from coord.models import Case, CaseEvent, Handoff, IdempotencyKey
from tests.api.test_cases_api import API, Tokens, case_body
from tests.factories import World, case_in_status, make_case

Result = tuple[int, Any, dict[str, str]]


def run_together(app: Flask, requests: list[Callable[[Any], Any]]) -> list[Result]:
    """Send the requests at the same moment, one thread each; return (status, body, headers)."""
    barrier = threading.Barrier(len(requests))
    results: list[Result | None] = [None] * len(requests)
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            with app.app_context():
                client = app.test_client()
                try:
                    barrier.wait(timeout=30)
                    response = requests[index](client)
                    results[index] = (
                        response.status_code,
                        response.get_json(),
                        dict(response.headers),
                    )
                finally:
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request never finished"
    assert failures == []
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


@contextmanager
def overlapping_handoff_commands() -> Iterator[dict[str, Any]]:
    """Make two racing handoff commands overlap for sure instead of by luck: the first one
    to reach its flush (it holds the case's row lock on PostgreSQL, or has read the old state
    on SQLite) waits there until the other one has sent its own locking read of the case.
    ``seen["overlapped"]`` tells the test that this happened."""
    loaded: list[int] = []
    other_loaded = threading.Condition()
    seen: dict[str, Any] = {"overlapped": False, "first": None}

    def on_execute(state: ORMExecuteState) -> None:
        sql = str(state.statement)
        if state.is_select and "FROM cases" in sql and "handoffs" in sql:
            with other_loaded:
                loaded.append(threading.get_ident())
                other_loaded.notify_all()

    def before_flush(session: Session, *_: Any) -> None:
        me = threading.get_ident()
        with other_loaded:
            if seen["first"] is not None or me not in loaded:
                return
            seen["first"] = me
            seen["overlapped"] = other_loaded.wait_for(
                lambda: any(t != me for t in loaded), timeout=20
            )

    event.listen(Session, "do_orm_execute", on_execute)
    event.listen(Session, "before_flush", before_flush)
    try:
        yield seen
    finally:
        event.remove(Session, "do_orm_execute", on_execute)
        event.remove(Session, "before_flush", before_flush)


def count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_two_accepts_of_one_handoff(app: Flask, world: World) -> None:
    auth = Tokens(world)
    case = case_in_status(world, "in_progress")
    created = app.test_client().post(
        f"{API}/cases/{case.id}/handoffs",
        headers=auth("kel-a1"),
        json={"kind": "transfer", "to_unit": "dinas-pu"},
    )
    assert created.status_code == 201
    handoff_id = created.get_json()["id"]
    liaison, manager = auth("dinas-pu", "liaison"), auth("dinas-pu", "manager")

    with overlapping_handoff_commands() as seen:
        results = run_together(
            app,
            [
                lambda c: c.post(f"{API}/handoffs/{handoff_id}/accept", headers=liaison, json={}),
                lambda c: c.post(f"{API}/handoffs/{handoff_id}/accept", headers=manager, json={}),
            ],
        )
    assert seen["overlapped"], "the second accept never reached the case while the first held it"
    statuses = sorted(r[0] for r in results)
    assert statuses in ([200, 409], [200, 412]), results
    loser = next(r for r in results if r[0] != 200)
    assert loser[1]["code"] == loser[0] and loser[1]["message"]

    db.session.expire_all()
    after = db.session.get(Case, case.id)
    assert (after.owner_unit.code, after.status, after.ownership_moves) == (
        "dinas-pu",
        "in_progress",
        1,
    )
    assert db.session.get(Handoff, handoff_id).status == "accepted"
    assert count(CaseEvent, CaseEvent.type == "handoff.accepted") == 1


def test_accept_racing_a_recall(app: Flask, world: World) -> None:
    """The receiver accepts while the sender recalls: one of them wins, never both."""
    auth = Tokens(world)
    case = case_in_status(world, "new")
    created = app.test_client().post(
        f"{API}/cases/{case.id}/handoffs",
        headers=auth("kel-a1"),
        json={"kind": "transfer", "to_unit": "dinas-pu"},
    )
    handoff_id = created.get_json()["id"]
    liaison, sender = auth("dinas-pu", "liaison"), auth("kel-a1")

    with overlapping_handoff_commands() as seen:
        results = run_together(
            app,
            [
                lambda c: c.post(f"{API}/handoffs/{handoff_id}/accept", headers=liaison, json={}),
                lambda c: c.post(f"{API}/handoffs/{handoff_id}/recall", headers=sender, json={}),
            ],
        )
    assert seen["overlapped"], "the two commands did not overlap"
    statuses = [r[0] for r in results]
    assert sorted(statuses) in ([200, 409], [200, 412]), results
    db.session.expire_all()
    after = db.session.get(Case, case.id)
    handoff = db.session.get(Handoff, handoff_id)
    if statuses[0] == 200:
        assert (handoff.status, after.status, after.owner_unit.code) == (
            "accepted",
            "in_progress",
            "dinas-pu",
        )
    else:
        assert (handoff.status, after.status, after.owner_unit.code) == (
            "recalled",
            "new",
            "kel-a1",
        )
    assert count(CaseEvent, CaseEvent.type.in_(["handoff.accepted", "handoff.recalled"])) == 1


def test_two_resolves_of_one_case(app: Flask, world: World) -> None:
    auth = Tokens(world)
    case_id = case_in_status(world, "in_progress").id  # plain ids cross threads, ORM rows do not
    staff, liaison = auth("kel-a1", "staff"), auth("kel-a1", "liaison")

    results = run_together(
        app,
        [
            lambda c: c.post(f"{API}/cases/{case_id}/resolve", headers=staff, json={"note": "A"}),
            lambda c: c.post(f"{API}/cases/{case_id}/resolve", headers=liaison, json={"note": "B"}),
        ],
    )
    assert sorted(r[0] for r in results) in ([200, 409], [200, 412]), results
    winner = next(r for r in results if r[0] == 200)
    db.session.expire_all()
    after = db.session.get(Case, case_id)
    assert after.status == "resolved"
    assert after.resolution_note == winner[1]["resolution_note"]
    assert count(CaseEvent, CaseEvent.type == "case.resolved") == 1


def test_two_edits_with_the_same_if_match(app: Flask, world: World) -> None:
    auth = Tokens(world)
    case_id = make_case(world).id
    staff = auth("kel-a1")
    etag = app.test_client().get(f"{API}/cases/{case_id}", headers=staff).headers["ETag"]
    headers = {**staff, "If-Match": etag}

    results = run_together(
        app,
        [
            lambda c: c.patch(f"{API}/cases/{case_id}", headers=headers, json={"title": "Versi A"}),
            lambda c: c.patch(f"{API}/cases/{case_id}", headers=headers, json={"title": "Versi B"}),
        ],
    )
    assert sorted(r[0] for r in results) in ([200, 409], [200, 412]), results
    winner = next(r for r in results if r[0] == 200)
    db.session.expire_all()
    assert db.session.get(Case, case_id).title == winner[1]["title"]
    assert count(CaseEvent, CaseEvent.type == "case.updated") == 1


def test_two_creates_with_the_same_idempotency_key(app: Flask, world: World) -> None:
    auth = Tokens(world)
    headers = auth("kel-a1", **{"Idempotency-Key": "retry-2026-03-04-001"})
    body = case_body()

    results = run_together(
        app,
        [
            lambda c: c.post(f"{API}/cases", headers=headers, json=body),
            lambda c: c.post(f"{API}/cases", headers=headers, json=body),
        ],
    )
    statuses = sorted(r[0] for r in results)
    # The loser either waited and replayed the first case, or lost the race on the key.
    assert statuses in ([200, 201], [201, 409]), results
    first = next(r for r in results if r[0] == 201)
    other = next(r for r in results if r[0] != 201)
    if other[0] == 200:
        assert other[1]["id"] == first[1]["id"]
        assert other[2]["Idempotent-Replayed"] == "true"
    assert count(Case) == 1
    assert count(IdempotencyKey) == 1
    assert count(CaseEvent, CaseEvent.type == "case.created") == 1
    db.session.expire_all()
    assert db.session.execute(select(Case.id)).scalar_one() == first[1]["id"]

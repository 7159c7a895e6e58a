"""Who may read and do what, over HTTP (DESIGN.md sections 3, 7 and 9).

The expected outcomes are written out below as tables, one per role, from the rules as
DESIGN.md states them (not computed from ``coord.services.policy``):

* staff read the cases their unit recorded, owns, owned before, is assisting on, or was sent a
  transfer for, and act (edit, start, assign, hold, resume, resolve, reopen, forward, ask for
  assistance, close) only on cases their unit owns; anyone who reads a case may comment;
* a liaison has staff rights and also accepts or rejects handoffs addressed to their unit;
* a manager reads what their unit touched plus every case located in their unit's
  jurisdiction (a prefix test on region codes: a camat office holds its kecamatan, a kelurahan
  office its kelurahan, a city agency the whole city), may close, cancel and reassign (assign
  with ``owner_unit``) cases in that jurisdiction, and is otherwise a member of their unit:
  they work their own unit's cases and answer handoffs addressed to it;
* an admin reads no case content at all;
* what the caller may not read is 404 (as if it did not exist), what they read but may not
  do is 403, and a refused request changes nothing (same case version, same events).

Each cell is checked with a freshly arranged case whose status allows the operation, so an
allowed cell really succeeds and a refused one is refused for who the caller is, not for the
state of the case.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from coord.clock import now_utc
from coord.extensions import db
from coord.models import Case, CaseEvent, Handoff
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.uow import unit_of_work
from tests.factories import World, make_case

ROLES = ("staff", "liaison", "manager", "admin")

# How the case relates to the caller's unit, and which unit the caller belongs to. Every
# arranged case is located in kelurahan 12.71.01.1001 (kecamatan A) and owned by kel-a1.
RELATIONS: dict[str, str] = {
    "own": "kel-a1",  # the caller's unit recorded and owns it
    "kel": "kel-a2",  # another kelurahan of the same kecamatan, no relation
    "camat": "camat-a",  # the camat office of the same kecamatan, no relation
    "othkec": "camat-b",  # the camat office of another kecamatan, no relation
    "agency": "dlh",  # a city agency with no relation
    "assist": "dinas-pu",  # a unit asked to assist
    "former": "kel-a2",  # a unit that owned it once (kel-a1 -> kel-a2 -> kel-a1)
    "transfer": "dinas-pu",  # a unit a transfer was sent to (recalled; pending for handoff ops)
}

# ---------------------------------------------------------------------------------------------
# The expected outcomes. Status codes, or ``in`` / ``out`` for "the list contains the item".
#
# Handoff rows act on a handoff of the case: the pending transfer to dinas-pu in the
# ``transfer`` column, an assistance request from kel-a1 to dinas-pu in every other column
# (pending; accepted for ``complete``). Handoffs are read by the units they are addressed to or
# sent by and by managers whose jurisdiction holds the case; ``recall`` belongs to the sending
# unit (which here is also the owner), ``complete`` to the assisting unit (a transfer cannot be
# completed: 409).

STAFF = """
op              own  kel  camat othkec agency assist former transfer
get_case        200  404  404   404    404    200    200    200
get_events      200  404  404   404    404    200    200    200
get_handoffs    200  404  404   404    404    200    200    200
list_cases      in   out  out   out    out    in     in     in
search_code     in   out  out   out    out    in     in     in
patch           200  404  404   404    404    403    403    403
start           200  404  404   404    404    403    403    403
assign          200  404  404   404    404    403    403    403
hold            200  404  404   404    404    403    403    403
resume          200  404  404   404    404    403    403    403
resolve         200  404  404   404    404    403    403    403
reopen          200  404  404   404    404    403    403    403
close           200  404  404   404    404    403    403    403
cancel          403  404  404   404    404    403    403    403
reassign        403  404  404   404    404    403    403    403
comment         201  404  404   404    404    201    201    201
forward         201  404  404   404    404    403    403    403
ask_assist      201  404  404   404    404    403    403    403
get_handoff     200  404  404   404    404    200    404    200
list_handoffs   in   out  out   out    out    in     out    in
accept          403  404  404   404    404    403    404    403
reject          403  404  404   404    404    403    404    403
recall          200  404  404   404    404    403    404    403
complete        403  404  404   404    404    200    404    409
"""

LIAISON = """
op              own  kel  camat othkec agency assist former transfer
get_case        200  404  404   404    404    200    200    200
get_events      200  404  404   404    404    200    200    200
get_handoffs    200  404  404   404    404    200    200    200
list_cases      in   out  out   out    out    in     in     in
search_code     in   out  out   out    out    in     in     in
patch           200  404  404   404    404    403    403    403
start           200  404  404   404    404    403    403    403
assign          200  404  404   404    404    403    403    403
hold            200  404  404   404    404    403    403    403
resume          200  404  404   404    404    403    403    403
resolve         200  404  404   404    404    403    403    403
reopen          200  404  404   404    404    403    403    403
close           200  404  404   404    404    403    403    403
cancel          403  404  404   404    404    403    403    403
reassign        403  404  404   404    404    403    403    403
comment         201  404  404   404    404    201    201    201
forward         201  404  404   404    404    403    403    403
ask_assist      201  404  404   404    404    403    403    403
get_handoff     200  404  404   404    404    200    404    200
list_handoffs   in   out  out   out    out    in     out    in
accept          403  404  404   404    404    200    404    200
reject          403  404  404   404    404    200    404    200
recall          200  404  404   404    404    403    404    403
complete        403  404  404   404    404    200    404    409
"""

# kel-a1's own jurisdiction is kelurahan 12.71.01.1001, where the case is; camat-a holds
# kecamatan A; dlh and dinas-pu, as city agencies, hold the whole city; kel-a2 and camat-b do
# not hold the case's kelurahan.
MANAGER = """
op              own  kel  camat othkec agency assist former transfer
get_case        200  404  200   404    200    200    200    200
get_events      200  404  200   404    200    200    200    200
get_handoffs    200  404  200   404    200    200    200    200
list_cases      in   out  in    out    in     in     in     in
search_code     in   out  in    out    in     in     in     in
patch           200  404  403   404    403    403    403    403
start           200  404  403   404    403    403    403    403
assign          200  404  403   404    403    403    403    403
hold            200  404  403   404    403    403    403    403
resume          200  404  403   404    403    403    403    403
resolve         200  404  403   404    403    403    403    403
reopen          200  404  403   404    403    403    403    403
close           200  404  200   404    200    200    403    200
cancel          200  404  200   404    200    200    403    200
reassign        200  404  200   404    200    200    403    200
comment         201  404  201   404    201    201    201    201
forward         201  404  403   404    403    403    403    403
ask_assist      201  404  403   404    403    403    403    403
get_handoff     200  404  200   404    200    200    404    200
list_handoffs   in   out  in    out    in     in     out    in
accept          403  404  403   404    403    200    404    200
reject          403  404  403   404    403    200    404    200
recall          200  404  403   404    403    403    404    403
complete        403  404  403   404    403    200    404    409
"""

ADMIN = """
op              own  kel  camat othkec agency assist former transfer
get_case        404  404  404   404    404    404    404    404
get_events      404  404  404   404    404    404    404    404
get_handoffs    404  404  404   404    404    404    404    404
list_cases      out  out  out   out    out    out    out    out
search_code     out  out  out   out    out    out    out    out
patch           404  404  404   404    404    404    404    404
start           404  404  404   404    404    404    404    404
assign          404  404  404   404    404    404    404    404
hold            404  404  404   404    404    404    404    404
resume          404  404  404   404    404    404    404    404
resolve         404  404  404   404    404    404    404    404
reopen          404  404  404   404    404    404    404    404
close           404  404  404   404    404    404    404    404
cancel          404  404  404   404    404    404    404    404
reassign        404  404  404   404    404    404    404    404
comment         404  404  404   404    404    404    404    404
forward         404  404  404   404    404    404    404    404
ask_assist      404  404  404   404    404    404    404    404
get_handoff     404  404  404   404    404    404    404    404
list_handoffs   out  out  out   out    out    out    out    out
accept          404  404  404   404    404    404    404    404
reject          404  404  404   404    404    404    404    404
recall          404  404  404   404    404    404    404    404
complete        404  404  404   404    404    404    404    404
"""


def parse_table(text: str) -> dict[tuple[str, str], str]:
    lines = [line.split() for line in text.strip().splitlines()]
    header, rows = lines[0][1:], lines[1:]
    assert header == list(RELATIONS), header
    table = {}
    for op, *cells in rows:
        assert len(cells) == len(header), op
        for relation, cell in zip(header, cells, strict=True):
            table[(op, relation)] = cell
    return table


EXPECTED: dict[str, dict[tuple[str, str], str]] = {
    "staff": parse_table(STAFF),
    "liaison": parse_table(LIAISON),
    "manager": parse_table(MANAGER),
    "admin": parse_table(ADMIN),
}


# ---------------------------------------------------------------------------------------------
# Operations: the state the case (or handoff) must be in, and the request


@dataclass(frozen=True)
class Arranged:
    case_id: int
    tracking_code: str
    handoff_id: int | None


@dataclass(frozen=True)
class Op:
    needs: str  # case status, or "handoff:pending" / "handoff:accepted"
    request: Callable[[World, Arranged], tuple[str, str, dict[str, Any] | None]]
    reads_only: bool = False


def _case_url(a: Arranged, suffix: str = "") -> str:
    return f"/api/v1/cases/{a.case_id}{suffix}"


OPS: dict[str, Op] = {
    "get_case": Op("new", lambda w, a: ("GET", _case_url(a), None), reads_only=True),
    "get_events": Op("new", lambda w, a: ("GET", _case_url(a, "/events"), None), reads_only=True),
    "get_handoffs": Op(
        "new", lambda w, a: ("GET", _case_url(a, "/handoffs"), None), reads_only=True
    ),
    "list_cases": Op(
        "new", lambda w, a: ("GET", "/api/v1/cases?page_size=100", None), reads_only=True
    ),
    "search_code": Op(
        "new", lambda w, a: ("GET", f"/api/v1/cases?q={a.tracking_code}", None), reads_only=True
    ),
    "patch": Op("new", lambda w, a: ("PATCH", _case_url(a), {"title": "Judul diperbarui"})),
    "start": Op("new", lambda w, a: ("POST", _case_url(a, "/start"), {})),
    "assign": Op(
        "new",
        lambda w, a: (
            "POST",
            _case_url(a, "/assign"),
            {"assignee_id": w.user("kel-a1", "liaison").id},
        ),
    ),
    "hold": Op(
        "in_progress", lambda w, a: ("POST", _case_url(a, "/hold"), {"reason": "menunggu warga"})
    ),
    "resume": Op("on_hold", lambda w, a: ("POST", _case_url(a, "/resume"), {})),
    "resolve": Op(
        "in_progress", lambda w, a: ("POST", _case_url(a, "/resolve"), {"note": "sudah diperbaiki"})
    ),
    "reopen": Op(
        "resolved", lambda w, a: ("POST", _case_url(a, "/reopen"), {"reason": "warga keberatan"})
    ),
    "close": Op("resolved", lambda w, a: ("POST", _case_url(a, "/close"), {})),
    "cancel": Op("new", lambda w, a: ("POST", _case_url(a, "/cancel"), {"reason": "spam"})),
    "reassign": Op("new", lambda w, a: ("POST", _case_url(a, "/assign"), {"owner_unit": "kel-a2"})),
    "comment": Op("new", lambda w, a: ("POST", _case_url(a, "/comments"), {"body": "sudah dicek"})),
    "forward": Op(
        "new",
        lambda w, a: ("POST", _case_url(a, "/handoffs"), {"kind": "transfer", "to_unit": "dlh"}),
    ),
    "ask_assist": Op(
        "new",
        lambda w, a: ("POST", _case_url(a, "/handoffs"), {"kind": "assist", "to_unit": "dlh"}),
    ),
    "get_handoff": Op(
        "handoff:pending",
        lambda w, a: ("GET", f"/api/v1/handoffs/{a.handoff_id}", None),
        reads_only=True,
    ),
    "list_handoffs": Op(
        "handoff:pending",
        lambda w, a: ("GET", "/api/v1/handoffs?page_size=100", None),
        reads_only=True,
    ),
    "accept": Op(
        "handoff:pending", lambda w, a: ("POST", f"/api/v1/handoffs/{a.handoff_id}/accept", {})
    ),
    "reject": Op(
        "handoff:pending",
        lambda w, a: (
            "POST",
            f"/api/v1/handoffs/{a.handoff_id}/reject",
            {"reason": "not_our_jurisdiction"},
        ),
    ),
    "recall": Op(
        "handoff:pending", lambda w, a: ("POST", f"/api/v1/handoffs/{a.handoff_id}/recall", {})
    ),
    "complete": Op(
        "handoff:accepted",
        lambda w, a: (
            "POST",
            f"/api/v1/handoffs/{a.handoff_id}/complete",
            {"note": "bagian kami selesai"},
        ),
    ),
}


def test_tables_cover_every_role_relation_and_operation() -> None:
    for role in ROLES:
        assert {op for op, _ in EXPECTED[role]} == set(OPS), role
        assert {rel for _, rel in EXPECTED[role]} == set(RELATIONS), role


# ---------------------------------------------------------------------------------------------
# Arranging a case in the wanted relation and state, through the services


def _as(world: World, unit: str, role: str = "staff"):  # type: ignore[no-untyped-def]
    return world.user(unit, role)


def _transfer(world: World, case_id: int, from_unit: str, to_unit: str, *, accept: bool) -> int:
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            _as(world, from_unit), case_id, "transfer", to_unit, "mohon ditangani", now_utc()
        )
    if accept:
        with unit_of_work():
            handoff_service.accept_handoff(_as(world, to_unit, "liaison"), handoff.id, now_utc())
    return handoff.id


def _assist(world: World, case_id: int, *, accept: bool) -> int:
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            _as(world, "kel-a1"), case_id, "assist", "dinas-pu", "mohon bantuan", now_utc()
        )
    if accept:
        with unit_of_work():
            handoff_service.accept_handoff(_as(world, "dinas-pu", "liaison"), handoff.id, now_utc())
    return handoff.id


def _walk(world: World, case_id: int, status: str) -> None:
    """Owner staff move the case from ``new`` or ``in_progress`` to ``status``."""
    staff = _as(world, "kel-a1")
    current = db.session.get(Case, case_id).status  # type: ignore[union-attr]
    if status == "new":
        return
    if current == "new":
        with unit_of_work():
            case_service.start_case(staff, case_id, now_utc())
    if status == "on_hold":
        with unit_of_work():
            case_service.hold_case(staff, case_id, "menunggu dokumen", now_utc())
    if status == "resolved":
        with unit_of_work():
            case_service.resolve_case(staff, case_id, "sudah ditangani", now_utc())


def arrange(world: World, relation: str, needs: str) -> Arranged:
    case = make_case(world, "kel-a1", title=f"Kasus {relation}")
    handoff_id = None
    if relation == "former":
        # kel-a1 -> kel-a2 -> back to kel-a1: two moves, below the bounce limit. Accepting a
        # transfer starts the case, so "new" cells run on an in_progress case here; for kel-a2
        # every such cell is refused before the state is looked at.
        _transfer(world, case.id, "kel-a1", "kel-a2", accept=True)
        _transfer(world, case.id, "kel-a2", "kel-a1", accept=True)
    if needs.startswith("handoff:"):
        if relation == "transfer":
            handoff_id = _transfer(world, case.id, "kel-a1", "dinas-pu", accept=False)
        else:
            handoff_id = _assist(world, case.id, accept=needs == "handoff:accepted")
    else:
        if relation == "assist":
            handoff_id = _assist(world, case.id, accept=True)
            if needs == "resolved":  # an open assist blocks resolving; its part is done
                with unit_of_work():
                    handoff_service.complete_handoff(
                        _as(world, "dinas-pu"), handoff_id, "beres", now_utc()
                    )
        if relation == "transfer":  # sent, then taken back: the case is with kel-a1 again
            handoff_id = _transfer(world, case.id, "kel-a1", "dinas-pu", accept=False)
            with unit_of_work():
                handoff_service.recall_handoff(_as(world, "kel-a1"), handoff_id, now_utc())
        _walk(world, case.id, needs)
    fresh = db.session.get(Case, case.id)
    db.session.refresh(fresh)
    return Arranged(case.id, f"{fresh.tracking_code[:4]}-{fresh.tracking_code[4:]}", handoff_id)


# ---------------------------------------------------------------------------------------------
# Observing: what a request changed


@dataclass(frozen=True)
class Snapshot:
    case_version: int
    case_status: str
    owner_unit_id: int
    events: int
    handoffs: int
    handoff_state: tuple[str, int] | None


def snapshot(arranged: Arranged) -> Snapshot:
    db.session.expire_all()
    row = db.session.execute(
        select(Case.version, Case.status, Case.owner_unit_id).where(Case.id == arranged.case_id)
    ).one()
    events = db.session.execute(
        select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == arranged.case_id)
    ).scalar_one()
    handoffs = db.session.execute(
        select(func.count()).select_from(Handoff).where(Handoff.case_id == arranged.case_id)
    ).scalar_one()
    handoff_state = None
    if arranged.handoff_id is not None:
        h = db.session.execute(
            select(Handoff.status, Handoff.version).where(Handoff.id == arranged.handoff_id)
        ).one()
        handoff_state = (h.status, h.version)
    return Snapshot(row.version, row.status, row.owner_unit_id, events, handoffs, handoff_state)


def call(client: FlaskClient, world: World, headers: dict[str, str], op: Op, arranged: Arranged):  # type: ignore[no-untyped-def]
    method, url, body = op.request(world, arranged)
    headers = dict(headers)
    if method == "PATCH":
        headers["If-Match"] = f'"{snapshot(arranged).case_version}"'
    return client.open(url, method=method, headers=headers, json=body)


def outcome(op_name: str, response: Any, arranged: Arranged) -> str:
    """The cell value the response stands for."""
    if op_name in ("list_cases", "search_code"):
        assert response.status_code == 200, response.json
        return "in" if arranged.case_id in {c["id"] for c in response.json} else "out"
    if op_name == "list_handoffs":
        assert response.status_code == 200, response.json
        return "in" if arranged.handoff_id in {h["id"] for h in response.json} else "out"
    return str(response.status_code)


# ---------------------------------------------------------------------------------------------
# The matrix


@pytest.mark.parametrize("op_name", list(OPS))
def test_permission_matrix(op_name: str, world: World, client: FlaskClient) -> None:
    """One operation, every relation and role: 32 cells (one world per operation keeps the
    matrix fast; a failure lists every cell that differs from the tables)."""
    op = OPS[op_name]
    mismatches: list[str] = []
    for relation, unit in RELATIONS.items():
        arranged: Arranged | None = None
        for role in ROLES:
            expected = EXPECTED[role][(op_name, relation)]
            if arranged is None:  # a refused request leaves the arrangement as it was: reuse it
                arranged = arrange(world, relation, op.needs)
            before = snapshot(arranged)
            response = call(client, world, world.headers(unit, role), op, arranged)
            after = snapshot(arranged)
            got = outcome(op_name, response, arranged)
            if after != before:
                arranged = None  # the next role gets a fresh case
            who = f"[{relation}] {unit}.{role} {op_name}"
            if got != expected:
                mismatches.append(
                    f"{who}: expected {expected}, got {got}: {response.get_data()[:200]!r}"
                )
                continue
            if response.status_code >= 400:
                body = response.json
                if body.get("code") != response.status_code or not body.get("message"):
                    mismatches.append(
                        f"{who}: {response.status_code} without the error shape: {body}"
                    )
            if not op.reads_only and expected.startswith("2"):
                if (
                    after.case_version <= before.case_version
                    and after.handoff_state == before.handoff_state
                ):
                    mismatches.append(f"{who}: {expected} but nothing changed")
            elif after != before:
                mismatches.append(
                    f"{who}: refused ({got}) but the case changed: {before} -> {after}"
                )
    assert not mismatches, "\n".join(mismatches)


# ---------------------------------------------------------------------------------------------
# Lists never leak: a population of cases and handoffs across both kecamatan and the agencies,
# and for every user the exact set the rules allow.


@dataclass
class Population:
    cases: dict[str, Case]
    handoffs: dict[str, int]


def build_population(world: World) -> Population:
    """Eight cases, named by how they came about:

    a1        recorded and owned by kel-a1, located in 12.71.01.1001
    a2        kel-a2, 12.71.01.1002
    camat     recorded by camat-a, located in 12.71.01.1001
    b1        kel-b1, 12.71.02.1001
    pu        recorded by kel-b1 for dinas-pu (owner_unit), located in 12.71.02.1001
    assisted  kel-a2's case, 12.71.01.1002, with a pending assist to dlh            (h: assist)
    incoming  kel-b1's case, 12.71.02.1001, with a pending transfer to kel-a1       (h: incoming)
    moved     kel-a1's case, 12.71.01.1001, transferred to dinas-pu and accepted   (h: moved)
    """
    cases = {
        "a1": make_case(world, "kel-a1", title="Pop a1"),
        "a2": make_case(world, "kel-a2", title="Pop a2", region_code="12.71.01.1002"),
        "camat": make_case(world, "camat-a", title="Pop camat"),
        "b1": make_case(world, "kel-b1", title="Pop b1", region_code="12.71.02.1001"),
        "pu": make_case(
            world, "kel-b1", title="Pop pu", region_code="12.71.02.1001", owner_unit="dinas-pu"
        ),
        "assisted": make_case(world, "kel-a2", title="Pop assisted", region_code="12.71.01.1002"),
        "incoming": make_case(world, "kel-b1", title="Pop incoming", region_code="12.71.02.1001"),
        "moved": make_case(world, "kel-a1", title="Pop moved"),
    }
    handoffs = {}
    with unit_of_work():
        handoffs["assist"] = handoff_service.request_handoff(
            world.user("kel-a2", "staff"), cases["assisted"].id, "assist", "dlh", None, now_utc()
        ).id
    handoffs["incoming"] = _transfer(world, cases["incoming"].id, "kel-b1", "kel-a1", accept=False)
    handoffs["moved"] = _transfer(world, cases["moved"].id, "kel-a1", "dinas-pu", accept=True)
    for case in cases.values():
        db.session.refresh(case)
    return Population(cases, handoffs)


ALL_CASES = {"a1", "a2", "camat", "b1", "pu", "assisted", "incoming", "moved"}
# Cases each unit's staff and liaisons read: what the unit recorded, owns, owned, assists on,
# or was sent a transfer for.
TOUCHED = {
    "kel-a1": {"a1", "incoming", "moved"},
    "kel-a2": {"a2", "assisted"},
    "camat-a": {"camat"},
    "camat-b": set(),
    "kel-b1": {"b1", "pu", "incoming"},
    "dinas-pu": {"pu", "moved"},
    "dlh": {"assisted"},
}
# Cases located in each unit's jurisdiction (added for its managers).
JURISDICTION = {
    "kel-a1": {"a1", "camat", "moved"},
    "kel-a2": {"a2", "assisted"},
    "camat-a": {"a1", "a2", "camat", "assisted", "moved"},
    "camat-b": {"b1", "pu", "incoming"},
    "kel-b1": {"b1", "pu", "incoming"},
    "dinas-pu": ALL_CASES,
    "dlh": ALL_CASES,
}
# Handoffs each unit's workers read (addressed to or sent by it) ...
HANDOFFS_OF_UNIT = {
    "kel-a1": {"incoming", "moved"},
    "kel-a2": {"assist"},
    "camat-a": set(),
    "camat-b": set(),
    "kel-b1": {"incoming"},
    "dinas-pu": {"moved"},
    "dlh": {"assist"},
}
# ... and the handoffs on cases in each unit's jurisdiction (added for its managers).
HANDOFFS_IN_JURISDICTION = {
    "kel-a1": {"moved"},
    "kel-a2": {"assist"},
    "camat-a": {"assist", "moved"},
    "camat-b": {"incoming"},
    "kel-b1": {"incoming"},
    "dinas-pu": {"assist", "incoming", "moved"},
    "dlh": {"assist", "incoming", "moved"},
}
USERS = [(unit, role) for unit in TOUCHED for role in ROLES]


def visible_cases(unit: str, role: str) -> set[str]:
    if role == "admin":
        return set()
    return TOUCHED[unit] | (JURISDICTION[unit] if role == "manager" else set())


def visible_handoffs(unit: str, role: str) -> set[str]:
    if role == "admin":
        return set()
    return HANDOFFS_OF_UNIT[unit] | (HANDOFFS_IN_JURISDICTION[unit] if role == "manager" else set())


def _names(pop: Population, ids: list[int]) -> set[str]:
    by_id = {case.id: name for name, case in pop.cases.items()}
    return {by_id.get(i, f"unknown-{i}") for i in ids}


def _code(case: Case) -> str:
    return f"{case.tracking_code[:4]}-{case.tracking_code[4:]}"


def test_case_lists_show_exactly_the_scope(world: World, client: FlaskClient) -> None:
    pop = build_population(world)
    problems = []
    for unit, role in USERS:
        headers = world.headers(unit, role)
        expected = visible_cases(unit, role)
        response = client.get("/api/v1/cases?page_size=100", headers=headers)
        assert response.status_code == 200, response.json
        got = _names(pop, [c["id"] for c in response.json])
        if got != expected:
            problems.append(
                f"{unit}.{role} GET /cases: expected {sorted(expected)}, got {sorted(got)}"
            )
        pagination = json.loads(response.headers.get("X-Pagination") or '{"total": 0}')
        if pagination.get("total", 0) != len(expected):
            problems.append(
                f"{unit}.{role}: X-Pagination {pagination} does not count {len(expected)}"
            )
        for name in ALL_CASES - expected:  # every path to an out-of-scope case is 404
            case_id = pop.cases[name].id
            for path in (
                f"/api/v1/cases/{case_id}",
                f"/api/v1/cases/{case_id}/events",
                f"/api/v1/cases/{case_id}/handoffs",
            ):
                status = client.get(path, headers=headers).status_code
                if status != 404:
                    problems.append(f"{unit}.{role} GET {path} ({name}): {status}, expected 404")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_filters_never_reach_past_the_scope(role: str, world: World, client: FlaskClient) -> None:
    """Searching for a case by its tracking code (as typed by a citizen, in any case and with or
    without the dash) or its title, or filtering by owner, status or category, finds only
    what the caller may read, and says nothing about the rest (same empty list, same total)."""
    pop = build_population(world)
    problems = []
    for unit in TOUCHED:
        headers = world.headers(unit, role)
        scope = visible_cases(unit, role)
        for name, case in pop.cases.items():
            wanted = {name} if name in scope else set()
            for q in (_code(case), _code(case).lower(), case.tracking_code, case.title):
                response = client.get("/api/v1/cases", headers=headers, query_string={"q": q})
                got = _names(pop, [c["id"] for c in response.json])
                if got != wanted:
                    problems.append(
                        f"{unit}.{role} q={q!r}: expected {sorted(wanted)}, got {sorted(got)}"
                    )
        for owner in TOUCHED:
            response = client.get(
                "/api/v1/cases",
                headers=headers,
                query_string={"owner_unit": owner, "page_size": 100},
            )
            got = _names(pop, [c["id"] for c in response.json])
            if not got <= scope:
                problems.append(f"{unit}.{role} owner_unit={owner}: leaked {sorted(got - scope)}")
        for query in (
            {"status": "new"},
            {"status": "pending_transfer"},
            {"category": "jalan-rusak"},
            {"priority": "normal"},
            {"breached": "false"},
            {"bounced": "false"},
            {"q": "Pop"},
        ):
            response = client.get(
                "/api/v1/cases", headers=headers, query_string={**query, "page_size": 100}
            )
            got = _names(pop, [c["id"] for c in response.json])
            if not got <= scope:
                problems.append(f"{unit}.{role} {query}: leaked {sorted(got - scope)}")
    assert not problems, "\n".join(problems)


def test_handoff_lists_show_exactly_the_scope(world: World, client: FlaskClient) -> None:
    pop = build_population(world)
    by_id = {hid: name for name, hid in pop.handoffs.items()}
    problems = []
    for unit, role in USERS:
        headers = world.headers(unit, role)
        expected = visible_handoffs(unit, role)
        response = client.get("/api/v1/handoffs?page_size=100", headers=headers)
        assert response.status_code == 200, response.json
        got = {by_id.get(h["id"], "?") for h in response.json}
        if got != expected:
            problems.append(
                f"{unit}.{role} GET /handoffs: expected {sorted(expected)}, got {sorted(got)}"
            )
        for query in (
            {"direction": "incoming"},
            {"direction": "outgoing"},
            {"status": "pending"},
            {"status": "accepted"},
            {"kind": "assist"},
            {"kind": "transfer"},
            {"overdue": "false"},
            {"overdue": "true"},
        ):
            response = client.get(
                "/api/v1/handoffs", headers=headers, query_string={**query, "page_size": 100}
            )
            assert response.status_code == 200, (query, response.json)
            got = {by_id.get(h["id"], "?") for h in response.json}
            if not got <= expected:
                problems.append(
                    f"{unit}.{role} GET /handoffs {query}: leaked {sorted(got - expected)}"
                )
        for name in set(pop.handoffs) - expected:
            status = client.get(
                f"/api/v1/handoffs/{pop.handoffs[name]}", headers=headers
            ).status_code
            if status != 404:
                problems.append(f"{unit}.{role} GET /handoffs/{name}: {status}, expected 404")
    assert not problems, "\n".join(problems)


def test_requests_without_a_valid_token_are_refused(world: World, client: FlaskClient) -> None:
    case = make_case(world)
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic a2VsOnB3"},
        {"Authorization": "Bearer coord_not-a-token"},
    ):
        for method, path in (
            ("GET", "/api/v1/cases"),
            ("GET", f"/api/v1/cases/{case.id}"),
            ("POST", f"/api/v1/cases/{case.id}/start"),
            ("GET", "/api/v1/handoffs"),
        ):
            response = client.open(
                path, method=method, headers=headers, json={} if method == "POST" else None
            )
            assert response.status_code == 401, (headers, path, response.json)
            assert response.json["code"] == 401 and response.json["message"]
    assert snapshot(Arranged(case.id, "", None)).case_status == "new"


# ---------------------------------------------------------------------------------------------
# Scope at the edges of single operations


def test_cancelling_as_duplicate_does_not_reveal_cases_outside_the_scope(
    world: World, client: FlaskClient
) -> None:
    """Naming an out-of-scope case as the original must look exactly like naming one that does
    not exist: otherwise ``duplicate_of`` is an oracle for which case ids exist elsewhere."""
    headers = world.headers("camat-a", "manager")
    case = make_case(world, "kel-a1")
    hidden = make_case(world, "kel-b1", region_code="12.71.02.1001")
    assert client.get(f"/api/v1/cases/{hidden.id}", headers=headers).status_code == 404
    before = snapshot(Arranged(case.id, "", None))
    answers = {}
    for label, original in (("out of scope", hidden.id), ("does not exist", hidden.id + 1000)):
        response = client.post(
            f"/api/v1/cases/{case.id}/cancel",
            headers=headers,
            json={"reason": "duplicate", "duplicate_of": original},
        )
        answers[label] = (response.status_code, response.json.get("errors"))
    assert answers["out of scope"] == answers["does not exist"], answers
    assert answers["does not exist"][0] == 422 and "duplicate_of" in answers["does not exist"][1]
    assert snapshot(Arranged(case.id, "", None)) == before


def test_the_current_owner_can_withdraw_an_assist_its_predecessor_asked_for(
    world: World, client: FlaskClient
) -> None:
    """DESIGN.md 4: a case cannot be resolved while an assist is open "unless the owner withdraws
    it". After a transfer the owner is the new unit; it must be able to see and withdraw the
    assistance request the previous owner made, or the case cannot be resolved by its owner."""
    case = make_case(world, "kel-a1")
    assist_id = _assist(world, case.id, accept=True)  # kel-a1 -> dinas-pu
    _transfer(world, case.id, "kel-a1", "dlh", accept=True)  # dlh owns the case now
    owner = world.headers("dlh", "staff")
    listed = client.get(f"/api/v1/cases/{case.id}/handoffs", headers=owner)
    assert assist_id in {h["id"] for h in listed.json}
    assert client.get(f"/api/v1/handoffs/{assist_id}", headers=owner).status_code == 200
    withdrawn = client.post(
        f"/api/v1/handoffs/{assist_id}/recall", headers=owner, json={"note": "tidak perlu"}
    )
    assert withdrawn.status_code == 200, withdrawn.json
    resolved = client.post(
        f"/api/v1/cases/{case.id}/resolve", headers=owner, json={"note": "selesai"}
    )
    assert resolved.status_code == 200, resolved.json


# ---------------------------------------------------------------------------------------------
# Configuration commands (docs/permissions.md, "Configuration"): who may configure which unit.
#
# An admin's jurisdiction is their own unit; for a camat office also every unit whose region
# lies in its kecamatan, for the city office (``pemkot``) every unit in the city. Agencies and
# offices other than the admin's own need an admin whose jurisdiction holds every active unit
# (here only the city office's). Refused: 403 (the unit directory is public, so naming a unit
# reveals nothing). Rows are ``unit.role`` callers, columns the target unit.

from tests.api.test_cases_api import assert_error  # noqa: E402
from tests.webhook_receiver import webhook_app as webhook_app  # noqa: E402  (a fixture)

CONFIGURE_UNIT = """
actor             pemkot camat-a kel-a1 kel-b1 camat-b dinas-pu dlh
pemkot.admin      200    200     200    200    200     200      200
camat-a.admin     403    200     200    403    403     403      403
kel-a1.admin      403    403     200    403    403     403      403
camat-b.admin     403    403     403    200    200     403      403
dinas-pu.admin    403    403     403    403    403     200      403
dinas-pu.liaison  403    403     403    403    403     403      403
camat-a.manager   403    403     403    403    403     403      403
"""

# Webhook endpoints: as above, and liaisons manage their own unit's endpoints.
MANAGE_WEBHOOKS = """
actor             pemkot camat-a kel-a1 kel-b1 camat-b dinas-pu dlh
pemkot.admin      201    201     201    201    201     201      201
camat-a.admin     403    201     201    403    403     403      403
kel-a1.admin      403    403     201    403    403     403      403
camat-b.admin     403    403     403    201    201     403      403
dinas-pu.admin    403    403     403    403    403     201      403
dinas-pu.liaison  403    403     403    403    403     201      403
camat-a.manager   403    403     403    403    403     403      403
"""

# Creating a unit of a kind at a region: a kelurahan unit inside the admin's jurisdiction;
# agencies, camat offices and city offices only with city-wide scope.
NEW_UNITS = {
    "kel@A": ("kelurahan", "12.71.01.1002"),
    "kel@B": ("kelurahan", "12.71.02.1001"),
    "camat@A": ("camat_office", "12.71.01"),
    "agency@A": ("agency", "12.71.01"),
    "agency@city": ("agency", "12.71"),
    "city@city": ("city_office", "12.71"),
}
CREATE_UNIT = """
actor             kel@A kel@B camat@A agency@A agency@city city@city
pemkot.admin      201   201   201     201      201         201
camat-a.admin     201   403   403     403      403         403
kel-a1.admin      403   403   403     403      403         403
dinas-pu.admin    403   403   403     403      403         403
camat-a.manager   403   403   403     403      403         403
"""

# Publishing an SLA policy version (a city-wide service standard).
PUBLISH_POLICY = """
actor             sampah
pemkot.admin      201
camat-a.admin     403
camat-b.admin     403
kel-a1.admin      403
dinas-pu.admin    403
dlh.admin         403
camat-a.manager   403
"""


def parse_grid(text: str) -> dict[tuple[str, str], int]:
    lines = [line.split() for line in text.strip().splitlines()]
    header, rows = lines[0][1:], lines[1:]
    grid = {}
    for actor, *cells in rows:
        assert len(cells) == len(header), actor
        for column, cell in zip(header, cells, strict=True):
            grid[(actor, column)] = int(cell)
    return grid


def _headers(world: World, actor: str) -> dict[str, str]:
    unit, role = actor.split(".")
    return world.headers(unit, role)


def _unit_row(code: str) -> tuple[Any, ...]:
    db.session.rollback()
    from coord.models import Unit

    unit = db.session.execute(select(Unit).where(Unit.code == code)).scalar_one()
    return (unit.name, unit.active, json.dumps(unit.calendar, sort_keys=True))


def _check_grid(grid_text: str, world: World, send: Callable[[str, str], Any]) -> None:
    """Send every cell's request; compare statuses; a refused cell changed nothing."""
    failures = []
    for (actor, column), expected in parse_grid(grid_text).items():
        before = _unit_row(column) if expected >= 400 and column in world.units else None
        response = send(actor, column)
        if response.status_code != expected:
            failures.append(f"{actor} -> {column}: {response.status_code}, expected {expected}")
        elif before is not None and _unit_row(column) != before:
            failures.append(f"{actor} -> {column}: refused but changed the unit")
    assert not failures, "\n".join(failures)


def test_units_are_edited_only_within_the_admins_jurisdiction(
    world: World, client: FlaskClient
) -> None:
    def send(actor: str, code: str) -> Any:
        return client.patch(
            f"/api/v1/units/{code}", headers=_headers(world, actor), json={"name": f"By {actor}"}
        )

    _check_grid(CONFIGURE_UNIT, world, send)


def test_calendars_are_replaced_only_within_the_admins_jurisdiction(
    world: World, client: FlaskClient
) -> None:
    calendar = {"hours": {"0": [["07:30", "15:30"]]}, "extra_closed": ["2026-03-25"]}

    def send(actor: str, code: str) -> Any:
        return client.put(
            f"/api/v1/units/{code}/calendar", headers=_headers(world, actor), json=calendar
        )

    _check_grid(CONFIGURE_UNIT, world, send)


def test_webhook_endpoints_are_managed_only_within_the_admins_jurisdiction(
    webhook_app: Any, world: World, client: FlaskClient
) -> None:
    from coord.models import WebhookEndpoint

    def send(actor: str, code: str) -> Any:
        return client.post(
            f"/api/v1/units/{code}/webhooks",
            headers=_headers(world, actor),
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["handoff.requested"]},
        )

    _check_grid(MANAGE_WEBHOOKS, world, send)
    allowed = sum(1 for status in parse_grid(MANAGE_WEBHOOKS).values() if status == 201)
    assert db.session.execute(select(func.count(WebhookEndpoint.id))).scalar_one() == allowed

    # An endpoint of kel-b1 (kecamatan B) is not found for camat-a's admin, whatever the verb.
    hook = send("camat-b.admin", "kel-b1").get_json()
    other = _headers(world, "camat-a.admin")
    for method, path in (
        ("get", f"/api/v1/webhooks/{hook['id']}"),
        ("patch", f"/api/v1/webhooks/{hook['id']}"),
        ("delete", f"/api/v1/webhooks/{hook['id']}"),
        ("post", f"/api/v1/webhooks/{hook['id']}/rotate"),
        ("post", f"/api/v1/webhooks/{hook['id']}/ping"),
        ("get", "/api/v1/units/kel-b1/webhooks"),
    ):
        status = getattr(client, method)(path, headers=other, json={}).status_code
        assert status in (403, 404), (method, path, status)


def test_units_are_created_only_within_the_admins_jurisdiction(
    world: World, client: FlaskClient
) -> None:
    from coord.models import Unit

    def send(actor: str, column: str) -> Any:
        kind, region = NEW_UNITS[column]
        code = f"{actor.split('.')[0]}-{column.replace('@', '-at-').lower()}"
        return client.post(
            "/api/v1/units",
            headers=_headers(world, actor),
            json={"code": code, "name": f"Unit {code}", "kind": kind, "region_code": region},
        )

    _check_grid(CREATE_UNIT, world, send)
    created = set(db.session.execute(select(Unit.code)).scalars()) - set(world.units)
    expected = {
        f"{actor.split('.')[0]}-{column.replace('@', '-at-').lower()}"
        for (actor, column), status in parse_grid(CREATE_UNIT).items()
        if status == 201
    }
    assert created == expected


def test_a_unit_kind_sits_at_its_region_level(world: World, client: FlaskClient) -> None:
    admin = world.headers("pemkot", "admin")
    for kind, region in (
        ("kelurahan", "12.71"),
        ("kelurahan", "12"),
        ("camat_office", "12.71.01.1001"),
        ("city_office", "12.71.01"),
    ):
        response = client.post(
            "/api/v1/units",
            headers=admin,
            json={"code": "salah-tempat", "name": "X", "kind": kind, "region_code": region},
        )
        assert_error(response, 422, "region_code")


def test_units_are_deactivated_only_within_the_jurisdiction_and_never_ones_own(
    world: World, client: FlaskClient
) -> None:
    cases = [
        ("camat-b.admin", "kel-a1", 403),  # another kecamatan's kelurahan
        ("kel-a1.admin", "kel-a2", 403),  # the neighbouring kelurahan
        ("camat-a.admin", "camat-a", 403),  # one's own unit: would lock its admins out
        ("dinas-pu.admin", "dlh", 403),  # another agency
        ("camat-a.admin", "kel-a2", 200),
        ("pemkot.admin", "dlh", 200),
    ]
    for actor, code, expected in cases:
        response = client.patch(
            f"/api/v1/units/{code}", headers=_headers(world, actor), json={"active": False}
        )
        assert response.status_code == expected, (actor, code, response.get_json())
        assert _unit_row(code)[1] is (expected != 200)


def test_sla_policies_are_published_only_with_city_wide_scope(
    world: World, client: FlaskClient
) -> None:
    body = {
        "priority": "high",
        "response_minutes": 240,
        "resolution_minutes": 960,
        "handoff_ack_minutes": 120,
    }

    def send(actor: str, category: str) -> Any:
        return client.post(
            f"/api/v1/categories/{category}/policies", headers=_headers(world, actor), json=body
        )

    _check_grid(PUBLISH_POLICY, world, send)
    versions = client.get(
        "/api/v1/categories/sampah/policies", headers=world.headers("kel-a1", "staff")
    ).get_json()
    assert [p["version"] for p in versions if p["priority"] == "high"] == [1, 2]


def test_city_wide_scope_is_every_active_unit_not_a_unit_kind(
    world: World, client: FlaskClient
) -> None:
    """Once an active unit lies outside the city office's city, it no longer has city-wide
    scope; when that unit is deactivated, it has it again."""
    from coord.models import Unit
    from tests.factories import make_region

    body = {
        "priority": "low",
        "response_minutes": 240,
        "resolution_minutes": 960,
        "handoff_ack_minutes": 120,
    }
    admin = world.headers("pemkot", "admin")
    with unit_of_work():
        make_region("12.72", "Kota Binjai", "city", "12")
        db.session.add(
            Unit(
                code="pemkot-binjai", name="Pemkot Binjai", kind="city_office", region_code="12.72"
            )
        )
    url = "/api/v1/categories/sampah/policies"
    assert client.post(url, headers=admin, json=body).status_code == 403
    with unit_of_work():
        db.session.execute(
            select(Unit).where(Unit.code == "pemkot-binjai")
        ).scalar_one().active = False
    assert client.post(url, headers=admin, json=body).status_code == 201

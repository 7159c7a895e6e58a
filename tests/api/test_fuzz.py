"""Fuzzing the JSON API: no input, however malformed, gets a 500 (DESIGN.md section 7).

Three layers, all against the real database of the run (PostgreSQL or SQLite):

1. Schema-driven, with schemathesis 4: every operation of ``/api/v1/openapi.json`` is called
   with generated valid and invalid inputs (its examples and fuzzing phases, plus the coverage
   phase in the staff run), authenticated as a kelurahan staff member and as a camat-office
   manager, and the configuration endpoints also as an admin. The database is seeded first,
   and most generated ids and codes are pointed at rows that exist so that requests get past
   the 404 and reach the services.
2. Our own Hypothesis strategies: valid request bodies of every write endpoint with one part
   replaced by something hostile (nested objects, huge integers, NUL characters, very long
   strings, wrong types, unicode), plus hostile query strings and ``If-Match`` /
   ``Idempotency-Key`` headers. Every 4xx must have the one error shape
   ``{code, status, message[, errors]}``, and a 422 must name the field at fault in ``errors``.
3. Raw bodies no JSON encoder produces (deep nesting, giant number literals, bad UTF-8, lone
   UTF-16 surrogates).

Everything is derandomised (fixed seed, no example database): CI sees the same inputs on every
run. A modest number of examples per operation keeps the file under 90 s per database.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import socket
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from sqlalchemy import select

from coord.clock import now_utc
from coord.extensions import db
from coord.models import Case, Handoff, Unit
from coord.services import handoffs as handoff_service
from coord.services.uow import unit_of_work
from tests.factories import World, case_in_status, make_case

SEED = 20260304
OPERATION_EXAMPLES = 15  # per operation and caller; the API has 50+ operations
HOSTILE_EXAMPLES = 40
KELURAHAN = ["12.71.01.1001", "12.71.01.1002", "12.71.02.1001"]
CATEGORIES = ["jalan-rusak", "sampah"]

CALLERS = {
    "staff": ("kel-a1", "staff"),
    "manager": ("camat-a", "manager"),
    "admin": ("camat-a", "admin"),
    "liaison": ("dinas-pu", "liaison"),
    "assistant": ("dinas-pu", "staff"),
}


# ---------------------------------------------------------------------------------------------
# checks shared by every layer


def assert_not_server_error(status: int, body: bytes, what: str) -> None:
    assert status < 500, f"{what}\n-> {status}: {body[:400]!r}"


def assert_error_shape(status: int, payload: Any, what: str) -> None:
    """Every 4xx uses flask-smorest's shape: ``code`` (= the status), ``status``, ``message``
    and, when there are field errors, an ``errors`` object."""
    assert isinstance(payload, dict), (
        f"{what}\n-> {status} without a JSON error object: {payload!r}"
    )
    assert payload.get("code") == status, f"{what}\n-> {status} but code {payload.get('code')!r}"
    assert isinstance(payload.get("status"), str) and payload["status"], (
        f"{what}\n-> no status phrase"
    )
    assert isinstance(payload.get("message"), str) and payload["message"], f"{what}\n-> no message"
    if "errors" in payload:
        assert isinstance(payload["errors"], dict), f"{what}\n-> errors is not an object"


def check_response(status: int, content_type: str, raw: bytes, what: str) -> Any:
    """No 5xx; every 4xx is JSON in the error shape. Returns the parsed 4xx body (or None)."""
    assert_not_server_error(status, raw, what)
    if status < 400:
        return None
    assert content_type.startswith("application/json"), f"{what}\n-> {status} as {content_type}"
    payload = json.loads(raw)
    assert_error_shape(status, payload, what)
    return payload


def error_keys(errors: Any) -> set[str]:
    """Every key at any depth of ``errors`` (``{"json": {"reporter": {"nik": [...]}}}``)."""
    keys: set[str] = set()
    if isinstance(errors, dict):
        for key, value in errors.items():
            keys.add(str(key))
            keys |= error_keys(value)
    return keys


def names_field(errors: Any, name: str) -> bool:
    """``name`` appears as an error key, or inside one (``privacy`` in ``reporter_privacy``)."""
    return any(name == key or name in key for key in error_keys(errors))


def pick(options: list[Any], salt: Any) -> Any:
    """A stable choice driven by the generated data (``hash()`` is salted per process)."""
    return options[zlib.crc32(repr(salt).encode()) % len(options)]


# ---------------------------------------------------------------------------------------------
# seeded data


@dataclass
class Seeded:
    world: World
    case_ids: list[int] = field(default_factory=list)
    handoff_ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)
    unit_codes: list[str] = field(default_factory=list)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


def seed_data(world: World) -> Seeded:
    """Cases in every status in kecamatan A (kel-a1 staff and the camat-a manager read them),
    one in kecamatan B and one confidential one at the camat office, and handoffs both
    pending and accepted, so that every path id can name a row that exists."""
    seeded = Seeded(world)
    for status in ("new", "in_progress", "on_hold", "resolved", "closed", "pending_transfer"):
        seeded.case_ids.append(case_in_status(world, status).id)
    seeded.case_ids.append(make_case(world, "kel-b1", region_code="12.71.02.1001").id)
    seeded.case_ids.append(make_case(world, "camat-a", reporter_privacy="confidential").id)
    assisted = make_case(world)
    seeded.case_ids.append(assisted.id)
    staff = world.user("kel-a1", "staff")
    with unit_of_work():
        handoff_service.request_handoff(staff, assisted.id, "assist", "dlh", "bantu", now_utc())
    with unit_of_work():
        accepted = handoff_service.request_handoff(
            staff, assisted.id, "assist", "dinas-pu", "bantu", now_utc()
        )
    with unit_of_work():
        handoff_service.accept_handoff(world.user("dinas-pu", "liaison"), accepted.id, now_utc())
    seeded.handoff_ids = list(db.session.execute(select(Handoff.id).order_by(Handoff.id)).scalars())
    seeded.user_ids = [u.id for u in world.users.values()]
    seeded.unit_codes = list(db.session.execute(select(Unit.code).order_by(Unit.code)).scalars())
    for name, (unit, role) in CALLERS.items():
        seeded.headers[name] = world.headers(unit, role)
    return seeded


@pytest.fixture
def seeded(world: World) -> Seeded:
    return seed_data(world)


@pytest.fixture(autouse=True)
def _no_side_effects_outside_the_test(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fuzzed uploads go to a temporary folder, and fuzzed webhook host names never reach a
    real resolver (every name "resolves" to a documentation address; IP literals stay real)."""
    monkeypatch.setitem(app.config, "COORD_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            ipaddress.ip_address(str(host))
        except ValueError:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port or 443))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# ---------------------------------------------------------------------------------------------
# 1. schemathesis over the OpenAPI document


def schemathesis_config(*, coverage: bool) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["all"],
            "generation": {
                "deterministic": True,
                "database": "none",
                "max-examples": OPERATION_EXAMPLES,
            },
            # The coverage phase (boundary values, missing and wrong-typed fields, unexpected
            # methods) is thorough but slow: one run has it. Stateful (link-following) runs
            # belong to a CLI run against a server.
            "phases": {"stateful": {"enabled": False}, "coverage": {"enabled": coverage}},
        }
    )


FUZZ_SETTINGS = settings(
    max_examples=OPERATION_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
# Our own strategies are cheaper per example than a schemathesis operation: more of them.
HOSTILE_SETTINGS = settings(FUZZ_SETTINGS, max_examples=HOSTILE_EXAMPLES)


@pytest.fixture
def api_schema(app: Flask, seeded: Seeded):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", app, config=schemathesis_config(coverage=False)
    )


@pytest.fixture
def api_schema_with_coverage(app: Flask, seeded: Seeded):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", app, config=schemathesis_config(coverage=True)
    )


lazy_schema = schemathesis.pytest.from_fixture("api_schema")
lazy_schema_with_coverage = schemathesis.pytest.from_fixture("api_schema_with_coverage")


@pytest.fixture(autouse=True)
def _schemathesis_pytest9_node_id(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32's lazy loader reads and rewrites ``Function._nodeid``, which pytest 9.2
    # no longer has; give it one so the per-operation subtests can run and be labelled.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid  # type: ignore[attr-defined]


def _steer(case: Any, seeded: Seeded) -> None:
    """Point most generated ids and codes at seeded rows so that requests reach the services;
    every fifth id stays as generated (mostly unknown ids, which must be a clean 404)."""
    params = case.path_parameters or {}
    for name, pool in (("case_id", seeded.case_ids), ("handoff_id", seeded.handoff_ids)):
        value = params.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1 and value % 5:
            params[name] = pool[value % len(pool)]
    if isinstance(params.get("code"), str) and pick([True, True, False], params["code"]):
        params["code"] = pick(seeded.unit_codes, params["code"])
    body = case.body
    if not isinstance(body, dict) or not pick([True, True, True, False], body):
        return
    for key, pool in (
        ("category", CATEGORIES),
        ("owner_unit", seeded.unit_codes),
        ("to_unit", seeded.unit_codes),
        ("region_code", KELURAHAN),
    ):
        if isinstance(body.get(key), str):
            body[key] = pick(pool, body[key])
    if isinstance(body.get("location"), dict) and isinstance(
        body["location"].get("region_code"), str
    ):
        body["location"]["region_code"] = pick(KELURAHAN, body["location"]["region_code"])
    for key, pool in (("assignee_id", seeded.user_ids), ("duplicate_of", seeded.case_ids)):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            body[key] = pick(pool, value)
    if case.method.upper() == "PATCH" and "case_id" in params and case.headers is not None:
        target = (
            db.session.get(Case, params["case_id"]) if isinstance(params["case_id"], int) else None
        )
        if target is not None and pick([True, False], case.headers.get("If-Match")):
            db.session.refresh(target)
            case.headers["If-Match"] = f'"{target.version}"'


def _call_and_check(case: Any, seeded: Seeded, app: Flask, caller: str) -> None:
    _steer(case, seeded)
    headers = seeded.headers[caller]
    response = case.call(headers=headers, app=app)
    what = f"as {caller}: {case.as_curl_command(headers=headers)}"
    content_type = (response.headers.get("content-type") or [""])[0]
    check_response(response.status_code, content_type, response.content, what)


@lazy_schema_with_coverage.parametrize()
@FUZZ_SETTINGS
@pytest.mark.timeout(900)  # every operation runs inside this one test
def test_openapi_operations_as_staff(case, seeded, app):  # type: ignore[no-untyped-def]
    _call_and_check(case, seeded, app, "staff")


# The public (citizen) endpoints do not depend on the caller: the staff run covers them.
@lazy_schema.include(path_regex=r"^/api/v1/").parametrize()
@FUZZ_SETTINGS
@pytest.mark.timeout(900)  # every operation runs inside this one test
def test_openapi_operations_as_manager(case, seeded, app):  # type: ignore[no-untyped-def]
    _call_and_check(case, seeded, app, "manager")


# Admins configure: their run covers the configuration endpoints (case endpoints refuse them
# before any parsing that the other two runs do not already exercise).
@lazy_schema.include(path_regex=r"^/api/v1/(units|categories|webhooks|deliveries)").parametrize()
@FUZZ_SETTINGS
@pytest.mark.timeout(900)  # every operation runs inside this one test
def test_openapi_configuration_operations_as_admin(case, seeded, app):  # type: ignore[no-untyped-def]
    _call_and_check(case, seeded, app, "admin")


# ---------------------------------------------------------------------------------------------
# 2. hostile values inside otherwise valid requests

TEXT = st.characters(codec="utf-8")  # any code point JSON can carry (no lone surrogates)
HUGE_INTS = st.sampled_from(
    [2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 0, -1]
)
SPECIAL_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "null",
        "1",
        "-1",
        "1e309",
        "²",
        "١٢٣",
        "😀😀😀",
        "\u202e\u200b",
        "1234567890123456\n",
        "081234567890\n",
        "a@b.c\n",
        "new",
        "duplicate",
        "other",
        "spam",
        "assist",
        "transfer",
        "kel-a1",
        "dlh",
        "12.71.01.1001",
        "12.71",
        "jalan-rusak",
        "named",
        "anonymous",
        "confidential",
        "public",
        "internal",
        "2026-03-04T10:00:00",
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "9999-12-31T23:59:59+14:00",
    ]
)
LONG_STRINGS = st.builds(
    lambda ch, n: ch * n,
    st.sampled_from(["a", "\x00", "é", "😀", " ", "9"]),
    st.sampled_from([17, 65, 201, 256, 2001, 10_001, 50_000]),
)
STRINGS = st.one_of(st.text(TEXT, max_size=24), SPECIAL_STRINGS, LONG_STRINGS)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE_INTS,
    st.floats(allow_nan=True, allow_infinity=True),
    STRINGS,
)
HOSTILE = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(TEXT, max_size=8), children, max_size=3),
    ),
    max_leaves=8,
)

CREATE_BODY = {
    "title": "Lampu jalan mati",
    "description": "Tiga tiang lampu padam sejak minggu lalu",
    "category": "jalan-rusak",
    "priority": "high",
    "channel": "phone",
    "received_at": "2026-03-04T09:00:00+07:00",
    "reporter": {
        "privacy": "named",
        "name": "Rina",
        "phone": "081234500001",
        "email": "rina@example.com",
        "nik": "1271010101010002",
    },
    "location": {
        "region_code": "12.71.01.1001",
        "address": "Jl. Mawar 1",
        "latitude": 3.58,
        "longitude": 98.67,
    },
}
EDIT_BODY = {
    "title": "Lampu jalan mati (3 tiang)",
    "priority": "urgent",
    "category": "sampah",
    "location": {
        "region_code": "12.71.01.1002",
        "address": "Jl. Melati 2",
        "latitude": 3.5,
        "longitude": 98.6,
    },
}


@dataclass(frozen=True)
class Target:
    """A write endpoint, who calls it, a valid body, and what its subject must look like."""

    method: str
    path: str  # ``{case}`` / ``{handoff}`` are filled with a subject in the state ``needs``
    caller: str
    body: Callable[[World], dict[str, Any]]
    needs: str | None = None


def _const(body: dict[str, Any]) -> Callable[[World], dict[str, Any]]:
    return lambda world: copy.deepcopy(body)


TARGETS: dict[str, Target] = {
    "create": Target("POST", "/api/v1/cases", "staff", _const(CREATE_BODY)),
    "edit": Target("PATCH", "/api/v1/cases/{case}", "staff", _const(EDIT_BODY), "new"),
    "start": Target(
        "POST", "/api/v1/cases/{case}/start", "staff", _const({"note": "mulai"}), "new"
    ),
    "assign": Target(
        "POST",
        "/api/v1/cases/{case}/assign",
        "staff",
        lambda w: {"assignee_id": w.user("kel-a1", "liaison").id, "note": "tolong"},
        "new",
    ),
    "reassign": Target(
        "POST",
        "/api/v1/cases/{case}/assign",
        "manager",
        lambda w: {
            "owner_unit": "kel-a2",
            "assignee_id": w.user("kel-a2", "staff").id,
            "note": "diputuskan camat",
        },
        "new",
    ),
    "hold": Target(
        "POST",
        "/api/v1/cases/{case}/hold",
        "staff",
        _const({"reason": "menunggu warga"}),
        "in_progress",
    ),
    "resume": Target(
        "POST", "/api/v1/cases/{case}/resume", "staff", _const({"note": "lanjut"}), "on_hold"
    ),
    "resolve": Target(
        "POST", "/api/v1/cases/{case}/resolve", "staff", _const({"note": "sudah"}), "in_progress"
    ),
    "reopen": Target(
        "POST",
        "/api/v1/cases/{case}/reopen",
        "staff",
        _const({"reason": "belum beres"}),
        "resolved",
    ),
    "close": Target(
        "POST", "/api/v1/cases/{case}/close", "staff", _const({"note": "tutup"}), "resolved"
    ),
    "cancel": Target(
        "POST",
        "/api/v1/cases/{case}/cancel",
        "manager",
        _const({"reason": "spam", "note": "iklan"}),
        "new",
    ),
    "comment": Target(
        "POST",
        "/api/v1/cases/{case}/comments",
        "staff",
        _const({"body": "sudah dicek", "visibility": "public"}),
        "new",
    ),
    "forward": Target(
        "POST",
        "/api/v1/cases/{case}/handoffs",
        "staff",
        _const({"kind": "transfer", "to_unit": "dinas-pu", "note": "mohon"}),
        "new",
    ),
    "assist": Target(
        "POST",
        "/api/v1/cases/{case}/handoffs",
        "staff",
        _const({"kind": "assist", "to_unit": "dlh", "note": "bantu angkut"}),
        "new",
    ),
    "accept": Target(
        "POST", "/api/v1/handoffs/{handoff}/accept", "liaison", _const({"note": "ok"}), "pending"
    ),
    "reject": Target(
        "POST",
        "/api/v1/handoffs/{handoff}/reject",
        "liaison",
        _const({"reason": "not_our_jurisdiction", "note": "bukan kami"}),
        "pending",
    ),
    "recall": Target(
        "POST", "/api/v1/handoffs/{handoff}/recall", "staff", _const({"note": "batal"}), "pending"
    ),
    "complete": Target(
        "POST",
        "/api/v1/handoffs/{handoff}/complete",
        "assistant",
        _const({"note": "bagian kami selesai"}),
        "accepted",
    ),
}


class Subjects:
    """Hands out a case (or handoff) in the state a target needs, reusing it while it still
    is in that state: most fuzzed requests are refused and leave it as it was."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.current: dict[str, int] = {}

    def case(self, status: str) -> Case:
        case_id = self.current.get(status)
        if case_id is not None:
            case = db.session.get(Case, case_id)
            if case is not None:
                db.session.refresh(case)
                if case.status == status and not _has_open_assist(case):
                    return case
        case = case_in_status(self.world, status)
        self.current[status] = case.id
        return case

    def handoff(self, status: str) -> Handoff:
        key = f"handoff:{status}"
        handoff_id = self.current.get(key)
        if handoff_id is not None:
            handoff = db.session.get(Handoff, handoff_id)
            if handoff is not None:
                db.session.refresh(handoff)
                if handoff.status == status:
                    return handoff
        case = make_case(self.world)
        with unit_of_work():
            handoff = handoff_service.request_handoff(
                self.world.user("kel-a1", "staff"),
                case.id,
                "assist",
                "dinas-pu",
                "bantu",
                now_utc(),
            )
        if status == "accepted":
            with unit_of_work():
                handoff_service.accept_handoff(
                    self.world.user("dinas-pu", "liaison"), handoff.id, now_utc()
                )
        self.current[key] = handoff.id
        return db.session.get(Handoff, handoff.id)  # type: ignore[return-value]


def _has_open_assist(case: Case) -> bool:
    return any(h.kind == "assist" and h.status in ("pending", "accepted") for h in case.handoffs)


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))


@st.composite
def mutations(draw: st.DrawFn, base: dict[str, Any]) -> tuple[Any, str | None]:
    """``(body, field)``: ``base`` with one field replaced, dropped or added (``field`` is the
    name a 422 must mention), or a wholly hostile body (``field`` None)."""
    how = draw(
        st.sampled_from(["replace", "replace", "replace", "replace", "drop", "extra", "whole"])
    )
    if how == "whole":
        return draw(HOSTILE), None
    body = copy.deepcopy(base)
    if how == "extra":
        containers = [()] + [p for p in _paths(base) if isinstance(_get(base, p), dict)]
        parent = draw(st.sampled_from(containers))
        name = draw(
            st.text(TEXT, min_size=1, max_size=12).filter(lambda k: k not in _get(base, parent))
        )
        _get(body, parent)[name] = draw(HOSTILE)
        return body, name
    path = draw(st.sampled_from(list(_paths(base))))
    parent = _get(body, path[:-1])
    if how == "drop":
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(HOSTILE)
    return body, path[-1]


def _get(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


# Fields whose value can make a rule about *another* field fail (the 422 names that one).
# Cancelling as a duplicate needs duplicate_of; rejecting for 'other' needs a note; a named or
# confidential reporter needs a name; an assignee must belong to the new owner unit.
CROSS_FIELD = {
    "reason": {"duplicate_of", "note"},
    "privacy": {"name"},
    "owner_unit": {"assignee_id"},
}


@pytest.mark.parametrize("name", list(TARGETS))
def test_hostile_values_in_write_requests(name: str, world: World, client: FlaskClient) -> None:
    target = TARGETS[name]
    headers = world.headers(*CALLERS[target.caller])
    subjects = Subjects(world)
    base = target.body(world)

    @HOSTILE_SETTINGS
    @given(mutation=mutations(base))
    def run(mutation: tuple[Any, str | None]) -> None:
        body, field_name = mutation
        url, request_headers = target.path, dict(headers)
        if "{case}" in url:
            case = subjects.case(target.needs or "new")
            url = url.replace("{case}", str(case.id))
            if target.method == "PATCH":
                request_headers["If-Match"] = f'"{case.version}"'
        if "{handoff}" in url:
            url = url.replace("{handoff}", str(subjects.handoff(target.needs or "pending").id))
        response = client.open(url, method=target.method, headers=request_headers, json=body)
        what = f"{target.method} {url} as {target.caller} with {body!r:.600}"
        payload = check_response(
            response.status_code, response.content_type or "", response.get_data(), what
        )
        if response.status_code == 422:
            assert payload.get("errors"), f"{what}\n-> 422 without field errors: {payload}"
            if field_name is not None:
                accepted = {field_name} | CROSS_FIELD.get(field_name, set())
                assert any(names_field(payload["errors"], n) for n in accepted), (
                    f"{what}\n-> 422 does not name {field_name!r}: {payload['errors']}"
                )

    run()


@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "status",
                "owner_unit",
                "category",
                "priority",
                "breached",
                "bounced",
                "due_before",
                "updated_since",
                "q",
                "page",
                "page_size",
                "direction",
                "kind",
                "overdue",
                "x",
            ]
        ),
        st.one_of(STRINGS, HUGE_INTS.map(str), st.integers().map(str)),
        max_size=4,
    )
)
@HOSTILE_SETTINGS
def test_hostile_query_strings(params: dict[str, str], world: World, client: FlaskClient) -> None:
    headers = world.headers("camat-a", "manager")
    for path in ("/api/v1/cases", "/api/v1/handoffs"):
        response = client.get(path, headers=headers, query_string=params)
        what = f"GET {path} with {params!r:.600}"
        check_response(response.status_code, response.content_type or "", response.get_data(), what)


@pytest.mark.parametrize("page", [str(2**62), str(2**63), "10000000000000000000000"])
def test_pages_far_beyond_the_last_one(page: str, world: World, client: FlaskClient) -> None:
    """An offset past what the database's 64-bit integers hold must be refused or empty."""
    headers = world.headers("camat-a", "manager")
    for path in ("/api/v1/cases", "/api/v1/handoffs"):
        response = client.get(path, headers=headers, query_string={"page": page})
        what = f"GET {path}?page={page}"
        check_response(response.status_code, response.content_type or "", response.get_data(), what)
        assert response.status_code in (200, 422), f"{what} -> {response.status_code}"


LATIN1_HEADER_TEXT = st.text(
    st.sampled_from([chr(c) for c in [*range(0x20, 0x7F), *range(0xA0, 0x100)]]), max_size=24
)
IF_MATCH = st.one_of(
    LATIN1_HEADER_TEXT,
    st.text(st.sampled_from(list('0123456789"W/ ²³¹¼½¾')), max_size=22),
)


@pytest.fixture
def own_case(world: World) -> Case:
    return make_case(world)


def _send_if_match(client: FlaskClient, world: World, case: Case, value: str) -> None:
    headers = {**world.headers("kel-a1", "staff"), "If-Match": value}
    for method, url, body in (
        ("PATCH", f"/api/v1/cases/{case.id}", {"title": "Judul"}),
        (
            "POST",
            f"/api/v1/cases/{case.id}/assign",
            {"assignee_id": world.user("kel-a1", "staff").id},
        ),
    ):
        response = client.open(url, method=method, headers=headers, json=body)
        what = f"{method} {url} with If-Match {value!r}"
        check_response(response.status_code, response.content_type or "", response.get_data(), what)
        if response.status_code >= 400:
            assert response.status_code in (409, 412, 422), f"{what} -> {response.status_code}"


@given(value=IF_MATCH)
@HOSTILE_SETTINGS
def test_hostile_if_match_headers(
    value: str, world: World, own_case: Case, client: FlaskClient
) -> None:
    _send_if_match(client, world, own_case, value)


# '²', '¹', '³' are digits to str.isdigit() but not to int(); 19 nines overflow a BIGINT.
@pytest.mark.parametrize("value", ["\xb2", 'W/"\xb9"', '"1\xb3"', "9" * 19, '"-1"', "1 2"])
def test_if_match_values_that_look_like_versions(
    value: str, world: World, own_case: Case, client: FlaskClient
) -> None:
    _send_if_match(client, world, own_case, value)


@given(value=LATIN1_HEADER_TEXT)
@example(value="")
@example(value="k" * 256)
@HOSTILE_SETTINGS
def test_hostile_idempotency_keys(value: str, world: World, client: FlaskClient) -> None:
    headers = {**world.headers("kel-a1", "staff"), "Idempotency-Key": value}
    response = client.post("/api/v1/cases", headers=headers, json=CREATE_BODY)
    what = f"POST /api/v1/cases with Idempotency-Key {value!r}"
    payload = check_response(
        response.status_code, response.content_type or "", response.get_data(), what
    )
    if response.status_code == 422:
        assert names_field(payload.get("errors"), "Idempotency-Key"), f"{what}\n-> {payload}"


# Format checks must match the whole value: ``$`` also matches before a final newline, and
# ``\d`` matches any script's digits. A NIK of 16 digits plus a newline is 17 characters, which
# PostgreSQL's VARCHAR(16) refuses at insert time (a 500) and SQLite stores as it came.
WHOLE_VALUE_CASES = {
    "nik-with-trailing-newline": (
        "POST",
        "/api/v1/cases",
        "staff",
        ("reporter", "nik"),
        "1271010101010002\n",
    ),
    "nik-in-arabic-indic-digits": (
        "POST",
        "/api/v1/cases",
        "staff",
        ("reporter", "nik"),
        "١٢٧١٠١٠١٠١٠١٠٠٠٢",
    ),
    "phone-with-trailing-newline": (
        "POST",
        "/api/v1/cases",
        "staff",
        ("reporter", "phone"),
        "081234500001\n",
    ),
    "unit-code-with-trailing-newline": (
        "POST",
        "/api/v1/units",
        "admin",
        ("code",),
        "k" * 64 + "\n",
    ),
}
UNIT_BODY = {
    "code": "kel-baru",
    "name": "Kantor Lurah Baru",
    "kind": "kelurahan",
    "region_code": "12.71.01.1002",
}


@pytest.mark.parametrize("name", list(WHOLE_VALUE_CASES))
def test_format_checked_fields_match_the_whole_value(
    name: str, world: World, client: FlaskClient
) -> None:
    method, url, caller, path, value = WHOLE_VALUE_CASES[name]
    body = copy.deepcopy(CREATE_BODY if url == "/api/v1/cases" else UNIT_BODY)
    _get(body, path[:-1])[path[-1]] = value
    response = client.open(url, method=method, headers=world.headers(*CALLERS[caller]), json=body)
    what = f"{method} {url} with {path[-1]}={value!r}"
    payload = check_response(
        response.status_code, response.content_type or "", response.get_data(), what
    )
    assert response.status_code == 422, f"{what} -> {response.status_code} (accepted as {value!r})"
    assert names_field(payload["errors"], path[-1]), payload


# ---------------------------------------------------------------------------------------------
# 3. raw bodies

RAW_BODIES = {
    "deeply-nested-list": "[" * 100_000 + "]" * 100_000,
    "deeply-nested-object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "number-literal-over-4300-digits": '{"assignee_id": ' + "9" * 5000 + "}",
    "invalid-utf8": b'{"note": "\xff\xfe"}',
    "truncated": '{"note": "abc',
    "nan-literal": '{"assignee_id": NaN}',
    "json-null": "null",
    "json-list": "[1, 2]",
    "over-size-limit": '{"note": "' + "a" * (1024 * 1024 + 10) + '"}',
}
RAW_ENDPOINTS = (
    "/api/v1/cases",
    "/api/v1/cases/{case}/assign",
    "/api/v1/cases/{case}/comments",
    "/api/v1/cases/{case}/handoffs",
    "/api/v1/handoffs/{handoff}/reject",
)


@pytest.mark.parametrize("payload", list(RAW_BODIES))
def test_raw_bodies_are_refused_cleanly(payload: str, world: World, client: FlaskClient) -> None:
    """Bodies no JSON encoder produces: 400 (unreadable), 413 (too big) or 422, never 500."""
    subjects = Subjects(world)
    case, handoff = subjects.case("new"), subjects.handoff("pending")
    failures = []
    for template in RAW_ENDPOINTS:
        url = template.replace("{case}", str(case.id)).replace("{handoff}", str(handoff.id))
        caller = "liaison" if "{handoff}" in template else "staff"
        response = client.post(
            url,
            headers={**world.headers(*CALLERS[caller]), "Content-Type": "application/json"},
            data=RAW_BODIES[payload],
        )
        what = f"POST {url} with a {payload} body"
        try:
            check_response(
                response.status_code, response.content_type or "", response.get_data(), what
            )
            assert response.status_code in (400, 413, 422), f"{what} -> {response.status_code}"
        except AssertionError as failure:
            failures.append(str(failure).splitlines()[0] + f" -> {response.status_code}")
    assert not failures, "\n".join(failures)


# Lone UTF-16 surrogates are valid JSON escapes but no valid text: neither database can store
# them, so they must be refused as bad input, not crash the insert.
SURROGATE_BODIES = {
    "create": (
        "/api/v1/cases",
        "staff",
        '{"title": "Lampu \\ud800 mati", "description": "d", "category": "sampah",'
        ' "location": {"region_code": "12.71.01.1001"}}',
    ),
    "comment": ("/api/v1/cases/{case}/comments", "staff", '{"body": "cek \\udfff ya"}'),
    "hold": ("/api/v1/cases/{case}/hold", "staff", '{"reason": "tunggu \\ud83d"}'),
    "forward": (
        "/api/v1/cases/{case}/handoffs",
        "staff",
        '{"kind": "assist", "to_unit": "dlh", "note": "\\udc00"}',
    ),
    "reject": (
        "/api/v1/handoffs/{handoff}/reject",
        "liaison",
        '{"reason": "other", "note": "\\ud800"}',
    ),
}


@pytest.mark.parametrize("name", list(SURROGATE_BODIES))
def test_lone_surrogates_in_text_fields_are_refused(
    name: str, world: World, client: FlaskClient
) -> None:
    subjects = Subjects(world)
    template, caller, raw = SURROGATE_BODIES[name]
    status = "in_progress" if name == "hold" else "new"
    url = template.replace("{case}", str(subjects.case(status).id))
    url = url.replace("{handoff}", str(subjects.handoff("pending").id))
    response = client.post(
        url,
        headers={**world.headers(*CALLERS[caller]), "Content-Type": "application/json"},
        data=raw,
    )
    what = f"POST {url} with {raw}"
    payload = check_response(
        response.status_code, response.content_type or "", response.get_data(), what
    )
    assert response.status_code in (400, 422), f"{what} -> {response.status_code}"
    assert payload.get("errors"), f"{what} -> {payload}"

"""The permission matrix of tests/api/test_permissions.py, through the staff pages: every case
and handoff command a page offers, by every role of every unit related to the case, must be
allowed or refused exactly as the API allows or refuses it (docs/permissions.md is one table
for both). A page answers a refused command with an error message and leaves the case as it
was; an allowed one changes it. Reading a case the user may not read is a 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.api.test_permissions import (
    EXPECTED,
    OPS,
    RELATIONS,
    ROLES,
    Arranged,
    arrange,
    snapshot,
)
from tests.factories import World
from tests.web.forms import WebUser

WebRequest = Callable[[World, Arranged], tuple[str, str, dict[str, Any] | None]]


def _case(a: Arranged, suffix: str = "") -> str:
    return f"/web/cases/{a.case_id}{suffix}"


def _action(name: str, **form: Any) -> WebRequest:
    return lambda w, a: ("POST", _case(a, f"/action/{name}"), form)


# The API operation of the matrix -> the same command on the pages.
WEB: dict[str, WebRequest] = {
    "get_case": lambda w, a: ("GET", _case(a), None),
    "start": _action("start"),
    "assign": lambda w, a: (
        "POST",
        _case(a, "/action/assign"),
        {"assignee_id": w.user("kel-a1", "liaison").id},
    ),
    "hold": _action("hold", reason="menunggu warga"),
    "resume": _action("resume"),
    "resolve": _action("resolve", note="sudah diperbaiki"),
    "reopen": _action("reopen", reason="warga keberatan"),
    "close": _action("close"),
    "cancel": _action("cancel", reason="spam"),
    "reassign": _action("reassign", owner_unit="kel-a2"),
    "comment": lambda w, a: ("POST", _case(a, "/comment"), {"body": "sudah dicek"}),
    "forward": lambda w, a: ("POST", _case(a, "/handoff"), {"kind": "transfer", "to_unit": "dlh"}),
    "ask_assist": lambda w, a: ("POST", _case(a, "/handoff"), {"kind": "assist", "to_unit": "dlh"}),
    "accept": lambda w, a: ("POST", f"/web/handoffs/{a.handoff_id}/accept", {}),
    "reject": lambda w, a: (
        "POST",
        f"/web/handoffs/{a.handoff_id}/reject",
        {"reason": "not_our_jurisdiction"},
    ),
    "recall": lambda w, a: ("POST", f"/web/handoffs/{a.handoff_id}/recall", {}),
    "complete": lambda w, a: (
        "POST",
        f"/web/handoffs/{a.handoff_id}/complete",
        {"note": "bagian kami selesai"},
    ),
}


def test_every_page_command_is_in_the_matrix() -> None:
    assert set(WEB) <= set(OPS)


@pytest.mark.parametrize("op_name", list(WEB))
def test_pages_allow_and_refuse_as_the_api_does(op_name: str, world: World, app: Flask) -> None:
    op, web = OPS[op_name], WEB[op_name]
    users: dict[str, WebUser] = {}
    mismatches: list[str] = []
    for relation, unit in RELATIONS.items():
        arranged: Arranged | None = None
        for role in ROLES:
            expected = EXPECTED[role][(op_name, relation)]
            if arranged is None:
                arranged = arrange(world, relation, op.needs)
            username = f"{unit}.{role}"
            user = users.setdefault(username, WebUser(app, username))
            method, url, form = web(world, arranged)
            before = snapshot(arranged)
            response = user.get(url) if method == "GET" else user.post(url, form)
            after = snapshot(arranged)
            errors = [text for category, text in user.flashes() if category == "error"]
            who = f"[{relation}] {username} {op_name} (API: {expected})"
            allowed = expected.startswith("2")
            if op.reads_only:
                if response.status_code != (200 if allowed else 404):
                    mismatches.append(f"{who}: page answered {response.status_code}")
                continue
            if response.status_code >= 500:
                mismatches.append(f"{who}: page answered {response.status_code}")
            elif allowed and (after == before or errors):
                mismatches.append(
                    f"{who}: allowed by the API, but the page {errors or 'did nothing'}"
                )
            elif not allowed and after != before:
                mismatches.append(f"{who}: refused by the API, but the page changed the case")
            elif not allowed and not errors and response.status_code < 400:
                mismatches.append(f"{who}: refused without telling the user why")
            if after != before:
                arranged = None  # the next role gets a fresh case
    assert not mismatches, "\n".join(mismatches)

"""Every command on a case (and on a handoff) in every state, through the API and through the
staff web forms, by a user allowed to act: the answer is a success or a 4xx, never a 500, and a
refusal because of the state (409) names that state (DESIGN.md section 4: "Any other action in
any other state is refused with 409 and the current state in the message")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from coord.clock import now_utc
from coord.extensions import db
from coord.models import Case, Handoff
from coord.services import handoffs as handoff_service
from coord.services.uow import unit_of_work
from tests.api.test_cases_api import Tokens
from tests.factories import World, case_in_status, make_case
from tests.web.forms import WebUser

API = "/api/v1"
CASE_STATES = (
    "new",
    "in_progress",
    "pending_transfer",
    "on_hold",
    "resolved",
    "closed",
    "cancelled",
)
OWNER, MANAGER, RECEIVER = ("kel-a1", "staff"), ("camat-a", "manager"), ("dinas-pu", "liaison")


@dataclass(frozen=True)
class Command:
    """One command: who sends it, and its API request and web form for a case or handoff."""

    caller: tuple[str, str]
    api: Callable[[World, int], tuple[str, str, dict[str, Any]]]
    web: Callable[[World, int], tuple[str, dict[str, Any]]] | None


def _action(name: str, **body: Any) -> Callable[[World, int], tuple[str, str, dict[str, Any]]]:
    return lambda world, case_id: ("POST", f"{API}/cases/{case_id}/{name}", dict(body))


def _web_action(name: str, **form: Any) -> Callable[[World, int], tuple[str, dict[str, Any]]]:
    return lambda world, case_id: (f"/web/cases/{case_id}/action/{name}", dict(form))


def _assignee(world: World) -> int:
    return world.user("kel-a1", "staff").id


CASE_COMMANDS: dict[str, Command] = {
    "start": Command(OWNER, _action("start"), _web_action("start")),
    "assign": Command(
        OWNER,
        lambda w, c: ("POST", f"{API}/cases/{c}/assign", {"assignee_id": _assignee(w)}),
        lambda w, c: (f"/web/cases/{c}/action/assign", {"assignee_id": str(_assignee(w))}),
    ),
    "hold": Command(
        OWNER, _action("hold", reason="menunggu warga"), _web_action("hold", reason="x")
    ),
    "resume": Command(OWNER, _action("resume"), _web_action("resume")),
    "resolve": Command(
        OWNER, _action("resolve", note="sudah ditambal"), _web_action("resolve", note="selesai")
    ),
    "reopen": Command(
        OWNER, _action("reopen", reason="belum beres"), _web_action("reopen", reason="belum")
    ),
    "close": Command(OWNER, _action("close"), _web_action("close")),
    "cancel": Command(
        MANAGER, _action("cancel", reason="invalid"), _web_action("cancel", reason="invalid")
    ),
    "reassign": Command(
        MANAGER,
        _action("assign", owner_unit="kel-a2"),
        _web_action("reassign", owner_unit="kel-a2"),
    ),
    "forward": Command(
        OWNER,
        lambda w, c: (
            "POST",
            f"{API}/cases/{c}/handoffs",
            {"kind": "transfer", "to_unit": "dlh", "note": "mohon ditangani"},
        ),
        lambda w, c: (
            f"/web/cases/{c}/handoff",
            {"kind": "transfer", "to_unit": "dlh", "note": "mohon ditangani"},
        ),
    ),
    "request_assist": Command(
        OWNER,
        lambda w, c: (
            "POST",
            f"{API}/cases/{c}/handoffs",
            {"kind": "assist", "to_unit": "dlh", "note": "mohon dibantu"},
        ),
        lambda w, c: (
            f"/web/cases/{c}/handoff",
            {"kind": "assist", "to_unit": "dlh", "note": "mohon dibantu"},
        ),
    ),
    "comment": Command(
        OWNER,
        lambda w, c: ("POST", f"{API}/cases/{c}/comments", {"body": "sudah dicek"}),
        lambda w, c: (f"/web/cases/{c}/comment", {"body": "sudah dicek"}),
    ),
    "edit": Command(
        OWNER, lambda w, c: ("PATCH", f"{API}/cases/{c}", {"title": "Judul baru"}), None
    ),
}

# The handoff commands, on a handoff in each state it can be in (kind and status).
HANDOFF_STATES = (
    ("transfer", "pending"),
    ("transfer", "accepted"),
    ("transfer", "rejected"),
    ("transfer", "recalled"),
    ("assist", "pending"),
    ("assist", "accepted"),
    ("assist", "rejected"),
    ("assist", "recalled"),
    ("assist", "completed"),
)


def _handoff_action(name: str, **body: Any) -> Command:
    caller = OWNER if name == "recall" else RECEIVER
    return Command(
        caller,
        lambda w, h: ("POST", f"{API}/handoffs/{h}/{name}", dict(body)),
        lambda w, h: (f"/web/handoffs/{h}/{name}", dict(body)),
    )


HANDOFF_COMMANDS = {
    "accept": _handoff_action("accept"),
    "reject": _handoff_action("reject", reason="not_our_jurisdiction"),
    "complete": _handoff_action("complete", note="sudah dibantu"),
    "recall": _handoff_action("recall"),
}


def handoff_in_status(world: World, kind: str, status: str) -> Handoff:
    case = case_in_status(world, "in_progress")
    staff, liaison, now = world.user(*OWNER), world.user(*RECEIVER), now_utc()
    with unit_of_work():
        handoff = handoff_service.request_handoff(staff, case.id, kind, "dinas-pu", "tolong", now)
    steps = {
        "pending": [],
        "accepted": [lambda: handoff_service.accept_handoff(liaison, handoff.id, now)],
        "rejected": [
            lambda: handoff_service.reject_handoff(liaison, handoff.id, "other", now, note="bukan")
        ],
        "recalled": [lambda: handoff_service.recall_handoff(staff, handoff.id, now)],
        "completed": [
            lambda: handoff_service.accept_handoff(liaison, handoff.id, now),
            lambda: handoff_service.complete_handoff(liaison, handoff.id, "beres", now),
        ],
    }
    for step in steps[status]:
        with unit_of_work():
            step()
    found = db.session.get(Handoff, handoff.id)
    assert found is not None and found.status == status
    return found


def _check_api(
    client: FlaskClient, auth: Tokens, command: Command, subject_id: int, state: str, what: str
) -> tuple[int, str]:
    """Send the command through the API; its status and message."""
    method, url, body = command.api(auth.world, subject_id)
    headers = auth(*command.caller)
    if method == "PATCH":
        case = db.session.get(Case, subject_id)
        assert case is not None
        db.session.refresh(case)
        headers["If-Match"] = f'"{case.version}"'
    response = client.open(url, method=method, headers=headers, json=body)
    text = response.get_data(as_text=True)
    assert response.status_code < 500, f"{what} via API -> {response.status_code}: {text[:300]}"
    if response.status_code >= 400:
        payload = response.get_json()
        assert payload and payload.get("code") == response.status_code, f"{what}: {text[:300]}"
    if response.status_code == 409:
        # The state, or the kind of handoff when the kind is what forbids it (a transfer is
        # never "completed").
        payload = response.get_json()
        assert state in payload["message"] or "kind" in payload.get("errors", {}), (
            f"{what}: 409 without the state: {text}"
        )
    message = response.get_json()["message"] if response.status_code >= 400 else ""
    return int(response.status_code), message


class Browsers:
    """One signed-in browser session per caller for the whole test (signing in is slow)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sessions: dict[tuple[str, str], WebUser] = {}

    def __call__(self, caller: tuple[str, str]) -> WebUser:
        if caller not in self.sessions:
            self.sessions[caller] = WebUser(self.app.test_client(), f"{caller[0]}.{caller[1]}")
        return self.sessions[caller]


def _check_web(
    user: WebUser,
    world: World,
    command: Command,
    subject_id: int,
    api: tuple[int, str],
    what: str,
) -> None:
    """Send the same command through the web form: a redirect with the outcome flashed; what
    the API refuses the form refuses, saying so in the reader's language."""
    assert command.web is not None
    url, form = command.web(world, subject_id)
    if url.startswith("/web/cases/") and "/action/" in url:
        case = db.session.get(Case, subject_id)
        assert case is not None
        db.session.refresh(case)
        form["version"] = str(case.version)
    response = user.post(url, form)
    assert response.status_code < 500, f"{what} via web -> {response.status_code}"
    assert response.status_code == 302, f"{what} via web -> {response.status_code}"
    errors = [message for category, message in user.flashes() if category == "error"]
    api_status, api_message = api
    if api_status == 409:
        # The same refusal, in the reader's language (the API's English stays for programs).
        assert errors, f"{what} via web: accepted, the API refused: {api_message}"
        assert api_message not in " ".join(errors), f"{what} via web, in English: {errors}"
    elif api_status < 300:
        assert not errors, f"{what}: the API accepted it, the web form refused it: {errors}"


@pytest.mark.parametrize("state", CASE_STATES)
def test_every_case_command_in_every_case_state(
    state: str, world: World, app: Any, frozen_now: Any
) -> None:
    """One fresh case per command and surface, so that each command meets the state."""
    browsers, auth = Browsers(app), Tokens(world)
    for name, command in CASE_COMMANDS.items():
        what = f"{name} on a {state} case"
        api = _check_api(
            app.test_client(), auth, command, case_in_status(world, state).id, state, what
        )
        if command.web is not None:
            case = case_in_status(world, state)
            _check_web(browsers(command.caller), world, command, case.id, api, what)


@pytest.mark.parametrize(("kind", "status"), HANDOFF_STATES)
def test_every_handoff_command_in_every_handoff_state(
    kind: str, status: str, world: World, app: Any, frozen_now: Any
) -> None:
    browsers, auth = Browsers(app), Tokens(world)
    for name, command in HANDOFF_COMMANDS.items():
        what = f"{name} on a {status} {kind} handoff"
        subject = handoff_in_status(world, kind, status)
        api = _check_api(app.test_client(), auth, command, subject.id, status, what)
        subject = handoff_in_status(world, kind, status)
        _check_web(browsers(command.caller), world, command, subject.id, api, what)


def test_a_case_with_an_open_assist_cannot_be_resolved_but_says_why(
    world: World, client: FlaskClient, frozen_now: Any
) -> None:
    case = make_case(world)
    with unit_of_work():
        handoff_service.request_handoff(
            world.user(*OWNER), case.id, "assist", "dlh", "bantu", now_utc()
        )
    response = client.post(
        f"{API}/cases/{case.id}/resolve",
        headers=world.headers(*OWNER),
        json={"note": "selesai"},
    )
    assert response.status_code == 409, response.get_data(as_text=True)
    assert "assistance" in response.get_json()["message"]

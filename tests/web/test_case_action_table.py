"""One table of case and handoff actions (coord/services/case_actions.py) for the API and the
case page: an action sent without the field it needs is refused the same way by both (the
API names the field in English, the page in Indonesian) and the case does not change."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from coord.domain.states import CASE_ACTIONS, HANDOFF_ACTIONS
from coord.extensions import db
from coord.models import Case
from coord.services.case_actions import CASE_COMMANDS, HANDOFF_COMMANDS
from tests.factories import World, case_in_status
from tests.web.forms import WebUser

NEEDS = [
    ("hold", "in_progress", "kel-a1", "staff", "reason", "alasan"),
    ("resolve", "in_progress", "kel-a1", "staff", "note", "catatan penyelesaian"),
    ("reopen", "resolved", "kel-a1", "staff", "reason", "alasan"),
    ("cancel", "in_progress", "camat-a", "manager", "reason", "alasan"),
]


def test_the_table_has_a_row_for_every_action_of_the_state_table() -> None:
    assert tuple(CASE_COMMANDS) == CASE_ACTIONS
    assert tuple(HANDOFF_COMMANDS) == HANDOFF_ACTIONS


@pytest.mark.parametrize(("action", "status", "unit", "role", "field", "label"), NEEDS)
def test_an_action_without_its_field_is_refused_by_the_api_and_the_page(
    action: str,
    status: str,
    unit: str,
    role: str,
    field: str,
    label: str,
    world: World,
    app: Flask,
    client: Any,
) -> None:
    case = case_in_status(world, status)
    version = case.version

    response = client.post(
        f"/api/v1/cases/{case.id}/{action}",
        headers=world.headers(unit, role),
        json={},
    )
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["message"] == f"'{action}' needs: {field}."
    assert body["errors"] == {field: [f"required for {action}"]}

    user = WebUser(app.test_client(), f"{unit}.{role}")
    answer = user.post(
        f"/web/cases/{case.id}/action/{action}", {"version": str(version), field: " "}
    )
    assert answer.status_code == 302
    assert user.flashes() == [("error", f"Isi {label}.")]

    db.session.expire_all()
    assert db.session.get(Case, case.id).version == version

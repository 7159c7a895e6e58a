"""Each response shape is defined once: the presenter (coord/presenters.py) decides what a
reader sees, the schema only types and serializes it (docs/decisions.md, "Response shapes").
So every key a presenter returns is a field of its schema and every field is filled by the
presenter, at every level of nesting: a key added to one and not the other fails here instead
of being dropped from the response, or documented and never sent."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import marshmallow as ma
import pytest

from coord.api.cases.schemas import CaseOut, ClockOut, EventOut, ReporterOut
from coord.api.handoffs.schemas import HandoffOut
from coord.clock import now_utc
from coord.extensions import db
from coord.models import CaseEvent, SlaClock
from coord.presenters import case_view, clock_view, event_view, handoff_view, reporter_view
from coord.services import handoffs as handoff_service
from coord.services.uow import unit_of_work
from tests.factories import World, case_in_status


def mismatches(schema: ma.Schema, data: dict[str, Any], where: str = "") -> list[str]:
    found = [f"{where}{k}: sent, not in the schema" for k in data.keys() - schema.fields.keys()]
    found += [f"{where}{k}: in the schema, not sent" for k in schema.fields.keys() - data.keys()]
    for name, field in schema.fields.items():
        value = data.get(name)
        if isinstance(field, ma.fields.Nested) and isinstance(value, dict):
            found += mismatches(field.schema, value, f"{where}{name}.")
        elif isinstance(field, ma.fields.List) and isinstance(field.inner, ma.fields.Nested):
            for item in value or []:
                found += mismatches(field.inner.schema, item, f"{where}{name}[].")
    return found


@pytest.fixture
def case(world: World):  # type: ignore[no-untyped-def]
    """A case with an assignee, a deadline per clock and a pending handoff."""
    case = case_in_status(world, "in_progress")
    with unit_of_work():
        handoff_service.request_handoff(
            world.user("kel-a1", "staff"), case.id, "assist", "kel-a2", "tolong", now_utc()
        )
    return case


def test_the_case_presenter_fills_exactly_the_case_schema(case) -> None:  # type: ignore[no-untyped-def]
    clocks = list(db.session.query(SlaClock).filter_by(case_id=case.id))
    assert case.assignee is not None and len(clocks) >= 2
    for visible in (True, False):
        view = case_view(case, visible, clocks, ["start"])
        assert view["sla"]["clocks"] and view["assignee"]
        assert mismatches(CaseOut(), view) == []


def test_the_other_presenters_fill_exactly_their_schemas(case) -> None:  # type: ignore[no-untyped-def]
    handoff = case.handoffs[0]
    event = db.session.query(CaseEvent).filter_by(case_id=case.id).first()
    clock = db.session.query(SlaClock).filter_by(case_id=case.id).first()
    assert mismatches(HandoffOut(), handoff_view(handoff)) == []
    assert mismatches(EventOut(), event_view(event)) == []
    assert mismatches(ClockOut(), clock_view(clock)) == []
    for visible in (True, False):
        assert mismatches(ReporterOut(), reporter_view(case, visible)) == []


def test_only_the_etag_module_sets_an_etag() -> None:
    """One documented ETag helper (coord/http/etag.py): no route writes the header itself."""
    coord = Path(__file__).resolve().parents[2] / "coord"
    found = sorted(
        str(path.relative_to(coord.parent))
        for path in coord.rglob("*.py")
        if path != coord / "http" / "etag.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.Constant) and node.value == "ETag")
        or (isinstance(node, ast.Attribute) and node.attr in ("set_etag", "add_etag"))
    )
    assert found == []

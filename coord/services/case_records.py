"""Loading, locking and marking cases, shared by every case command (intake, the lifecycle
in ``coord.services.cases``, handoffs, attachments, the citizens' commands and the SLA)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, select

from coord.extensions import db
from coord.models import Case, CaseUnit, CaseUnitRole, Unit
from coord.services import config_cache, sla
from coord.services.bulk import insert_ignoring_duplicates
from coord.services.errors import InvalidInput, PreconditionFailed
from coord.services.policy import Actor, ensure_can_read
from coord.services.uow import TOUCHED_KEY


def touch(case: Case, now: datetime) -> None:
    """Mark the case changed by this command: ``updated_at`` and, once per transaction, the
    ``version`` that ETags and webhooks carry (one command = one new version)."""
    case.updated_at = now
    if case.id is None:
        return
    touched: set[int] = db.session.info.setdefault(TOUCHED_KEY, set())
    if case.id not in touched:
        touched.add(case.id)
        case.version += 1


def get_case_for_update(case_id: int | ColumnElement[int]) -> Case | None:
    """Load a case with a row lock (PostgreSQL) so concurrent commands queue behind us.
    ``case_id`` may be a scalar subquery (the case of a handoff, in the same round trip)."""
    return (
        db.session.execute(
            select(Case)
            .where(Case.id == case_id)
            .with_for_update(of=Case)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one_or_none()
    )


def load_case(actor: Actor, case_id: int, *, for_update: bool = False) -> Case:
    case = get_case_for_update(case_id) if for_update else db.session.get(Case, case_id)
    return ensure_can_read(actor, case)


def check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and case.version != expected_version:
        raise PreconditionFailed(
            f"The case has changed (version {case.version}, you sent {expected_version}); "
            "reload it and apply your change again."
        )


def require_text(name: str, value: str | None) -> str:
    """Required free text: blank or whitespace is refused naming the field (422)."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput.field(
            name, "required; write what happened", _l("Wajib diisi: tulis apa yang terjadi.")
        )
    return text


def resolve_unit(code: str, field_name: str) -> Unit:
    unit = config_cache.cached(
        ("unit", code),
        lambda: db.session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none(),
    )
    if unit is None or not unit.active:
        raise InvalidInput.field(
            field_name,
            f"unknown or inactive unit '{code}'",
            _l("Unit ini tidak ada atau tidak aktif lagi. Pilih unit dari daftar."),
        )
    return unit


def add_case_unit(case: Case, unit_id: int, relation: CaseUnitRole) -> None:
    """Record that ``unit_id`` touched the case."""
    # One statement, no lookup: the row may exist already (a unit owns a case twice).
    insert_ignoring_duplicates(
        CaseUnit.__table__,
        [{"case_id": case.id, "unit_id": unit_id, "relation": relation.value}],
        ("case_id", "unit_id", "relation"),
    )


def mark_first_response(case: Case, actor: Actor, now: datetime) -> None:
    """The owner unit's first action stops the response clock."""
    if case.first_response_at is None and getattr(actor, "unit_id", None) == case.owner_unit_id:
        sla.first_response(case, now)  # looks up the clock first: one flush later
        case.first_response_at = now


def bounce_limit() -> int:
    return int(current_app.config.get("COORD_BOUNCE_LIMIT", 3))

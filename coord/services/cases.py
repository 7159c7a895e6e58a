"""Case commands: create, edit, start, assign, hold, resume, resolve, reopen, close, cancel,
comment, and the managers' reassignment. Each one locks the case, checks permission and the
state table, changes it, writes its events and flushes; ``unit_of_work`` commits."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, select

from coord.domain.states import CaseStatus, HandoffKind, HandoffStatus
from coord.domain.tracking import new_tracking_code
from coord.extensions import db
from coord.models import (
    CancelReason,
    Case,
    CaseUnit,
    CaseUnitRole,
    Category,
    Handoff,
    IdempotencyKey,
    Region,
    RegionLevel,
    ReporterPrivacy,
    Role,
    Unit,
    User,
    Visibility,
)
from coord.services import config_cache, sla
from coord.services.bulk import insert_ignoring_duplicates, insert_new
from coord.services.errors import Conflict, InvalidInput, PreconditionFailed
from coord.services.events import new_event, publish_event, record_event
from coord.services.policy import (
    Actor,
    authorize_case,
    can_read_case,
    ensure_can_read,
)
from coord.services.transitions import apply_case_transition, check_case_transition
from coord.services.uow import TOUCHED_KEY


@dataclass
class NewCase:
    title: str
    description: str
    category: str
    region_code: str
    channel: str = "walk_in"
    priority: str = "normal"
    received_at: datetime | None = None
    reporter_privacy: str = ReporterPrivacy.NAMED.value
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reporter_email: str | None = None
    reporter_nik: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    owner_unit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> NewCase:
        """From a validated case body (the API's ``CaseCreate``, also used by the web
        intake form): nested ``reporter`` and ``location`` become flat fields."""
        reporter = data.get("reporter") or {}
        location = data["location"]
        return cls(
            title=data["title"],
            description=data["description"],
            category=data["category"],
            priority=data["priority"],
            channel=data["channel"],
            received_at=data.get("received_at"),
            reporter_privacy=reporter.get("privacy", "anonymous"),
            reporter_name=reporter.get("name"),
            reporter_phone=reporter.get("phone"),
            reporter_email=reporter.get("email"),
            reporter_nik=reporter.get("nik"),
            region_code=location["region_code"],
            address=location.get("address"),
            latitude=location.get("latitude"),
            longitude=location.get("longitude"),
            owner_unit=data.get("owner_unit"),
        )

    def fingerprint(self) -> str:
        data = {k: v for k, v in self.__dict__.items() if k != "extra"}
        raw = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()


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


def _check_version(case: Case, expected_version: int | None) -> None:
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


def _resolve_category(code: str) -> Category:
    category = config_cache.cached(
        ("category", code),
        lambda: db.session.execute(
            select(Category).where(Category.code == code)
        ).scalar_one_or_none(),
    )
    if category is None or not category.active:
        raise InvalidInput.field(
            "category",
            f"unknown or inactive category '{code}'",
            _l("Kategori ini tidak ada atau tidak aktif lagi. Pilih kategori dari daftar."),
        )
    return category


def _resolve_kelurahan(code: str) -> Region:
    region = config_cache.cached(("region", code), lambda: db.session.get(Region, code))
    if region is None:
        raise InvalidInput.field(
            "region_code", f"unknown region '{code}'", _l("Pilih kelurahan lokasi dari daftar.")
        )
    if region.level != RegionLevel.KELURAHAN.value:
        raise InvalidInput.field(
            "region_code",
            "a case must be located in a kelurahan",
            _l("Lokasi kasus harus sebuah kelurahan. Pilih kelurahan dari daftar."),
        )
    return region


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


def create_case(
    actor: Actor,
    data: NewCase,
    now: datetime,
    *,
    idempotency_key: str | None = None,
    recording_unit: Unit | None = None,
) -> tuple[Case, bool]:
    """Record a new case; returns ``(case, created)``.

    The recording unit is the actor's unit (or ``recording_unit`` for public channels); it
    owns the case unless ``owner_unit`` names another. With ``idempotency_key`` a retry with
    the same body returns the first case (``created`` False); a different body is refused.
    Writes ``case.created``.
    """
    if isinstance(actor, User):
        if not actor.has_role(Role.STAFF, Role.LIAISON, Role.MANAGER):
            from coord.services.errors import Forbidden

            raise Forbidden("Only staff, liaisons and managers may record cases.")
        recording_unit = actor.unit
    if recording_unit is None:
        raise InvalidInput.field("owner_unit", "no unit to record the case")

    if idempotency_key is not None and isinstance(actor, User):
        previous = _idempotent_replay(actor, idempotency_key, data)
        if previous is not None:
            return previous, False

    category = _resolve_category(data.category)
    region = _resolve_kelurahan(data.region_code)
    owner = resolve_unit(data.owner_unit, "owner_unit") if data.owner_unit else recording_unit
    received_at = data.received_at or now
    if received_at > now:
        raise InvalidInput.field(
            "received_at",
            "cannot be in the future",
            _l("Waktu diterima tidak boleh di masa depan. Periksa tanggal dan jamnya."),
        )
    if data.reporter_privacy == ReporterPrivacy.ANONYMOUS and (
        data.reporter_phone or data.reporter_email or data.reporter_nik
    ):
        raise InvalidInput(
            "An anonymous reporter has no contact data; choose 'named' or 'confidential'.",
            {"reporter_privacy": ["anonymous reporters cannot have phone, email or NIK"]},
            text=_l(
                "Pelapor anonim tidak punya kontak. Kosongkan HP, e-mail dan NIK, atau pilih "
                "'Dengan nama' atau 'Dirahasiakan'."
            ),
        )

    case = Case(
        tracking_code=new_tracking_code(),
        citizen_token=secrets.token_urlsafe(9),
        title=data.title,
        description=data.description,
        category=category,
        priority=data.priority,
        channel=data.channel,
        status=CaseStatus.NEW.value,
        received_at=received_at,
        created_at=now,
        updated_at=now,
        version=1,
        reporter_privacy=data.reporter_privacy,
        reporter_name=None
        if data.reporter_privacy == ReporterPrivacy.ANONYMOUS
        else data.reporter_name,
        reporter_phone=data.reporter_phone,
        reporter_email=data.reporter_email,
        reporter_nik=data.reporter_nik,
        region_code=region.code,
        region=region,
        address=data.address,
        latitude=data.latitude,
        longitude=data.longitude,
        recorded_by_unit_id=recording_unit.id,
        created_by_id=actor.id if isinstance(actor, User) else None,
        owner_unit=owner,
    )
    sla.prepare_case_clocks(case)
    units = [
        CaseUnit(case=case, unit_id=recording_unit.id, relation=CaseUnitRole.RECORDER.value),
        CaseUnit(case=case, unit_id=owner.id, relation=CaseUnitRole.OWNER.value),
    ]
    keys = []
    if idempotency_key is not None and isinstance(actor, User):
        keys.append(
            IdempotencyKey(
                user_id=actor.id,
                key=idempotency_key,
                fingerprint=data.fingerprint(),
                case=case,
                created_at=now,
            )
        )
    event = new_event(
        case,
        "case.created",
        actor,
        now,
        changes={
            "status": [None, case.status],
            "owner_unit": [None, owner.code],
            "channel": case.channel,
            "category": category.code,
            "priority": case.priority,
        },
    )
    # The hot path of the API: Core inserts, no unit-of-work flush (bulk.insert_new). The
    # tracking code is unique: a collision fails the command and run_command runs it again.
    insert_new([case], case.clocks, units, keys, [event])
    publish_event(event)
    # Received long before entry: the thresholds already passed are recorded now.
    sla.catch_up(case, case.clocks, now)
    return case, True


def _idempotent_replay(actor: User, key: str, data: NewCase) -> Case | None:
    row = db.session.execute(
        select(IdempotencyKey).where(IdempotencyKey.user_id == actor.id, IdempotencyKey.key == key)
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.fingerprint != data.fingerprint():
        raise InvalidInput(
            "This Idempotency-Key was already used with a different request body; "
            "use a new key for a new case.",
            {"Idempotency-Key": ["already used with a different body"]},
        )
    return db.session.get(Case, row.case_id)


EDITABLE_FIELDS = (
    "title",
    "description",
    "category",
    "priority",
    "region_code",
    "address",
    "latitude",
    "longitude",
)


def edit_case(
    actor: Actor,
    case_id: int,
    changes: dict[str, Any],
    now: datetime,
    *,
    expected_version: int | None,
) -> Case:
    """Change the details of a case (owner unit). ``expected_version`` comes from If-Match.

    A category or priority change attaches the current policy and recomputes due times.
    Writes ``case.updated`` with before and after of each changed field.
    """
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "edit", case)
    _check_version(case, expected_version)
    check_case_transition(case, "edit")
    diff: dict[str, list[Any]] = {}
    for name, value in changes.items():
        if name not in EDITABLE_FIELDS:
            continue
        if name == "category":
            category = _resolve_category(value)
            if category.id != case.category_id:
                diff["category"] = [case.category.code, category.code]
                case.category = category
            continue
        if name == "region_code":
            region = _resolve_kelurahan(value)
            if region.code != case.region_code:
                diff["region_code"] = [case.region_code, region.code]
                case.region = region
                case.region_code = region.code
            continue
        before = getattr(case, name)
        if before != value:
            diff[name] = [before, value]
            setattr(case, name, value)
    if not diff:
        return case
    if {"category", "priority"} & diff.keys():
        sla.retarget_case_clocks(case, now)
    touch(case, now)
    record_event(case, "case.updated", actor, now, changes=diff)
    return case


def _mark_first_response(case: Case, actor: Actor, now: datetime) -> None:
    if case.first_response_at is None and getattr(actor, "unit_id", None) == case.owner_unit_id:
        sla.first_response(case, now)  # looks up the clock first: one flush later
        case.first_response_at = now


def start_case(
    actor: Actor, case_id: int, now: datetime, *, expected_version: int | None = None
) -> Case:
    """Owner staff start work: ``new`` -> ``in_progress``. Writes ``case.started``."""
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "start", case)
    _check_version(case, expected_version)
    _mark_first_response(case, actor, now)  # before any change: its clock lookup autoflushes
    apply_case_transition(case, "start")
    if case.assignee_id is None and isinstance(actor, User):
        case.assignee_id = actor.id
    touch(case, now)
    record_event(case, "case.started", actor, now, changes={"status": ["new", case.status]})
    return case


def assign_case(
    actor: Actor,
    case_id: int,
    assignee_id: int | None,
    now: datetime,
    *,
    owner_unit: str | None = None,
    note: str | None = None,
    expected_version: int | None = None,
) -> Case:
    """Assign a person of the owner unit; a jurisdiction manager may also move ownership to
    another unit (the decision on a bounced case). Writes ``case.assigned`` and, for a new
    owner, ``case.reassigned``."""
    case = load_case(actor, case_id, for_update=True)
    _check_version(case, expected_version)
    if owner_unit is not None:
        return _reassign_owner(actor, case, owner_unit, assignee_id, note, now)
    authorize_case(actor, "assign", case)
    if assignee_id is None:
        raise InvalidInput.field(
            "assignee_id",
            "required unless owner_unit is given",
            _l("Pilih petugas yang ditugaskan."),
        )
    assignee = _assignee_of_unit(assignee_id, case.owner_unit_id)
    before_status = case.status
    apply_case_transition(case, "assign")
    _mark_first_response(case, actor, now)
    before = case.assignee_id
    case.assignee_id = assignee.id
    touch(case, now)
    record_event(
        case,
        "case.assigned",
        actor,
        now,
        body=note,
        changes={"assignee_id": [before, assignee.id], "status": [before_status, case.status]},
    )
    return case


def _assignee_of_unit(user_id: int, unit_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.unit_id != unit_id or not user.active:
        raise InvalidInput.field(
            "assignee_id",
            "must be an active user of the unit that owns the case",
            _l("Pilih petugas aktif dari unit pemegang kasus."),
        )
    return user


def _reassign_owner(
    actor: Actor,
    case: Case,
    owner_code: str,
    assignee_id: int | None,
    note: str | None,
    now: datetime,
) -> Case:
    authorize_case(actor, "reassign", case)
    new_owner = resolve_unit(owner_code, "owner_unit")
    before_status = case.status
    apply_case_transition(case, "reassign")
    before_owner = case.owner_unit.code
    was_bounced = case.bounced
    moves_before = case.ownership_moves
    case.owner_unit = new_owner
    case.owner_unit_id = new_owner.id
    case.assignee_id = _assignee_of_unit(assignee_id, new_owner.id).id if assignee_id else None
    case.bounced = False  # the managers' decision settles the ping-pong ...
    case.ownership_moves = 0  # ... and counting starts again (the events keep the history)
    touch(case, now)
    add_case_unit(case, new_owner.id, CaseUnitRole.OWNER)
    record_event(
        case,
        "case.reassigned",
        actor,
        now,
        body=note,
        visibility=Visibility.PUBLIC,
        changes={
            "owner_unit": [before_owner, new_owner.code],
            "status": [before_status, case.status],
            "bounced": [was_bounced, False],
            "ownership_moves": [moves_before, 0],
        },
    )
    return case


def hold_case(
    actor: Actor, case_id: int, reason: str, now: datetime, *, expected_version: int | None = None
) -> Case:
    """Pause: ``in_progress`` -> ``on_hold`` with a reason; the SLA clock stops."""
    reason = require_text("reason", reason)
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "hold", case)
    _check_version(case, expected_version)
    apply_case_transition(case, "hold")
    case.hold_reason = reason
    sla.pause_case_clocks(case, now)
    touch(case, now)
    record_event(
        case, "case.held", actor, now, body=reason, changes={"status": ["in_progress", "on_hold"]}
    )
    return case


def resume_case(
    actor: Actor, case_id: int, now: datetime, *, expected_version: int | None = None
) -> Case:
    """``on_hold`` -> ``in_progress``; due times move later by the paused business time."""
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "resume", case)
    _check_version(case, expected_version)
    apply_case_transition(case, "resume")
    before = {"response_due_at": case.response_due_at, "resolution_due_at": case.resolution_due_at}
    paused = sla.resume_case_clocks(case, now)
    case.hold_reason = None
    touch(case, now)
    record_event(
        case,
        "case.resumed",
        actor,
        now,
        changes={
            "status": ["on_hold", "in_progress"],
            "paused_business_minutes": paused,
            "resolution_due_at": [before["resolution_due_at"], case.resolution_due_at],
            "response_due_at": [before["response_due_at"], case.response_due_at],
        },
    )
    return case


def open_assists(case: Case) -> list[Handoff]:
    return list(
        db.session.execute(
            select(Handoff).where(
                Handoff.case_id == case.id,
                Handoff.kind == HandoffKind.ASSIST.value,
                Handoff.status.in_([HandoffStatus.PENDING.value, HandoffStatus.ACCEPTED.value]),
            )
        ).scalars()
    )


def resolve_case(
    actor: Actor, case_id: int, note: str, now: datetime, *, expected_version: int | None = None
) -> Case:
    """``new``/``in_progress`` -> ``resolved`` with a resolution note. Refused while an
    assistance request is still open (complete it or withdraw it first)."""
    note = require_text("note", note)
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "resolve", case)
    _check_version(case, expected_version)
    before_status = case.status
    pending = open_assists(case)
    if pending and before_status in ("new", "in_progress"):
        units = ", ".join(h.to_unit.name for h in pending)
        raise Conflict(
            f"The case still has open assistance requests ({units}); wait for them to be "
            "completed or withdraw them before resolving.",
            text=_l(
                "Masih ada permintaan bantuan yang terbuka (%(units)s). Tunggu sampai selesai "
                "atau tarik kembali sebelum menyelesaikan kasus.",
                units=units,
            ),
        )
    case.resolution_note = note
    case.resolution_count += 1
    apply_case_transition(case, "resolve")
    _mark_first_response(case, actor, now)
    sla.case_resolved(case, now)
    case.resolved_at = now
    touch(case, now)
    record_event(
        case,
        "case.resolved",
        actor,
        now,
        body=note,
        changes={"status": [before_status, "resolved"]},
    )
    return case


def reopen_case(
    actor: Actor,
    case_id: int,
    reason: str,
    now: datetime,
    *,
    expected_version: int | None = None,
    event_type: str = "case.reopened",
) -> Case:
    """``resolved`` -> ``in_progress`` (owner staff, or a citizen's dispute via the system)."""
    reason = require_text("reason", reason)
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "reopen", case)
    _check_version(case, expected_version)
    apply_case_transition(case, "reopen")
    previous_note = case.resolution_note
    case.resolution_note = None
    case.resolved_at = None
    sla.case_reopened(case, now)
    touch(case, now)
    record_event(
        case,
        event_type,
        actor,
        now,
        body=reason,
        visibility=Visibility.PUBLIC,
        changes={"status": ["resolved", "in_progress"], "resolution_note": [previous_note, None]},
    )
    return case


def close_case(
    actor: Actor,
    case_id: int,
    now: datetime,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> Case:
    """``resolved`` -> ``closed`` (by hand, or by the system after the dispute window)."""
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "close", case)
    _check_version(case, expected_version)
    apply_case_transition(case, "close")
    case.closed_at = now
    touch(case, now)
    record_event(
        case, "case.closed", actor, now, body=note, changes={"status": ["resolved", "closed"]}
    )
    return case


def cancel_case(
    actor: Actor,
    case_id: int,
    reason: str,
    now: datetime,
    *,
    note: str | None = None,
    duplicate_of: int | None = None,
    expected_version: int | None = None,
) -> Case:
    """Managers cancel invalid, spam or duplicate cases; open assists are withdrawn."""
    if reason not in {r.value for r in CancelReason}:
        raise InvalidInput.field(
            "reason",
            f"must be one of {[r.value for r in CancelReason]}",
            _l("Pilih alasan pembatalan dari daftar."),
        )
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "cancel", case)
    _check_version(case, expected_version)
    before_status = case.status
    if reason == CancelReason.DUPLICATE.value:
        if duplicate_of is None:
            raise InvalidInput.field(
                "duplicate_of",
                "name the case this one duplicates",
                _l("Tulis nomor kasus yang diduplikasi."),
            )
        original = db.session.get(Case, duplicate_of)
        if original is None or original.id == case.id or not can_read_case(actor, original):
            raise InvalidInput.field(
                "duplicate_of",
                "no such other case",
                _l("Kasus dengan nomor itu tidak ditemukan. Periksa nomornya."),
            )
        case.duplicate_of_id = original.id
    assists = open_assists(case)
    case.cancel_reason = reason
    case.cancel_note = note
    apply_case_transition(case, "cancel")
    sla.stop_clocks(case, now)
    for handoff in assists:
        handoff.status = HandoffStatus.RECALLED.value
        handoff.acted_at = now
        handoff.acted_by_id = actor.id if isinstance(actor, User) else None
        record_event(
            case,
            "handoff.recalled",
            actor,
            now,
            handoff=handoff,
            changes={"status": ["open", "recalled"], "why": "case cancelled"},
        )
    touch(case, now)
    record_event(
        case,
        "case.cancelled",
        actor,
        now,
        body=note,
        changes={"status": [before_status, "cancelled"], "reason": reason},
    )
    return case


def comment_on_case(actor: Actor, case_id: int, body: str, visibility: str, now: datetime) -> Case:
    """Any unit working on the case may comment; public comments reach the citizen."""
    case = load_case(actor, case_id, for_update=True)
    authorize_case(actor, "comment", case)
    check_case_transition(case, "comment")
    if visibility == Visibility.PUBLIC.value:
        _mark_first_response(case, actor, now)
    touch(case, now)
    record_event(case, "case.commented", actor, now, body=body, visibility=visibility)
    return case


def bounce_limit() -> int:
    return int(current_app.config.get("COORD_BOUNCE_LIMIT", 3))

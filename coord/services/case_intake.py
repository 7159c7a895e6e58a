"""Recording a case (``create_case``, from the API, the intake page, Open311 and the CLI)
and editing its details (``edit_case``)."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from coord.domain.phones import normalise_phone
from coord.domain.states import CaseStatus
from coord.domain.tracking import new_tracking_code
from coord.extensions import db
from coord.models import (
    Case,
    CaseUnit,
    CaseUnitRole,
    Category,
    IdempotencyKey,
    Region,
    RegionLevel,
    ReporterPrivacy,
    Role,
    Unit,
    User,
)
from coord.services import config_cache, sla
from coord.services.bulk import insert_new
from coord.services.case_records import check_version, load_case, resolve_unit, touch
from coord.services.errors import InvalidInput
from coord.services.events import new_event, publish_event, record_event
from coord.services.policy import Actor, authorize_case
from coord.services.transitions import check_case_transition


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
        reporter_phone_norm=normalise_phone(data.reporter_phone),
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
    check_version(case, expected_version)
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

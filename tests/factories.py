"""Factories as plain functions, and the standard test world."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from coord.clock import now_utc
from coord.extensions import db
from coord.models import Case, Category, Region, SlaPolicy, Unit, User
from coord.services import case_intake
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.accounts import create_user, issue_token
from coord.services.policy import SYSTEM
from coord.services.uow import unit_of_work

ROLES = ("staff", "liaison", "manager", "admin")
DAY = 480

# code -> (name, kind, region)
UNITS = {
    "pemkot": ("Bagian Pemerintahan Setda Kota", "city_office", "12.71"),
    "camat-a": ("Kantor Camat A", "camat_office", "12.71.01"),
    "kel-a1": ("Kantor Lurah A1", "kelurahan", "12.71.01.1001"),
    "kel-a2": ("Kantor Lurah A2", "kelurahan", "12.71.01.1002"),
    "camat-b": ("Kantor Camat B", "camat_office", "12.71.02"),
    "kel-b1": ("Kantor Lurah B1", "kelurahan", "12.71.02.1001"),
    "dinas-pu": ("Dinas PU", "agency", "12.71"),
    "dlh": ("Dinas Lingkungan Hidup", "agency", "12.71"),
}


@dataclass
class World:
    units: dict[str, Unit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)

    def user(self, unit: str, role: str) -> User:
        return self.users[f"{unit}.{role}"]

    def token(self, unit: str, role: str) -> str:
        return token_for(self.user(unit, role))

    def headers(self, unit: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(unit, role)}"}


def make_region(code: str, name: str, level: str, parent: str | None) -> Region:
    region = Region(code=code, name=name, level=level, parent_code=parent)
    db.session.add(region)
    db.session.flush()
    return region


def make_policy(
    category: Category,
    priority: str = "normal",
    *,
    response: int = 3 * DAY,
    resolution: int = 5 * DAY,
    ack: int = DAY,
    clock: str = "business",
    version: int = 1,
) -> SlaPolicy:
    policy = SlaPolicy(
        category_id=category.id,
        priority=priority,
        version=version,
        response_minutes=response,
        resolution_minutes=resolution,
        handoff_ack_minutes=ack,
        warning_percents=[50, 80],
        clock=clock,
        created_at=now_utc(),
    )
    db.session.add(policy)
    db.session.flush()
    return policy


def build_world() -> World:
    world = World()
    with unit_of_work():
        make_region("12", "Sumatera Utara", "province", None)
        make_region("12.71", "Kota Medan", "city", "12")
        make_region("12.71.01", "Kecamatan A", "kecamatan", "12.71")
        make_region("12.71.02", "Kecamatan B", "kecamatan", "12.71")
        for code in ("12.71.01.1001", "12.71.01.1002", "12.71.02.1001"):
            make_region(code, f"Kelurahan {code[-4:]}", "kelurahan", code[:8])
        for code, (name, kind, region) in UNITS.items():
            unit = Unit(code=code, name=name, kind=kind, region_code=region)
            db.session.add(unit)
            db.session.flush()
            world.units[code] = unit
        for code in UNITS:
            for role in ROLES:
                world.users[f"{code}.{role}"] = create_user(
                    SYSTEM,
                    f"{code}.{role}",
                    f"{role.title()} {code}",
                    code,
                    [role],
                    now_utc(),
                    password="secret-pass",
                )
        for code, default in (("sampah", "dlh"), ("jalan-rusak", "dinas-pu")):
            category = Category(
                code=code,
                name_id=code.title(),
                name_en=code.title(),
                default_unit_id=world.units[default].id,
            )
            db.session.add(category)
            db.session.flush()
            for priority in ("low", "normal", "high", "urgent"):
                make_policy(category, priority)
            world.categories[code] = category
    return world


def token_for(user: User) -> str:
    with unit_of_work():
        _, plain = issue_token(user, now_utc(), name="test")
    return plain


def new_case_data(**overrides: object) -> case_intake.NewCase:
    values: dict[str, object] = {
        "title": "Jalan berlubang",
        "description": "Lubang besar di depan sekolah",
        "category": "jalan-rusak",
        "region_code": "12.71.01.1001",
        "reporter_privacy": "named",
        "reporter_name": "Siti Aminah",
        "reporter_phone": "081234567890",
        "reporter_email": "siti@example.com",
        "reporter_nik": "1271010101010001",
    }
    values.update(overrides)
    return case_intake.NewCase(**values)  # type: ignore[arg-type]


def make_case(
    world: World, unit: str = "kel-a1", *, at: datetime | None = None, **overrides: object
) -> Case:
    """A new case recorded (and owned) by ``unit``'s staff."""
    with unit_of_work():
        case, _ = case_intake.create_case(
            world.user(unit, "staff"), new_case_data(**overrides), at or now_utc()
        )
    return case


def case_in_status(world: World, status: str, unit: str = "kel-a1", **overrides: object) -> Case:
    """Walk a fresh case into ``status`` through the services."""
    case = make_case(world, unit, **overrides)
    staff = world.user(unit, "staff")
    now = now_utc()
    if status == "new":
        return case
    if status == "pending_transfer":
        with unit_of_work():
            handoff_service.request_handoff(staff, case.id, "transfer", "dinas-pu", "tolong", now)
        return db.session.get(Case, case.id)  # type: ignore[return-value]
    with unit_of_work():
        case_service.start_case(staff, case.id, now)
    if status == "in_progress":
        return db.session.get(Case, case.id)  # type: ignore[return-value]
    if status == "on_hold":
        with unit_of_work():
            case_service.hold_case(staff, case.id, "menunggu warga", now)
        return db.session.get(Case, case.id)  # type: ignore[return-value]
    with unit_of_work():
        case_service.resolve_case(staff, case.id, "sudah ditambal", now)
    if status == "resolved":
        return db.session.get(Case, case.id)  # type: ignore[return-value]
    if status == "closed":
        with unit_of_work():
            case_service.close_case(staff, case.id, now)
        return db.session.get(Case, case.id)  # type: ignore[return-value]
    if status == "cancelled":
        with unit_of_work():
            case_service.reopen_case(staff, case.id, "belum", now)
        with unit_of_work():
            case_service.cancel_case(world.user("camat-a", "manager"), case.id, "invalid", now)
        return db.session.get(Case, case.id)  # type: ignore[return-value]
    raise ValueError(status)


def unit_by_code(code: str) -> Unit:
    return db.session.execute(select(Unit).where(Unit.code == code)).scalar_one()


def later(minutes: int) -> datetime:
    return now_utc() + timedelta(minutes=minutes)

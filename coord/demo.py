"""Demo data for Kecamatan Medan Area (DESIGN.md section 12). Idempotent.

Region codes follow the Kemendagri pattern; the Medan Area codes here are for the demo and
should be checked against the current Kepmendagri before production use.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select

from coord.clock import now_utc
from coord.extensions import db
from coord.models import Case, Category, Region, SlaPolicy, Unit, User
from coord.services import case_intake
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.accounts import create_user
from coord.services.errors import ServiceError
from coord.services.policy import SYSTEM
from coord.services.uow import unit_of_work

DEMO_PASSWORD = "demo12345"
DEMO_PASSWORD_HINT = (
    f"Demo logins (password for all: {DEMO_PASSWORD}):\n"
    "  kel-sukaramai-1.staff     kelurahan staff (Sukaramai I)\n"
    "  dinas-pu.liaison          agency liaison (Dinas PU / drainage)\n"
    "  camat-medan-area.manager  camat office manager\n"
    "  camat-medan-area.admin    administrator of Kecamatan Medan Area (its units, users)\n"
    "  pemkot-medan.admin        administrator of city-wide standards (categories, SLA\n"
    "                            policies, agencies and offices)\n"
    "  every unit has <unit>.staff, <unit>.liaison, <unit>.manager, <unit>.admin"
)

PROVINCE = ("12", "Sumatera Utara")
CITY = ("12.71", "Kota Medan")
KECAMATAN = ("12.71.08", "Medan Area")
KELURAHAN = [
    ("1001", "Kota Matsum I", "kota-matsum-1"),
    ("1002", "Kota Matsum II", "kota-matsum-2"),
    ("1003", "Kota Matsum IV", "kota-matsum-4"),
    ("1004", "Pandau Hulu II", "pandau-hulu-2"),
    ("1005", "Pasar Merah Timur", "pasar-merah-timur"),
    ("1006", "Sei Rengas I", "sei-rengas-1"),
    ("1007", "Sei Rengas Permai", "sei-rengas-permai"),
    ("1008", "Sukaramai I", "sukaramai-1"),
    ("1009", "Sukaramai II", "sukaramai-2"),
    ("1010", "Tegal Sari I", "tegal-sari-1"),
    ("1011", "Tegal Sari II", "tegal-sari-2"),
    ("1012", "Tegal Sari III", "tegal-sari-3"),
]
# A neighbouring kecamatan, so that scope rules have something outside the jurisdiction.
NEIGHBOUR = ("12.71.07", "Medan Kota", [("1001", "Pasar Baru", "pasar-baru")])

# The city office whose admins hold every unit of the city: city-wide standards are theirs.
CITY_OFFICE = ("pemkot-medan", "Bagian Pemerintahan Setda Kota Medan")

AGENCIES = [
    ("dlh", "Dinas Lingkungan Hidup (Kebersihan dan Pertamanan)"),
    ("dinas-pu", "Dinas Pekerjaan Umum (Jalan dan Drainase)"),
    ("disdukcapil", "Dinas Kependudukan dan Pencatatan Sipil"),
    ("dinsos", "Dinas Sosial"),
    ("dinkes", "Dinas Kesehatan"),
    ("puskesmas-medan-area", "Puskesmas Medan Area Selatan"),
    ("pdam-tirtanadi", "PDAM Tirtanadi"),
    ("polsek-medan-area", "Polsek Medan Area"),
]

DAY = 8 * 60  # one working day in minutes
# code, Indonesian, English, default unit, public, resolution tier (working days), 24x7 urgent
CATEGORIES = [
    ("sampah", "Sampah dan kebersihan", "Garbage and cleanliness", "dlh", True, 5),
    ("jalan-rusak", "Jalan rusak", "Road damage", "dinas-pu", True, 14),
    ("drainase-banjir", "Drainase dan banjir", "Drainage and flooding", "dinas-pu", True, 14),
    ("lampu-jalan", "Lampu penerangan jalan", "Street lighting", "dinas-pu", True, 5),
    (
        "dokumen-kependudukan",
        "Dokumen kependudukan",
        "Population documents",
        "disdukcapil",
        True,
        14,
    ),
    ("surat-domisili", "Surat keterangan domisili", "Letter of domicile", None, True, 2),
    ("surat-sktm", "Surat keterangan tidak mampu", "Letter of low income", None, True, 2),
    ("bantuan-sosial", "Bantuan sosial", "Social assistance", "dinsos", True, 60),
    ("ketertiban-umum", "Ketertiban umum", "Public order", "polsek-medan-area", True, 5),
    ("kesehatan", "Layanan kesehatan", "Health services", "puskesmas-medan-area", True, 5),
    ("air-bersih", "Air bersih (PDAM)", "Water supply", "pdam-tirtanadi", True, 5),
    ("pohon-tumbang", "Pohon tumbang", "Fallen tree", "dlh", True, 2),
]
URGENT_24X7 = {"drainase-banjir", "pohon-tumbang"}
PRIORITY_FACTOR = {"low": 1.5, "normal": 1.0, "high": 0.5, "urgent": 0.25}

TITLES = {
    "sampah": ["Tumpukan sampah di pinggir jalan", "Sampah tidak diangkut seminggu"],
    "jalan-rusak": ["Jalan berlubang di depan sekolah", "Aspal mengelupas di gang"],
    "drainase-banjir": ["Parit tersumbat, air meluap", "Genangan setelah hujan deras"],
    "lampu-jalan": ["Lampu jalan padam", "Tiang lampu miring"],
    "dokumen-kependudukan": ["KTP-el belum jadi", "Perubahan data KK"],
    "surat-domisili": ["Permohonan surat domisili usaha", "Surat domisili untuk melamar kerja"],
    "surat-sktm": ["SKTM untuk beasiswa", "SKTM untuk berobat"],
    "bantuan-sosial": ["Belum menerima bansos", "Pendaftaran DTKS"],
    "ketertiban-umum": ["Parkir liar menutup jalan", "Kebisingan malam hari"],
    "kesehatan": ["Antrian puskesmas terlalu lama", "Fogging demam berdarah"],
    "air-bersih": ["Air PDAM tidak mengalir", "Pipa bocor di jalan"],
    "pohon-tumbang": ["Pohon tumbang menutup jalan", "Dahan patah di atas kabel"],
}
NAMES = [
    "Siti Aminah",
    "Budi Santoso",
    "Rahmat Hidayat",
    "Dewi Lestari",
    "Ahmad Nasution",
    "Rina Siregar",
    "Joko Lubis",
    "Maria Simanjuntak",
    "Hendra Harahap",
    "Nur Aisyah",
]


def _region(code: str, name: str, level: str, parent: str | None) -> None:
    if db.session.get(Region, code) is None:
        db.session.add(Region(code=code, name=name, level=level, parent_code=parent))
        db.session.flush()


def _unit(code: str, name: str, kind: str, region_code: str) -> Unit:
    unit = db.session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None:
        unit = Unit(
            code=code,
            name=name,
            kind=kind,
            region_code=region_code,
            email=f"{code}@demo.medan.go.id",
        )
        db.session.add(unit)
        db.session.flush()
    return unit


def seed_structure(now: datetime) -> dict[str, Unit]:
    """Regions, units, users, categories and SLA policies."""
    _region(PROVINCE[0], PROVINCE[1], "province", None)
    _region(CITY[0], CITY[1], "city", PROVINCE[0])
    units: dict[str, Unit] = {}
    for kec_code, kec_name, kels in [(KECAMATAN[0], KECAMATAN[1], KELURAHAN), NEIGHBOUR]:
        _region(kec_code, kec_name, "kecamatan", CITY[0])
        slug = kec_name.lower().replace(" ", "-")
        units[f"camat-{slug}"] = _unit(
            f"camat-{slug}", f"Kantor Camat {kec_name}", "camat_office", kec_code
        )
        for suffix, name, kslug in kels:
            code = f"{kec_code}.{suffix}"
            _region(code, name, "kelurahan", kec_code)
            units[f"kel-{kslug}"] = _unit(f"kel-{kslug}", f"Kantor Lurah {name}", "kelurahan", code)
    units[CITY_OFFICE[0]] = _unit(CITY_OFFICE[0], CITY_OFFICE[1], "city_office", CITY[0])
    for code, name in AGENCIES:
        units[code] = _unit(code, name, "agency", CITY[0])

    for code, unit in units.items():
        for role in ("staff", "liaison", "manager", "admin"):
            username = f"{code}.{role}"
            if db.session.execute(select(User.id).where(User.username == username)).first() is None:
                create_user(
                    SYSTEM,
                    username,
                    f"{role.title()} {unit.name}",
                    code,
                    [role],
                    now,
                    password=DEMO_PASSWORD,
                    email=f"{username}@demo.medan.go.id",
                )

    for code, name_id, name_en, default_unit, public, tier_days in CATEGORIES:
        category = db.session.execute(
            select(Category).where(Category.code == code)
        ).scalar_one_or_none()
        if category is None:
            category = Category(
                code=code,
                name_id=name_id,
                name_en=name_en,
                public=public,
                default_unit_id=units[default_unit].id if default_unit else None,
                default_unit_kind=None if default_unit else "kelurahan",
            )
            db.session.add(category)
            db.session.flush()
        for priority, factor in PRIORITY_FACTOR.items():
            exists = db.session.execute(
                select(SlaPolicy.id).where(
                    SlaPolicy.category_id == category.id, SlaPolicy.priority == priority
                )
            ).first()
            if exists:
                continue
            always = code in URGENT_24X7 and priority == "urgent"
            db.session.add(
                SlaPolicy(
                    category_id=category.id,
                    priority=priority,
                    version=1,
                    response_minutes=int(3 * DAY * min(factor, 1.0)) if not always else 4 * 60,
                    resolution_minutes=int(tier_days * DAY * factor) if not always else 24 * 60,
                    handoff_ack_minutes=DAY if not always else 2 * 60,
                    warning_percents=[50, 80],
                    clock="24x7" if always else "business",
                    created_at=now,
                )
            )
    db.session.flush()
    return units


def seed_cases(units: dict[str, Unit], count: int, now: datetime, rng: random.Random) -> int:
    """Cases across every state, created through the services so their events are real."""
    kelurahan_codes = [f"kel-{k[2]}" for k in KELURAHAN]
    categories = {c[0]: c for c in CATEGORIES}
    users = {u.username: u for u in db.session.execute(select(User)).scalars()}
    created = 0
    for i in range(count):
        kel = rng.choice(kelurahan_codes)
        cat_code = rng.choice(list(categories))
        target = categories[cat_code][3] or rng.choice(kelurahan_codes)
        start = now - timedelta(days=rng.uniform(0.5, 75), hours=rng.uniform(0, 6))
        staff = users[f"{kel}.staff"]
        privacy = rng.choice(["named", "named", "named", "confidential", "anonymous"])
        data = case_intake.NewCase(
            title=rng.choice(TITLES[cat_code]),
            description="Laporan warga: " + rng.choice(TITLES[cat_code]),
            category=cat_code,
            region_code=units[kel].region_code,
            channel=rng.choice(["walk_in", "phone", "whatsapp", "letter", "web", "lapor"]),
            priority=rng.choice(["low", "normal", "normal", "normal", "high", "urgent"]),
            received_at=start,
            reporter_privacy=privacy,
            reporter_name=None if privacy == "anonymous" else rng.choice(NAMES),
            reporter_phone=None
            if privacy == "anonymous"
            else f"0812{rng.randint(10_000_000, 99_999_999)}",
            address=f"Jl. Demo No. {rng.randint(1, 200)}",
        )
        t = start + timedelta(minutes=rng.randint(5, 120))
        try:
            with unit_of_work():
                case, _ = case_intake.create_case(staff, data, t)
            created += 1
            _walk(case.id, kel, target, users, t, now, rng, i)
        except ServiceError:
            db.session.rollback()
    return created


def _walk(
    case_id: int,
    kel: str,
    target: str,
    users: dict[str, User],
    t: datetime,
    now: datetime,
    rng: random.Random,
    i: int,
) -> None:
    """Move a demo case along a plausible path; stops early to leave every state populated."""
    staff = users[f"{kel}.staff"]
    stop = rng.random()

    def step(minutes: float) -> datetime:
        nonlocal t
        t = min(t + timedelta(minutes=minutes), now - timedelta(minutes=1))
        return t

    if stop < 0.12:
        return  # stays new
    if target != kel and stop < 0.75:
        with unit_of_work():
            h = handoff_service.request_handoff(
                staff,
                case_id,
                "transfer",
                target,
                "Mohon ditindaklanjuti",
                step(rng.uniform(30, 600)),
            )
        if stop < 0.2:
            return  # pending transfer
        liaison = users[f"{target}.liaison"]
        if stop < 0.3:
            with unit_of_work():
                handoff_service.reject_handoff(
                    liaison,
                    h.id,
                    "not_our_jurisdiction",
                    step(rng.uniform(60, 900)),
                    note="Bukan kewenangan kami",
                )
            if i % 7 == 0:  # ping-pong: forwarded again and bounced between agencies
                _ping_pong(case_id, kel, users, t, now, rng)
            return
        with unit_of_work():
            handoff_service.accept_handoff(liaison, h.id, step(rng.uniform(60, 1200)))
        staff = users[f"{target}.staff"]
    transferred = staff.unit_id != users[f"{kel}.staff"].unit_id
    if not transferred:  # an accepted transfer is already in progress
        with unit_of_work():
            case_service.start_case(staff, case_id, step(rng.uniform(30, 600)))
    if stop < 0.35:
        return
    if stop < 0.42:
        with unit_of_work():
            case_service.hold_case(
                staff, case_id, "Menunggu kelengkapan berkas dari warga", step(rng.uniform(60, 600))
            )
        return
    if stop < 0.47:
        return  # in progress
    with unit_of_work():
        case_service.resolve_case(
            staff, case_id, "Sudah ditangani petugas di lapangan", step(rng.uniform(600, 8000))
        )
    if stop < 0.85:
        return  # resolved
    if stop < 0.93:
        with unit_of_work():
            case_service.close_case(staff, case_id, step(rng.uniform(60, 3000)))
        return
    manager = users["camat-medan-area.manager"]
    with unit_of_work():
        case_service.reopen_case(staff, case_id, "Warga menyatakan belum selesai", step(60))
    with unit_of_work():
        case_service.cancel_case(
            manager, case_id, "invalid", step(120), note="Laporan tidak dapat diverifikasi"
        )


def _ping_pong(
    case_id: int, kel: str, users: dict[str, User], t: datetime, now: datetime, rng: random.Random
) -> None:
    route = [kel, "dinas-pu", "dlh", "dinas-pu", "dlh"]
    for sender, receiver in zip(route, route[1:], strict=False):
        t = min(t + timedelta(hours=rng.uniform(2, 20)), now - timedelta(minutes=1))
        with unit_of_work():
            h = handoff_service.request_handoff(
                users[f"{sender}.staff"], case_id, "transfer", receiver, "Mohon ditangani", t
            )
        t = min(t + timedelta(hours=rng.uniform(1, 10)), now - timedelta(minutes=1))
        with unit_of_work():
            handoff_service.accept_handoff(users[f"{receiver}.liaison"], h.id, t)


def seed_demo(case_count: int = 300, seed: int = 2026) -> str:
    """Create what is missing; running it twice changes nothing the second time."""
    now = now_utc()
    with unit_of_work():
        units = seed_structure(now)
    existing = db.session.execute(select(func.count(Case.id))).scalar_one()
    created = 0
    if existing == 0 and case_count > 0:
        created = seed_cases(units, case_count, now, random.Random(seed))
    total = db.session.execute(select(func.count(Case.id))).scalar_one()
    return f"demo data ready: {len(units)} units, {total} cases ({created} new)"

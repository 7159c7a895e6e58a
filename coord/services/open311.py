"""Open311 GeoReport v2 over the case services: clients and their api keys, the services
(public categories), service requests (cases) created by apps, and the public request views.

Decisions (docs/open311.md):
- ``service_request_id`` is the case's tracking code (``XXXX-XXXX``): a string, as the
  specification allows, and not sequential, so ids reveal nothing about volume and cannot be
  enumerated. The ``token`` is the citizen token printed on receipts; an app may hand it to
  the citizen for SKM feedback and disputes on /public/v1/track.
- Requests are cases of public categories located in the configured region. Only requests
  sent through Open311 show their description, address and coordinates (their senders posted
  them to a public API); cases recorded by staff show the kelurahan only, because their text
  may carry personal data.
- Every service has one required attribute, ``kelurahan`` (a ``singlevaluelist`` of the
  kelurahan served), because a case must be located in a kelurahan; the kelurahan office of
  the chosen region records and owns the case.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, func, select

from coord.domain.states import CaseStatus, HandoffKind, HandoffStatus
from coord.domain.tracking import format_tracking_code, normalise_tracking_code
from coord.extensions import db
from coord.models import (
    Case,
    CaseEvent,
    Category,
    Channel,
    Handoff,
    Open311Client,
    Region,
    RegionLevel,
    ReporterPrivacy,
    Unit,
    UnitKind,
    Visibility,
)
from coord.services.cases import NewCase, create_case
from coord.services.citizens import EVENT_LABELS, STATUS_LABELS, format_wib, tracking_urls
from coord.services.errors import Forbidden, InvalidInput, NotFound
from coord.services.policy import SystemActor, in_jurisdiction

WIB = ZoneInfo("Asia/Jakarta")
KEY_PREFIX = "o311_"
SPECIFICATION_URL = "http://wiki.open311.org/GeoReport_v2"
# When the discovery document (this adapter's interface) last changed.
DISCOVERY_CHANGESET = datetime(2026, 3, 1, 0, 0, tzinfo=WIB)
KELURAHAN_ATTRIBUTE = "kelurahan"
MAX_REQUESTS = 1000
DEFAULT_SPAN = timedelta(days=90)
CLOSED_STATUSES = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value, CaseStatus.CANCELLED.value)


def iso_wib(at: datetime | None) -> str | None:
    """ISO 8601 with the +07:00 offset, as GeoReport v2 asks for."""
    return at.astimezone(WIB).isoformat(timespec="seconds") if at is not None else None


# -- clients -------------------------------------------------------------------------------


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_client(
    name: str, now: datetime, *, created_by_id: int | None = None
) -> tuple[Open311Client, str]:
    """Register an app allowed to POST requests; the key is returned once, only its hash kept."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput.field("name", "1 to 200 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    client = Open311Client(
        name=name,
        key_hash=_digest(key),
        prefix=key[:12],
        active=True,
        created_at=now,
        created_by_id=created_by_id,
    )
    db.session.add(client)
    db.session.flush()
    return client, key


def client_for_key(key: str | None) -> Open311Client:
    if not key:
        raise Forbidden("api_key is required to create a service request; ask the admins for one.")
    client = db.session.execute(
        select(Open311Client).where(Open311Client.key_hash == _digest(key))
    ).scalar_one_or_none()
    if client is None or not client.active:
        raise Forbidden("Invalid api_key received -- cannot create the service request.")
    return client


def client_actor(client: Open311Client) -> SystemActor:
    return SystemActor(label=f"open311:{client.name}"[:200])


# -- jurisdiction and services -------------------------------------------------------------


def jurisdiction_id() -> str:
    return str(current_app.config.get("COORD_OPEN311_JURISDICTION", "medan.go.id"))


def check_jurisdiction(given: str | None) -> None:
    """``jurisdiction_id`` is optional (this server has one); a different one is not found."""
    if given is not None and given.strip() != jurisdiction_id():
        raise NotFound(
            f"jurisdiction_id '{given.strip()[:100]}' not found; this server serves "
            f"'{jurisdiction_id()}'."
        )


def region_scope() -> str:
    return str(current_app.config.get("COORD_OPEN311_REGION", "") or "")


def _in_scope(column: Any) -> Any:
    scope = region_scope()
    return in_jurisdiction(column, scope) if scope else True


def public_categories() -> list[Category]:
    return list(
        db.session.execute(
            select(Category)
            .where(Category.public.is_(True), Category.active.is_(True))
            .order_by(Category.code)
        ).scalars()
    )


def find_service(code: str) -> Category:
    category = db.session.execute(
        select(Category).where(
            Category.code == code, Category.public.is_(True), Category.active.is_(True)
        )
    ).scalar_one_or_none()
    if category is None:
        raise NotFound(f"service_code '{code[:64]}' not found.")
    return category


def kelurahan_choices() -> list[tuple[Region, Unit]]:
    """The kelurahan in the region served that have an active kelurahan office, by name."""
    rows = db.session.execute(
        select(Region, Unit)
        .join(Unit, Unit.region_code == Region.code)
        .where(
            Region.level == RegionLevel.KELURAHAN.value,
            Unit.kind == UnitKind.KELURAHAN.value,
            Unit.active.is_(True),
            _in_scope(Region.code),
        )
        .order_by(Region.name, Region.code, Unit.id)
    ).all()
    seen: set[str] = set()
    choices: list[tuple[Region, Unit]] = []
    for region, unit in rows:
        if region.code not in seen:
            seen.add(region.code)
            choices.append((region, unit))
    return choices


def _kelurahan_office(region_code: str) -> Unit:
    for region, unit in kelurahan_choices():
        if region.code == region_code:
            return unit
    raise InvalidInput.field(
        f"attribute[{KELURAHAN_ATTRIBUTE}]",
        f"'{region_code[:40]}' is not a kelurahan served here; see the service definition",
    )


def service_view(category: Category) -> dict[str, Any]:
    keywords = []
    for word in (category.name_id, category.name_en, category.code):
        if word and word.lower() not in keywords:
            keywords.append(word.lower())
    return {
        "service_code": category.code,
        "service_name": category.name_id,
        "description": category.description or category.name_id,
        "metadata": True,  # every service has the kelurahan attribute
        "type": "realtime",
        "keywords": ", ".join(keywords),
        "group": category.default_unit.name if category.default_unit else "Umum",
    }


def service_definition_view(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": KELURAHAN_ATTRIBUTE,
                "datatype": "singlevaluelist",
                "required": True,
                "datatype_description": (
                    "Kode wilayah kelurahan (Kemendagri), misalnya 12.71.01.1001"
                ),
                "order": 1,
                "description": "Kelurahan tempat lokasi laporan",
                "values": [
                    {"key": region.code, "name": region.name}
                    for region, _unit in kelurahan_choices()
                ],
            }
        ],
    }


def discovery_view() -> dict[str, Any]:
    base = str(current_app.config.get("COORD_PUBLIC_BASE_URL", "")).rstrip("/")
    changeset = iso_wib(DISCOVERY_CHANGESET)
    return {
        "changeset": changeset,
        "contact": str(current_app.config.get("COORD_OPEN311_CONTACT", "")),
        "key_service": str(current_app.config.get("COORD_OPEN311_KEY_SERVICE", "")),
        "endpoints": [
            {
                "specification": SPECIFICATION_URL,
                "url": f"{base}/open311/v2",
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


# -- creating requests ---------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()\-. ]{5,40}$")


@dataclass
class ServiceRequestIn:
    service_code: str
    kelurahan: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    description: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    media_url: str | None = None


def _coordinate(name: str, raw: str | None, limit: float) -> float | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput.field(name, "must be a number (WGS84 degrees)") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise InvalidInput.field(name, f"must be between -{limit:g} and {limit:g}")
    return value


def _text(name: str, raw: str | None, max_length: int) -> str | None:
    if raw is None:
        return None
    value = raw.strip()
    if len(value) > max_length:
        raise InvalidInput.field(name, f"at most {max_length} characters")
    return value or None


def _title(description: str | None, category: Category) -> str:
    if not description:
        return category.name_id[:200]
    first = description.splitlines()[0].strip()
    return (first[:197] + "...") if len(first) > 200 else (first or category.name_id[:200])


def submit_request(client: Open311Client, data: ServiceRequestIn, now: datetime) -> Case:
    """Create a case (channel ``open311``) from a GeoReport v2 POST.

    Checked: the service (404), a location (lat and long, address_string or address_id), the
    kelurahan attribute, field lengths and contact formats (400). The kelurahan office of the
    chosen region records and owns the case; ``case.created`` is written by the app's actor.
    """
    category = find_service(data.service_code)
    lat = _coordinate("lat", data.lat, 90)
    long = _coordinate("long", data.long, 180)
    if (lat is None) != (long is None):
        raise InvalidInput.field("long" if long is None else "lat", "send lat and long together")
    address = _text("address_string", data.address_string, 500)
    address_id = _text("address_id", data.address_id, 100)
    if lat is None and address is None and address_id is None:
        raise InvalidInput(
            "A location is required: lat and long, address_string or address_id.",
            {"location": ["lat and long, address_string or address_id"]},
        )
    kelurahan = _text(f"attribute[{KELURAHAN_ATTRIBUTE}]", data.kelurahan, 20)
    if kelurahan is None:
        raise InvalidInput.field(
            f"attribute[{KELURAHAN_ATTRIBUTE}]",
            "required: the kelurahan of the location (see the service definition)",
        )
    office = _kelurahan_office(kelurahan)
    description = _text("description", data.description, 4000)
    title = _title(description, category)
    media_url = _text("media_url", data.media_url, 500)
    if media_url is not None:
        if not media_url.lower().startswith(("http://", "https://")):
            raise InvalidInput.field("media_url", "must be an http or https URL")
        description = f"{description or ''}\n\nMedia: {media_url}".strip()
    email = _text("email", data.email, 200)
    if email is not None and not _EMAIL.match(email):
        raise InvalidInput.field("email", "not an e-mail address")
    phone = _text("phone", data.phone, 40)
    if phone is not None and not _PHONE.match(phone):
        raise InvalidInput.field("phone", "digits, spaces and + - ( ) . only")
    first = _text("first_name", data.first_name, 100)
    last = _text("last_name", data.last_name, 100)
    name = " ".join(p for p in (first, last) if p) or None
    named = bool(name or email or phone)
    if address is None and address_id is not None:
        address = f"ID alamat {address_id}"
    new = NewCase(
        title=title,
        description=description or "",
        category=category.code,
        region_code=office.region_code,
        channel=Channel.OPEN311.value,
        reporter_privacy=(ReporterPrivacy.NAMED if named else ReporterPrivacy.ANONYMOUS).value,
        reporter_name=name,
        reporter_phone=phone,
        reporter_email=email,
        address=address,
        latitude=lat,
        longitude=long,
    )
    case, _ = create_case(client_actor(client), new, now, recording_unit=office)
    case.open311_client_id = client.id
    db.session.flush()
    return case


def service_notice(case: Case) -> str:
    due = (
        f"; target penyelesaian {format_wib(case.resolution_due_at)}"
        if case.resolution_due_at
        else ""
    )
    return (
        f"Laporan diterima oleh {case.owner_unit.name} dengan kode pelacakan "
        f"{format_tracking_code(case.tracking_code)}{due}. Pantau di "
        f"{tracking_urls(case)['history']}."
    )


def created_view(case: Case) -> dict[str, Any]:
    return {
        "service_request_id": format_tracking_code(case.tracking_code),
        "token": case.citizen_token,
        "service_notice": service_notice(case),
        "account_id": None,
    }


# -- reading requests ----------------------------------------------------------------------


def _requests_query() -> Select[Any]:
    return (
        select(Case)
        .join(Category, Category.id == Case.category_id)
        .where(Category.public.is_(True), _in_scope(Case.region_code))
    )


def request_by_id(text: str) -> Case:
    code = normalise_tracking_code(text)
    case = None
    if code is not None:
        case = (
            db.session.execute(_requests_query().where(Case.tracking_code == code))
            .unique()
            .scalar_one_or_none()
        )
    if case is None:
        raise NotFound(f"service_request_id '{text[:40]}' not found.")
    return case


def case_for_token(token: str) -> Case:
    """Only requests created through Open311 resolve from their token."""
    case = None
    if 0 < len(token) <= 64:
        case = (
            db.session.execute(
                _requests_query().where(
                    Case.citizen_token == token, Case.channel == Channel.OPEN311.value
                )
            )
            .unique()
            .scalar_one_or_none()
        )
    if case is None:
        raise NotFound("token not found.")
    return case


def parse_datetime(name: str, raw: str) -> datetime:
    """W3C date-time (``2010-01-01T00:00:00Z``, an offset, or none = WIB) or a date."""
    text = raw.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput.field(name, "use ISO 8601, e.g. 2026-03-01T00:00:00+07:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=WIB)
    if not 2000 <= parsed.year < 2100:
        raise InvalidInput.field(name, "must be between 2000 and 2100")
    return parsed


@dataclass
class RequestFilters:
    service_request_ids: list[str] | None = None
    service_codes: list[str] | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    statuses: list[str] | None = None


def _comma_list(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    items = [item.strip() for item in raw.split(",") if item.strip()]
    return items or None


def filters_from_args(args: dict[str, str | None]) -> RequestFilters:
    """Read the GET requests arguments; bad values are 400s naming the argument."""
    statuses = _comma_list(args.get("status"))
    if statuses is not None:
        unknown = [s for s in statuses if s not in ("open", "closed")]
        if unknown:
            raise InvalidInput.field("status", "open, closed or both (comma-separated)")
    raw_start, raw_end = args.get("start_date"), args.get("end_date")
    start = parse_datetime("start_date", raw_start) if raw_start else None
    end = parse_datetime("end_date", raw_end) if raw_end else None
    if start is not None and end is not None:
        if end < start:
            raise InvalidInput.field("end_date", "must not be before start_date")
        if end - start > DEFAULT_SPAN:
            raise InvalidInput.field(
                "end_date", "start_date and end_date may not span more than 90 days"
            )
    ids = _comma_list(args.get("service_request_id"))
    return RequestFilters(
        service_request_ids=ids[:MAX_REQUESTS] if ids else None,
        service_codes=_comma_list(args.get("service_code")),
        start_date=start,
        end_date=end,
        statuses=statuses,
    )


def find_requests(filters: RequestFilters, now: datetime) -> list[Case]:
    """Matching requests, newest first, at most 1000, within 90 days unless ids are given
    (``service_request_id`` overrides every other filter, as the specification says)."""
    query = _requests_query()
    if filters.service_request_ids:
        codes = [c for c in (normalise_tracking_code(i) for i in filters.service_request_ids) if c]
        if not codes:
            return []
        query = query.where(Case.tracking_code.in_(codes))
    else:
        start, end = filters.start_date, filters.end_date
        if start is None and end is None:
            end = now
        if start is None:
            assert end is not None
            start = end - DEFAULT_SPAN
        if end is None:
            end = start + DEFAULT_SPAN
        query = query.where(Case.received_at >= start, Case.received_at <= end)
        if filters.service_codes:
            query = query.where(Category.code.in_(filters.service_codes))
        if filters.statuses and set(filters.statuses) != {"open", "closed"}:
            closed = Case.status.in_(CLOSED_STATUSES)
            query = query.where(closed if "closed" in filters.statuses else ~closed)
    query = query.order_by(Case.received_at.desc(), Case.id.desc()).limit(MAX_REQUESTS)
    return list(db.session.execute(query).unique().scalars())


def _latest_public_events(case_ids: list[int]) -> dict[int, CaseEvent]:
    if not case_ids:
        return {}
    latest = (
        select(func.max(CaseEvent.id))
        .where(CaseEvent.case_id.in_(case_ids), CaseEvent.visibility == Visibility.PUBLIC.value)
        .group_by(CaseEvent.case_id)
    )
    events = (
        db.session.execute(select(CaseEvent).where(CaseEvent.id.in_(latest))).unique().scalars()
    )
    return {event.case_id: event for event in events}


_NOTE_STATUS = {
    HandoffStatus.PENDING.value: "Menunggu konfirmasi {to}",
    HandoffStatus.ACCEPTED.value: "Diterima oleh {to}",
    HandoffStatus.COMPLETED.value: "Bagian {to} sudah selesai",
}


def _handoff_notes(case_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Handoffs as GeoReport ``notes`` (unit names and states only: the staff's handoff notes
    and reject reasons are internal; rejected and recalled handoffs changed nothing)."""
    notes: dict[int, list[dict[str, Any]]] = {}
    if not case_ids:
        return notes
    rows = (
        db.session.execute(
            select(Handoff)
            .where(Handoff.case_id.in_(case_ids), Handoff.status.in_(list(_NOTE_STATUS)))
            .order_by(Handoff.requested_at, Handoff.id)
        )
        .unique()
        .scalars()
    )
    for handoff in rows:
        to, frm = handoff.to_unit.name, handoff.from_unit.name
        if handoff.kind == HandoffKind.TRANSFER.value:
            summary = f"Dialihkan dari {frm} ke {to}"
        else:
            summary = f"Koordinasi: {frm} meminta bantuan {to}"
        notes.setdefault(handoff.case_id, []).append(
            {
                "type": handoff.kind,
                "datetime": iso_wib(handoff.requested_at),
                "summary": summary,
                "description": _NOTE_STATUS[handoff.status].format(to=to),
            }
        )
    return notes


def request_views(cases: list[Case]) -> list[dict[str, Any]]:
    """GeoReport v2 request objects, fields in the specification's order, plus ``notes``."""
    ids = [c.id for c in cases]
    latest = _latest_public_events(ids)
    notes = _handoff_notes(ids)
    views = []
    for case in cases:
        event = latest.get(case.id)
        if event is None:
            status_notes = STATUS_LABELS.get(case.status)
        else:
            status_notes = event.body or EVENT_LABELS.get(
                event.type, STATUS_LABELS.get(case.status)
            )
        sent_here = case.channel == Channel.OPEN311.value
        views.append(
            {
                "service_request_id": format_tracking_code(case.tracking_code),
                "status": "closed" if case.status in CLOSED_STATUSES else "open",
                "status_notes": status_notes,
                "service_name": case.category.name_id,
                "service_code": case.category.code,
                "description": (case.description or None) if sent_here else None,
                "agency_responsible": case.owner_unit.name,
                "service_notice": None,
                "requested_datetime": iso_wib(case.received_at),
                "updated_datetime": iso_wib(case.updated_at),
                "expected_datetime": iso_wib(case.resolution_due_at),
                "address": (case.address or case.region.name) if sent_here else case.region.name,
                "address_id": None,
                "zipcode": None,
                "lat": case.latitude if sent_here else None,
                "long": case.longitude if sent_here else None,
                "media_url": None,
                "notes": notes.get(case.id, []),
            }
        )
    return views

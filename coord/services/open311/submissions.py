"""Creating a GeoReport v2 service request: the checked input becomes a case (channel
``open311``) through the case services, recorded and owned by the kelurahan office of the
chosen kelurahan."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

from coord.extensions import db
from coord.models import Case, Category, Channel, Open311Client, ReporterPrivacy, Unit
from coord.services.case_intake import NewCase, create_case
from coord.services.errors import InvalidInput
from coord.services.open311.clients import client_actor
from coord.services.open311.jurisdiction import KELURAHAN_ATTRIBUTE, find_service, kelurahan_choices

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


def _kelurahan_office(region_code: str) -> Unit:
    for region, unit in kelurahan_choices():
        if region.code == region_code:
            return unit
    raise InvalidInput.field(
        f"attribute[{KELURAHAN_ATTRIBUTE}]",
        f"'{region_code[:40]}' is not a kelurahan served here; see the service definition",
    )


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

"""The GeoReport v2 documents as plain payloads (dicts and lists, fields in the
specification's order), built from what ``coord.services.open311`` reads: discovery, the
services and a service definition, the created request and its notice, and the request
objects with their ``notes``. ``coord/open311/render.py`` turns a payload into XML or JSON;
``coord/open311/routes.py`` serves them.

Only requests sent through Open311 show their description, address and coordinates; cases
recorded by staff show the kelurahan only (docs/open311.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

from coord.domain.tracking import format_tracking_code
from coord.models import Case, Category, Channel
from coord.services.citizens import EVENT_LABELS, STATUS_LABELS, format_wib, tracking_urls
from coord.services.open311.jurisdiction import (
    KELURAHAN_ATTRIBUTE,
    WIB,
    iso_wib,
    kelurahan_choices,
)
from coord.services.open311.queries import CLOSED_STATUSES, handoff_notes, latest_public_events

SPECIFICATION_URL = "http://wiki.open311.org/GeoReport_v2"
# When the discovery document (this adapter's interface) last changed.
DISCOVERY_CHANGESET = datetime(2026, 3, 1, 0, 0, tzinfo=WIB)


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


def request_views(cases: list[Case]) -> list[dict[str, Any]]:
    """GeoReport v2 request objects, fields in the specification's order, plus ``notes``."""
    ids = [c.id for c in cases]
    latest = latest_public_events(ids)
    notes = handoff_notes(ids)
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

"""Open311 clients: the apps allowed to create service requests, their api keys (shown
once, only a hash kept) and the actor a client's requests are recorded by."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select

from coord.extensions import db
from coord.models import Open311Client
from coord.services.errors import Forbidden, InvalidInput
from coord.services.policy import SystemActor

KEY_PREFIX = "o311_"


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

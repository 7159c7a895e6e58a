"""Standard Webhooks signatures (https://www.standardwebhooks.com), as pure functions.

A message is signed with HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{body}"`` using
the secret's raw bytes (the base64 part of ``whsec_...``). The ``webhook-signature`` header
holds one ``v1,<base64>`` entry per signing secret, separated by spaces, so that during a
rotation both the old and the new secret sign and a receiver holding either one verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _random
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # 256-bit keys, as the specification recommends (24 to 64 allowed)
DEFAULT_TOLERANCE = 300  # seconds a receiver accepts between its clock and the timestamp


class InvalidSecret(ValueError):
    """Not a ``whsec_`` + base64 secret."""


def generate_secret() -> str:
    """A fresh random signing secret, ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The raw key bytes of a ``whsec_`` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret("a signing secret starts with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecret("a signing secret is 'whsec_' followed by base64") from exc
    if not key:
        raise InvalidSecret("a signing secret may not be empty")
    return key


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return msg_id.encode() + b"." + str(int(timestamp)).encode() + b"." + body


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` for message ``msg_id`` at ``timestamp``."""
    digest = hmac.new(secret_key(secret), signed_content(msg_id, timestamp, body), hashlib.sha256)
    return "v1," + base64.b64encode(digest.digest()).decode("ascii")


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    if not secrets:
        raise InvalidSecret("at least one secret is needed to sign")
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)


def signed_headers(
    secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
) -> bool:
    """True if one ``v1`` signature in ``headers`` matches ``secret`` and the timestamp is
    within ``tolerance`` seconds of ``now`` (a receiver's check, used by our own tests)."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    raw_timestamp = lower.get("webhook-timestamp")
    header = lower.get("webhook-signature")
    if not (msg_id and raw_timestamp and header):
        return False
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, msg_id, timestamp, body).encode()
    return any(
        hmac.compare_digest(expected, candidate.encode())
        for candidate in header.split(" ")
        if candidate.startswith("v1,")
    )

"""Tracking codes: random, non-sequential, Crockford base32, shown as ``XXXX-XXXX``."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE_MAP = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})
CODE_LENGTH = 8


def new_tracking_code() -> str:
    """8 symbols (40 random bits) from the Crockford alphabet, stored without the dash."""
    bits = secrets.randbits(5 * CODE_LENGTH)  # one draw from the OS, not one per symbol
    return "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(CODE_LENGTH))


def normalise_tracking_code(text: str) -> str | None:
    """Turn what a citizen typed into the stored form, or ``None`` if it cannot be a code.

    Case-insensitive; dashes and spaces ignored; O->0 and I/L->1 as Crockford prescribes.
    """
    cleaned = text.strip().upper().translate(_DECODE_MAP)
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def format_tracking_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"

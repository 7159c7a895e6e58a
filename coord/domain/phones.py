"""Reporters' phone numbers in one stored form, so that a number typed any way finds the case.

Citizens and clerks write the same Indonesian number as ``0812-3456-7890``, ``+62 812 3456
7890``, ``62812…`` or ``812…``; the search form gets any of them. ``normalise_phone`` turns
each into the international digits without the plus (``6281234567890``), the value of
``cases.reporter_phone_norm``. Migration 0011 backfills that column with the same rules in
SQL: change one, change the other (tests/test_phone_migration.py holds them together).
"""

from __future__ import annotations

import re

_TYPED = re.compile(r"[0-9 +().\-]+")
_SEPARATORS = str.maketrans("", "", " +().-")
MIN_DIGITS = 8
MAX_DIGITS = 15  # E.164


def normalise_phone(text: str | None) -> str | None:
    """The stored form of a typed phone number, or ``None`` if ``text`` cannot be one.

    Spaces, dashes, dots, brackets and plus signs are dropped. Without a leading ``+``: ``00``
    (the international prefix) is dropped, a leading ``0`` (the trunk prefix) becomes ``62``,
    and a mobile number typed without it (``812…``) gets ``62``. ``+62 (0)812…`` loses the
    ``0``. The result has 8 to 15 digits."""
    if text is None:
        return None
    raw = text.strip(" ")
    if not _TYPED.fullmatch(raw):
        return None
    digits = raw.translate(_SEPARATORS)
    if not digits:
        return None
    if not raw.startswith("+"):
        if digits.startswith("00"):
            digits = digits[2:]
        elif digits.startswith("0"):
            digits = "62" + digits[1:]
        elif digits.startswith("8"):
            digits = "62" + digits
    if digits.startswith("620"):
        digits = "62" + digits[3:]
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return None
    return digits

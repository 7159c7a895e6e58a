"""Reading numbers and months out of web forms and query strings.

One rule for every page: a number is ASCII digits (``str.isdigit()`` also says yes to '²' and
'①', and ``int()`` reads Arabic-Indic digits), within the column it is meant for; anything else
is ``InvalidInput`` naming the field, which the pages show as a message, never a 500.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from marshmallow import ValidationError

from coord.http.fields import MAX_ID, MONTH
from coord.services.errors import InvalidInput

_DIGITS = re.compile(r"[0-9]{1,19}\Z")  # \Z: "$" would let a final newline in


def form_int(
    value: str | None, field: str, *, minimum: int = 1, maximum: int = MAX_ID
) -> int | None:
    """``value`` as a whole number between ``minimum`` and ``maximum``; None when blank.

    Ids default to the range of a BIGINT primary key, so an id that cannot exist is refused
    here instead of overflowing the database driver."""
    text = (value or "").strip()
    if not text:
        return None
    number = int(text) if _DIGITS.match(text) else None
    if number is None or not minimum <= number <= maximum:
        raise _invalid(
            field,
            _(
                "Isian '%(field)s' harus bilangan bulat %(low)s sampai %(high)s (angka 0-9).",
                field=field,
                low=minimum,
                high=maximum,
            ),
        )
    return number


def form_month(value: str | None, field: str = "month") -> str | None:
    """A ``YYYY-MM`` month as the reports API reads it (2000-2099); None when blank."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return str(MONTH(text))
    except ValidationError:
        raise _invalid(
            field,
            _(
                "Isian '%(field)s' harus bulan dalam bentuk TTTT-BB, antara 2000 dan 2099.",
                field=field,
            ),
        ) from None


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, {field: [message]}, text=message, field_texts={field: message})

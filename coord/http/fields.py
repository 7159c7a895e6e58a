"""Fields and limits of what a request may carry, the same for the API's schemas, the staff
pages' forms and Open311: text PostgreSQL can store, instants within 2000-2100, ids within
a bigint, months as YYYY-MM."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, pre_load, validate

WIB = ZoneInfo("Asia/Jakarta")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable_text(text: str) -> str | None:
    """Why ``text`` cannot be stored as UTF-8 text, if it cannot."""
    if "\x00" in text:
        return "must not contain NUL characters"
    if _SURROGATE.search(text):
        return "must be valid Unicode text (lone surrogate characters found)"
    return None


def _find_nul(value: Any, path: str, found: dict[str, list[str]]) -> None:
    if isinstance(value, str):
        problem = unstorable_text(value)
        if problem:
            found[path or "_schema"] = [problem]
    elif isinstance(value, dict):
        for key, item in value.items():
            _find_nul(item, str(key) if not path else f"{path}.{key}", found)
    elif isinstance(value, list):
        for item in value:
            _find_nul(item, path, found)


# marshmallow's own messages (English, kept for the API) and what a person reads instead on
# a page: what to do, from the translation catalogue (see ``Schema(for_people=True)``).
FOR_PEOPLE: dict[str, LazyString] = {
    "Missing data for required field.": _l("Wajib diisi."),
    "Field may not be null.": _l("Wajib diisi; jangan dikosongkan."),
    "Not a valid string.": _l("Isi dengan teks."),
    "Not a valid email address.": _l("Tulis alamat e-mail yang benar, misalnya nama@contoh.id."),
    "Not a valid number.": _l("Isi dengan angka."),
    "Not a valid datetime.": _l("Isi tanggal dan jam yang benar."),
    "Invalid input type.": _l("Isian ini tidak sesuai bentuknya."),
    "Unknown field.": _l("Isian ini tidak dikenal."),
    "Length must be between {min} and {max}.": _l("Isi {min} sampai {max} karakter."),
    "Shorter than minimum length {min}.": _l("Isi paling sedikit {min} karakter."),
    "Longer than maximum length {max}.": _l("Isi paling banyak {max} karakter."),
    "Must be one of: {choices}.": _l("Pilih salah satu dari daftar."),
    "Must be greater than or equal to {min} and less than or equal to {max}.": _l(
        "Isi angka antara {min} dan {max}."
    ),
}
_VALIDATOR_MESSAGES = ("error", "message_min", "message_max", "message_all", "message_equal")


class Schema(ma.Schema):
    """Unknown fields are errors; so is text PostgreSQL cannot store (NUL, lone surrogates).

    ``Schema(for_people=True)``: the messages a person reads on a page (the staff forms) come
    from the translation catalogue and say what to do (``FOR_PEOPLE``, and our own
    validators' ``people`` texts); the API keeps marshmallow's English messages."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    def __init__(self, *args: Any, for_people: bool = False, **kwargs: Any) -> None:
        self.for_people = for_people
        super().__init__(*args, **kwargs)
        if for_people:
            self.error_messages = {
                **self.error_messages,
                "unknown": FOR_PEOPLE["Unknown field."],
            }

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        if not getattr(self, "for_people", False):
            return
        field_obj.error_messages = {
            key: FOR_PEOPLE.get(message, message) if isinstance(message, str) else message
            for key, message in field_obj.error_messages.items()
        }
        # marshmallow copies fields shallowly per schema: copy the validators before changing
        # them, or the API's schemas would speak Indonesian too.
        field_obj.validators = [copy.copy(v) for v in field_obj.validators]
        for validator in field_obj.validators:
            people = getattr(validator, "people", None)
            for attribute in _VALIDATOR_MESSAGES:
                message = getattr(validator, attribute, None)
                if people is not None and attribute == "error":
                    setattr(validator, attribute, people)
                elif isinstance(message, str) and message in FOR_PEOPLE:
                    setattr(validator, attribute, FOR_PEOPLE[message])
        if isinstance(field_obj, ma.fields.Nested) and isinstance(field_obj.nested, type):
            field_obj.nested = field_obj.nested(for_people=True)  # type: ignore[call-arg]

    @pre_load(pass_collection=True)
    def _reject_nul(self, data: Any, **kwargs: Any) -> Any:
        found: dict[str, list[str]] = {}
        if hasattr(data, "to_dict"):  # a MultiDict of query arguments
            items = {k: data.getlist(k) for k in data}
            _find_nul(items, "", found)
        else:
            _find_nul(data, "", found)
        if found:
            raise ValidationError(found)
        return data


class Pattern(validate.Regexp):
    """A regular expression with an English ``error`` for the API and a ``people`` text (what
    to do, translated) for the pages."""

    def __init__(self, regex: str, *, error: str, people: LazyString) -> None:
        super().__init__(regex, error=error)
        self.people = people


class Instant(ma.fields.AwareDateTime):
    """ISO 8601 instant; without an offset it is read as WIB; kept within 2000–2100."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", WIB)
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        result = super()._deserialize(value, attr, data, **kwargs)
        if not (EARLIEST <= result < LATEST):
            raise ValidationError("must be between 2000 and 2100")
        return result.astimezone(UTC)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Text(ma.fields.String):
    """A string stripped of surrounding blanks, required non-empty unless ``allow_blank``."""

    def __init__(self, *, max_length: int, min_length: int = 1, **kwargs: Any) -> None:
        validators = list(kwargs.pop("validate", []) or [])
        validators.append(ma.validate.Length(min=min_length, max=max_length))
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.strip()


MAX_ID = 2**63 - 1  # the largest id a bigint column holds

_MONTH = "20[0-9]{2}-(0[1-9]|1[0-2])"  # [0-9]: \d matches any script's digits
MONTH = validate.Regexp(
    _MONTH + r"\Z",  # \Z: "$" would let a final newline in
    error="must be a month as YYYY-MM, between 2000 and 2099",
)
MONTH_PATTERN = f"^{_MONTH}$"  # the same, as JSON Schema (ECMA 262) reads it

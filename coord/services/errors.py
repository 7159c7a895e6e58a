"""Errors a service raises; the HTTP layers turn each into one status code.

Every error carries two messages (docs/decisions.md, "What people read"): ``message``, English
with field names, for the API's integrators (unchanged JSON), and ``text``, what a person
reads on a page: a message of the translation catalogue (Indonesian source, English in
``coord/translations/en``) that says what to do. A service that knows better passes ``text``;
otherwise the class's ``default_text`` applies. ``field_texts`` are the per-field texts the
forms show next to the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

Text: TypeAlias = str | LazyString


class ServiceError(Exception):
    status = 400
    default_text: Text = _l(
        "Permintaan ini tidak dapat diproses. Muat ulang halaman lalu coba lagi."
    )

    def __init__(
        self,
        message: str,
        errors: Mapping[str, Sequence[str]] | None = None,
        *,
        text: Text | None = None,
        field_texts: Mapping[str, Text] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})
        self.text = text
        self.field_texts = dict(field_texts or {})

    @property
    def display(self) -> str:
        """What a person reads, in the current language."""
        return str(self.text if self.text is not None else self.default_text)


class InvalidInput(ServiceError):
    """Input that is well-formed but wrong (unknown unit, assignee of another unit...)."""

    status = 422
    default_text = _l("Periksa kembali isian yang ditandai, lalu kirim lagi.")

    @classmethod
    def field(cls, name: str, message: str, text: Text | None = None) -> InvalidInput:
        """``message`` for the API; ``text`` (what to do, translated) for the page's field."""
        return cls(
            f"Invalid value for '{name}': {message}",
            {name: [message]},
            text=text,
            field_texts={name: text} if text is not None else None,
        )


class NotAuthenticated(ServiceError):
    status = 401
    default_text = _l("Silakan masuk terlebih dahulu.")


class Forbidden(ServiceError):
    status = 403
    default_text = _l(
        "Tindakan ini di luar wewenang Anda. Hubungi unit pemegang kasus atau pimpinan bila perlu."
    )


class NotFound(ServiceError):
    status = 404
    default_text = _l("Data tidak ditemukan atau di luar wewenang unit Anda. Periksa kembali.")


class Conflict(ServiceError):
    """The current state forbids the action, or a concurrent change won."""

    status = 409
    default_text = _l("Data ini baru saja berubah. Muat ulang halaman lalu coba lagi.")


class PreconditionFailed(ServiceError):
    status = 412
    default_text = _l("Data ini sudah diubah orang lain. Muat ulang halaman lalu coba lagi.")


class PreconditionRequired(ServiceError):
    status = 428


class TooManyAttempts(ServiceError):
    """Too many failed logins for one account: refused until ``retry_after`` seconds pass."""

    status = 429
    default_text = _l("Terlalu banyak percobaan. Tunggu sebentar lalu coba lagi.")

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

"""Masking of reporters' personal data for readers who may not see it (pure functions)."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    digits = phone.strip()
    return "*" * max(len(digits) - 3, 3) + digits[-3:]


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_name(name: str | None) -> str | None:
    if not name:
        return None
    return " ".join(part[:1] + "***" for part in name.split())

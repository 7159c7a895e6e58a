"""What a password must be when a person sets one (OWASP ASVS 2.1): 10 to 200 characters,
not one of the 20,000 most common passwords shipped with coord (coord/data/README.md) nor of
the operator's own list (``COORD_PASSWORD_BLOCKLIST``: a larger breached-password list, one
password per line, plain or gzip), not containing the username. The demo seed creates its
users with a fixed password without this check."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

from flask import current_app, has_app_context

from coord.services.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 200  # the longest the login form and POST /api/v1/auth/tokens accept
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"


@cache
def _read_list(path: Path) -> frozenset[str]:
    """A password list, one a line, lowercased; gzip-compressed when its name ends in .gz.
    Read once per process."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def is_common(password: str) -> bool:
    """Whether ``password`` (any case) is on the shipped list or the operator's own."""
    lowered = password.strip().lower()
    if lowered in _read_list(COMMON_PASSWORDS):
        return True
    extra = current_app.config.get("COORD_PASSWORD_BLOCKLIST") if has_app_context() else None
    return extra is not None and lowered in _read_list(Path(extra))


# Why a password may not be used: a code (the web pages say it in the user's language) and
# the English text of the API.
PROBLEMS = {
    "too_short": f"must be at least {MIN_LENGTH} characters",
    "too_long": f"must be at most {MAX_LENGTH} characters",
    "common": "is one of the most common passwords; choose another",
    "contains_username": "must not contain the username",
}


def password_problems(password: str, username: str) -> list[str]:
    """The codes (keys of PROBLEMS) of what is wrong with ``password`` for ``username``."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    elif len(password) > MAX_LENGTH:
        problems.append("too_long")
    if is_common(password):
        problems.append("common")
    if username.strip() and username.strip().lower() in password.lower():
        problems.append("contains_username")
    return problems


def check_password_strength(password: str, username: str, *, field: str = "password") -> None:
    """Raise InvalidInput naming ``field`` when the password is too short or long, common,
    or contains the username."""
    problems = [PROBLEMS[code] for code in password_problems(password, username)]
    if problems:
        raise InvalidInput(
            f"Invalid value for '{field}': the password " + "; ".join(problems) + ".",
            {field: problems},
        )

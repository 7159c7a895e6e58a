"""Users, passwords (argon2id) and API tokens (stored as SHA-256)."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import Select, bindparam, select, update

from coord.extensions import db
from coord.models import ApiToken, Role, Unit, User, UserRole
from coord.services import config_cache, login_throttle
from coord.services.errors import InvalidInput, NotAuthenticated
from coord.services.passwords import check_password_strength

TOKEN_PREFIX = "coord_"


def _hasher() -> PasswordHasher:
    memory = int(current_app.config.get("COORD_PASSWORD_HASH_MEMORY_KIB", 65536))
    return PasswordHasher(memory_cost=memory, time_cost=2 if memory < 65536 else 3)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verifying against a fixed hash keeps failed logins for unknown users as slow as real ones.
_DUMMY_HASH: str | None = None


def authenticate_password(username: str, password: str) -> User:
    global _DUMMY_HASH
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active or user.is_service:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password("not-a-password")
        with contextlib.suppress(VerificationError):
            _hasher().verify(_DUMMY_HASH, password + "x")
        raise NotAuthenticated("Wrong username or password.")
    if not verify_password(user, password):
        raise NotAuthenticated("Wrong username or password.")
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    user: User, now: datetime, *, name: str = "login", lifetime: timedelta | None = None
) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and never stored."""
    if lifetime is None and not user.is_service:
        lifetime = timedelta(hours=int(current_app.config.get("COORD_TOKEN_HOURS", 12)))
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_digest(plain),
        prefix=plain[:12],
        created_at=now,
        expires_at=(now + lifetime) if lifetime else None,
    )
    db.session.add(token)
    db.session.flush()
    return token, plain


@cache
def _token_query() -> Select[Any]:
    """Built once per process (every API request runs it): the token's user and validity,
    and the configuration generation, which tells whether cached rows are current."""
    tokens = ApiToken.__table__
    return select(
        tokens.c.user_id,
        tokens.c.revoked_at,
        tokens.c.expires_at,
        config_cache.generation_column(),
    ).where(tokens.c.token_hash == bindparam("digest"))


def _load_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)  # with its unit (joined) and roles (selectin)


def user_for_token(plain: str, now: datetime) -> User:
    # One statement on every API request: the token and the generation. The user, its unit
    # and roles come from the per-process cache, which any change to them invalidates.
    row = db.session.execute(_token_query(), {"digest": _digest(plain)}).one_or_none()
    if row is not None:
        config_cache.observe(row[3])
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise NotAuthenticated("The token is unknown, revoked or expired; log in again.")
    user = config_cache.cached(
        ("user", row.user_id), lambda: _load_user(row.user_id), related=("role_rows", "unit")
    )
    if user is None or not user.active:
        raise NotAuthenticated("This account is disabled.")
    return user


def create_user(
    username: str,
    full_name: str,
    unit_code: str,
    roles: list[str],
    now: datetime,
    *,
    password: str | None = None,
    email: str | None = None,
    is_service: bool = False,
) -> User:
    unit = db.session.execute(select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
    if unit is None:
        raise InvalidInput.field("unit", f"unknown unit '{unit_code}'")
    unknown = [r for r in roles if r not in {r.value for r in Role}]
    if unknown or not roles:
        raise InvalidInput.field("roles", f"roles must be some of {[r.value for r in Role]}")
    if db.session.execute(select(User.id).where(User.username == username)).first():
        raise InvalidInput.field("username", f"'{username}' is taken")
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        unit=unit,
        unit_id=unit.id,
        is_service=is_service,
        created_at=now,
        password_hash=hash_password(password) if password else None,
    )
    user.role_rows = [UserRole(role=r) for r in sorted(set(roles))]
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str, now: datetime) -> None:
    """A person sets ``user``'s password: it must pass ``check_password_strength``; every
    web session and API token of the user ends (the caller may sign the person in again)."""
    check_password_strength(password, user.username)
    user.password_hash = hash_password(password)
    end_access(user, now)


def log_in(username: str, password: str, now: datetime) -> User:
    """Check a username and password under the per-account throttle (TooManyAttempts while
    the username is locked, NotAuthenticated for a wrong password or unknown user)."""
    login_throttle.ensure_not_locked(username, now)
    try:
        user = authenticate_password(username, password)
    except NotAuthenticated:
        login_throttle.record_failure(username, now)
        raise
    login_throttle.record_success(username)
    return user


def end_sessions(user: User) -> None:
    """End every web session of ``user``: raising the epoch refuses all cookies issued before
    (coord/web/auth.py). One UPDATE, so concurrent logouts both count."""
    db.session.execute(
        update(User).where(User.id == user.id).values(session_epoch=User.session_epoch + 1)
    )
    db.session.expire(user, ["session_epoch"])


def revoke_tokens(user: User, now: datetime) -> int:
    """Revoke every unrevoked API token of ``user``; returns how many."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def end_access(user: User, now: datetime) -> None:
    """End all access of ``user``: web sessions and API tokens. Called on a password change
    and when an account is deactivated, so that reactivation does not revive old tokens."""
    end_sessions(user)
    revoke_tokens(user, now)


def revoke_token(plain: str, now: datetime) -> None:
    """Revoke the token whose plain value is ``plain`` (its holder logs out)."""
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == _digest(plain), ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def update_user(
    actor_can_manage: bool,
    user: User,
    *,
    roles: list[str] | None = None,
    active: bool | None = None,
    full_name: str | None = None,
    email: str | None = None,
) -> User:
    """Change roles, active flag or contact data of a user (the caller checked the scope)."""
    if not actor_can_manage:
        from coord.services.errors import Forbidden

        raise Forbidden("Only an admin of the user's unit or of a unit above it may change it.")
    if roles is not None:
        valid = {r.value for r in Role}
        if not roles or any(r not in valid for r in roles):
            raise InvalidInput.field("roles", f"roles must be some of {sorted(valid)}")
        current = {r.role for r in user.role_rows}
        for row in list(user.role_rows):
            if row.role not in roles:
                user.role_rows.remove(row)
        for role in sorted(set(roles) - current):
            user.role_rows.append(UserRole(role=role))
    if active is not None:
        user.active = active
    if full_name:
        user.full_name = full_name
    if email is not None:
        user.email = email or None
    return user

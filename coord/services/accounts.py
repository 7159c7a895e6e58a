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
from coord.services.configuration import may_configure_unit, require_unit_admin
from coord.services.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from coord.services.passwords import check_password_strength
from coord.services.policy import Actor

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


USER_TEXT_LIMITS = {"username": 80, "full_name": 200, "email": 200}


def _check_user_text(**values: str | None) -> None:
    for name, value in values.items():
        if value is not None and len(value) > USER_TEXT_LIMITS[name]:
            raise InvalidInput.field(name, f"at most {USER_TEXT_LIMITS[name]} characters")


def _check_roles(roles: list[str]) -> None:
    valid = [r.value for r in Role]
    if not roles or any(r not in valid for r in roles):
        raise InvalidInput.field("roles", f"roles must be some of {valid}")


def create_user(
    actor: Actor,
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
    """Create a user of ``unit_code`` with ``roles``. Checked: the actor may administer users
    of that unit (403 otherwise, so no role is ever granted outside the admin's jurisdiction),
    the roles are known, the username is free, lengths fit."""
    unit = db.session.execute(select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
    if unit is None:
        raise InvalidInput.field("unit", f"unknown unit '{unit_code}'")
    require_unit_admin(actor, unit)  # an admin administers users of units they configure
    _check_user_text(username=username, full_name=full_name, email=email)
    if not username:
        raise InvalidInput.field("username", "required")
    _check_roles(roles)
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


def revoke_user_tokens(actor: Actor, user_id: int, now: datetime) -> int:
    """Revoke every API token of a user, such as a service user whose token leaked. Checked:
    the actor is an admin (403) whose jurisdiction holds the user's unit (404 otherwise, as
    for anything outside one's scope). Returns how many tokens were revoked."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("Only admins may revoke other users' tokens.")
    user = db.session.get(User, user_id)
    if user is None or not may_configure_unit(actor, user.unit):
        raise NotFound(f"No user {user_id} that you administer.")
    return revoke_tokens(user, now)


def revoke_token(plain: str, now: datetime) -> None:
    """Revoke the token whose plain value is ``plain`` (its holder logs out)."""
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == _digest(plain), ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def update_user(
    actor: Actor,
    user: User,
    now: datetime,
    *,
    roles: list[str] | None = None,
    active: bool | None = None,
    full_name: str | None = None,
    email: str | None = None,
) -> User:
    """Change roles, active flag or contact data of a user. Checked: the actor may
    administer users of the user's unit (403), and an admin changes neither their own roles
    nor their own active flag (403: nobody raises their own rights or locks themselves out).
    Deactivating ends the user's web sessions and API tokens (``end_access``), so that a
    later reactivation does not revive them."""
    require_unit_admin(actor, user.unit)
    is_self = isinstance(actor, User) and actor.id == user.id
    if roles is not None:
        _check_roles(roles)
        if is_self and set(roles) != {r.role for r in user.role_rows}:
            raise Forbidden("An admin cannot change their own roles.")
    if is_self and active is not None and active != user.active:
        raise Forbidden("An admin cannot deactivate their own account.")
    _check_user_text(full_name=full_name, email=email)
    if roles is not None:
        current = {r.role for r in user.role_rows}
        for row in list(user.role_rows):
            if row.role not in roles:
                user.role_rows.remove(row)
        for role in sorted(set(roles) - current):
            user.role_rows.append(UserRole(role=role))
    if active is not None:
        if user.active and not active:
            end_access(user, now)
        user.active = active
    if full_name:
        user.full_name = full_name
    if email is not None:
        user.email = email or None
    return user

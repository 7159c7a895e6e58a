"""Per-process cache of the configuration rows every write reads: categories, regions,
units, current SLA policies, camat offices and active webhook endpoints; and of the users
(with their roles and unit) that API tokens authenticate.

A case creation used to spend five of its ten statements reading these rows, which change a
few times a year. The cache stays correct across processes through the configuration
generation (``ConfigGeneration``):

- any transaction that inserts, changes or deletes a configuration row (through the ORM,
  which is how every configuration change is made) also gives the generation a new random
  value, in the same transaction (``mark_change`` below);
- the API's authentication query reads the generation in the same round trip
  (``accounts.user_for_token``) and hands it to ``observe``; a different value empties this
  process's cache before anything is read from it;
- the cache is used only in a request that has observed the generation; everything else
  (web pages, Open311, workers, the CLI) reads the database as before;
- this process empties its own cache after committing a configuration change.

So a request never sees configuration older than what was committed when it authenticated.
Cached rows are copies: each use attaches a fresh instance to the request's session with
``Session.merge(load=False)`` (no query), so threads never share an ORM instance.
"""

from __future__ import annotations

import contextlib
import copy
import secrets
import threading
from collections.abc import Callable
from itertools import chain
from typing import Any, TypeVar

from flask import has_request_context, request
from sqlalchemy import func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from coord.extensions import db
from coord.models import (
    Category,
    ConfigGeneration,
    Region,
    SlaPolicy,
    Unit,
    User,
    UserRole,
    WebhookEndpoint,
)

T = TypeVar("T")

# A change to any of these rows gives the configuration a new generation. Users and their
# roles are here because the API's authentication serves them from the cache: a role taken
# away or an account disabled counts from the next request on, in every process.
CONFIG_MODELS = (Category, SlaPolicy, Region, Unit, User, UserRole, WebhookEndpoint)
MAX_ENTRIES = 10_000
_SEEN_KEY = "coord_config_generation"
_CHANGED_KEY = "coord_config_changed"
_MISSING = object()


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation: int | None = None
        self.entries: dict[tuple[Any, ...], Any] = {}

    def clear(self, generation: int | None = None) -> None:
        with self.lock:
            self.entries.clear()
            self.generation = generation


_cache = _Cache()


def generation_column() -> Any:
    """The current generation as a scalar subquery, to be selected beside other columns."""
    return func.coalesce(
        select(ConfigGeneration.value).where(ConfigGeneration.id == 1).scalar_subquery(), 0
    )


def observe(generation: int) -> None:
    """This request read ``generation``: the cache may serve it (emptied first if stale)."""
    if _cache.generation != generation:
        _cache.clear(generation)
        # Rows this session loaded before (none in a fresh request's session; a long-lived
        # session, as in a test, may hold some) may be older than the generation: reload.
        db.session.expire_all()
    if has_request_context():
        request.environ[_SEEN_KEY] = generation


def _usable() -> bool:
    return has_request_context() and request.environ.get(_SEEN_KEY, _MISSING) == _cache.generation


def _fetch(
    key: tuple[Any, ...], load: Callable[[], Any], keep: Callable[[Any], Any]
) -> tuple[bool, Any]:
    """``(True, cached)`` on a hit; otherwise ``(False, load())``, keeping ``keep(value)``."""
    if not _usable():
        return False, load()
    found = _cache.entries.get(key, _MISSING)
    if found is not _MISSING:
        return True, found
    generation = _cache.generation
    value = load()
    with contextlib.suppress(_Uncacheable):
        _store(key, keep(value), generation)
    return False, value


def cached(
    key: tuple[Any, ...], load: Callable[[], T | None], *, related: tuple[str, ...] = ()
) -> T | None:
    """The row (or None) ``load`` returns, from the cache when the request may use it; the
    copy holds the ``related`` relationships too (loaded by ``load``)."""
    hit, value = _fetch(key, load, lambda v: _snapshot(v, related) if v is not None else None)
    if not hit or value is None:
        return value  # type: ignore[no-any-return]
    # The row may be in this session already, perhaps changed: that instance wins (merging
    # onto it would overwrite its pending changes).
    existing = db.session.identity_map.get(inspect(value).key)
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    return db.session.merge(value, load=False)


def cached_value(key: tuple[Any, ...], load: Callable[[], T]) -> T:
    """Like ``cached`` for plain values (not ORM rows; callers must not change them)."""
    return _fetch(key, load, lambda v: v)[1]  # type: ignore[no-any-return]


def _store(key: tuple[Any, ...], value: Any, generation: int | None) -> None:
    with _cache.lock:
        if _cache.generation != generation:
            return  # the generation moved while loading: do not keep what was read
        if len(_cache.entries) >= MAX_ENTRIES:
            _cache.entries.clear()
        _cache.entries[key] = value


class _Uncacheable(Exception):
    pass


def _snapshot(obj: Any, related: tuple[str, ...] = ()) -> Any:
    """A detached copy of a loaded, unchanged row (never one with pending changes), with
    copies of the rows its ``related`` relationships hold."""
    state = inspect(obj)
    if state.modified or not state.persistent:
        raise _Uncacheable
    mapper = state.mapper
    values = {}
    for attr in mapper.column_attrs:
        value = state.dict.get(attr.key, _MISSING)
        if value is _MISSING:
            raise _Uncacheable  # expired or deferred: not a complete copy
        values[attr.key] = copy.deepcopy(value)
    clone = mapper.class_(**values)
    make_transient_to_detached(clone)
    for name in related:  # set as loaded: no history, no backref events
        value = state.dict.get(name, _MISSING)
        if value is _MISSING:
            raise _Uncacheable
        if isinstance(value, list):
            set_committed_value(clone, name, [_snapshot(item) for item in value])
        else:
            set_committed_value(clone, name, None if value is None else _snapshot(value))
    return clone


# -- invalidation -------------------------------------------------------------------------


def mark_change(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get(_CHANGED_KEY):
        return
    if not any(
        isinstance(obj, CONFIG_MODELS) for obj in chain(session.new, session.dirty, session.deleted)
    ):
        return
    session.info[_CHANGED_KEY] = True
    table = ConfigGeneration.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    value = secrets.randbits(62) + 1
    session.execute(
        insert(table)
        .values(id=1, value=value)
        .on_conflict_do_update(index_elements=["id"], set_={"value": value})
    )


def forget_after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED_KEY, None):
        _cache.clear()


def forget_pending_change(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_CHANGED_KEY, None)

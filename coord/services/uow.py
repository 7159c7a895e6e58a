"""Unit of work: one commit per command, side effects after the commit.

Services flush and register after-commit callbacks with ``after_commit``; only
``unit_of_work`` commits. Callbacks run once the transaction is durable, so a job is never
enqueued for a row that might still roll back; on rollback they are dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from flask import Response, after_this_request, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from coord.extensions import db
from coord.services.errors import Conflict

log = logging.getLogger(__name__)

_HOOKS_KEY = "coord_after_commit"
_MEMO_KEY = "coord_transaction_memo"
T = TypeVar("T")
TOUCHED_KEY = "coord_touched_cases"  # cases whose version this transaction already bumped
FAST_UPDATES_KEY = "coord_fast_updates"  # this command's simple updates are written with Core


def after_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` after the current transaction commits (never if it rolls back); what
    it returns is ignored."""
    db.session.info.setdefault(_HOOKS_KEY, []).append(callback)


def transaction_memo() -> dict[Any, Any]:
    """A dict that lives as long as the session's current database transaction (begun here if
    none is): for what one transaction reads several times and cannot change, such as the
    reports' unit names or their session settings. The next transaction gets a new one."""
    db.session.connection()  # begins the transaction if none is open
    transaction = db.session().get_transaction()
    memo = db.session.info.get(_MEMO_KEY)
    if memo is None or memo[0] is not transaction:
        memo = (transaction, {})
        db.session.info[_MEMO_KEY] = memo
    found: dict[Any, Any] = memo[1]
    return found


def run_after_commit_hooks(session: Session) -> None:
    """``after_commit`` listener (``coord.services.session_hooks``)."""
    session.info.pop(TOUCHED_KEY, None)
    hooks = session.info.pop(_HOOKS_KEY, [])
    for hook in hooks:
        try:
            hook()
        except Exception:  # the data is committed; a lost side effect is swept up later
            log.exception(
                "after-commit hook failed", extra={"hook": getattr(hook, "__name__", hook)}
            )


def _drop_hooks(session: Session) -> None:
    session.info.pop(_HOOKS_KEY, None)
    session.info.pop(TOUCHED_KEY, None)


def drop_hooks_on_rollback(session: Session, previous_transaction: object) -> None:
    """``after_soft_rollback`` listener (``coord.services.session_hooks``)."""
    if not session.in_transaction():
        _drop_hooks(session)


class TrackingCodeTaken(Conflict):
    """A new case drew a tracking code that exists (40 random bits: about one in a million
    at a million cases). ``run_command`` runs the command again with a new code."""


def run_command(command: Callable[[], T], *, keep_loaded: bool = False, attempts: int = 3) -> T:
    """``command()`` in its own unit of work, run again when a new case's random tracking
    code collided (cheaper than a savepoint around every case insert)."""
    for attempt in range(attempts):
        try:
            with unit_of_work(keep_loaded=keep_loaded):
                return command()
        except TrackingCodeTaken:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


_COMMAND: ContextVar[bool] = ContextVar("coord_command", default=False)


def in_command() -> bool:
    """True inside ``unit_of_work`` (SQLite then begins its transaction IMMEDIATE)."""
    return _COMMAND.get()


@contextmanager
def unit_of_work(*, keep_loaded: bool = False, fast_updates: bool = False) -> Iterator[Session]:
    """Commit once at the end; roll back everything on any error.

    A stale version or a unique-key race from a concurrent writer becomes ``Conflict``.

    ``keep_loaded``: an API view that answers with what the command changed keeps the
    objects loaded through the commit instead of reading them all back (they hold exactly
    what was committed); they are expired once the response is made, so nothing later in
    the same session reads stale values.

    ``fast_updates``: the command's plain column updates of cases, handoffs and clocks are
    written with Core instead of the unit of work (``bulk.write_simple_updates``): for the
    API's hot commands, whose flush is nothing else.
    """
    session = db.session()
    if (
        session.in_transaction()
        and session.get_bind().dialect.name == "sqlite"
        and not (session.new or session.dirty or session.deleted)
    ):
        # End the read snapshot so the command starts its own write transaction.
        session.commit()
    token = _COMMAND.set(True)
    if fast_updates:
        session.info[FAST_UPDATES_KEY] = True
    try:
        yield session
        if keep_loaded:
            _commit_keeping_loaded(session)
        else:
            session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise Conflict(
            "Someone else changed this record at the same time; reload and retry.",
            text=_l("Orang lain mengubah data ini pada saat yang sama. Muat ulang lalu coba lagi."),
        ) from exc
    except IntegrityError as exc:
        session.rollback()
        if "tracking_code" in str(exc.orig):
            raise TrackingCodeTaken("Could not allocate a tracking code; retry.") from exc
        raise Conflict(
            "The change conflicts with existing data; reload and retry.",
            text=_l("Perubahan ini bertentangan dengan data yang ada. Muat ulang lalu coba lagi."),
        ) from exc
    except OperationalError as exc:
        session.rollback()
        if _is_lock_conflict(exc):
            raise Conflict(
                "Someone else is changing this record; retry in a moment.",
                text=_l("Orang lain sedang mengubah data ini. Coba lagi sebentar lagi."),
            ) from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(FAST_UPDATES_KEY, None)
        _COMMAND.reset(token)


def _commit_keeping_loaded(session: Session) -> None:
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    if has_request_context():

        @after_this_request
        def _expire(response: Response) -> Response:
            session.expire_all()
            return response


def _is_lock_conflict(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "database is locked" in text or "could not obtain lock" in text or "deadlock" in text

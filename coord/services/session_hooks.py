"""Every listener the service attaches to SQLAlchemy sessions, installed once per process and
in one stated order (SQLAlchemy calls the listeners of an event in the order they were added).

``before_flush``
  1. ``config_cache.mark_change``: a flush that changes configuration rows writes a new
     configuration generation in the same transaction. It runs first, while every pending
     change is still visible in ``session.new``/``dirty``/``deleted``.
  2. ``bulk.write_simple_updates``: only in commands that opted in with
     ``unit_of_work(fast_updates=True)``, writes plain column updates of cases, handoffs and
     clocks with Core and leaves nothing for the unit of work.

``after_commit``
  1. ``config_cache.forget_after_commit``: the per-process cache drops what the committed
     transaction changed, so that what runs next reads the new configuration.
  2. ``uow.run_after_commit_hooks``: the command's side effects (jobs enqueued, ...).

``after_soft_rollback``
  1. ``config_cache.forget_pending_change`` and 2. ``uow.drop_hooks_on_rollback``: nothing
  of a rolled-back command is remembered or run.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from coord.services import bulk, config_cache, uow

ORDER = (
    ("before_flush", config_cache.mark_change),
    ("before_flush", bulk.write_simple_updates),
    ("after_commit", config_cache.forget_after_commit),
    ("after_commit", uow.run_after_commit_hooks),
    ("after_soft_rollback", config_cache.forget_pending_change),
    ("after_soft_rollback", uow.drop_hooks_on_rollback),
)


def install_session_hooks() -> None:
    """Attach the listeners of ``ORDER`` to every session (once per process)."""
    for name, listener in ORDER:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)

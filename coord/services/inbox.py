"""The staff inbox's three lists of a unit: the open cases it owns, the handoffs addressed to
it (pending, or accepted requests for assistance still running), and the handoffs it sent that
await an answer. Each is a query paged with its true count (coord.services.paging); the inbox
shows the first rows of each, ``/web/inbox/<section>`` a whole list page by page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from coord.domain.paging import PAGE_ROWS, Page
from coord.domain.states import OPEN_CASE_STATUSES, HandoffStatus
from coord.models import Case, Handoff, User
from coord.services.errors import NotFound
from coord.services.paging import fetch_page

OPEN = [s.value for s in OPEN_CASE_STATUSES]
SECTIONS = ("incoming", "owned", "outgoing")
FIRST_ROWS = 10  # rows of each list on the inbox itself


def _owned(actor: User) -> Select[Any]:
    """Open cases the unit owns: breached first, then by resolution deadline."""
    return (
        select(Case)
        .where(Case.owner_unit_id == actor.unit_id, Case.status.in_(OPEN))
        .order_by(Case.breached.desc(), Case.resolution_due_at.asc().nulls_last(), Case.id)
    )


def _incoming(actor: User) -> Select[Any]:
    """Handoffs to the unit, pending or accepted, the earliest answer deadline first."""
    return (
        select(Handoff)
        .where(
            Handoff.to_unit_id == actor.unit_id,
            Handoff.status.in_([HandoffStatus.PENDING.value, HandoffStatus.ACCEPTED.value]),
        )
        .order_by(Handoff.ack_due_at.asc().nulls_last(), Handoff.id)
    )


def _outgoing(actor: User) -> Select[Any]:
    """Handoffs the unit sent that are not answered yet, the earliest deadline first."""
    return (
        select(Handoff)
        .where(Handoff.from_unit_id == actor.unit_id, Handoff.status == HandoffStatus.PENDING.value)
        .order_by(Handoff.ack_due_at.asc().nulls_last(), Handoff.id)
    )


_QUERIES = {"owned": _owned, "incoming": _incoming, "outgoing": _outgoing}


def inbox_section(actor: User, section: str, page: int = 1, size: int = PAGE_ROWS) -> Page[Any]:
    """Page ``page`` of one inbox list with its true count. Unknown ``section``: NotFound."""
    if section not in _QUERIES:
        raise NotFound(f"No inbox list {section!r}; the lists are {', '.join(SECTIONS)}.")
    return fetch_page(_QUERIES[section](actor), page, size)


def inbox(actor: User) -> dict[str, Page[Any]]:
    """Each inbox list's first ``FIRST_ROWS`` rows and true count."""
    return {section: inbox_section(actor, section, 1, FIRST_ROWS) for section in SECTIONS}

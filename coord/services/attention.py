"""The attention feed: what needs a person now.

Four lists, each with a true count (a ``COUNT`` query, never the length of a cut list) and
pages of its own, the most urgent first:

- ``notifications``: unread and due (the recipient's office is open), newest first;
- ``handoffs_to_acknowledge``: pending handoffs to the caller's unit, earliest answer
  deadline first;
- ``breached_cases``: open breached cases (a manager: every case they may read; others: the
  cases their unit owns), the freshest breach first;
- ``bounced_cases``: for managers, open bounced cases in their jurisdiction awaiting a
  decision, the longest waiting first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from coord.domain.states import OPEN_CASE_STATUSES, HandoffStatus
from coord.extensions import db
from coord.models import Case, ClockState, Handoff, Notification, Role, SlaClock, User
from coord.presenters import case_view, handoff_view
from coord.services.errors import NotFound
from coord.services.policy import (
    allowed_case_actions,
    cases_in_scope,
    in_jurisdiction,
    reporter_visible_case_ids,
)

LIMIT = 50  # rows of each list in the overview (the first page)
OPEN = [s.value for s in OPEN_CASE_STATUSES]
SECTIONS = ("notifications", "handoffs_to_acknowledge", "breached_cases", "bounced_cases")


def _notifications(actor: User, now: datetime) -> Select[Any] | None:
    return (
        select(Notification)
        .where(
            Notification.user_id == actor.id,
            Notification.read_at.is_(None),
            Notification.deliver_after <= now,
        )
        .order_by(Notification.deliver_after.desc(), Notification.id.desc())
    )


def _handoffs(actor: User, now: datetime) -> Select[Any] | None:
    if not actor.has_role(Role.LIAISON, Role.MANAGER, Role.STAFF):
        return None
    return (
        select(Handoff)
        .where(
            Handoff.to_unit_id == actor.unit_id,
            Handoff.status == HandoffStatus.PENDING.value,
        )
        .order_by(Handoff.ack_due_at.asc().nulls_last(), Handoff.id)
    )


def _breached(actor: User, now: datetime) -> CaseIds | None:
    # The freshest breach first: a case's latest recorded breach of its own clocks (the
    # response or resolution clock; a late handoff does not mark the case breached). A clock
    # with a breach instant is in state breached (coord.services.sla.close_clock and
    # reopen_clock keep it so): the condition lets the database read the instants from the
    # partial index of breached clocks alone.
    latest_breach = (
        select(func.max(SlaClock.breached_at))
        .where(
            SlaClock.case_id == Case.id,
            SlaClock.state == ClockState.BREACHED.value,
            SlaClock.handoff_id.is_(None),
        )
        .correlate(Case)
        .scalar_subquery()
    )
    where: list[ColumnElement[bool]] = [Case.breached.is_(True), Case.status.in_(OPEN)]
    if not actor.has_role(Role.MANAGER):
        where.append(Case.owner_unit_id == actor.unit_id)
    # The ids through cases_in_scope (the readable_cases rule, each half by its own index):
    # the OR of readable_cases made PostgreSQL read every open case of the city.
    in_scope = cases_in_scope(actor, Case.id, where=where)
    ranked = select(Case.id).where(Case.id.in_(in_scope))
    return CaseIds(ranked.order_by(latest_breach.desc().nulls_last(), Case.id.desc()))


def _bounced(actor: User, now: datetime) -> Select[Any] | None:
    if not actor.has_role(Role.MANAGER):
        return None
    return (
        select(Case)
        .where(
            Case.bounced.is_(True),
            # Implied (a bounce sets both; bounced_at stays), and lets the database read the
            # few bounced cases through ix_cases_bounced instead of every open case.
            Case.bounced_at.is_not(None),
            Case.status.in_(OPEN),
            in_jurisdiction(Case.region_code, actor.unit.region_code),
        )
        .order_by(Case.bounced_at, Case.id)
    )


_QUERIES: dict[str, Callable[[User, datetime], Query | None]] = {
    "notifications": _notifications,
    "handoffs_to_acknowledge": _handoffs,
    "breached_cases": _breached,
    "bounced_cases": _bounced,
}


@dataclass(frozen=True)
class CaseIds:
    """A list of cases given as their ids in list order: the list is ranked on narrow rows
    (read from indexes), then only the page's cases are loaded whole. For a list that sorts
    thousands of cases to show ten (an agency's or a kecamatan's breached cases)."""

    query: Select[Any]


Query = Select[Any] | CaseIds


def _count(query: Query | None) -> int:
    if query is None:
        return 0
    if isinstance(query, CaseIds):
        query = query.query
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    return int(db.session.execute(counted).scalar_one())


def _rows(query: Query | None, limit: int, offset: int) -> list[Any]:
    if query is None:
        return []
    if isinstance(query, CaseIds):
        ids: list[int] = list(db.session.execute(query.query.limit(limit).offset(offset)).scalars())
        found = db.session.execute(select(Case).where(Case.id.in_(ids))).unique().scalars()
        cases = {case.id: case for case in found}
        return [cases[i] for i in ids]
    return list(db.session.execute(query.limit(limit).offset(offset)).unique().scalars())


def _present(actor: User, section: str, rows: list[Any]) -> list[Any]:
    if section == "notifications":
        return rows
    if section == "handoffs_to_acknowledge":
        return [handoff_view(h) for h in rows]
    visible = reporter_visible_case_ids(actor, rows)
    return [case_view(c, c.id in visible, actions=allowed_case_actions(actor, c)) for c in rows]


def notified_cases(
    actor: User, now: datetime, *, limit: int = LIMIT, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """The unread notifications as people read them: one row per case (a case breached after
    two warnings is one row, not three), its reasons side by side, the case with the newest
    notification first; the total is the number of cases."""
    query = _notifications(actor, now)
    assert query is not None
    mine = query.order_by(None).subquery()
    latest = func.max(mine.c.deliver_after).label("latest")
    grouped = (
        select(mine.c.case_id, latest)
        .group_by(mine.c.case_id)
        .order_by(latest.desc(), mine.c.case_id.desc())
    )
    page = db.session.execute(grouped.limit(limit).offset(offset)).all()
    ends_here = len(page) < limit and (page or offset == 0)
    if ends_here:
        total = offset + len(page)
    else:
        counted = select(func.count(func.distinct(mine.c.case_id)))
        total = int(db.session.execute(counted).scalar_one())
    ids = [row.case_id for row in page]
    notes: dict[int, list[Notification]] = {i: [] for i in ids}
    if ids:
        unread = query.where(Notification.case_id.in_(ids)).order_by(None)
        found: list[Notification] = list(
            db.session.execute(unread.order_by(Notification.id)).scalars()
        )
        for note in found:
            notes[note.case_id].append(note)
    cases = {c.id: c for c in db.session.execute(select(Case).where(Case.id.in_(ids))).scalars()}
    rows = []
    for row in page:
        listed = notes[row.case_id]
        case = cases[row.case_id]
        rows.append(
            {
                "case_id": case.id,
                "tracking_code": case.tracking_code,
                "title": case.title,
                "latest": row.latest,
                # each kind once, with how many notifications of it (two clocks breached)
                "reasons": list(Counter(n.kind for n in listed).items()),
                "notifications": len(listed),
            }
        )
    return rows, total


def attention_section(
    actor: User,
    section: str,
    now: datetime,
    *,
    limit: int = LIMIT,
    offset: int = 0,
    notifications_by_case: bool = False,
) -> tuple[list[Any], int]:
    """One page of one attention list and the list's true length. Unknown ``section``:
    NotFound. ``notifications_by_case``: the notifications one row per case
    (``notified_cases``), as the pages show them; the API lists each notification."""
    if section not in _QUERIES:
        raise NotFound(f"No attention list {section!r}; the lists are {', '.join(SECTIONS)}.")
    if section == "notifications" and notifications_by_case:
        return notified_cases(actor, now, limit=limit, offset=offset)
    query = _QUERIES[section](actor, now)
    rows = _rows(query, limit, offset)
    # A page cut short ends the list: its length is known without counting (the usual inbox,
    # whose lists are shorter than a page). A full page, or one past the end, needs COUNT.
    ends_here = len(rows) < limit and (rows or offset == 0)
    total = offset + len(rows) if ends_here else _count(query)
    return _present(actor, section, rows), total


def attention_feed(
    actor: User, now: datetime, *, limit: int = LIMIT, notifications_by_case: bool = False
) -> dict[str, Any]:
    """Every attention list's first ``limit`` rows and its true count (``counts``)."""
    feed: dict[str, Any] = {"counts": {}}
    for section in SECTIONS:
        rows, total = attention_section(
            actor, section, now, limit=limit, notifications_by_case=notifications_by_case
        )
        feed[section] = rows
        feed["counts"][section] = total
    return feed


def bounced_cases(actor: User) -> list[Case]:
    """Open bounced cases in a manager's jurisdiction, oldest first (the decision queue);
    the first ``LIMIT``."""
    return _rows(_bounced(actor, datetime.min), LIMIT, 0)


def mark_read(actor: User, notification_id: int, now: datetime) -> Notification:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != actor.id:
        raise NotFound("No such notification of yours.")
    if notification.read_at is None:
        notification.read_at = now
    return notification

"""The read side of cases shared by the API and the web pages: list filters and the search
for possible duplicates at intake. Scope is not decided here: callers start from
``readable_cases(actor)``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from coord.clock import now_utc
from coord.domain.paging import Page
from coord.domain.phones import normalise_phone
from coord.domain.states import OPEN_CASE_STATUSES
from coord.domain.tracking import normalise_tracking_code
from coord.extensions import db
from coord.models import Case, Category, ReporterPrivacy, Unit
from coord.services.paging import fetch_page
from coord.services.policy import Actor, readable_cases

OPEN = [s.value for s in OPEN_CASE_STATUSES]


def filter_cases(query: Select[Any], args: dict[str, Any]) -> Select[Any]:
    """``query`` (a select of ``Case``) narrowed by the list filters of the API and the web
    search: status (a list), owner_unit and category (codes), priority, breached, bounced,
    due_before, updated_since, and ``q``: a word of the title or description, or a tracking
    code as a citizen types it."""
    if args.get("status"):
        query = query.where(Case.status.in_(args["status"]))
    if args.get("owner_unit"):
        query = query.where(
            Case.owner_unit_id.in_(select(Unit.id).where(Unit.code == args["owner_unit"]))
        )
    if args.get("category"):
        query = query.where(
            Case.category_id.in_(select(Category.id).where(Category.code == args["category"]))
        )
    if args.get("priority"):
        query = query.where(Case.priority == args["priority"])
    if "breached" in args:
        query = query.where(Case.breached.is_(args["breached"]))
    if "bounced" in args:
        query = query.where(Case.bounced.is_(args["bounced"]))
    if args.get("due_before"):
        query = query.where(Case.resolution_due_at < args["due_before"])
    if args.get("updated_since"):
        query = query.where(Case.updated_at >= args["updated_since"])
    if args.get("q"):
        query = query.where(search_condition(query, args["q"]))
    return query


def search_condition(query: Select[Any], q: str) -> ColumnElement[bool]:
    """What ``q`` finds among the cases of ``query``, each through an index (docs/decisions.md,
    "Search"): a tracking code as a citizen types it (any case, with or without the dash) finds
    that case; else a phone number as anyone writes it finds the reporter's cases; else, or
    when neither finds a case of ``query``, the words: ``q`` as a piece of the title or the
    description, any letter case (trigram indexes on PostgreSQL, a scan on SQLite).

    An eight-letter word (``PERBAIKI``) reads as a tracking code too, and a long number as a
    phone: so the exact reading is tried first (one indexed lookup) and the words are the
    fallback. A phone does not find a confidential reporter's case (only their recording
    unit may know who they are)."""
    text = q.strip()
    code = normalise_tracking_code(text)
    if code is not None and _any(query.where(Case.tracking_code == code)):
        return Case.tracking_code == code
    phone = normalise_phone(text)
    if phone is not None:
        by_phone = and_(
            Case.reporter_phone_norm == phone,
            Case.reporter_privacy != ReporterPrivacy.CONFIDENTIAL.value,
        )
        if _any(query.where(by_phone)):
            return by_phone
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        func.lower(Case.title).like(pattern, escape="\\"),
        func.lower(Case.description).like(pattern, escape="\\"),
    )


def _any(query: Select[Any]) -> bool:
    found = query.with_only_columns(Case.id, maintain_column_froms=True).order_by(None).limit(1)
    return db.session.execute(found).first() is not None


SEARCH_COUNT_LIMIT = 1000  # matches the staff search counts; beyond: "more than 1,000"


def search_cases(actor: Actor, args: dict[str, Any], page: int = 1) -> Page[Case]:
    """The staff search page: page ``page`` of the cases ``actor`` may read that match the
    list filters ``args``, the most recently changed first, with the number found up to
    ``SEARCH_COUNT_LIMIT`` (``Page.more`` when there are more: narrow the search)."""
    query = filter_cases(select(Case).where(readable_cases(actor)), args)
    return fetch_page(
        query.order_by(Case.updated_at.desc(), Case.id.desc()),
        page,
        count_limit=SEARCH_COUNT_LIMIT,
    )


def possible_duplicates(actor: Actor, category: str, region_code: str) -> list[Case]:
    """Open cases of the same category in the same kelurahan from the last 30 days."""
    return list(
        db.session.execute(
            select(Case)
            .join(Category, Category.id == Case.category_id)
            .where(
                readable_cases(actor),
                Category.code == category,
                Case.region_code == region_code,
                Case.status.in_(OPEN),
                Case.received_at >= now_utc() - timedelta(days=30),
            )
            .order_by(Case.received_at.desc())
            .limit(5)
        )
        .unique()
        .scalars()
    )

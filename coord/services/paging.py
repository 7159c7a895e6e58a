"""One page of any list query, with the list's true length (``coord.domain.paging.Page``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from coord.domain.paging import PAGE_ROWS, Page, page_window
from coord.extensions import db


def count(query: Select[Any], limit: int | None = None) -> int:
    """How many rows ``query`` selects (a ``COUNT`` over it, without its order); with
    ``limit``, counted no further than that."""
    query = query.order_by(None)
    if limit is not None:
        query = query.limit(limit)
    counted = select(func.count()).select_from(query.subquery())
    return int(db.session.execute(counted).scalar_one())


def fetch_page(
    query: Select[Any],
    number: int = 1,
    size: int = PAGE_ROWS,
    *,
    count_limit: int | None = None,
) -> Page[Any]:
    """Page ``number`` of ``query`` (which must be ordered, ties broken by a unique column),
    ``size`` rows; a page past the end is the last page.

    ``count_limit``: count no more than that many rows (the list then pages through those,
    and ``Page.more`` says that it holds more). For searches whose words may match a large
    share of a million cases: counting every match reads every one of them (docs/decisions.md,
    "Search")."""
    total = count(query, None if count_limit is None else count_limit + 1)
    more = count_limit is not None and total > count_limit
    if more and count_limit is not None:
        total = count_limit
    window = page_window(number, size, total)
    take = min(size, total - window.offset)  # a capped list ends at its count
    rows: list[Any] = (
        list(db.session.execute(query.limit(take).offset(window.offset)).unique().scalars())
        if take > 0
        else []
    )
    return Page(number=window.number, size=size, total=total, rows=rows, more=more)

"""One page of any list query, with the list's true length (``coord.domain.paging.Page``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from coord.domain.paging import PAGE_ROWS, Page, page_window
from coord.extensions import db


def count(query: Select[Any]) -> int:
    """How many rows ``query`` selects (a ``COUNT`` over it, without its order)."""
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    return int(db.session.execute(counted).scalar_one())


def fetch_page(query: Select[Any], number: int = 1, size: int = PAGE_ROWS) -> Page[Any]:
    """Page ``number`` of ``query`` (which must be ordered, ties broken by a unique column),
    ``size`` rows; a page past the end is the last page."""
    total = count(query)
    window = page_window(number, size, total)
    rows: list[Any] = (
        list(db.session.execute(query.limit(size).offset(window.offset)).unique().scalars())
        if total
        else []
    )
    return Page(number=window.number, size=size, total=total, rows=rows)

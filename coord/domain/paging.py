"""Page arithmetic for every list (the staff pages; the API pages through flask-smorest with
the same numbers): which rows a page holds and where its neighbours are."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

PAGE_ROWS = 25  # a page of a staff list
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Page(Generic[T]):
    """Page ``number`` (1-based) of ``size`` rows of a list ``total`` rows long."""

    number: int
    size: int
    total: int
    rows: list[T] = field(default_factory=list)
    # True when the list was counted only up to ``total`` rows and holds more (a search by a
    # common word: coord.services.paging.fetch_page's ``count_limit``).
    more: bool = False

    @property
    def pages(self) -> int:
        """How many pages the list has (at least one, the empty page)."""
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None

    @property
    def first_row(self) -> int:
        """1-based position of the page's first row (0 on an empty list)."""
        return min(self.offset + 1, self.total)

    @property
    def last_row(self) -> int:
        return min(self.offset + self.size, self.total)


def page_window(requested: int, size: int, total: int) -> Page[object]:
    """The page to show when page ``requested`` of a ``total``-row list is asked for: a page
    past the end is the last page (a list that shrank while someone paged through it)."""
    if size < 1:
        raise ValueError("a page holds at least one row")
    pages = max(1, -(-total // size))
    return Page(number=max(1, min(requested, pages)), size=size, total=total)

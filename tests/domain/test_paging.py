"""Page arithmetic: the true number of pages, the neighbours, the rows a page holds."""

from __future__ import annotations

import pytest

from coord.domain.paging import Page, page_window


def test_a_middle_page_has_both_neighbours() -> None:
    page = page_window(2, 25, 160)
    assert (page.number, page.pages, page.previous, page.next) == (2, 7, 1, 3)
    assert (page.offset, page.first_row, page.last_row) == (25, 26, 50)


def test_the_last_page_holds_the_remainder_and_has_no_next() -> None:
    page = page_window(7, 25, 160)
    assert (page.pages, page.next, page.previous, page.first_row, page.last_row) == (
        7,
        None,
        6,
        151,
        160,
    )


def test_a_page_past_the_end_is_the_last_page_and_an_empty_list_has_one_page() -> None:
    assert page_window(99, 25, 160).number == 7
    empty = page_window(3, 25, 0)
    assert (empty.number, empty.pages, empty.next, empty.previous) == (1, 1, None, None)
    assert (empty.first_row, empty.last_row) == (0, 0)


def test_an_exact_multiple_has_no_empty_trailing_page() -> None:
    assert page_window(1, 25, 50).pages == 2
    assert Page(number=2, size=25, total=50).next is None


def test_a_page_holds_at_least_one_row() -> None:
    with pytest.raises(ValueError):
        page_window(1, 0, 10)

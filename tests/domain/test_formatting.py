"""Numbers as Indonesian (and English) readers expect them."""

from __future__ import annotations

import pytest

from coord.formatting import number, percent, work_duration


@pytest.mark.parametrize(
    ("value", "locale", "digits", "text"),
    [
        (4.5, "id", 1, "4,5"),
        (4.5, "en", 1, "4.5"),
        (1234567, "id", 1, "1.234.567"),
        (1234567, "en", 1, "1,234,567"),
        (4.0, "id", 1, "4"),
        (81.126, "id", 2, "81,13"),
        (2616.0, "id", 0, "2.616"),
        (None, "id", 1, "–"),
    ],
)
def test_numbers_follow_the_locale(value, locale, digits, text) -> None:  # type: ignore[no-untyped-def]
    assert number(value, locale, digits) == text


def test_percent() -> None:
    assert percent(0.8, "id") == "80%"
    assert percent(0.126, "en") == "13%"
    assert percent(None, "id") == "–"


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (0, (0.0, "minutes")),
        (45.4, (45.0, "minutes")),
        (59, (59.0, "minutes")),
        (60, (1.0, "hours")),
        (270, (4.5, "hours")),
        (479, (8.0, "hours")),
        (480, (1.0, "days")),
        (1440, (3.0, "days")),
        (52740, (109.9, "days")),
        (-90, (1.5, "hours")),
    ],
)
def test_work_duration_picks_the_largest_sensible_unit(minutes, expected) -> None:  # type: ignore[no-untyped-def]
    assert work_duration(minutes) == expected

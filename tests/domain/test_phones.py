"""A reporter's phone number typed any way becomes one stored form (the search key)."""

from __future__ import annotations

import pytest

from coord.domain.phones import normalise_phone

SITI = "6281234567890"


@pytest.mark.parametrize(
    "typed",
    [
        "081234567890",
        "0812-3456-7890",
        "0812 3456 7890",
        "+6281234567890",
        "+62 812-3456-7890",
        "+62 (0)812 3456 7890",
        "6281234567890",
        "62 812 3456 7890",
        "81234567890",
        "006281234567890",
        " 0812.3456.7890 ",
    ],
)
def test_every_way_of_writing_one_number_gives_one_key(typed: str) -> None:
    assert normalise_phone(typed) == SITI


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("(061) 4512345", "62614512345"),  # a Medan landline with its area code
        ("+1 202 555 0143", "12025550143"),  # a foreign number keeps its country code
        ("12345678", "12345678"),
    ],
)
def test_other_numbers_keep_their_digits(typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        None,
        "",
        "   ",
        "0812",
        "1234567",
        "0812345678901234567",
        "jalan",
        "0812abc4567",
        "0812\t345678",
        "٠٨١٢٣٤٥٦٧٨٩",
        "+-().",
    ],
)
def test_what_cannot_be_a_phone_number_is_none(typed: str | None) -> None:
    assert normalise_phone(typed) is None

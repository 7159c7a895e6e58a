"""Tracking codes: what a citizen gets on the receipt and types back in.

The expected symbols are Crockford's base32, written out here from the specification
(https://www.crockford.com/base32.html), not taken from the code under test: digits and
upper-case letters without I, L, O and U, which a citizen would confuse with 1, 0 and V.
"""

from __future__ import annotations

import re

from coord.domain.tracking import format_tracking_code, new_tracking_code, normalise_tracking_code

CROCKFORD = set("0123456789") | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ") - set("ILOU")


def test_new_codes_are_eight_crockford_symbols_using_each_symbol_in_every_position() -> None:
    assert len(CROCKFORD) == 32
    codes = [new_tracking_code() for _ in range(2000)]
    assert all(re.fullmatch(r"[0-9A-Z]{8}", code) for code in codes)
    # 2,000 draws per position: a symbol missing by chance has odds of about 1 in 10^27.
    for position in range(8):
        assert {code[position] for code in codes} == CROCKFORD, position


def test_codes_are_not_sequential() -> None:
    codes = [new_tracking_code() for _ in range(200)]
    assert len(set(codes)) == 200
    assert sorted(codes) != codes


def test_the_receipt_shows_two_groups_of_four() -> None:
    assert format_tracking_code("7K3M9QXZ") == "7K3M-9QXZ"


def test_what_a_citizen_types_is_read_back() -> None:
    assert normalise_tracking_code(" 7k3m-9qxz ") == "7K3M9QXZ"
    assert normalise_tracking_code("7K3M 9QXZ") == "7K3M9QXZ"
    assert normalise_tracking_code("O1IL-0000") == "01110000"  # Crockford: O->0, I and L->1
    assert normalise_tracking_code("oil0-0000") == "01100000"
    assert normalise_tracking_code("7K3M-9QX") is None  # one symbol short
    assert normalise_tracking_code("7K3M-9QXZZ") is None  # one symbol too many
    assert normalise_tracking_code("7K3M-9QXU") is None  # U is not in the alphabet
    assert normalise_tracking_code("7K3M-9QX!") is None
    assert normalise_tracking_code("") is None


def test_every_generated_code_reads_back_as_itself_in_any_case_and_grouping() -> None:
    for _ in range(500):
        code = new_tracking_code()
        typed = format_tracking_code(code).lower()
        assert normalise_tracking_code(typed) == code

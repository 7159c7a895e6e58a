"""Tracking codes: what a citizen gets on the receipt and types back in."""

from __future__ import annotations

from coord.domain.tracking import ALPHABET, CODE_LENGTH, new_tracking_code, normalise_tracking_code


def test_new_codes_use_every_symbol_in_every_position() -> None:
    codes = [new_tracking_code() for _ in range(2000)]
    assert all(len(code) == CODE_LENGTH and set(code) <= set(ALPHABET) for code in codes)
    # 2,000 draws per position: a symbol missing by chance has odds of about 1 in 10^27.
    for position in range(CODE_LENGTH):
        assert {code[position] for code in codes} == set(ALPHABET), position


def test_what_a_citizen_types_is_read_back() -> None:
    assert normalise_tracking_code(" 7k3m-9qxz ") == "7K3M9QXZ"
    assert normalise_tracking_code("O1IL-0000") == "01110000"  # Crockford: O->0, I and L->1
    assert normalise_tracking_code("7K3M-9QX") is None  # one symbol short
    assert normalise_tracking_code("7K3M-9QXU") is None  # U is not in the alphabet

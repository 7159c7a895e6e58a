"""IKM arithmetic (PermenPAN-RB 14/2017), checked against sums done by hand."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from coord.domain.ikm import (
    ELEMENTS,
    WEIGHT_NINTH,
    WEIGHT_REGULATION_WORKSHEET,
    ElementTotal,
    band_of,
    compute_ikm,
    exact_index,
    parse_weight,
    round_half_up,
)


def totals_from_answers(answers: list[list[int | None]]) -> dict[str, ElementTotal]:
    """Per element: how many answered it and the sum of their answers (what SQL returns)."""
    result = {}
    for i, element in enumerate(ELEMENTS):
        given = [a[i] for a in answers if a[i] is not None]
        result[element] = ElementTotal(len(given), sum(given))  # type: ignore[arg-type]
    return result


# The three answers of the worked example in docs/reports.md (u1..u9; None = skipped).
WORKED = [
    [4, 4, 3, 4, 3, 4, 4, 3, 4],
    [3, 2, 2, 4, 3, 3, 2, 2, 3],
    [4, 3, 3, 4, 4, 4, 3, 3, None],
]


def test_worked_example_both_weights() -> None:
    totals = totals_from_answers(WORKED)
    # Sums per element: u1 4+3+4=11, u2 4+2+3=9, u3 3+2+3=8, u4 12, u5 3+3+4=10, u6 4+3+4=11,
    # u7 4+2+3=9, u8 3+2+3=8 (three answers each), u9 4+3=7 over two answers (one skipped).
    assert totals["u1"] == ElementTotal(3, 11) and totals["u9"] == ElementTotal(2, 7)
    ninth = compute_ikm(3, totals, WEIGHT_NINTH)
    assert ninth.nrr["u1"] == Fraction(11, 3) and ninth.nrr["u9"] == Fraction(7, 2)
    # Sum of NRR = (11+9+8+12+10+11+9+8)/3 + 7/2 = 78/3 + 3.5 = 29.5
    # 1/9:  29.5 / 9 * 25 = 81.9444... -> 81.94, band B (76.61-88.30)
    assert exact_index(totals, WEIGHT_NINTH) == Fraction(295, 10) / 9 * 25
    assert ninth.index == Decimal("81.94") and ninth.band is not None and ninth.band.code == "B"
    assert ninth.band.label == "Baik" and ninth.respondents == 3
    # 0.11: 29.5 * 0.11 * 25 = 29.5 * 2.75 = 81.125 exactly -> half up 81.13 (Python's round,
    # half to even on a binary float, would say 81.12)
    worksheet = compute_ikm(3, totals, WEIGHT_REGULATION_WORKSHEET)
    assert exact_index(totals, WEIGHT_REGULATION_WORKSHEET) == Fraction(81125, 1000)
    assert worksheet.index == Decimal("81.13") and worksheet.band.code == "B"  # type: ignore[union-attr]
    assert round(81.125, 2) == 81.12  # why Decimal half up is used
    # NRR shown with three decimals, half up: 11/3 = 3.6666.. -> 3.667, 8/3 -> 2.667, 7/2 -> 3.500
    shown = ninth.nrr_rounded()
    assert shown["u1"] == Decimal("3.667") and shown["u3"] == Decimal("2.667")
    assert shown["u9"] == Decimal("3.500") and shown["u4"] == Decimal("4.000")


def test_band_edge_where_the_two_weights_disagree() -> None:
    # Ten respondents. u1..u8: five 4s and five 3s each -> sum 35, NRR 3.5;
    # u9: eight 4s and two 3s -> sum 38, NRR 3.8. Sum of NRR = 8 * 3.5 + 3.8 = 31.8.
    answers = (
        [[4] * 8 + [4] for _ in range(5)]
        + [[3] * 8 + [4] for _ in range(3)]
        + [[3] * 8 + [3] for _ in range(2)]
    )
    totals = totals_from_answers(answers)
    assert totals["u1"] == ElementTotal(10, 35) and totals["u9"] == ElementTotal(10, 38)
    # 1/9:  31.8 * 25 / 9 = 795 / 9 = 88.3333... -> 88.33 -> A Sangat Baik (>= 88.31)
    ninth = compute_ikm(10, totals, WEIGHT_NINTH)
    assert ninth.index == Decimal("88.33")
    assert (ninth.band.code, ninth.band.label) == ("A", "Sangat Baik")  # type: ignore[union-attr]
    # 0.11: 31.8 * 0.11 * 25 = 31.8 * 2.75 = 87.45 -> B Baik (76.61-88.30)
    worksheet = compute_ikm(10, totals, WEIGHT_REGULATION_WORKSHEET)
    assert worksheet.index == Decimal("87.45")
    assert (worksheet.band.code, worksheet.band.label) == ("B", "Baik")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("index", "band"),
    [
        ("100.00", "A"),
        ("88.31", "A"),
        ("88.30", "B"),
        ("76.61", "B"),
        ("76.60", "C"),
        ("65.00", "C"),
        ("64.99", "D"),
        ("25.00", "D"),
        ("24.75", "D"),
    ],
)
def test_bands_of_permenpan_rb_14_2017(index: str, band: str) -> None:
    assert band_of(Decimal(index)).code == band


@pytest.mark.parametrize(
    ("exact", "rounded"),
    [
        (Fraction(81125, 1000), "81.13"),  # half up; half-even would give 81.12
        (Fraction(78125, 1000), "78.13"),  # 25 * 25 / 8 = 78.125 (1/9 weight, S = 225, n = 8)
        (Fraction(84375, 1000), "84.38"),
        (Fraction(8831, 100), "88.31"),
        (Fraction(88305, 1000), "88.31"),  # 88.305 -> A, not B
        (Fraction(883049999, 10**7), "88.30"),
        (Fraction(1, 3), "0.33"),
        (Fraction(2, 3), "0.67"),
    ],
)
def test_round_half_up_is_exact(exact: Fraction, rounded: str) -> None:
    assert round_half_up(exact, 2) == Decimal(rounded)


def test_extremes() -> None:
    ones = totals_from_answers([[1] * 9])
    fours = totals_from_answers([[4] * 9])
    assert compute_ikm(1, ones, WEIGHT_NINTH).index == Decimal("25.00")
    assert compute_ikm(1, ones, WEIGHT_REGULATION_WORKSHEET).index == Decimal("24.75")  # 9*.11*25
    assert compute_ikm(1, fours, WEIGHT_NINTH).index == Decimal("100.00")
    assert compute_ikm(1, fours, WEIGHT_REGULATION_WORKSHEET).index == Decimal("99.00")  # 4*.99*25


def test_an_element_nobody_answered_leaves_no_index() -> None:
    answers: list[list[int | None]] = [
        [4, 4, 4, 4, 4, 4, 4, 4, None],
        [3, 3, 3, 3, 3, 3, 3, 3, None],
    ]
    result = compute_ikm(2, totals_from_answers(answers), WEIGHT_NINTH)
    assert result.nrr["u9"] is None and result.nrr["u1"] == Fraction(7, 2)
    assert result.index is None and result.band is None and result.respondents == 2


def test_weight_setting() -> None:
    assert parse_weight(None) == Fraction(1, 9)
    assert parse_weight("1/9") == Fraction(1, 9)
    assert parse_weight(" 0.11 ") == Fraction(11, 100)
    with pytest.raises(ValueError, match="COORD_IKM_WEIGHT"):
        parse_weight("0.111")

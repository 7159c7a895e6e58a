"""The SKM index (Indeks Kepuasan Masyarakat) of PermenPAN-RB 14/2017, as exact arithmetic.

Pure Python (no Flask, no database): the database counts and sums the answers per element;
this module turns those totals into the published figures.

* NRR of an element (nilai rata-rata) = the sum of its answers / the number of answers to it
  (a respondent who skipped the element is not counted for it).
* The index = (sum over the nine elements of NRR x weight) x 25. The weight is 1/9 (the
  regulation's "jumlah bobot / jumlah unsur") or, where an office must reproduce the
  regulation's worksheets literally, 0.11; with 0.11 the weights add up to 0.99, so the same
  answers give an index 1 % lower.
* Everything is computed with ``Fraction`` (no binary floating point) and the index is
  rounded to two decimals once, at the end, half up (``ROUND_HALF_UP``: 81.125 -> 81.13),
  which is what the worksheets' spreadsheet ``ROUND`` does for positive numbers; Python's
  ``round`` would give 81.12 (half to even, and on a binary float).
* The band is read from the rounded index: A Sangat Baik 88.31-100, B Baik 76.61-88.30,
  C Kurang Baik 65.00-76.60, D Tidak Baik 25.00-64.99 (below 25.00, reachable only with the
  0.11 weight, is D too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

ELEMENTS = ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9")
"""The nine elements (unsur), in the regulation's order."""

ELEMENT_NAMES = {
    "u1": "Persyaratan",
    "u2": "Sistem, mekanisme dan prosedur",
    "u3": "Waktu penyelesaian",
    "u4": "Biaya/tarif",
    "u5": "Produk spesifikasi jenis pelayanan",
    "u6": "Kompetensi pelaksana",
    "u7": "Perilaku pelaksana",
    "u8": "Penanganan pengaduan, saran dan masukan",
    "u9": "Sarana dan prasarana",
}

WEIGHT_NINTH = Fraction(1, 9)
WEIGHT_REGULATION_WORKSHEET = Fraction(11, 100)
WEIGHTS = {"1/9": WEIGHT_NINTH, "0.11": WEIGHT_REGULATION_WORKSHEET}
"""Accepted values of the ``COORD_IKM_WEIGHT`` setting."""

CONVERSION = 25
INDEX_PLACES = 2
NRR_PLACES = 3


@dataclass(frozen=True)
class Band:
    code: str
    label: str
    lowest: Decimal  # the band holds rounded indexes from ``lowest`` up to the next band


BANDS = (
    Band("A", "Sangat Baik", Decimal("88.31")),
    Band("B", "Baik", Decimal("76.61")),
    Band("C", "Kurang Baik", Decimal("65.00")),
    Band("D", "Tidak Baik", Decimal("0")),
)


@dataclass(frozen=True)
class ElementTotal:
    """What the database returns for one element: how many answered it, and their sum."""

    answers: int
    total: int


@dataclass(frozen=True)
class IkmResult:
    respondents: int
    nrr: dict[str, Fraction | None]  # exact; None when nobody answered the element
    index: Decimal | None  # rounded to two decimals; None unless all nine have answers
    band: Band | None
    weight: Fraction

    def nrr_rounded(self, places: int = NRR_PLACES) -> dict[str, Decimal | None]:
        """NRR per element for display (three decimals by default), rounded half up."""
        return {e: None if v is None else round_half_up(v, places) for e, v in self.nrr.items()}


def parse_weight(setting: str | None) -> Fraction:
    """``COORD_IKM_WEIGHT``: "1/9" (default) or "0.11"; anything else is a configuration error."""
    key = (setting or "1/9").strip()
    try:
        return WEIGHTS[key]
    except KeyError:
        raise ValueError(f"COORD_IKM_WEIGHT must be '1/9' or '0.11', got {setting!r}") from None


def round_half_up(value: Fraction | int, places: int = 2) -> Decimal:
    """Round an exact value to ``places`` decimals, halves away from zero (up, for the
    positive values used here), in integer arithmetic: no binary float can turn 81.125 into
    81.12499... first."""
    scaled = abs(Fraction(value)) * 10**places
    whole, remainder = divmod(scaled.numerator, scaled.denominator)
    if 2 * remainder >= scaled.denominator:
        whole += 1
    result = Decimal(whole).scaleb(-places)
    return -result if value < 0 else result


def band_of(index: Decimal) -> Band:
    for band in BANDS:
        if index >= band.lowest:
            return band
    return BANDS[-1]


def nrr(element: ElementTotal) -> Fraction | None:
    if element.answers <= 0:
        return None
    return Fraction(element.total, element.answers)


def compute_ikm(
    respondents: int, totals: Mapping[str, ElementTotal], weight: Fraction = WEIGHT_NINTH
) -> IkmResult:
    """The index of one unit and period from the per-element totals.

    ``totals`` maps each element code (u1..u9) to its answer count and sum; a missing element
    counts as unanswered. The index is None (and so is the band) unless every element has at
    least one answer: a weighted sum over fewer than nine elements would understate it.
    """
    values = {e: nrr(totals.get(e, ElementTotal(0, 0))) for e in ELEMENTS}
    present = [v for v in values.values() if v is not None]
    if len(present) < len(ELEMENTS):
        return IkmResult(respondents, values, None, None, weight)
    exact = sum((v * weight for v in present), Fraction(0)) * CONVERSION
    index = round_half_up(exact, INDEX_PLACES)
    return IkmResult(respondents, values, index, band_of(index), weight)


def exact_index(totals: Mapping[str, ElementTotal], weight: Fraction = WEIGHT_NINTH) -> Fraction:
    """The unrounded index (for tests and worked examples)."""
    nrrs = (Fraction(t.total, t.answers) for t in totals.values())
    return sum((v * weight for v in nrrs), Fraction(0)) * CONVERSION


__all__ = [
    "BANDS",
    "ELEMENTS",
    "ELEMENT_NAMES",
    "WEIGHTS",
    "WEIGHT_NINTH",
    "WEIGHT_REGULATION_WORKSHEET",
    "Band",
    "ElementTotal",
    "IkmResult",
    "band_of",
    "compute_ikm",
    "exact_index",
    "nrr",
    "parse_weight",
    "round_half_up",
]

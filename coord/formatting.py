"""Numbers as people read them: pure functions of a value and a locale (Babel's CLDR data).

Indonesian: decimal comma and a dot for thousands (``4,5``; ``1.234``); English: ``4.5``,
``1,234``. Working time is shown in the largest sensible unit (docs/sla.md: a working day is
480 working minutes), so "3 hari kerja" rather than "1440 menit kerja". The pages reach these
through Jinja filters (``coord.web.filters``) with the page's locale; the words around a
duration come from the translation catalogue there.
"""

from __future__ import annotations

from typing import Literal

from babel.numbers import format_decimal, format_percent

WORKING_DAY_MINUTES = 480  # docs/sla.md: "1 working day" is 480 working minutes
WorkUnit = Literal["minutes", "hours", "days"]


def number(value: float | int | None, locale: str, digits: int = 1) -> str:
    """``value`` with at most ``digits`` decimals (no trailing zeros) and grouped thousands;
    '–' for None."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=locale)


def percent(share: float | None, locale: str) -> str:
    """A share 0..1 as a whole percentage (``0.8`` -> ``80%``); '–' for None."""
    if share is None:
        return "–"
    return format_percent(share, format="#,##0%", locale=locale)


def work_duration(minutes: float) -> tuple[float, WorkUnit]:
    """Working minutes in the largest sensible unit: under an hour in minutes (whole), under a
    working day in hours, else in working days (both rounded to one decimal)."""
    minutes = abs(minutes)
    if minutes < 60:
        return float(round(minutes)), "minutes"
    if minutes < WORKING_DAY_MINUTES:
        return round(minutes / 60, 1), "hours"
    return round(minutes / WORKING_DAY_MINUTES, 1), "days"

"""The one CSV writer of the service (API reports and the dashboard's downloads).

UTF-8 with BOM (so spreadsheet programs read Indonesian text right), one header row, times in
WIB. A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with a single quote, so that Excel or LibreOffice shows it as text instead of running
it as a formula (OWASP "CSV injection"); numbers are written as numbers, negative ones too.
"""

from __future__ import annotations

import csv
import io
import numbers
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response

WIB = ZoneInfo("Asia/Jakarta")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPE = "text/csv; charset=utf-8"


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet will show it, never as a formula it would run."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(WIB).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if value is None:
        return ""
    if isinstance(value, numbers.Number):
        return value
    return neutralise(str(value))


def csv_text(
    columns: Sequence[str],
    rows: Iterable[dict[str, Any]],
    headers: Sequence[str] | None = None,
) -> str:
    """``rows`` (only ``columns``, in that order) under a header row of ``headers`` (default:
    the column names themselves)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([neutralise(c) for c in (headers or columns)])
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def csv_response(
    filename: str,
    columns: Sequence[str],
    rows: Iterable[dict[str, Any]],
    headers: Sequence[str] | None = None,
) -> Response:
    """A download of ``rows`` (only ``columns``, in that order) named ``filename``."""
    response = Response(csv_text(columns, rows, headers), content_type=CONTENT_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

"""CSV downloads of reports: UTF-8 with BOM (so spreadsheet programs read Indonesian text
right), one header row, times in WIB."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response

WIB = ZoneInfo("Asia/Jakarta")


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(WIB).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if value is None:
        return ""
    return value


def csv_response(filename: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    response = Response(buffer.getvalue(), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

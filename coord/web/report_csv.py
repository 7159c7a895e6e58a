"""The dashboard's CSV downloads, for people: Indonesian file names (``laporan-*.csv``, as
docs/reports.md promises) and column headers, and a name beside every code.

The API's ``format=csv`` keeps the JSON field names as headers and codes only: integrators
read those files by program (docs/reports.md, "CSV downloads"). Both are written by
``coord.exports``; the rows are the same report rows, with names added here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flask import Response
from flask_babel import lazy_gettext as _l

from coord.exports import csv_response
from coord.labels import label

FILE_NAMES = {
    "sla": "laporan-sla",
    "handoffs": "laporan-disposisi",
    "backlog": "laporan-tunggakan",
    "ikm": "laporan-ikm",
    "breaches": "laporan-pelanggaran-sla",
}

HEADERS = {
    "unit": _l("Kode unit"),
    "unit_name": _l("Unit"),
    "category": _l("Kode kategori"),
    "category_name": _l("Kategori"),
    "month": _l("Bulan"),
    "period": _l("Periode"),
    "cases": _l("Kasus"),
    "open": _l("Terbuka"),
    "resolved": _l("Selesai"),
    "resolved_on_time": _l("Selesai tepat waktu"),
    "breached": _l("Terlambat"),
    "open_overdue": _l("Terbuka lewat batas"),
    "on_time_share": _l("Porsi tepat waktu (0-1)"),
    "response_minutes_median": _l("Median respons (menit kerja)"),
    "response_minutes_p90": _l("P90 respons (menit kerja)"),
    "resolution_minutes_median": _l("Median penyelesaian (menit kerja)"),
    "resolution_minutes_p90": _l("P90 penyelesaian (menit kerja)"),
    "handoffs": _l("Disposisi"),
    "acknowledged": _l("Dijawab"),
    "acknowledged_on_time": _l("Dijawab tepat waktu"),
    "pending": _l("Menunggu jawaban"),
    "ack_minutes_median": _l("Median waktu menjawab (menit kerja)"),
    "rejected": _l("Ditolak"),
    "bounced_cases": _l("Kasus berpindah-pindah unit"),
    "respondents": _l("Responden"),
    "ikm": _l("IKM"),
    "band": _l("Mutu"),
    "band_label": _l("Kinerja"),
    "case_id": _l("Nomor kasus"),
    "tracking_code": _l("Kode pelacakan"),
    "title": _l("Perihal"),
    "case_status": _l("Status kasus"),
    "owner_unit": _l("Kode unit pemegang"),
    "owner_unit_name": _l("Unit pemegang"),
    "clock": _l("Target"),
    "handoff_id": _l("Nomor disposisi"),
    "handoff_to_unit": _l("Kode unit tujuan disposisi"),
    "handoff_to_unit_name": _l("Unit tujuan disposisi"),
    "due_at": _l("Batas waktu (WIB)"),
    "breached_at": _l("Terlambat sejak (WIB)"),
    "completed_at": _l("Selesai (WIB)"),
    "minutes_over": _l("Lewat batas (menit kerja)"),
}


def header(column: str) -> str:
    """The Indonesian (or English) header of a report column."""
    if column in HEADERS:
        return str(HEADERS[column])
    if column.startswith("rejected_"):
        return str(_l("Ditolak: %(reason)s", reason=label("reject_reason", column[9:])))
    if column.startswith("age_"):
        return str(_l("Umur %(days)s hari", days=column[4:].replace("-", "–")))
    if column.startswith("nrr_"):
        return str(_l("NRR unsur %(n)s", n=column[5:]))
    return column


def _with_names(
    columns: Sequence[str], names: dict[str, dict[str, str]]
) -> tuple[list[str], Callable[[dict[str, Any]], dict[str, Any]]]:
    """The columns with a name column after each code column, and a function that fills
    them (and turns the codes of statuses and clocks into their labels)."""
    named = {"category": "category_names", "owner_unit": "unit_names"}
    named["handoff_to_unit"] = "unit_names"
    out: list[str] = []
    for column in columns:
        out.append(column)
        if column in named:
            out.append(f"{column}_name")

    def fill(row: dict[str, Any]) -> dict[str, Any]:
        row = dict(row)
        for column, table in named.items():
            if column in row:
                row[f"{column}_name"] = names[table].get(row[column] or "", row[column])
        if "case_status" in row:
            row["case_status"] = label("status", row["case_status"])
        if "clock" in row:
            row["clock"] = label("clock", row["clock"])
        return row

    return out, fill


def download(
    report: str,
    month: str,
    columns: Sequence[str],
    rows: Iterable[dict[str, Any]],
    names: dict[str, dict[str, str]],
) -> Response:
    keys, fill = _with_names(columns, names)
    filename = FILE_NAMES[report] + (f"-{month}" if month else "") + ".csv"
    return csv_response(filename, keys, (fill(r) for r in rows), headers=[header(k) for k in keys])

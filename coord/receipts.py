"""Printable documents for citizens: the receipt (tanda terima) of a new case and the public
handling history (riwayat penanganan), each as an HTML page and as a PDF.

Both documents are built from one plain context per document (``receipt_context``,
``history_context``), so the page and the PDF always say the same thing. The history carries
only what the public tracking view carries (``coord.services.citizens.tracking_view``); the
receipt adds the subject of the case and the citizen's token, and is therefore served only to
whoever already holds that token.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from flask import render_template

from coord.clock import now_utc
from coord.domain.tracking import format_tracking_code
from coord.models import Case
from coord.services.citizens import (
    CHANNEL_LABELS,
    STATUS_LABELS,
    dispute_days,
    format_wib,
    tracking_urls,
    tracking_view,
)

if TYPE_CHECKING:
    from fpdf import FPDF

OFFICE_TITLE = "Layanan Pengaduan dan Permohonan Warga"


def _office_name(case: Case) -> str:
    return case.recorded_by_unit.name


def receipt_context(case: Case, now: datetime | None = None) -> dict[str, Any]:
    """Everything the receipt shows, as display strings (Indonesian, WIB)."""
    now = now or now_utc()
    urls = tracking_urls(case)
    return {
        "title": "Tanda Terima Laporan",
        "office": _office_name(case),
        "tracking_code": format_tracking_code(case.tracking_code),
        "rows": [
            ("Kode pelacakan", format_tracking_code(case.tracking_code)),
            ("Waktu diterima", format_wib(case.received_at)),
            ("Perihal", case.title),
            ("Kategori", case.category.name_id),
            ("Saluran", CHANNEL_LABELS.get(case.channel, case.channel)),
            ("Diterima oleh", case.recorded_by_unit.name),
            ("Unit yang menangani", case.owner_unit.name),
            (
                "Batas waktu penyelesaian",
                format_wib(case.resolution_due_at)
                if case.resolution_due_at
                else "Mengikuti standar pelayanan unit",
            ),
        ],
        "track_url": urls["page"],  # the citizen's page, not the API (issue 19)
        "track_json_url": urls["json"],
        "token": case.citizen_token or "-",
        "dispute_days": dispute_days(),
        "printed_at": format_wib(now),
        "notes": [
            f"Pantau perkembangan laporan Anda di {urls['page']} atau sebutkan kode "
            f"pelacakan {format_tracking_code(case.tracking_code)} kepada petugas.",
            "Batas waktu penyelesaian mengikuti standar pelayanan yang berlaku untuk kategori "
            "ini; waktu saat laporan ditunda menunggu kelengkapan tidak dihitung.",
            "Token di bawah ini diperlukan untuk memberi penilaian layanan (Survei Kepuasan "
            "Masyarakat) setelah laporan selesai, dan untuk menyanggah penyelesaian dalam "
            f"{dispute_days()} hari setelah laporan dinyatakan selesai. Simpan token ini dan "
            "jangan berikan kepada orang lain.",
        ],
    }


def history_context(case: Case, now: datetime | None = None) -> dict[str, Any]:
    """The public handling history: the tracking view, as display strings."""
    now = now or now_utc()
    view = tracking_view(case, now)
    rows = [
        ("Kode pelacakan", view["tracking_code"]),
        ("Kategori", view["category"]["name"]),
        ("Status", STATUS_LABELS.get(view["status"], view["status"])),
        ("Unit yang menangani", view["unit"]["name"]),
        ("Waktu diterima", format_wib(view["received_at"])),
        ("Batas waktu penyelesaian", format_wib(view["due_at"])),
    ]
    if view["resolved_at"]:
        rows.append(("Waktu selesai", format_wib(view["resolved_at"])))
    if view["closed_at"]:
        rows.append(("Waktu ditutup", format_wib(view["closed_at"])))
    return {
        "title": "Riwayat Penanganan Laporan",
        "office": _office_name(case),
        "tracking_code": view["tracking_code"],
        "rows": rows,
        "timeline": [
            {
                "at": format_wib(e["at"], weekday=False),
                "label": e["label"],
                "unit": e["unit"],
                "note": e["note"] or "",
            }
            for e in view["timeline"]
        ],
        "track_url": view["links"]["history"],
        "printed_at": format_wib(now),
        "notes": [
            "Riwayat ini memuat catatan publik penanganan laporan sebagaimana tercatat dalam "
            "sistem. Data pribadi pelapor dan catatan internal petugas tidak ditampilkan.",
            f"Keaslian dapat diperiksa di {view['links']['history']}.",
        ],
    }


# -- HTML ----------------------------------------------------------------------------------


def render_receipt(case: Case, now: datetime | None = None, *, pdf_href: str | None = None) -> str:
    """The receipt as a printable HTML page (contains the citizen token); ``pdf_href`` adds a
    link to the PDF of the same receipt."""
    return render_template("public/receipt.html", doc=receipt_context(case, now), pdf_href=pdf_href)


def render_history(case: Case, now: datetime | None = None, *, pdf_href: str | None = None) -> str:
    """The public handling history as a printable HTML page."""
    return render_template("public/history.html", doc=history_context(case, now), pdf_href=pdf_href)


# -- PDF -----------------------------------------------------------------------------------

_PUNCTUATION = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u00a0": " ",
    }
)


def pdf_text(text: str) -> str:
    """The PDF core fonts know Latin-1 only: keep what fits, spell out accents, drop the rest."""
    text = text.translate(_PUNCTUATION)
    out = []
    for ch in text:
        if ord(ch) < 256 and (ch.isprintable() or ch == "\n"):
            out.append(ch)
            continue
        base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
        out.append(base if base and base.isprintable() else "?")
    return "".join(out)


@cache
def _document_class() -> type[FPDF]:
    """The PDF document class. fpdf (about 20 MB) is imported on the first PDF, not when the
    app starts: most web workers never print one."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    class _Document(FPDF):
        def __init__(self, title: str, footer_text: str) -> None:
            super().__init__(format="A4")
            self._footer_text = footer_text
            self.set_title(pdf_text(title))
            self.set_creator("coord")
            self.set_lang("id")
            self.set_margins(18, 16, 18)
            self.set_auto_page_break(True, margin=18)
            self.add_page()

        def footer(self) -> None:
            self.set_y(-13)
            self.set_font("Helvetica", "", 7.5)
            self.set_text_color(110)
            self.cell(
                0, 5, pdf_text(f"{self._footer_text} - halaman {self.page_no()}/{{nb}}"), align="C"
            )
            self.set_text_color(0)

        def heading(self, office: str, title: str, code: str) -> None:
            self.set_font("Helvetica", "", 10)
            self.cell(0, 5, pdf_text(office), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.cell(0, 5, pdf_text(OFFICE_TITLE), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(2)
            self.set_font("Helvetica", "B", 16)
            self.cell(0, 9, pdf_text(title.upper()), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_font("Courier", "B", 22)
            self.cell(0, 12, pdf_text(code), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_draw_color(150)
            self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
            self.ln(4)

        def fields(self, rows: list[tuple[str, str]]) -> None:
            label_w = 55
            for label, value in rows:
                self.set_font("Helvetica", "B", 10)
                y = self.get_y()
                self.multi_cell(label_w, 6, pdf_text(label), new_x=XPos.RIGHT, new_y=YPos.TOP)
                self.set_font("Helvetica", "", 10)
                self.multi_cell(0, 6, pdf_text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                self.set_y(max(self.get_y(), y + 6))

        def paragraphs(self, notes: list[str], size: float = 9) -> None:
            self.set_font("Helvetica", "", size)
            for note in notes:
                self.multi_cell(0, 5, pdf_text(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                self.ln(1.5)

        def bytes(self) -> bytes:
            return bytes(self.output())

    return _Document


def _document(title: str, footer_text: str) -> Any:
    return _document_class()(title, footer_text)


def render_receipt_pdf(case: Case, now: datetime | None = None) -> bytes:
    """The receipt as a one-page A4 PDF."""
    from fpdf.enums import XPos, YPos

    doc = receipt_context(case, now)
    pdf = _document(f"{doc['title']} {doc['tracking_code']}", f"Dicetak {doc['printed_at']}")
    pdf.heading(doc["office"], doc["title"], doc["tracking_code"])
    pdf.fields(doc["rows"])
    pdf.ln(3)
    pdf.paragraphs(doc["notes"])
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, pdf_text("Token penilaian dan sanggahan"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Courier", "B", 16)
    pdf.set_fill_color(238)
    pdf.cell(
        0,
        10,
        pdf_text(doc["token"]),
        border=1,
        fill=True,
        align="C",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return pdf.bytes()


def render_history_pdf(case: Case, now: datetime | None = None) -> bytes:
    """The public handling history as an A4 PDF (as many pages as the timeline needs)."""
    doc = history_context(case, now)
    pdf = _document(f"{doc['title']} {doc['tracking_code']}", f"Dicetak {doc['printed_at']}")
    pdf.heading(doc["office"], doc["title"], doc["tracking_code"])
    pdf.fields(doc["rows"])
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 9)
    with pdf.table(
        col_widths=(48, 40, 40, 46), text_align="LEFT", line_height=5, first_row_as_headings=True
    ) as table:
        table.row([pdf_text(h) for h in ("Waktu", "Kejadian", "Unit", "Keterangan")])
        for item in doc["timeline"]:
            table.row(
                [
                    pdf_text(item["at"]),
                    pdf_text(item["label"]),
                    pdf_text(item["unit"]),
                    pdf_text(item["note"]),
                ]
            )
    pdf.ln(4)
    pdf.paragraphs(doc["notes"], size=8.5)
    return pdf.bytes()


def pdf_filename(kind: str, case: Case) -> str:
    return f"{kind}-{format_tracking_code(case.tracking_code)}.pdf"

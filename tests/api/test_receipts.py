"""The receipt (tanda terima) and the printable history, as pages and PDFs: what they say, who
may get them, and that the history (page and PDF text) carries nothing private."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader

from coord import clock
from coord.extensions import db
from coord.models import Case
from coord.receipts import render_history_pdf, render_receipt, render_receipt_pdf
from coord.services import cases as case_service
from coord.services.uow import unit_of_work
from tests.factories import World, case_in_status, make_case
from tests.services.test_citizens import PUBLIC_COMMENT, SECRETS, T0, leaked, sensitive_case


@pytest.fixture
def at_t0() -> Iterator[datetime]:
    clock.set_frozen(T0)
    yield T0
    clock.set_frozen(None)


def code_of(case: Case) -> str:
    return f"{case.tracking_code[:4]}-{case.tracking_code[4:]}"


def pdf_text(data: bytes) -> tuple[int, str]:
    """(pages, text with whitespace collapsed) of a PDF, read by an independent parser."""
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(data), strict=True)
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    return len(reader.pages), " ".join(text.split())


# The receipt shows the subject (perihal) to the token holder, never contact data.
CONTACT = (
    SECRETS["reporter_phone"],
    SECRETS["reporter_email"],
    SECRETS["reporter_nik"],
    SECRETS["description"],
    SECRETS["address"],
    SECRETS["internal_comment"],
)


def test_receipt_page_says_what_the_citizen_needs(
    client: Any, world: World, at_t0: datetime
) -> None:
    case = sensitive_case(world, "new")
    response = client.get(f"/public/v1/track/{code_of(case)}/receipt?token={case.citizen_token}")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    html = response.get_data(as_text=True)
    for expected in (
        "Tanda Terima Laporan",
        code_of(case),
        "Rabu, 4 Maret 2026 pukul 10.00 WIB",  # received (WIB)
        "Jalan-Rusak",  # category
        SECRETS["title"],  # perihal: the subject, for the token holder
        "Kantor Lurah A1",  # the unit that holds it
        "Rabu, 11 Maret 2026 pukul 10.00 WIB",  # deadline of the standard
        f"/lacak/{code_of(case)}",  # how to track it: the citizen's page
        case.citizen_token,  # feedback and dispute token
        "7 hari",
        f"/public/v1/track/{code_of(case)}/receipt.pdf?token={case.citizen_token}",
    ):
        assert expected in html, expected
    assert "/public/v1/track/" + code_of(case) + "/history" not in html  # not the API
    assert case.resolution_due_at is not None
    for secret in CONTACT:
        assert secret not in html


@pytest.mark.parametrize("suffix", ["/receipt", "/receipt.pdf"])
@pytest.mark.parametrize("token", ["", "?token=", "?token=WRONG", "?token=%00"])
def test_receipt_needs_the_token(client: Any, world: World, suffix: str, token: str) -> None:
    case = make_case(world)
    response = client.get(f"/public/v1/track/{code_of(case)}{suffix}{token}")
    assert response.status_code in (403, 422)
    if response.status_code == 403:
        assert "Token tidak cocok" in response.json["message"]
    assert case.citizen_token not in response.get_data(as_text=True)


def test_receipt_pdf_is_a_valid_pdf_with_the_code_and_token(
    client: Any, world: World, at_t0: datetime
) -> None:
    case = sensitive_case(world, "new")
    response = client.get(
        f"/public/v1/track/{code_of(case).lower()}/receipt.pdf",
        query_string={"token": case.citizen_token},
    )
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert f'filename="tanda-terima-{code_of(case)}.pdf"' in response.headers["Content-Disposition"]
    pages, text = pdf_text(response.data)
    assert pages == 1
    for expected in (
        "TANDA TERIMA LAPORAN",
        code_of(case),
        case.citizen_token,
        "Jalan-Rusak",
        "Kantor Lurah A1",
        "Rabu, 4 Maret 2026 pukul 10.00 WIB",
        "Rabu, 11 Maret 2026 pukul 10.00 WIB",
    ):
        assert expected in text, expected
    for secret in CONTACT:
        assert secret not in text


def test_render_receipt_is_callable_without_a_request(
    app: Flask, world: World, at_t0: datetime
) -> None:
    case = make_case(world)
    with app.app_context():
        loaded = db.session.get(Case, case.id)
        assert loaded is not None
        html = render_receipt(loaded)
        assert code_of(loaded) in html and loaded.citizen_token in html
        _, text = pdf_text(render_receipt_pdf(loaded))
        assert code_of(loaded) in text


def test_history_page_and_pdf_show_the_public_timeline_only(
    client: Any, world: World, at_t0: datetime
) -> None:
    case = sensitive_case(world, "closed")
    page = client.get(f"/public/v1/track/{case.tracking_code}/history")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert leaked(html) == []
    assert case.citizen_token not in html and SECRETS["title"] not in html
    for expected in (
        "Riwayat Penanganan Laporan",
        code_of(case),
        PUBLIC_COMMENT,
        "Dinas PU",
        "Selesai ditangani",
        "Ditutup",
        "Kantor Lurah A1",
    ):
        assert expected in html, expected

    pdf = client.get(f"/public/v1/track/{case.tracking_code}/history.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "no-store" not in pdf.headers.get("Cache-Control", "")
    _, text = pdf_text(pdf.data)
    assert leaked(text) == []
    assert case.citizen_token not in text and SECRETS["title"] not in text
    for expected in (
        "RIWAYAT PENANGANAN LAPORAN",
        code_of(case),
        PUBLIC_COMMENT,
        "Dinas PU",
        "Laporan diterima",
        "Ditutup",
    ):
        assert expected in text, expected


def test_history_pdf_spans_pages_and_survives_any_text(world: World, at_t0: datetime) -> None:
    case = case_in_status(world, "in_progress")
    staff = world.user("kel-a1", "staff")
    for number in range(60):
        with unit_of_work():
            case_service.comment_on_case(
                staff, case.id, f"Tanggapan nomor {number} — dicek ✓ ½ 🚧", "public", T0
            )
    pages, text = pdf_text(render_history_pdf(db.session.get(Case, case.id)))
    assert pages > 1
    assert "Tanggapan nomor 0 - dicek ? ½ ?" in text
    assert "Tanggapan nomor 59" in text


def test_history_of_an_unknown_code_is_404(client: Any, world: World) -> None:
    for suffix in ("/history", "/history.pdf", "/receipt.pdf?token=x"):
        response = client.get(f"/public/v1/track/ZZZZ-ZZZZ{suffix}")
        assert response.status_code == 404, suffix

"""The pages speak the office's language (issue 19): names instead of stored codes, numbers
with a decimal comma, working time in the largest sensible unit, Indonesian validation
messages that say what to do, a form refused by CSRF kept and offered again, and a case
transferred away that still tells its former holder what is left."""

from __future__ import annotations

import re
from html import unescape

from coord.clock import now_utc
from coord.formatting import WORKING_DAY_MINUTES
from coord.services import handoffs as handoff_service
from coord.services.uow import unit_of_work
from tests.factories import make_case
from tests.web.forms import WebUser


def visible_text(html: str) -> str:
    """The text a reader sees, roughly: tags, scripts and option values dropped."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def detail(html: str, name: str) -> str:
    """The <dd> after the <dt> called ``name`` on the case page."""
    found = re.search(rf"<dt>{name}</dt><dd>(.*?)</dd>", html, flags=re.S)
    assert found, name
    return visible_text(found.group(1))


def test_case_page_shows_labels_not_codes(app, world) -> None:  # type: ignore[no-untyped-def]
    case = make_case(world, channel="walk_in", priority="normal")
    now = now_utc()
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            world.user("kel-a1", "staff"), case.id, "transfer", "dinas-pu", "tolong", now
        )
    with unit_of_work():
        handoff_service.reject_handoff(
            world.user("dinas-pu", "liaison"), handoff.id, "not_our_jurisdiction", now
        )
    page = WebUser(app, "kel-a1.staff").get(f"/web/cases/{case.id}").get_data(as_text=True)
    assert "Biasa" in detail(page, "Kategori")
    assert "Datang langsung" in detail(page, "Dicatat oleh")
    text = visible_text(page)
    assert "Bukan kewenangan kami" in text
    for code in ("normal", "walk_in", "not_our_jurisdiction"):
        assert not re.search(rf"\b{code}\b", text), code


def test_dashboard_shows_names_and_indonesian_numbers(app, world) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from coord.services import cases as case_service

    # A case received three working days ago, still new: its response clock is breached
    # (the world's standard is 3 working days) and it stands in the open-breach list.
    start = now_utc() - timedelta(days=10)
    case = make_case(world, at=start, category="jalan-rusak")
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            world.user("kel-a1", "staff"), case.id, "transfer", "dinas-pu", "tolong", start
        )
    with unit_of_work():  # 4.5 working hours after the request
        handoff_service.accept_handoff(
            world.user("dinas-pu", "liaison"), handoff.id, start + timedelta(hours=4, minutes=30)
        )
    del case_service
    manager = WebUser(app, "pemkot.manager")
    page = manager.get("/web/dashboard/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    text = visible_text(html)
    assert "Jalan-Rusak" in text  # the category's name (the world names it after its code)
    assert not re.search(r"(?<![\w-])jalan-rusak(?![\w-])", text)
    assert not re.search(r"\b(dinas-pu|kel-a1)\b", text)
    assert "Dinas PU" in text
    # No value written with a decimal point, and working time in hours or days, not minutes.
    assert not re.search(r"\d\.\d+ (jam|hari|menit)", text)
    assert not re.search(r"\d{3,} menit kerja", text)
    assert WORKING_DAY_MINUTES == 480


def test_case_transferred_away_says_who_holds_it(app, world) -> None:  # type: ignore[no-untyped-def]
    case = make_case(world)
    now = now_utc()
    with unit_of_work():
        handoff = handoff_service.request_handoff(
            world.user("kel-a1", "staff"), case.id, "transfer", "dinas-pu", "tolong", now
        )
    with unit_of_work():
        handoff_service.accept_handoff(world.user("dinas-pu", "liaison"), handoff.id, now)
    page = WebUser(app, "kel-a1.staff").get(f"/web/cases/{case.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    card = html.split('id="actions-h"', 1)[1].split("</section>", 1)[0]
    assert "dipegang oleh Dinas PU" in visible_text(card)


def test_dashboard_csv_is_named_and_headed_in_indonesian(app, world, client) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io
    from datetime import timedelta

    from coord.services.sla_sweep import sweep

    make_case(world, at=now_utc() - timedelta(days=10), category="jalan-rusak")
    sweep(now_utc(), notify="inline")
    manager = WebUser(app, "pemkot.manager")
    response = manager.get("/web/dashboard/breaches.csv")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="laporan-pelanggaran-sla.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Nomor kasus", "Kode pelacakan", "Perihal"]
    assert "Unit pemegang" in rows[0] and "Kategori" in rows[0]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Unit pemegang"] == "Kantor Lurah A1"
    assert record["Kode unit pemegang"] == "kel-a1"  # the code stays, beside its name
    assert record["Target"] in ("Respons pertama", "Penyelesaian")
    sla = manager.get("/web/dashboard/sla.csv")
    assert sla.headers["Content-Disposition"] == 'attachment; filename="laporan-sla.csv"'
    assert "Porsi tepat waktu (0-1)" in sla.get_data(as_text=True).splitlines()[0]
    # The API's CSV keeps the JSON field names: integrators read it by program.
    api = client.get(
        "/api/v1/reports/breaches?format=csv", headers=world.headers("pemkot", "manager")
    )
    assert api.get_data(as_text=True).lstrip("\ufeff").startswith("case_id,tracking_code,")


def test_a_form_refused_by_csrf_keeps_the_session_and_what_was_typed(app, world) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from coord.extensions import db
    from coord.models import Case

    clerk = WebUser(app, "kel-a1.staff")
    typed = {
        "title": "Lampu jalan padam di Gang Melati",
        "description": "Sudah tiga malam gelap",
        "category": "jalan-rusak",
        "region_code": "12.71.01.1001",
        "reporter_privacy": "anonymous",
        "confirm_not_duplicate": "1",
    }
    clerk.token = "a-token-from-a-form-left-open-too-long"
    refused = clerk.post("/web/cases/new", typed)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "Formulir kedaluwarsa, periksa lalu kirim lagi" in html
    assert world.user("kel-a1", "staff").full_name in html  # still signed in: their header
    assert 'value="Lampu jalan padam di Gang Melati"' in html  # what was typed is kept
    assert "Sudah tiga malam gelap</textarea>" in html
    assert db.session.execute(select(Case).where(Case.title == typed["title"])).first() is None
    # ... and sending again with the page's new token records the case.
    clerk.token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    sent = clerk.post("/web/cases/new", typed)
    assert sent.status_code == 302
    assert db.session.execute(select(Case).where(Case.title == typed["title"])).first()


def test_a_comment_refused_by_csrf_is_kept_on_the_case_page(app, world) -> None:  # type: ignore[no-untyped-def]
    case = make_case(world)
    clerk = WebUser(app, "kel-a1.staff")
    clerk.token = "stale"
    refused = clerk.post(f"/web/cases/{case.id}/comment", {"body": "Warga menelepon lagi"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "Formulir kedaluwarsa" in html
    assert "Warga menelepon lagi</textarea>" in html


ENGLISH = re.compile(
    r"\b(Length|must|between|needs|digits|Invalid|required|Not a valid|Missing data)\b"
)


def test_intake_says_what_to_do_in_indonesian(app, world, client) -> None:  # type: ignore[no-untyped-def]
    clerk = WebUser(app, "kel-a1.staff")
    page = clerk.post(
        "/web/cases/new",
        {
            "title": "",
            "description": "x" * 10,
            "category": "jalan-rusak",
            "region_code": "12.71.01.1001",
            "reporter_privacy": "named",
            "reporter_name": "",
            "reporter_phone": "nomor saya",
            "reporter_email": "bukan-email",
            "reporter_nik": "12345",
        },
    )
    assert page.status_code == 422
    errors = re.findall(r'class="field-error"[^>]*>(.*?)</div>', page.get_data(as_text=True))
    text = " ".join(unescape(e) for e in errors)
    assert len(errors) == 4, errors
    assert "Isi 1 sampai 200 karakter." in text  # the blank title
    assert "081234567890" in text and "16 angka" in text and "nama@contoh.id" in text
    assert not ENGLISH.search(text), text
    nameless = clerk.post(
        "/web/cases/new",
        {
            "title": "Judul",
            "description": "Uraian",
            "category": "jalan-rusak",
            "region_code": "12.71.01.1001",
            "reporter_privacy": "named",
        },
    )
    assert "Tulis nama pelapor" in unescape(nameless.get_data(as_text=True))
    # A refusal by the service (a received time in the future) is Indonesian too.
    later = clerk.post(
        "/web/cases/new",
        {
            "title": "Judul",
            "description": "Uraian",
            "category": "jalan-rusak",
            "region_code": "12.71.01.1001",
            "reporter_privacy": "anonymous",
            "received_at": "2099-01-01T10:00",
            "confirm_not_duplicate": "1",
        },
    )
    assert later.status_code == 422
    assert "tidak boleh di masa depan" in later.get_data(as_text=True)
    # The API keeps its English messages with field names, for integrators.
    api = client.post(
        "/api/v1/cases",
        json={
            "title": "",
            "description": "x",
            "category": "jalan-rusak",
            "location": {"region_code": "12.71.01.1001"},
            "reporter": {"privacy": "named", "nik": "12"},
        },
        headers=world.headers("kel-a1", "staff"),
    )
    assert api.status_code == 422
    body = api.get_json()
    assert "Length must be between 1 and 200." in str(body["errors"])
    assert "NIK has 16 digits" in str(body["errors"])


def test_a_refused_case_action_is_flashed_in_indonesian(app, world) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import case_in_status

    case = case_in_status(world, "resolved")
    clerk = WebUser(app, "kel-a1.staff")
    clerk.post(f"/web/cases/{case.id}/action/start", {"version": str(case.version)})
    messages = " ".join(m for _, m in clerk.flashes())
    assert "tidak dapat dilakukan" in messages and "Selesai ditangani" in messages
    assert not ENGLISH.search(messages) and "Cannot" not in messages, messages

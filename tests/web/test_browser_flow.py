"""The main journey through the web UI in a real headless Chromium: a kelurahan records a
case and forwards it, an agency accepts it, it breaches and reaches the manager's dashboard,
the citizen tracks it without seeing personal data and rates the service after resolution,
and an admin adds a closed date and a webhook endpoint."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from coord import clock
from coord.extensions import db
from coord.models import Case, Feedback, Unit, WebhookEndpoint
from coord.services.sla_sweep import sweep

WIB = ZoneInfo("Asia/Jakarta")
PASSWORD = "secret-pass"


@pytest.fixture
def office_hours(app_ctx):  # type: ignore[no-untyped-def]
    clock.set_frozen(datetime(2026, 3, 2, 9, 0, tzinfo=WIB))  # Monday 09:00 WIB
    yield
    clock.set_frozen(None)


def login(browser, base: str, username: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    page = context.new_page()
    page.goto(f"{base}/web/login")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    return page


def test_case_journey_through_the_web_ui(
    app, world, live_server, browser, screenshot, office_hours, monkeypatch
):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "COORD_WEBHOOK_ALLOW_CIDRS", "127.0.0.0/8")
    base = live_server
    # 1. Kelurahan staff records a case at the front desk.
    staff = login(browser, base, "kel-a1.staff")
    screenshot(staff, "inbox")
    staff.get_by_role("link", name="Catat laporan").click()
    staff.get_by_label("Judul singkat").fill("Parit tersumbat di Jl. Mawar")
    staff.get_by_label("Uraian laporan").fill("Air meluap ke jalan setiap hujan deras")
    staff.get_by_label("Kategori").select_option("jalan-rusak")
    staff.get_by_label("Kelurahan lokasi").select_option("12.71.01.1001")
    staff.get_by_label("Nama", exact=True).fill("Siti Aminah")
    staff.get_by_label("Nomor HP").fill("081298765432")
    staff.get_by_label("NIK (16 digit, tidak wajib)").fill("1271010101010009")
    screenshot(staff, "intake")
    staff.get_by_role("button", name="Simpan dan cetak tanda terima").click()
    staff.get_by_text("sudah dicatat").wait_for()
    token = staff.locator(".flash.success .code").inner_text()
    code = staff.locator("h1 .code").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    screenshot(staff, "case")

    # 2. ... and forwards it to the agency that can act.
    staff.locator("summary", has_text="Disposisi ke unit lain").click()
    staff.get_by_label("Unit tujuan", exact=True).select_option("dinas-pu")
    staff.get_by_label("Catatan", exact=True).fill("Mohon ditangani, saluran milik dinas")
    staff.get_by_role("button", name="Kirim disposisi").click()
    staff.get_by_text("Disposisi terkirim.").wait_for()
    assert "Menunggu diterima unit lain" in staff.content()

    # 3. The agency liaison accepts it from the inbox.
    liaison = login(browser, base, "dinas-pu.liaison")
    row = liaison.locator("section[aria-labelledby=incoming-h] tr", has_text="Parit tersumbat")
    screenshot(liaison, "liaison-inbox")
    row.get_by_role("button", name="Terima").click()
    liaison.get_by_text("Disposisi diterima.").wait_for()
    case = db.session.execute(
        select(Case).where(Case.title == "Parit tersumbat di Jl. Mawar")
    ).scalar_one()
    db.session.refresh(case)
    assert case.owner_unit.code == "dinas-pu" and case.status == "in_progress"

    # 4. Nobody resolves it in time: the sweep records the breach; the manager sees it.
    clock.set_frozen(datetime(2026, 3, 12, 9, 0, tzinfo=WIB))
    sweep(clock.now_utc())
    manager = login(browser, base, "camat-a.manager")
    manager.get_by_role("link", name="Dasbor").click()
    breaches = manager.locator("section[aria-labelledby=breach-h]")
    assert code in breaches.inner_text()
    screenshot(manager, "dashboard")

    # 5. The citizen tracks the case: status and unit, no personal data.
    citizen = browser.new_page()
    citizen.goto(f"{base}/lacak")
    citizen.get_by_label(re.compile("Kode pelacakan")).fill(code.lower().replace("-", ""))
    citizen.get_by_role("button", name="Lacak").click()
    citizen.get_by_text("Sedang ditangani").first.wait_for()  # the result page, not the form
    text = citizen.content()
    assert "Dinas PU" in text and "Sedang ditangani" in text
    for secret in ("Siti Aminah", "081298765432", "1271010101010009", "Mohon ditangani, saluran"):
        assert secret not in text
    screenshot(citizen, "track")

    # 6. The agency resolves it; the citizen rates the service with the receipt's token.
    agency_staff = login(browser, base, "dinas-pu.staff")
    agency_staff.goto(f"{base}/web/cases/{case.id}")
    agency_staff.locator("summary", has_text="Selesaikan").click()
    agency_staff.get_by_label("Catatan penyelesaian").fill("Parit sudah dikeruk dan dibersihkan")
    agency_staff.get_by_role("button", name="Selesaikan").click()
    agency_staff.get_by_text("Tersimpan.").wait_for()
    citizen.goto(f"{base}/lacak/{code}?token={token}")
    for element in range(1, 10):
        citizen.locator(f"input[name=u{element}][value='{4 if element % 2 else 3}']").check()
    citizen.get_by_label(re.compile("Saran atau masukan")).fill("Cepat setelah dilaporkan ulang")
    screenshot(citizen, "skm")
    citizen.get_by_role("button", name="Kirim penilaian").click()
    citizen.get_by_text("Terima kasih").wait_for()
    feedback = db.session.execute(select(Feedback).where(Feedback.case_id == case.id)).scalar_one()
    assert (feedback.u1, feedback.u2) == (4, 3)

    # 7. An admin closes an office day and registers a webhook endpoint.
    admin = login(browser, base, "camat-a.admin")
    admin.get_by_role("link", name="Pengaturan").click()
    admin.get_by_role("link", name="Kantor Camat A").click()
    admin.get_by_label(re.compile("Tambah tanggal tutup")).fill("2026-08-18")
    admin.get_by_role("button", name="Tambah tanggal").click()
    admin.get_by_text("Kalender disimpan.").wait_for()
    admin.locator("summary", has_text="Tambah endpoint").click()
    admin.get_by_label("URL (https://...)").fill("http://127.0.0.1:9/coord-hook")
    admin.get_by_role("button", name="Buat endpoint").click()
    admin.get_by_text("Endpoint webhook dibuat.").wait_for()
    assert "whsec_" in admin.content()  # the secret is shown this once
    screenshot(admin, "admin-unit")
    unit = db.session.execute(select(Unit).where(Unit.code == "camat-a")).scalar_one()
    db.session.refresh(unit)
    assert "2026-08-18" in unit.calendar["extra_closed"]
    endpoint = db.session.execute(
        select(WebhookEndpoint).where(WebhookEndpoint.unit_id == unit.id)
    ).scalar_one()
    assert endpoint.url == "http://127.0.0.1:9/coord-hook"


def test_form_post_without_csrf_token_is_refused(app, world, live_server, browser):  # type: ignore[no-untyped-def]
    page = login(browser, live_server, "kel-a1.staff")
    response = page.request.post(
        f"{live_server}/web/cases/new",
        form={
            "title": "Tanpa token",
            "description": "x",
            "category": "jalan-rusak",
            "region_code": "12.71.01.1001",
            "reporter_privacy": "anonymous",
        },
    )
    assert response.status == 400
    assert "Formulir kedaluwarsa" in response.text()
    assert db.session.execute(select(Case).where(Case.title == "Tanpa token")).first() is None


def test_staff_cannot_open_another_units_case(app, world, live_server, browser):  # type: ignore[no-untyped-def]
    from tests.factories import make_case

    other = make_case(world, "kel-b1", region_code="12.71.02.1001", title="Kasus kelurahan lain")
    page = login(browser, live_server, "kel-a1.staff")
    response = page.goto(f"{live_server}/web/cases/{other.id}")
    assert response.status == 404
    assert "Kasus kelurahan lain" not in page.content()


def test_pages_switch_to_english(app, world, live_server, browser):  # type: ignore[no-untyped-def]
    page = login(browser, live_server, "kel-a1.staff")
    page.get_by_role("link", name="EN").click()
    assert page.get_by_role("heading", name=re.compile("Inbox")).is_visible()
    page.get_by_role("link", name="ID").click()
    assert page.get_by_role("heading", name=re.compile("Kotak masuk")).is_visible()


def test_login_is_rate_limited(app, world, browser):  # type: ignore[no-untyped-def]
    # Limits are off in the shared test app; this test runs a second app with them on
    # (Flask-Limiter's switch is global, so it is turned off again afterwards).
    import threading

    from werkzeug.serving import make_server

    from coord import create_app
    from coord.extensions import limiter

    limited = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "COORD_LOGIN_RATE_LIMIT": "10 per minute",
        },
        env="testing",
    )
    server = make_server("127.0.0.1", 0, limited, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        page = browser.new_page()
        statuses = []
        for _ in range(12):
            page.goto(f"{base}/web/login")
            page.get_by_label("Nama pengguna").fill("kel-a1.staff")
            page.get_by_label("Kata sandi").fill("wrong-password")
            with page.expect_response(lambda r: r.request.method == "POST") as info:
                page.get_by_role("button", name="Masuk").click()
            statuses.append(info.value.status)
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429, 429]
        assert "Terlalu banyak permintaan" in page.content()
    finally:
        server.shutdown()
        thread.join(timeout=5)
        limiter.reset()
        limiter.enabled = False


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def watch_csp(browser, violations: list[str], **options):  # type: ignore[no-untyped-def]
    """A browser context that reports every Content-Security-Policy violation (the DOM's
    securitypolicyviolation event, and Chromium's console message, which also covers workers)
    into ``violations``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    context.expose_function("coordCspViolation", lambda text: violations.append(text))
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', function (e) {"
        " window.coordCspViolation(e.violatedDirective + ' blocked ' + e.blockedURI"
        " + ' at ' + e.documentURI + ':' + e.lineNumber); });"
    )
    page = context.new_page()

    def console(message) -> None:  # type: ignore[no-untyped-def]
        if "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", console)
    return page


def walk(page, base: str, paths: list[str], visited: list[str]) -> None:  # type: ignore[no-untyped-def]
    for path in paths:
        page.goto(base + path)
        page.wait_for_load_state("load")
        visited.append(path)


def test_pages_work_under_the_content_security_policy(
    app, world, live_server, browser, office_hours
):  # type: ignore[no-untyped-def]
    from coord.services import cases as case_service
    from coord.services.uow import unit_of_work

    base, violations, visited = live_server, [], []
    staff = watch_csp(browser, violations, locale="id-ID")
    walk(staff, base, ["/web/login"], visited)
    staff.get_by_label("Nama pengguna").fill("kel-a1.staff")
    staff.get_by_label("Kata sandi").fill(PASSWORD)
    staff.get_by_role("button", name="Masuk").click()
    staff.get_by_role("heading", name=re.compile("Kotak masuk")).wait_for()
    walk(staff, base, ["/web/cases/new"], visited)
    staff.get_by_label("Judul singkat").fill("Lampu jalan padam")
    staff.get_by_label("Uraian laporan").fill("Gelap sejak minggu lalu")
    staff.get_by_label("Kategori").select_option("jalan-rusak")
    staff.get_by_label("Kelurahan lokasi").select_option("12.71.01.1001")
    staff.get_by_label("Anonim").check()  # the script hides the contact fields
    assert staff.locator("#reporter-contact").is_hidden()
    staff.get_by_role("button", name="Simpan dan cetak tanda terima").click()
    staff.get_by_text("sudah dicatat").wait_for()
    token = staff.locator(".flash.success .code").inner_text()
    code = staff.locator("h1 .code").inner_text()
    case = db.session.execute(select(Case).where(Case.title == "Lampu jalan padam")).scalar_one()
    walk(staff, base, ["/web/", "/web/cases", "/web/password", "/web/cases/999999"], visited)

    clock.set_frozen(datetime(2026, 3, 12, 9, 0, tzinfo=WIB))
    sweep(clock.now_utc())  # a breach, so the dashboard has bars to draw
    manager = watch_csp(browser, violations)
    walk(manager, base, ["/web/login"], visited)
    manager.get_by_label("Nama pengguna").fill("camat-a.manager")
    manager.get_by_label("Kata sandi").fill(PASSWORD)
    manager.get_by_role("button", name="Masuk").click()
    manager.get_by_role("link", name="Dasbor").click()
    manager.locator("svg.chart").first.wait_for()
    visited.append("/web/dashboard/")

    admin = watch_csp(browser, violations)
    walk(admin, base, ["/web/login"], visited)
    admin.get_by_label("Nama pengguna").fill("camat-a.admin")
    admin.get_by_label("Kata sandi").fill(PASSWORD)
    admin.get_by_role("button", name="Masuk").click()
    admin.get_by_role("link", name="Pengaturan").click()
    visited.append("/web/admin/")
    walk(admin, base, ["/web/admin/units/camat-a", "/web/admin/categories/sampah"], visited)

    staff_user = world.user("kel-a1", "staff")
    with unit_of_work():
        case_service.start_case(staff_user, case.id, clock.now_utc())
    with unit_of_work():
        case_service.resolve_case(staff_user, case.id, "Lampu sudah diganti", clock.now_utc())
    citizen = watch_csp(browser, violations)
    walk(
        citizen,
        base,
        [
            "/lacak",
            "/statistik",
            f"/public/v1/track/{code}/receipt?token={token}",
            f"/public/v1/track/{code}/history",
            f"/lacak/{code}?token={token}",
        ],
        visited,
    )
    citizen.get_by_role("button", name="Kirim penilaian").wait_for()  # the survey form

    docs = watch_csp(browser, violations)
    walk(docs, base, ["/api/v1/docs"], visited)
    docs.get_by_text("Case tracking and inter-agency coordination").first.wait_for()
    docs.wait_for_timeout(500)  # the worker that parses the spec

    assert len(visited) >= 15
    # Blocked on purpose: ReDoc's footer logo from Redocly's CDN (no third-party requests from
    # our pages; ReDoc hides the image when it does not load).
    violations = [v for v in violations if REDOC_LOGO not in v]
    assert violations == [], "\n".join(violations)

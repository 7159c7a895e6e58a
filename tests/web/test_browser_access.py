"""Accessibility and small screens in a real headless Chromium: every main page of each role
passes axe-core without a serious or critical violation, the intake form and the case actions
work with the keyboard alone, every chart has its figures in text, and the citizen pages and
the clerk's inbox and case page fit a 360 px wide phone."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from coord import clock
from coord.extensions import db
from coord.models import Case, Handoff
from coord.services import citizens
from coord.services.sla_sweep import sweep
from coord.services.uow import unit_of_work
from tests.factories import case_in_status, make_case
from tests.web.browser import PHONE, open_page, sign_in
from tests.web.forms import PASSWORD

WIB = ZoneInfo("Asia/Jakarta")

AXE = Axe()


@pytest.fixture
def office_hours(app_ctx):  # type: ignore[no-untyped-def]
    clock.set_frozen(datetime(2026, 3, 2, 9, 0, tzinfo=WIB))  # Monday 09:00 WIB
    yield
    clock.set_frozen(None)


def axe_problems(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    results: dict[str, Any] = AXE.run(page).response
    return [
        f"{page.url}: {v['id']} ({v['impact']}) {v['help']}: "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:4])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def open_all_details(page) -> None:  # type: ignore[no-untyped-def]
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")


def scenario(world):  # type: ignore[no-untyped-def]
    """A rated resolved case, one waiting for the citizen's survey, one handed to Dinas PU and
    a breach (the clock moves ten days on), so every page has rows, charts and forms."""
    rated = case_in_status(world, "resolved", title="Lampu jalan padam")
    with unit_of_work():
        citizens.submit_feedback(
            rated.tracking_code,
            rated.citizen_token,
            {f"u{i}": 3 + i % 2 for i in range(1, 10)},
            "Cepat",
            clock.now_utc(),
        )
    resolved = case_in_status(world, "resolved", title="Sampah menumpuk di pasar")
    pending = case_in_status(world, "pending_transfer", title="Parit tersumbat di Jl. Mawar")
    make_case(world, title="Jalan berlubang di depan sekolah")
    clock.set_frozen(datetime(2026, 3, 12, 9, 0, tzinfo=WIB))
    sweep(clock.now_utc())
    return resolved, pending


def test_main_pages_have_no_serious_accessibility_violations(
    app, world, live_server, browser, screenshot, office_hours
):  # type: ignore[no-untyped-def]
    base = live_server
    resolved, pending = scenario(world)
    code, token = resolved.tracking_code, resolved.citizen_token
    problems: list[str] = []
    visited: list[str] = []

    def check(page, path: str | None = None) -> None:  # type: ignore[no-untyped-def]
        if path is not None:
            page.goto(base + path)
        page.wait_for_load_state("load")
        open_all_details(page)  # the action forms folded away on the case page and inbox
        visited.append(page.url)
        problems.extend(axe_problems(page))

    citizen = open_page(browser)
    for path in [
        "/web/login",
        "/lacak",
        f"/lacak/{code}",
        f"/lacak/{code}?token={token}",  # with the SKM survey
        f"/public/v1/track/{code}/receipt?token={token}",
        f"/public/v1/track/{code}/history",
        "/statistik",
    ]:
        check(citizen, path)
        if "/receipt" in path:
            screenshot(citizen, "receipt")

    staff = sign_in(browser, base, "kel-a1.staff")
    check(staff)  # the inbox
    check(staff, "/web/cases/new")
    staff.get_by_role("button", name="Simpan dan cetak tanda terima").click()  # empty
    staff.locator(".field-error").first.wait_for()  # the form again, with what to fix
    check(staff)
    check(staff, f"/web/cases/{resolved.id}")
    check(staff, f"/web/cases/{pending.id}")
    check(staff, "/web/cases?q=parit")

    liaison = sign_in(browser, base, "dinas-pu.liaison")
    check(liaison)  # the handoff waiting in the inbox
    check(liaison, f"/web/cases/{pending.id}")

    manager = sign_in(browser, base, "camat-a.manager")
    check(manager, "/web/dashboard/")
    admin = sign_in(browser, base, "camat-a.admin")
    check(admin, "/web/admin/")
    check(admin, "/web/admin/units/camat-a")

    assert len(visited) == 18
    assert problems == [], "\n".join(problems)


def test_charts_have_their_figures_in_text(app, world, live_server, browser, office_hours):  # type: ignore[no-untyped-def]
    scenario(world)
    manager = sign_in(browser, live_server, "camat-a.manager")
    manager.goto(f"{live_server}/web/dashboard/")
    citizen = open_page(browser)
    citizen.goto(f"{live_server}/statistik")
    charts = 0
    for page in (manager, citizen):
        for chart in page.locator("svg.chart").all():
            charts += 1
            name = chart.get_attribute("aria-label")
            described = page.locator(f"[id='{chart.get_attribute('aria-describedby')}']")
            text = described.inner_text()
            assert name and described.count() == 1, name
            # Every label and figure drawn in the chart is also in its text (labels cut with
            # "..." in the drawing are whole there).
            for drawn in chart.locator("text").evaluate_all("all => all.map(t => t.textContent)"):
                assert drawn.removesuffix("...").strip("–") in text, (name, drawn, text)
            assert described.is_hidden() is False  # in the accessibility tree, not shown
            assert described.bounding_box()["width"] <= 1  # type: ignore[index]
    assert charts >= 7  # five on the dashboard, two on the public statistics


class Keyboard:
    """Drive a page with the keyboard alone, noting every stop without a visible focus ring."""

    FOCUSED = """() => { const e = document.activeElement, s = getComputedStyle(e);
        return {tag: e.tagName.toLowerCase(), id: e.id, value: e.value || '',
                text: (e.innerText || '').trim().slice(0, 60),
                ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2}; }"""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.page = page
        self.no_ring: list[str] = []

    def focused(self) -> dict[str, Any]:
        return self.page.evaluate(self.FOCUSED)  # type: ignore[no-any-return]

    def tab_to(self, *, id: str | None = None, text: str | None = None, back: bool = False) -> None:
        """Press Tab (Shift+Tab) until the element with that id or text has the focus."""
        for _ in range(80):
            self.page.keyboard.press("Shift+Tab" if back else "Tab")
            now = self.focused()
            if now["tag"] != "body" and not now["ring"]:
                self.no_ring.append(f"{self.page.url}: {now['tag']}#{now['id']} {now['text']}")
            if (id is not None and now["id"] == id) or (text is not None and now["text"] == text):
                return
        raise AssertionError(f"Tab never reached {id or text} on {self.page.url}")

    def type(self, words: str) -> None:
        self.page.keyboard.type(words)

    def choose(self, value: str) -> None:
        """Pick an option of the focused <select> with the arrow keys."""
        for _ in range(40):
            if self.focused()["value"] == value:
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"no option {value} in the focused list")

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)


def keyboard_sign_in(browser, base: str, username: str) -> Keyboard:  # type: ignore[no-untyped-def]
    page = open_page(browser)
    page.goto(f"{base}/web/login")  # the user name field has the focus (autofocus)
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
    keys = Keyboard(page)
    keys.type(username)
    keys.press("Tab")
    keys.type(PASSWORD)
    keys.press("Enter")
    page.get_by_role("heading", name=re.compile("Kotak masuk")).wait_for()
    return keys


def test_intake_and_case_actions_work_with_the_keyboard_alone(
    app, world, live_server, browser, office_hours
):  # type: ignore[no-untyped-def]
    base = live_server
    # The clerk records a case: every field reached with Tab, filled by typing and arrows.
    clerk = keyboard_sign_in(browser, base, "kel-a1.staff")
    clerk.tab_to(text="Catat laporan")
    clerk.press("Enter")
    clerk.page.get_by_role("heading", name="Catat laporan warga").wait_for()
    clerk.tab_to(id="title")
    clerk.type("Lampu jalan padam di Gang Melati")
    clerk.tab_to(id="description")
    clerk.type("Gelap sejak minggu lalu")
    clerk.tab_to(id="category")
    clerk.choose("jalan-rusak")
    clerk.tab_to(id="region_code")
    clerk.choose("12.71.01.1001")
    clerk.tab_to(id="reporter_name")
    clerk.type("Siti Aminah")
    clerk.tab_to(id="reporter_phone")
    clerk.type("081298765432")
    clerk.tab_to(id="reporter_name", back=True)  # back to check the name: Shift+Tab
    assert clerk.focused()["value"] == "Siti Aminah"
    clerk.tab_to(text="Simpan dan cetak tanda terima")
    clerk.press("Enter")
    clerk.page.get_by_text("sudah dicatat").wait_for()
    case = db.session.execute(
        select(Case).where(Case.title == "Lampu jalan padam di Gang Melati")
    ).scalar_one()
    assert (case.category.code, case.region.code) == ("jalan-rusak", "12.71.01.1001")

    # ... and forwards it to Dinas PU: the folded form opens with Enter, sends with Space.
    clerk.tab_to(text="Disposisi ke unit lain")
    clerk.press("Enter")
    clerk.tab_to(id="to_unit")
    clerk.choose("dinas-pu")
    clerk.tab_to(id="handoff-note")
    clerk.type("Mohon ditangani")
    clerk.tab_to(text="Kirim disposisi")
    clerk.press("Space")
    clerk.page.get_by_text("Disposisi terkirim.").wait_for()

    # The agency liaison accepts it from the inbox.
    liaison = keyboard_sign_in(browser, base, "dinas-pu.liaison")
    liaison.tab_to(text="Terima")
    liaison.press("Enter")
    liaison.page.get_by_text("Disposisi diterima.").wait_for()
    handoff = db.session.execute(select(Handoff).where(Handoff.case_id == case.id)).scalar_one()
    db.session.refresh(handoff)
    assert handoff.status == "accepted"
    assert clerk.no_ring + liaison.no_ring == [], "no visible focus: " + "; ".join(
        clerk.no_ring + liaison.no_ring
    )


def test_citizen_and_clerk_pages_fit_a_phone(
    app, world, live_server, browser, screenshot, office_hours
):  # type: ignore[no-untyped-def]
    base = live_server
    resolved, pending = scenario(world)
    code, token = resolved.tracking_code, resolved.citizen_token
    too_wide: list[str] = []
    problems: list[str] = []

    def fits(page, path: str | None = None, shot: str | None = None) -> None:  # type: ignore[no-untyped-def]
        if path is not None:
            page.goto(base + path)
        page.wait_for_load_state("load")
        if shot:
            screenshot(page, shot)
        open_all_details(page)  # the action forms too
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide.append(f"{page.url}: {width} px")
        # A table that scrolls inside itself on a phone is still a table to a screen reader.
        assert page.get_by_role("table").count() == page.locator("main table").count(), page.url
        problems.extend(axe_problems(page))

    citizen = open_page(browser, PHONE)
    fits(citizen, "/lacak")
    fits(citizen, f"/lacak/{code}", "track-phone")
    fits(citizen, f"/lacak/{code}?token={token}", "skm-phone")
    fits(citizen, f"/public/v1/track/{code}/receipt?token={token}", "receipt-phone")
    fits(citizen, f"/public/v1/track/{code}/history")
    fits(citizen, "/statistik")
    clerk = sign_in(browser, base, "kel-a1.staff", PHONE)
    fits(clerk, None, "inbox-phone")
    fits(clerk, f"/web/cases/{pending.id}", "case-phone")
    fits(clerk, "/web/cases/new")
    liaison = sign_in(browser, base, "dinas-pu.liaison", PHONE)
    fits(liaison)
    fits(liaison, f"/web/cases/{pending.id}")

    assert too_wide == [], "scrolls sideways at 360 px: " + "; ".join(too_wide)
    assert problems == [], "\n".join(problems)

"""Every role's main pages, in a real Chromium in the Indonesian locale, speak the office's
language (issue 19): no English sentence, no stored code where a name exists (codes may stand
as secondary text, marked ``class="code"``), and no chart label cut at the chart's edge."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coord import clock
from coord.services import cases as case_service
from coord.services import handoffs as handoff_service
from coord.services.sla_sweep import sweep
from coord.services.uow import unit_of_work
from tests.factories import make_case
from tests.web.browser import open_page, sign_in

WIB = ZoneInfo("Asia/Jakarta")

# Words and phrases that are English and never Indonesian (whole words, case as written).
ENGLISH = [
    r" the ",
    r"\bmust\b",
    r"\bLength\b",
    r"\bbetween\b",
    r"\bneeds\b",
    r"\bdigits\b",
    r"\bInvalid\b",
    r"\brequired\b",
    r"Not a valid",
    r"\bCannot\b",
    r"\bOnly\b",
    r"\bworking (minutes|hours|days)\b",
]
# The test world's codes that have a name: categories, units, priorities, channels, reasons,
# statuses, unit kinds. ("web" and "other" are left out: "Situs web" is a label.)
CODES = [
    "jalan-rusak",
    "sampah",
    "kel-a1",
    "kel-a2",
    "kel-b1",
    "camat-a",
    "camat-b",
    "dinas-pu",
    "dlh",
    "pemkot",
    "normal",
    "urgent",
    "walk_in",
    "whatsapp",
    "not_our_jurisdiction",
    "incomplete_information",
    "in_progress",
    "pending_transfer",
    "on_hold",
    "camat_office",
    "city_office",
]
CODE = re.compile(r"(?<![\w./-])(" + "|".join(map(re.escape, CODES)) + r")(?![\w-])")

# The visible text of the page, leaving out secondary codes, scripts and hidden elements.
VISIBLE_TEXT = """() => {
  const skip = 'script, style, template, noscript, .code, [hidden], svg title';
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    if (!parent.getClientRects().length && !parent.closest('svg')) continue;  // not rendered
    out.push(node.textContent);
  }
  return out.join(' ').replace(/\\s+/g, ' ');
}"""

# Every text of every chart that reaches beyond its chart's box.
CUT_LABELS = """() => {
  const cut = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const box = svg.getBoundingClientRect();
    for (const text of svg.querySelectorAll('text')) {
      const r = text.getBoundingClientRect();
      if (r.right > box.right + 0.5 || r.left < box.left - 0.5)
        cut.push(text.textContent + ' (' + Math.round(box.left - r.left) + ' px left, '
                 + Math.round(r.right - box.right) + ' px right)');
    }
  }
  return cut;
}"""


@pytest.fixture
def scenery(app, world):  # type: ignore[no-untyped-def]
    """Cases in many states: bounced back, transferred away, resolved (for the survey), and
    breached ten days later (dashboard, attention lists)."""
    start = datetime(2026, 3, 2, 9, 0, tzinfo=WIB)  # a Monday
    clock.set_frozen(start)
    staff, liaison = world.user("kel-a1", "staff"), world.user("dinas-pu", "liaison")
    bounced = make_case(world, title="Parit tersumbat di Jl. Mawar", category="jalan-rusak")
    moved = make_case(world, title="Jalan amblas di Gang Kenanga", category="jalan-rusak")
    done = make_case(world, title="Lampu jalan padam", category="jalan-rusak")
    with unit_of_work():
        first = handoff_service.request_handoff(
            staff, bounced.id, "transfer", "dinas-pu", "Mohon ditangani", start
        )
        second = handoff_service.request_handoff(
            staff, moved.id, "transfer", "dinas-pu", "Saluran milik dinas", start
        )
    later = start + timedelta(hours=4, minutes=30)
    with unit_of_work():
        handoff_service.reject_handoff(liaison, first.id, "not_our_jurisdiction", later)
    with unit_of_work():
        handoff_service.accept_handoff(liaison, second.id, later)
    with unit_of_work():
        case_service.start_case(staff, done.id, later)
    with unit_of_work():
        case_service.resolve_case(staff, done.id, "Lampu sudah diganti", later)
    clock.set_frozen(start + timedelta(days=10))
    sweep(clock.now_utc(), notify="inline")
    yield {"bounced": bounced, "moved": moved, "done": done}
    clock.set_frozen(None)


def signed_in(browser, base: str, username: str | None):  # type: ignore[no-untyped-def]
    return sign_in(browser, base, username) if username else open_page(browser)


def problems_on(page, where: str, names: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    text = page.evaluate(VISIBLE_TEXT)
    for name in names:  # the test world names people after their unit ("Staff kel-a1")
        text = text.replace(name, "<name>")
    found = [
        f"{where}: English {m.group(0)!r} in …{text[max(0, m.start() - 60) : m.end() + 60]}…"
        for pattern in ENGLISH
        for m in re.finditer(pattern, text)
    ]
    found += [
        f"{where}: code {m.group(0)!r} in …{text[max(0, m.start() - 60) : m.end() + 60]}…"
        for m in CODE.finditer(text)
    ]
    found += [f"{where}: chart label cut: {label}" for label in page.evaluate(CUT_LABELS)]
    return found


def test_every_role_sees_indonesian_names_and_whole_chart_labels(
    app, world, live_server, browser, scenery
):  # type: ignore[no-untyped-def]
    base, problems, seen = live_server, [], []
    names = sorted((u.full_name for u in world.users.values()), key=len, reverse=True)

    def visit(page, path: str) -> None:  # type: ignore[no-untyped-def]
        response = page.goto(base + path)
        assert response is not None and response.status < 400, (path, response and response.status)
        page.wait_for_load_state("load")
        seen.append(path)
        problems.extend(problems_on(page, path, names))

    bounced, moved, done = scenery["bounced"], scenery["moved"], scenery["done"]
    clerk = signed_in(browser, base, "kel-a1.staff")
    for path in (
        "/web/",
        f"/web/cases/{bounced.id}",
        f"/web/cases/{moved.id}",
        "/web/cases?q=Parit",
        "/web/cases/new",
    ):
        visit(clerk, path)
    # The intake form refused by the server: its messages are Indonesian too.
    clerk.get_by_label("Judul singkat").fill("Sampah menumpuk di pasar")
    clerk.get_by_label("Uraian laporan").fill("Sudah seminggu tidak diangkut")
    clerk.get_by_label("Kategori").select_option("jalan-rusak")
    clerk.get_by_label("Kelurahan lokasi").select_option("12.71.01.1001")
    clerk.get_by_label("Nama", exact=True).fill("Siti Aminah")
    clerk.get_by_label("Nomor HP").fill("nomor saya")
    clerk.get_by_label("NIK (16 digit, tidak wajib)").fill("12345")
    clerk.get_by_role("button", name="Simpan dan cetak tanda terima").click()
    clerk.locator(".field-error").first.wait_for()
    assert clerk.locator(".field-error").count() == 2
    problems.extend(problems_on(clerk, "intake refused", names))

    liaison = signed_in(browser, base, "dinas-pu.liaison")
    for path in ("/web/", f"/web/cases/{moved.id}"):
        visit(liaison, path)

    manager = signed_in(browser, base, "camat-a.manager")
    for path in (
        "/web/",
        "/web/dashboard/",
        "/web/attention/breached_cases",
        "/web/attention/notifications",
    ):
        visit(manager, path)
    manager.goto(base + "/web/dashboard/")
    assert manager.locator("svg.chart text").count() > 0  # there are labels to check

    admin = signed_in(browser, base, "camat-a.admin")
    for path in ("/web/admin/", "/web/admin/units/camat-a", "/web/admin/categories/sampah"):
        visit(admin, path)

    citizen = signed_in(browser, base, None)
    code = done.tracking_code[:4] + "-" + done.tracking_code[4:]
    for path in ("/lacak", f"/lacak/{code}?token={done.citizen_token}", "/statistik"):
        visit(citizen, path)
    citizen.goto(f"{base}/lacak/{code}?token={done.citizen_token}")
    citizen.get_by_role("button", name="Kirim penilaian").wait_for()  # the survey form

    assert len(seen) == 17
    assert problems == [], "\n".join(problems)

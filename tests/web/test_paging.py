"""Every staff list shows one page with the list's true length and the way to the other pages
(issue #21): the inbox's three lists, the case search, the dashboard's open breaches and the
admin lists. A list rendered without a limit fails here (more rows than a page, exactly a
page shown) and in conftest (no HTML page over 1 MB)."""

from __future__ import annotations

import re
from typing import Any

from coord.clock import now_utc
from coord.extensions import db
from coord.models import Unit, WebhookDelivery, WebhookEndpoint
from coord.services.uow import unit_of_work
from tests.api.test_attention_api import BREACHED, FORWARDED, crowded  # noqa: F401 - fixture
from tests.web.forms import WebUser


def part(html: str, element_id: str) -> str:
    return html.split(f'id="{element_id}"', 1)[1].split("</section>", 1)[0]


def case_links(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/web/cases/(\d+)"', html)]


def walk(user: WebUser, path: str, element_id: str) -> tuple[list[int], list[str]]:
    """Follow the "Berikutnya" links from ``path``; every case linked and every page's html."""
    found: list[int] = []
    pages: list[str] = []
    url: str | None = path
    while url:
        response = user.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        pages.append(html)
        found += case_links(part(html, element_id))
        following = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = following.group(1).replace("&amp;", "&") if following else None
    return found, pages


def test_inbox_lists_show_their_true_counts_first_rows_and_a_paged_list(app, crowded):  # type: ignore[no-untyped-def]  # noqa: F811
    clerk = WebUser(app, "kel-a1.staff")
    html = clerk.get("/web/").get_data(as_text=True)
    owned = part(html, "inbox-owned")
    assert f"Kasus unit saya ({BREACHED})" in owned
    assert len(case_links(owned)) == 10
    assert 'href="/web/inbox/owned"' in owned and f"Lihat semua ({BREACHED})" in owned
    outgoing = part(html, "inbox-outgoing")
    assert f"({FORWARDED})" in outgoing and len(case_links(outgoing)) == 10

    everything, pages = walk(clerk, "/web/inbox/owned", "inbox-list")
    assert len(pages) == 3 and sorted(everything) == sorted(crowded)
    assert "Halaman 1 dari 3" in pages[0] and "Halaman 3 dari 3" in pages[2]
    assert [len(case_links(part(p, "inbox-list"))) for p in pages] == [25, 25, BREACHED - 50]
    assert 'href="/web/inbox/owned?page=3">Terakhir' in pages[0]
    assert "Sebelumnya" in pages[1] and "Berikutnya" not in pages[2]
    # A page past the end is the last page; a page that is not a number, a clear refusal.
    assert "Halaman 3 dari 3" in clerk.get("/web/inbox/owned?page=40").get_data(as_text=True)
    refused = clerk.get("/web/inbox/owned?page=dua")
    assert refused.status_code == 422 and "page" in refused.get_data(as_text=True)

    liaison = WebUser(app, "dinas-pu.liaison")
    incoming, pages = walk(liaison, "/web/inbox/incoming", "inbox-list")
    assert sorted(incoming) == sorted(crowded[:FORWARDED]) and len(pages) == 3
    assert f"Disposisi masuk ({FORWARDED})" in pages[0]


def test_dashboard_breaches_show_the_total_and_page_through_the_rest(app, crowded):  # type: ignore[no-untyped-def]  # noqa: F811
    manager = WebUser(app, "camat-a.manager")
    html = manager.get("/web/dashboard/").get_data(as_text=True)
    total = int(re.search(r"masih terbuka\s*\((\d+)\)", html).group(1))  # type: ignore[union-attr]
    assert total >= BREACHED
    assert 'href="/web/dashboard/breaches"' in html
    listed, pages = walk(manager, "/web/dashboard/breaches", "breach-list")
    assert len(listed) == total and set(listed) == set(crowded)
    assert len(pages) == -(-total // 25)
    assert f"Halaman {len(pages)} dari {len(pages)}" in pages[-1]


def test_case_search_pages_with_the_true_number_found(app, crowded):  # type: ignore[no-untyped-def]  # noqa: F811
    clerk = WebUser(app, "kel-a1.staff")
    found, pages = walk(clerk, "/web/cases?q=berlubang", "found")
    assert f"{BREACHED} kasus ditemukan" in pages[0]
    assert len(pages) == 3 and sorted(found) == sorted(crowded)
    # The search is kept in the links to the other pages.
    assert 'href="/web/cases?q=berlubang&amp;page=2"' in pages[0]


def test_a_search_matching_more_than_it_counts_says_so_and_pages_through_those(
    app,
    crowded,  # noqa: F811
    monkeypatch,
):  # type: ignore[no-untyped-def]
    # A word that matches most of a million cases is counted up to SEARCH_COUNT_LIMIT
    # (1,000); here a limit below the matches stands for it.
    from coord.services import case_queries

    monkeypatch.setattr(case_queries, "SEARCH_COUNT_LIMIT", 30)
    clerk = WebUser(app, "kel-a1.staff")
    found, pages = walk(clerk, "/web/cases?q=berlubang", "found")
    assert "Lebih dari 30 kasus ditemukan. Persempit pencarian" in pages[0]
    assert "Halaman 1 dari 2+" in pages[0] and "baris 1–25 dari 30+" in pages[0]
    assert len(pages) == 2 and len(found) == 30 and set(found) <= set(crowded)
    # A search that finds fewer than it counts keeps its true number.
    monkeypatch.setattr(case_queries, "SEARCH_COUNT_LIMIT", BREACHED)
    html = clerk.get("/web/cases?q=berlubang").get_data(as_text=True)
    assert f"{BREACHED} kasus ditemukan" in html and "Lebih dari" not in html


def _many_units(count: int) -> None:
    with unit_of_work():
        for i in range(count):
            db.session.add(
                Unit(
                    code=f"kel-x{i:02d}",
                    name=f"Kantor Lurah X{i:02d}",
                    kind="kelurahan",
                    region_code="12.71.01.1001",
                )
            )


def test_admin_lists_page(app, world):  # type: ignore[no-untyped-def]
    _many_units(30)  # 38 units with the world's 8
    admin = WebUser(app, "pemkot.admin")
    html = admin.get("/web/admin/").get_data(as_text=True)
    units = part(html, "units-h")
    assert "(38)" in units and len(re.findall(r'href="/web/admin/units/', units)) == 25
    assert "Halaman 1 dari 2" in units
    second = admin.get("/web/admin/?units_page=2").get_data(as_text=True)
    assert len(re.findall(r'href="/web/admin/units/', part(second, "units-h"))) == 13

    with unit_of_work():
        endpoint = WebhookEndpoint(
            unit_id=world.units["kel-a1"].id,
            url="http://127.0.0.1:9/x",
            secret="whsec_" + "A" * 44,
            event_types=["case.created"],
            created_at=now_utc(),
            updated_at=now_utc(),
            version=1,
        )
        db.session.add(endpoint)
        db.session.flush()
        for i in range(30):
            db.session.add(_delivery(endpoint, i))
    deliveries = admin.get(f"/web/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "Log pengiriman (30)" in deliveries and deliveries.count("msg_") == 25
    last = admin.get(f"/web/admin/webhooks/{endpoint.id}?page=2").get_data(as_text=True)
    assert last.count("msg_") == 5 and "Halaman 2 dari 2" in last


def _delivery(endpoint: WebhookEndpoint, i: int) -> Any:
    return WebhookDelivery(
        endpoint_id=endpoint.id,
        event_type="case.created",
        msg_id=f"msg_{i:04d}",
        payload={},
        status="delivered",
        attempts=1,
        created_at=now_utc(),
        delivered_at=now_utc(),
    )

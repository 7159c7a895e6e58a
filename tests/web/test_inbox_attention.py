"""The staff inbox shows the attention lists' true counts and first rows, with a link to page
through the rest of each list."""

from __future__ import annotations

import re

from tests.api.test_attention_api import BREACHED, FORWARDED, crowded  # noqa: F401 - fixture
from tests.web.forms import web_login


def case_links(html: str, section: str) -> list[int]:
    part = html.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    return [int(i) for i in re.findall(r'href="/web/cases/(\d+)"', part)]


def test_inbox_shows_true_counts_and_links_to_the_rest(client, world, crowded):  # type: ignore[no-untyped-def]  # noqa: F811
    assert web_login(client, "camat-a.manager").status_code == 302
    inbox = client.get("/web/")
    assert inbox.status_code == 200
    html = inbox.get_data(as_text=True)
    assert f"Terlambat: {BREACHED}" in html
    # Two notifications per case (a warning, then the breach): one row per case, counted
    # as cases, its reasons side by side.
    assert f"Pemberitahuan: {BREACHED}" in html
    notified = case_links(html, "attention-notifications")
    assert len(notified) == len(set(notified)) > 0
    part = html.split('id="attention-notifications"', 1)[1].split("</section>", 1)[0]
    assert part.count("Batas waktu terlewati ×2") == len(notified)  # response and resolution
    # The freshest breaches first, a few rows, and a link to all of them.
    shown = case_links(html, "attention-breached_cases")
    assert shown == list(reversed(crowded))[: len(shown)] and 0 < len(shown) < BREACHED
    assert 'href="/web/attention/breached_cases"' in html

    everything: list[int] = []
    for page in (1, 2, 3):
        listed = client.get(f"/web/attention/breached_cases?page={page}")
        assert listed.status_code == 200
        everything += case_links(listed.get_data(as_text=True), "attention-list")
    assert everything == list(reversed(crowded))
    assert f"{BREACHED}" in client.get("/web/attention/breached_cases").get_data(as_text=True)


def test_liaison_sees_every_handoff_to_acknowledge(client, world, crowded):  # type: ignore[no-untyped-def]  # noqa: F811
    assert web_login(client, "dinas-pu.liaison").status_code == 302
    html = client.get("/web/").get_data(as_text=True)
    assert f"Disposisi menunggu jawaban: {FORWARDED}" in html
    listed = client.get("/web/attention/handoffs_to_acknowledge?page=3").get_data(as_text=True)
    assert len(case_links(listed, "attention-list")) == FORWARDED - 2 * 25


def test_attention_page_refuses_bad_input(client, world, crowded):  # type: ignore[no-untyped-def]  # noqa: F811
    assert web_login(client, "camat-a.manager").status_code == 302
    assert client.get("/web/attention/nothing").status_code == 404
    bad = client.get("/web/attention/breached_cases?page=abc")
    assert bad.status_code == 400 and "page" in bad.get_data(as_text=True)

"""Pages in the headless Chromium of tests/web/conftest.py: a new page in the Indonesian
locale at a given viewport, and a page signed in through the login form."""

from __future__ import annotations

import re

from tests.web.forms import PASSWORD

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def open_page(browser, viewport: dict[str, int] = DESKTOP):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=viewport, locale="id-ID")
    return context.new_page()


def sign_in(browser, base: str, username: str, viewport: dict[str, int] = DESKTOP):  # type: ignore[no-untyped-def]
    """A page signed in as ``username`` (the test world's password), showing the inbox."""
    page = open_page(browser, viewport)
    page.goto(f"{base}/web/login")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.get_by_role("heading", name=re.compile("Kotak masuk")).wait_for()
    return page

"""Signing in to the staff pages with Flask's test client (no browser)."""

from __future__ import annotations

import re
from typing import Any

PASSWORD = "secret-pass"


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF token"
    return found.group(1)


def web_login(client: Any, username: str, next_path: str | None = None) -> Any:
    """Post the login form as a browser would; returns the response (a redirect)."""
    page = client.get("/web/login").get_data(as_text=True)
    query = {"next": next_path} if next_path is not None else None
    response = client.post(
        "/web/login",
        query_string=query,
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response

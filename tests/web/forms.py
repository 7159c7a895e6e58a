"""Posting the staff and citizen web forms with Flask's test client, as a browser would:
signed in through the login form, with the CSRF token the pages carry."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def fresh_request(client: FlaskClient, method: str, url: str, **kwargs: Any) -> Any:
    """One request in an app context of its own, as in a server: the tests' own app context
    would otherwise lend its ``g`` (signed-in user, cached CSRF token) to every request."""
    with client.application.app_context():
        return client.open(url, method=method, **kwargs)


def csrf_token(client: FlaskClient, page: str = "/web/login") -> str:
    html = fresh_request(client, "GET", page).get_data(as_text=True)
    found = _CSRF.search(html)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


class WebUser:
    """A browser session of one user (or of a citizen, with ``username=None``)."""

    def __init__(self, client: FlaskClient, username: str | None) -> None:
        self.client = client
        self.token = csrf_token(client)
        if username is not None:
            response = self.post("/web/login", {"username": username, "password": "secret-pass"})
            assert response.status_code == 302, response.get_data(as_text=True)[:300]
            self.token = csrf_token(client, "/web/")

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        form = {"csrf_token": self.token, **(data or {})}
        kwargs.setdefault("headers", BROWSER)
        return fresh_request(self.client, "POST", url, data=form, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", BROWSER)
        return fresh_request(self.client, "GET", url, **kwargs)

    def flashes(self) -> list[tuple[str, str]]:
        """The messages flashed since the last call (and forgets them, as a page would)."""
        with self.client.session_transaction() as session:
            return list(session.pop("_flashes", []))

"""Using the staff and citizen web pages with Flask's test client, as a browser would: each
request in an app context of its own (as in a server), signed in through the login form,
every form posted with the CSRF token its page carries. The one set of helpers for the
tests that use the pages without a real browser."""

from __future__ import annotations

import contextvars
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

PASSWORD = "secret-pass"  # every user of the test world (tests/factories.py)
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class BrowserClient(FlaskClient):
    """A test client whose every request runs in an app context of its own: the test's own
    app context (the ``world`` fixture) would otherwise lend its ``g``, and with it the
    signed-in user and the cached CSRF token, to every request."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


def web_client(app: Flask) -> BrowserClient:
    return BrowserClient(app, app.response_class, use_cookies=True)


def csrf_token(client: FlaskClient, page: str = "/web/login") -> str:
    html = client.get(page, headers=BROWSER).get_data(as_text=True)
    found = _CSRF.search(html)
    assert found, f"no CSRF token on {page}: {html[:300]}"
    return found.group(1)


def web_login(
    client: FlaskClient, username: str, password: str = PASSWORD, *, next_path: str | None = None
) -> Any:
    """Post the login form as a browser would; the response (302 when signed in)."""
    return client.post(
        "/web/login",
        query_string={"next": next_path} if next_path is not None else None,
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )


class WebUser:
    """A browser session of one user (or of a citizen, with ``username=None``)."""

    def __init__(self, app_or_client: Flask | FlaskClient, username: str | None) -> None:
        app = app_or_client if isinstance(app_or_client, Flask) else app_or_client.application
        self.client = web_client(app)
        self.token = csrf_token(self.client)
        if username is not None:
            response = self.post("/web/login", {"username": username, "password": PASSWORD})
            assert response.status_code == 302, response.get_data(as_text=True)[:300]
            self.token = csrf_token(self.client, "/web/")  # a new session has a new token

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        form = {"csrf_token": self.token, **(data or {})}
        kwargs.setdefault("headers", BROWSER)
        return self.client.post(url, data=form, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", BROWSER)
        return self.client.get(url, **kwargs)

    def flashes(self) -> list[tuple[str, str]]:
        """The messages flashed since the last call (and forgets them, as a page would)."""
        with self.client.session_transaction() as session:
            return list(session.pop("_flashes", []))

"""After signing in, ``next=`` leads back to a staff page of this site and nowhere else
(coord.web.security.local_redirect_target, then the /web prefix)."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.factories import World
from tests.web.forms import web_client, web_login

INBOX = "/web/"


@pytest.mark.parametrize(
    ("next_path", "lands_on"),
    [
        ("/web/cases/new", "/web/cases/new"),
        ("http://localhost/web/cases/new", "/web/cases/new"),  # this very host
        ("//evil.example/web", INBOX),
        ("/\\evil.example/web", INBOX),
        ("https://evil.example/web/cases/new", INBOX),
        ("/web\t/evil.example", INBOX),  # browsers drop the tab: //evil.example
        ("/lacak/ABC", INBOX),  # a public page, not a staff page
        ("", INBOX),
    ],
)
def test_login_follows_next_only_to_a_staff_page_of_this_site(
    next_path: str, lands_on: str, world: World, app: Flask
) -> None:
    client = web_client(app)
    response = web_login(client, "kel-a1.staff", next_path=next_path)
    assert response.status_code == 302
    assert response.headers["Location"] == lands_on

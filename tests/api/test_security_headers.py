"""The headers every response carries (CSP, HSTS behind an https proxy, no-store on personal
data, nosniff, Referrer-Policy) and redirects that never leave our origin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from coord import create_app
from tests.factories import World, make_case
from tests.web.forms import web_login

HSTS = "max-age=31536000; includeSubDomains"


def csp_of(response: Any) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = [d.split() for d in policy.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


def assert_strict_csp(response: Any) -> None:
    csp = csp_of(response)
    assert csp.get("script-src") == ["'self'"], csp
    assert csp.get("style-src") == ["'self'"], csp
    assert csp.get("object-src") == ["'none'"]
    assert csp.get("frame-ancestors") == ["'none'"]
    assert csp.get("base-uri") == ["'self'"]
    assert csp.get("form-action") == ["'self'"]


@pytest.mark.parametrize(
    ("username", "paths"),
    [
        (None, ("/web/login", "/lacak", "/statistik")),
        ("kel-a1.staff", ("/web/", "/web/cases/new")),
        ("camat-a.manager", ("/web/dashboard/",)),
        ("camat-a.admin", ("/web/admin/",)),
    ],
)
def test_html_pages_carry_a_strict_content_security_policy(
    client: Any, world: World, username: str | None, paths: tuple[str, ...]
) -> None:
    if username:
        assert web_login(client, username).status_code == 302
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict_csp(response)


def test_api_docs_page_has_its_own_policy(client: Any) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    csp = csp_of(response)
    assert csp["script-src"] == ["'self'"]  # scripts stay strict on this page too
    assert "blob:" in csp["worker-src"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]


def test_common_headers(client: Any, world: World) -> None:
    for response in (client.get("/web/login"), client.get("/healthz")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer")
        assert "Strict-Transport-Security" not in response.headers  # plain http in tests


def test_hsts_over_https(client: Any) -> None:
    response = client.get("/web/login", base_url="https://coord.example")
    assert response.headers["Strict-Transport-Security"] == HSTS


@pytest.fixture
def proxied_app(app: Flask) -> Iterator[Flask]:
    """The app as production runs it: behind one proxy that says the request was https."""
    proxied = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "RATELIMIT_STORAGE_URI": "memory://",
            "COORD_PROXY_COUNT": 1,
        },
        env="testing",
    )
    yield proxied


def test_hsts_behind_a_proxy_that_terminates_https(proxied_app: Flask) -> None:
    client = proxied_app.test_client()
    secure = client.get("/web/login", headers={"X-Forwarded-Proto": "https"})
    assert secure.headers["Strict-Transport-Security"] == HSTS
    plain = client.get("/web/login", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers


def test_personal_data_is_not_stored_by_caches(client: Any, world: World) -> None:
    case = make_case(world)
    api = client.get(f"/api/v1/cases/{case.id}", headers=world.headers("kel-a1", "staff"))
    assert api.status_code == 200 and "no-store" in api.headers["Cache-Control"]
    tracking = client.get(f"/lacak/{case.tracking_code}?token=abc")
    assert tracking.status_code == 200 and "no-store" in tracking.headers["Cache-Control"]
    assert web_login(client, "kel-a1.staff").status_code == 302
    for path in ("/web/", f"/web/cases/{case.id}"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "no-store" in page.headers["Cache-Control"], path
    static = client.get("/static/coord.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


@pytest.mark.parametrize(
    "referer",
    [
        "//evil.example/x",
        "/\\evil.example/x",
        "https://evil.example/web/inbox",
        "http://localhost.evil.example/web/inbox",
        "/\t/evil.example/x",
        "javascript:alert(1)",
    ],
)
def test_language_switch_never_redirects_elsewhere(client: Any, referer: str) -> None:
    response = client.get("/lang/en", headers={"Referer": referer})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("referer", "location"),
    [
        ("http://localhost/web/cases?status=new", "/web/cases?status=new"),
        ("/lacak?kode=AB12", "/lacak?kode=AB12"),
        ("", "/"),
    ],
)
def test_language_switch_returns_to_our_own_page(client: Any, referer: str, location: str) -> None:
    headers = {"Referer": referer} if referer else {}
    response = client.get("/lang/en", headers=headers)
    assert response.headers["Location"] == location


@pytest.mark.parametrize(
    ("next_path", "location"),
    [
        ("//evil.example/web", "/web/"),
        ("https://evil.example/web", "/web/"),
        ("/\\evil.example/web", "/web/"),
        ("/web/cases?status=new", "/web/cases?status=new"),
    ],
)
def test_login_next_stays_on_our_staff_pages(
    client: Any, world: World, next_path: str, location: str
) -> None:
    response = web_login(client, "kel-a1.staff", next_path=next_path)
    assert response.headers["Location"] == location


def test_hsts_always_in_production(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-for-this-test-only")
    production = create_app(
        {
            "TESTING": True,  # keeps the test run's logging as it is
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "RATELIMIT_ENABLED": False,  # Flask-Limiter's switch is global
            "RATELIMIT_STORAGE_URI": "memory://",
        },
        env="production",
    )
    response = production.test_client().get("/web/login")
    assert response.headers["Strict-Transport-Security"] == HSTS
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

"""Staff web sessions end on the server: logout, a password change, deactivation, the idle
timeout and the absolute lifetime; the cookie's flags; strong passwords on the web pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from config.settings import load_config
from coord import clock, create_app
from tests.factories import World
from tests.web.forms import PASSWORD, csrf_token, web_client, web_login

INBOX = "/web/"


def signed_in(client: Any) -> bool:
    response = client.get(INBOX)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def change_password(client: Any, current: str, new: str) -> Any:
    token = csrf_token(client, "/web/password")
    return client.post(
        "/web/password",
        data={"current": current, "new": new, "confirm": new, "csrf_token": token},
    )


def session_cookie(client: Any, app: Any) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return str(cookie.value)


def test_logout_ends_the_session_on_the_server(
    app: Any, world: World, frozen_now: datetime
) -> None:
    client = web_client(app)
    assert web_login(client, "kel-a1.staff").status_code == 302
    assert signed_in(client)
    stolen = session_cookie(client, app)
    token = csrf_token(client, INBOX)
    assert client.post("/web/logout", data={"csrf_token": token}).status_code == 302
    assert not signed_in(client)
    # The cookie from before the logout, replayed (by the same browser or someone else)
    replay = web_client(app)
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    response = replay.get(INBOX)
    assert response.status_code == 302 and "/web/login" in response.headers["Location"]
    # Signing in again works, also at the same instant
    assert web_login(client, "kel-a1.staff").status_code == 302
    assert signed_in(client)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(
    app: Any, world: World, frozen_now: datetime
) -> None:
    laptop, phone = web_client(app), web_client(app)
    for client in (laptop, phone):
        assert web_login(client, "kel-a1.staff").status_code == 302
    response = change_password(laptop, PASSWORD, "Kopi-tubruk-pagi-7")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert signed_in(laptop)
    assert not signed_in(phone)
    assert web_login(phone, "kel-a1.staff", PASSWORD).status_code == 401
    assert web_login(phone, "kel-a1.staff", "Kopi-tubruk-pagi-7").status_code == 302


def test_a_session_ends_after_30_idle_minutes(app: Any, world: World, frozen_now: datetime) -> None:
    client = web_client(app)
    assert web_login(client, "kel-a1.staff").status_code == 302
    clock.set_frozen(frozen_now + timedelta(minutes=29))
    assert signed_in(client)  # activity moves the idle deadline
    clock.set_frozen(frozen_now + timedelta(minutes=58))
    assert signed_in(client)
    clock.set_frozen(frozen_now + timedelta(minutes=89))
    response = client.get(INBOX, follow_redirects=True)
    assert "/web/login" in response.request.path
    assert "Sesi Anda telah berakhir" in response.get_data(as_text=True)


def test_a_session_ends_12_hours_after_login_however_active(
    app: Any, world: World, frozen_now: datetime
) -> None:
    client = web_client(app)
    assert web_login(client, "kel-a1.staff").status_code == 302
    at = frozen_now
    while at < frozen_now + timedelta(hours=12) - timedelta(minutes=20):
        at += timedelta(minutes=20)
        clock.set_frozen(at)
        assert signed_in(client), at - frozen_now
    clock.set_frozen(frozen_now + timedelta(hours=12, minutes=1))
    assert not signed_in(client)


def test_deactivating_a_user_ends_their_sessions(
    app: Any, world: World, frozen_now: datetime
) -> None:
    user, admin = web_client(app), web_client(app)
    assert web_login(user, "kel-a1.staff").status_code == 302
    assert web_login(admin, "camat-a.admin").status_code == 302
    staff = world.user("kel-a1", "staff")
    page = "/web/admin/units/kel-a1"
    form = {"roles": ["staff"], "csrf_token": csrf_token(admin, page)}
    assert admin.post(f"/web/admin/users/{staff.id}", data=form).status_code == 302  # inactive
    form["active"] = "1"
    assert admin.post(f"/web/admin/users/{staff.id}", data=form).status_code == 302  # again
    assert not signed_in(user), "reactivation must not revive the old session"
    assert web_login(user, "kel-a1.staff").status_code == 302


def test_the_session_cookie_is_httponly_and_samesite_lax(app: Any, world: World) -> None:
    response = web_client(app).get("/web/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie


def test_in_production_the_session_cookie_is_secure_and_host_only(
    app: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-for-this-test")
    production = load_config("production")
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert production["SESSION_COOKIE_NAME"] == "__Host-coord_session"
    assert production["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    # A request through an app with those cookie settings (the production class itself would
    # reconfigure the process's logging): the browser sees what the settings say.
    cookie_settings = {k: v for k, v in production.items() if k.startswith("SESSION_COOKIE")}
    served = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "RATELIMIT_STORAGE_URI": "memory://",
            **cookie_settings,
        },
        env="testing",
    )
    response = served.test_client().get(
        "/web/login",
        base_url="https://coord.example",
        headers={"X-Forwarded-Proto": "https"},
    )
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-coord_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie, cookie
    assert "Domain=" not in cookie


# -- strong passwords on the web pages --------------------------------------------------------


def test_common_passwords_and_the_username_are_refused_on_change(
    app: Any, world: World, frozen_now: datetime
) -> None:
    client = web_client(app)
    assert web_login(client, "kel-a1.staff").status_code == 302
    for weak, says in (
        ("password123", "paling umum"),
        ("1234567890", "paling umum"),
        ("kel-a1.staff", "nama pengguna"),
        ("Kel-A1.Staff-2026", "nama pengguna"),
        ("pendek", "minimal 10"),
    ):
        response = change_password(client, PASSWORD, weak)
        assert response.status_code == 422, weak
        assert says in response.get_data(as_text=True), weak
    assert web_login(web_client(app), "kel-a1.staff", PASSWORD).status_code == 302
    assert change_password(client, PASSWORD, "Kopi-tubruk-pagi-7").status_code == 302


def test_an_admin_cannot_give_a_common_password(
    app: Any, world: World, frozen_now: datetime
) -> None:
    admin = web_client(app)
    assert web_login(admin, "camat-a.admin").status_code == 302
    page = "/web/admin/units/kel-a1"
    staff = world.user("kel-a1", "staff")
    form = {"roles": ["staff"], "active": "1", "new_password": "password123"}
    response = admin.post(
        f"/web/admin/users/{staff.id}",
        data={**form, "csrf_token": csrf_token(admin, page)},
        follow_redirects=True,
    )
    assert "paling umum" in response.get_data(as_text=True)
    assert web_login(web_client(app), "kel-a1.staff", "password123").status_code == 401
    new_user = {
        "username": "kel-a1.baru",
        "full_name": "Petugas Baru",
        "roles": ["staff"],
        "password": "qwertyuiop",
        "csrf_token": csrf_token(admin, page),
    }
    response = admin.post("/web/admin/units/kel-a1/users", data=new_user, follow_redirects=True)
    assert "paling umum" in response.get_data(as_text=True)
    assert web_login(web_client(app), "kel-a1.baru", "qwertyuiop").status_code == 401


def test_create_user_on_the_command_line_refuses_a_weak_password(
    app: Any, world: World, frozen_now: datetime
) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            *("coord", "create-user", "kel-a1.cli", "--name", "Cli", "--unit", "kel-a1"),
            *("--role", "staff", "--password", "1234567890"),
        ]
    )
    assert result.exit_code != 0 and "common" in result.output, result.output
    assert web_login(web_client(app), "kel-a1.cli", "1234567890").status_code == 401


def test_the_operators_own_breached_password_list_is_refused_too(
    app: Any, world: World, frozen_now: datetime, tmp_path: Any
) -> None:
    import gzip

    breached = tmp_path / "breached.txt.gz"
    with gzip.open(breached, "wt", encoding="utf-8") as out:
        out.write("Medan-Area-2026\nkopi-tubruk-pagi-7\n")
    client = web_client(app)
    assert web_login(client, "kel-a1.staff").status_code == 302
    app.config["COORD_PASSWORD_BLOCKLIST"] = str(breached)
    try:
        response = change_password(client, PASSWORD, "Kopi-Tubruk-Pagi-7")
        assert response.status_code == 422
        assert "paling umum" in response.get_data(as_text=True)
    finally:
        app.config["COORD_PASSWORD_BLOCKLIST"] = None
    assert change_password(client, PASSWORD, "Kopi-Tubruk-Pagi-7").status_code == 302
